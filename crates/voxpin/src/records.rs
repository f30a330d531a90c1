//! Call records: one JSON line per call, appended to `[records] path`.
//!
//! The fields follow what ops know from Asterisk CDRs (`disposition`:
//! `ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED`, `CONGESTION`; `duration` from
//! start and `billsec` from answer) and FreeSWITCH (`hangup_cause` as a Q.850
//! name with its number). A record never holds the code.
//!
//! ```
//! use voxpin::records::{CallRecord, Direction, Disposition, HangupCause, HangupSide};
//! let start = time::macros::datetime!(2026-01-02 03:04:05 UTC);
//! let mut r = CallRecord::new(uuid::Uuid::nil(), Direction::Outbound, start);
//! r.finish(start + time::Duration::seconds(9), Disposition::NoAnswer, HangupCause::NoAnswer, HangupSide::Local);
//! let line = serde_json::to_string(&r).unwrap();
//! assert!(line.contains(r#""disposition":"NO ANSWER""#));
//! assert!(line.contains(r#""hangup_cause":"NO_ANSWER""#));
//! ```

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// One call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CallRecord {
    /// Our id of the call.
    pub uuid: Uuid,
    /// The SIP Call-ID.
    pub call_id: Option<String>,
    /// Who placed the call.
    pub direction: Direction,
    /// The trunk used (outbound) or matched by source (inbound).
    pub trunk: Option<String>,
    /// The calling number (From user).
    pub caller: Option<String>,
    /// The called number (Request-URI user or To).
    pub callee: Option<String>,
    /// INVITE sent or received.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// Answer (200 OK), if any.
    #[serde(with = "time::serde::rfc3339::option")]
    pub answer: Option<OffsetDateTime>,
    /// End of the call.
    #[serde(with = "time::serde::rfc3339::option")]
    pub end: Option<OffsetDateTime>,
    /// Whole seconds from start to end.
    pub duration: u64,
    /// Whole seconds from answer to end (0 when not answered).
    pub billsec: u64,
    /// Asterisk CDR disposition.
    pub disposition: Disposition,
    /// Q.850 cause name (FreeSWITCH spelling).
    pub hangup_cause: HangupCause,
    /// Q.850 cause number.
    pub q850: u16,
    /// The final SIP status of the INVITE (200 for answered calls).
    pub sip_status: Option<u16>,
    /// Which side ended the call.
    pub hangup_by: HangupSide,
    /// The negotiated codec (`PCMU`, `PCMA`).
    pub codec: Option<String>,
    /// The OTP this call served.
    pub otp_id: Option<String>,
    /// The OTP outcome after this call (`delivered`, `verified`, `failed`, …).
    pub result: Option<String>,
    /// Code entry attempts made during the call.
    pub attempts: u32,
    /// Times the code was read again on request.
    pub repeats: u32,
    /// The SMS after the call, if one was sent.
    pub sms: Option<crate::sms::SmsResult>,
}

impl CallRecord {
    /// A record for a call that starts now; fill the rest as the call goes.
    pub fn new(uuid: Uuid, direction: Direction, start: OffsetDateTime) -> Self {
        Self {
            uuid,
            call_id: None,
            direction,
            trunk: None,
            caller: None,
            callee: None,
            start,
            answer: None,
            end: None,
            duration: 0,
            billsec: 0,
            disposition: Disposition::Failed,
            hangup_cause: HangupCause::NormalTemporaryFailure,
            q850: HangupCause::NormalTemporaryFailure.q850(),
            sip_status: None,
            hangup_by: HangupSide::Local,
            codec: None,
            otp_id: None,
            result: None,
            attempts: 0,
            repeats: 0,
            sms: None,
        }
    }

    /// Closes the record: end time, durations, disposition and cause.
    pub fn finish(
        &mut self,
        end: OffsetDateTime,
        disposition: Disposition,
        cause: HangupCause,
        side: HangupSide,
    ) {
        self.end = Some(end);
        self.duration = whole_seconds(end - self.start);
        self.billsec = self.answer.map_or(0, |a| whole_seconds(end - a));
        self.disposition = disposition;
        self.hangup_cause = cause;
        self.q850 = cause.q850();
        self.hangup_by = side;
    }
}

fn whole_seconds(d: time::Duration) -> u64 {
    u64::try_from(d.whole_seconds()).unwrap_or(0)
}

/// Call direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// A callback from a person.
    Inbound,
    /// A call we placed.
    Outbound,
}

/// Asterisk CDR disposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Disposition {
    /// The call was answered.
    #[serde(rename = "ANSWERED")]
    Answered,
    /// Rang out or was cancelled before answer.
    #[serde(rename = "NO ANSWER")]
    NoAnswer,
    /// 486/600 busy.
    #[serde(rename = "BUSY")]
    Busy,
    /// Any other failure.
    #[serde(rename = "FAILED")]
    Failed,
    /// 503 and other "network busy" answers.
    #[serde(rename = "CONGESTION")]
    Congestion,
}

