//! Call records: one JSON line per call, in the words ops know from Asterisk
//! CDRs (disposition) and FreeSWITCH (Q.850 hang-up cause). A record never
//! holds the code.

use std::time::{Duration, SystemTime};

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// Which way a call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// We called the phone.
    Outbound,
    /// The phone called us (a callback).
    Inbound,
}

/// The Asterisk CDR disposition of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Disposition {
    /// The call was answered.
    #[serde(rename = "ANSWERED")]
    Answered,
    /// Nobody answered before the ring timeout (or the caller gave up).
    #[serde(rename = "NO ANSWER")]
    NoAnswer,
    /// The far end was busy.
    #[serde(rename = "BUSY")]
    Busy,
    /// The call failed (rejected, error, timeout).
    #[serde(rename = "FAILED")]
    Failed,
    /// We or the carrier were out of capacity (503).
    #[serde(rename = "CONGESTION")]
    Congestion,
}

/// Who ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HungUpBy {
    /// voxpin hung up (end of flow, cancel, ring timeout, drain).
    Local,
    /// The phone or the carrier hung up.
    Remote,
}

/// One finished call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    /// Our id for the call.
    pub uuid: Uuid,
    /// The SIP Call-ID header value (`call_id` in the JSON line).
    #[serde(rename = "call_id")]
    pub sip_call_id: Option<String>,
    /// Outbound or inbound.
    pub direction: Direction,
    /// The trunk the call used.
    pub trunk: Option<String>,
    /// The OTP application whose flow ran.
    pub application: Option<String>,
    /// Calling number (our application's number for outbound calls).
    pub caller: String,
    /// Called number.
    pub callee: String,
    /// When the call started (INVITE sent or received).
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// When it was answered.
    #[serde(with = "time::serde::rfc3339::option")]
    pub answer: Option<OffsetDateTime>,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    /// Seconds from start to end (millisecond precision).
    pub duration: f64,
    /// Seconds from answer to end (0 when not answered).
    pub billsec: f64,
    /// Asterisk-style disposition.
    pub disposition: Disposition,
    /// Q.850 hang-up cause name (`NORMAL_CLEARING`, `USER_BUSY`, ...).
    pub hangup_cause: String,
    /// The Q.850 cause number of `hangup_cause` (FreeSWITCH's numbering).
    pub q850: u8,
    /// Final SIP status, when one was seen.
    pub sip_status: Option<u16>,
    /// Who hung up.
    #[serde(rename = "hangup_by")]
    pub hungup_by: Option<HungUpBy>,
    /// Negotiated codec (`PCMU`, `PCMA`).
    pub codec: Option<String>,
    /// The OTP the call delivered or collected.
    pub otp_id: Option<String>,
    /// What the call achieved for the OTP (`delivered`, `verified`, `failed`,
    /// `no_answer`, `busy`, `rejected`, `error`, `invalid_request`, ...).
    pub result: String,
    /// Verification attempts made during the call.
    pub attempts: u32,
    /// How many times the code was played in full.
    pub repeats: u32,
    /// Outcome of the SMS sent after the call (`sent`, `failed: ...`), if any.
    #[serde(rename = "sms")]
    pub sms_result: Option<String>,
}

impl CallRecord {
    /// The record as one JSON line (without the trailing newline).
    pub fn to_json_line(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Converts wall-clock time for records (times before 1970 or beyond the
/// representable range collapse to the epoch rather than failing).
pub fn wall_to_datetime(wall: SystemTime) -> OffsetDateTime {
    let since = wall
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    OffsetDateTime::from_unix_timestamp_nanos(since.as_nanos() as i128)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Seconds with millisecond precision, as records show durations.
pub fn seconds(d: Duration) -> f64 {
    (d.as_millis() as f64) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_serializes_with_cdr_words() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let rec = CallRecord {
            uuid: Uuid::nil(),
            sip_call_id: Some("abc@host".into()),
            direction: Direction::Outbound,
            trunk: Some("carrier".into()),
            application: Some("login".into()),
            caller: "+15550001".into(),
            callee: "+15550002".into(),
            start: wall_to_datetime(start),
            answer: None,
            end: wall_to_datetime(start + Duration::from_millis(30_250)),
            duration: seconds(Duration::from_millis(30_250)),
            billsec: 0.0,
            disposition: Disposition::NoAnswer,
            hangup_cause: "NO_ANSWER".into(),
            q850: 19,
            sip_status: Some(487),
            hungup_by: Some(HungUpBy::Local),
            codec: None,
            otp_id: Some("otp_1".into()),
            result: "no_answer".into(),
            attempts: 0,
            repeats: 0,
            sms_result: None,
        };
        let line = rec.to_json_line();
        let v: serde_json::Value = serde_json::from_str(&line).expect("valid json");
        assert_eq!(v["disposition"], "NO ANSWER");
        assert_eq!(v["direction"], "outbound");
        assert_eq!(v["hangup_by"], "local");
        assert_eq!(v["call_id"], "abc@host");
        assert_eq!(v["q850"], 19);
        assert_eq!(v["duration"], 30.25);
        assert_eq!(v["start"], "2023-11-14T22:13:20Z");
        assert!(v["answer"].is_null());
        assert!(!line.contains('\n'));
    }
}