/// Q.850 hang-up causes, with FreeSWITCH's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum HangupCause {
    /// 1: the number does not exist (404).
    UnallocatedNumber,
    /// 16: a normal hang-up.
    NormalClearing,
    /// 17: busy (486).
    UserBusy,
    /// 18: no provisional response in time (408).
    NoUserResponse,
    /// 19: rang without answer (480 or our ring timeout).
    NoAnswer,
    /// 21: refused (403, 603).
    CallRejected,
    /// 34: no circuit (503).
    NormalCircuitCongestion,
    /// 41: temporary failure (500, other 5xx).
    NormalTemporaryFailure,
    /// 102: a SIP timer expired (no answer at all).
    RecoveryOnTimerExpire,
    /// 487: we cancelled before answer.
    OriginatorCancel,
}

impl HangupCause {
    /// The Q.850 number.
    pub fn q850(self) -> u16 {
        match self {
            Self::UnallocatedNumber => 1,
            Self::NormalClearing => 16,
            Self::UserBusy => 17,
            Self::NoUserResponse => 18,
            Self::NoAnswer => 19,
            Self::CallRejected => 21,
            Self::NormalCircuitCongestion => 34,
            Self::NormalTemporaryFailure => 41,
            Self::RecoveryOnTimerExpire => 102,
            Self::OriginatorCancel => 487,
        }
    }

    /// The cause and disposition for a final SIP failure status (RFC 3398 mapping).
    pub fn from_sip_status(status: u16) -> (Self, Disposition) {
        match status {
            200..=299 => (Self::NormalClearing, Disposition::Answered),
            404 | 410 | 484 => (Self::UnallocatedNumber, Disposition::Failed),
            408 => (Self::NoUserResponse, Disposition::NoAnswer),
            480 => (Self::NoAnswer, Disposition::NoAnswer),
            486 | 600 => (Self::UserBusy, Disposition::Busy),
            487 => (Self::OriginatorCancel, Disposition::NoAnswer),
            403 | 603 => (Self::CallRejected, Disposition::Failed),
            503 => (Self::NormalCircuitCongestion, Disposition::Congestion),
            _ => (Self::NormalTemporaryFailure, Disposition::Failed),
        }
    }
}

/// Which side ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HangupSide {
    /// voxpin (end of flow, timeout, cancel, shutdown).
    Local,
    /// The carrier or the person.
    Remote,
}

/// Appends records to the JSON-lines file.
#[derive(Debug)]
pub struct RecordWriter {
    path: PathBuf,
    file: Mutex<File>,
}

impl RecordWriter {
    /// Opens `path` for appending, creating it and its parent directory.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record as one line (a single `write` call, so lines never interleave).
    pub fn write(&self, record: &CallRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("record writer lock poisoned"))?;
        file.write_all(&line)?;
        file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn answered_call_line_has_every_field() {
        let start = datetime!(2026-01-02 03:04:05 UTC);
        let mut r = CallRecord::new(Uuid::nil(), Direction::Outbound, start);
        r.call_id = Some("abc@host".into());
        r.trunk = Some("carrier".into());
        r.caller = Some("+14155550000".into());
        r.callee = Some("+14155550100".into());
        r.answer = Some(start + time::Duration::seconds(4));
        r.sip_status = Some(200);
        r.codec = Some("PCMU".into());
        r.otp_id = Some("otp_1".into());
        r.result = Some("delivered".into());
        r.repeats = 1;
        r.finish(
            start + time::Duration::milliseconds(19_500),
            Disposition::Answered,
            HangupCause::NormalClearing,
            HangupSide::Remote,
        );
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["duration"], 19);
        assert_eq!(v["billsec"], 15);
        assert_eq!(v["disposition"], "ANSWERED");
        assert_eq!(v["hangup_cause"], "NORMAL_CLEARING");
        assert_eq!(v["q850"], 16);
        assert_eq!(v["hangup_by"], "remote");
        assert_eq!(v["start"], "2026-01-02T03:04:05Z");
        for key in [
            "uuid",
            "call_id",
            "direction",
            "trunk",
            "caller",
            "callee",
            "answer",
            "end",
            "sip_status",
            "codec",
            "otp_id",
            "result",
            "attempts",
            "repeats",
            "sms",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
    }

    #[test]
    fn sip_statuses_map_to_cdr_words() {
        assert_eq!(
            HangupCause::from_sip_status(486),
            (HangupCause::UserBusy, Disposition::Busy)
        );
        assert_eq!(
            HangupCause::from_sip_status(503),
            (
                HangupCause::NormalCircuitCongestion,
                Disposition::Congestion
            )
        );
        assert_eq!(HangupCause::from_sip_status(487).1, Disposition::NoAnswer);
        assert_eq!(HangupCause::from_sip_status(599).0.q850(), 41);
    }

    #[test]
    fn writer_appends_one_line_per_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/calls.jsonl");
        let w = RecordWriter::open(&path).unwrap();
        let start = datetime!(2026-01-02 03:04:05 UTC);
        w.write(&CallRecord::new(Uuid::nil(), Direction::Inbound, start))
            .unwrap();
        w.write(&CallRecord::new(Uuid::max(), Direction::Outbound, start))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        for line in lines {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
    }
}
