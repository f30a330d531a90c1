//! The OTP record the store serves: [`Otp`], its [`Status`], and its session
//! record of [`SessionEvent`]s. None of these types can hold the code.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::ids::{Application, OtpId, PhoneNumber};
use crate::timefmt;

/// How the code reaches the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The call reads the code aloud; the person types it into the app,
    /// which verifies it through the API.
    Read,
    /// The person enters the code on the phone's keypad; the call verifies it.
    Input,
}

/// Where an OTP stands.
///
/// `verified`, `failed`, `expired` and `canceled` are final: nothing moves an
/// OTP out of them. The call outcomes (`no_answer`, `busy`, `rejected`,
/// `error`) are not: the person may still call back or verify in the app
/// until the OTP expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Created; the call has not started yet.
    Queued,
    /// The INVITE is out.
    Calling,
    /// The far end is ringing.
    Ringing,
    /// The call was answered.
    Answered,
    /// The code was read out in full at least once.
    Delivered,
    /// The right code was entered (final).
    Verified,
    /// The attempts ran out, or delivery failed for good (final).
    Failed,
    /// The OTP outlived its time to live (final).
    Expired,
    /// Canceled through the API or replaced by a newer OTP (final).
    Canceled,
    /// Nobody answered before the ring timeout.
    NoAnswer,
    /// The far end was busy.
    Busy,
    /// The call was rejected.
    Rejected,
    /// The call failed on our side or the carrier's.
    Error,
}

impl Status {
    /// Every status, in declaration order.
    pub const ALL: [Status; 13] = [
        Status::Queued,
        Status::Calling,
        Status::Ringing,
        Status::Answered,
        Status::Delivered,
        Status::Verified,
        Status::Failed,
        Status::Expired,
        Status::Canceled,
        Status::NoAnswer,
        Status::Busy,
        Status::Rejected,
        Status::Error,
    ];

    /// Whether nothing can move the OTP out of this status.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Verified | Status::Failed | Status::Expired | Status::Canceled
        )
    }

    /// The snake_case name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Calling => "calling",
            Status::Ringing => "ringing",
            Status::Answered => "answered",
            Status::Delivered => "delivered",
            Status::Verified => "verified",
            Status::Failed => "failed",
            Status::Expired => "expired",
            Status::Canceled => "canceled",
            Status::NoAnswer => "no_answer",
            Status::Busy => "busy",
            Status::Rejected => "rejected",
            Status::Error => "error",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why text is not a status name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status; expected one of queued, calling, ringing, answered, delivered, verified, failed, expired, canceled, no_answer, busy, rejected, error")]
pub struct UnknownStatus;

impl std::str::FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or(UnknownStatus)
    }
}

/// One OTP as the store serves it: everything but the code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Otp {
    /// Its id.
    pub id: OtpId,
    /// The application (dialplan) it belongs to.
    pub application: Application,
    /// The number it was issued to; the only number that may hear it.
    pub to: PhoneNumber,
    /// Read aloud or entered on the keypad.
    pub mode: Mode,
    /// Where it stands.
    pub status: Status,
    /// When it was created.
    #[serde(with = "timefmt::rfc3339")]
    pub created_at: SystemTime,
    /// When it stops being valid.
    #[serde(with = "timefmt::rfc3339")]
    pub expires_at: SystemTime,
    /// Verification attempts made so far (right or wrong).
    pub attempts_used: u32,
    /// Verification attempts allowed.
    pub attempts_limit: u32,
    /// How many times a call may read the code.
    pub repeats_limit: u32,
    /// How many times the code was read out in full, over all calls.
    pub times_played: u32,
    /// The prompt language.
    pub language: String,
    /// Free-form data from the API client, returned as given.
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Where status changes are posted, if anywhere.
    pub status_callback: Option<String>,
    /// Whether an SMS with the code follows the call.
    pub sms_after_call: bool,
    /// Whether the right code keeps verifying after the first success.
    pub reusable: bool,
    /// The session record, oldest first.
    pub events: Vec<SessionEvent>,
    /// Events not kept because the record reached its size cap.
    pub events_dropped: u32,
}

impl Otp {
    /// Verification attempts left.
    pub fn attempts_remaining(&self) -> u32 {
        self.attempts_limit.saturating_sub(self.attempts_used)
    }

    /// Whether the OTP is still usable at `now`: not final and not expired.
    pub fn is_live(&self, now: SystemTime) -> bool {
        !self.status.is_final() && now < self.expires_at
    }

    /// The short view the API returns on creation.
    pub fn view(&self) -> OtpView {
        OtpView {
            id: self.id,
            application: self.application.clone(),
            to: self.to.clone(),
            mode: self.mode,
            status: self.status,
            created_at: self.created_at,
            expires_at: self.expires_at,
            replaced: Vec::new(),
        }
    }
}

/// The short view of an OTP returned on creation (the body of the API's
/// `201 Created`). Like [`Otp`], it never holds the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpView {
    /// Its id.
    pub id: OtpId,
    /// The application it belongs to.
    pub application: Application,
    /// The number it was issued to.
    pub to: PhoneNumber,
    /// Read aloud or entered on the keypad.
    pub mode: Mode,
    /// Where it stands.
    pub status: Status,
    /// When it was created.
    #[serde(with = "timefmt::rfc3339")]
    pub created_at: SystemTime,
    /// When it stops being valid.
    #[serde(with = "timefmt::rfc3339")]
    pub expires_at: SystemTime,
    /// The older OTPs this one replaced (now `canceled`): the engine hangs
    /// up their calls. Not part of the API's response body.
    #[serde(skip)]
    pub replaced: Vec<OtpId>,
}

/// One line of the session record: what happened, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEvent {
    /// When it happened (wall clock).
    #[serde(with = "timefmt::rfc3339")]
    pub at: SystemTime,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened, serialized with a `"type"` tag in snake_case.
///
/// No variant can carry the code: digit keypresses of a code are masked,
/// and the code's own digit prompts are recorded only as
/// [`EventKind::CodePlayed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// An INVITE went out over a trunk.
    DialAttempt {
        /// The trunk's name.
        trunk: String,
        /// 1 for the first attempt, 2 for the first retry, ...
        attempt: u32,
    },
    /// A SIP response to our INVITE arrived.
    SipResponse {
        /// Its status code (100-699).
        status: u16,
    },
    /// The far end is ringing.
    Ringing,
    /// The call was answered (outbound) or accepted (callback).
    Answered,
    /// An inbound call from the number the OTP was issued to.
    Callback,
    /// A prompt finished playing.
    PromptPlayed {
        /// The prompt's name (`your-code-is`, `goodbye`, ...).
        prompt: String,
    },
    /// The code was read out in full.
    CodePlayed {
        /// How many times in this call, counting this one.
        count: u32,
    },
    /// A key was pressed.
    Keypress(Keypress),
    /// A verification was attempted (recorded by the store itself).
    VerifyResult {
        /// Whether the code was right.
        valid: bool,
        /// Where the candidate came from.
        source: VerifySource,
    },
    /// The SMS after the call was handed to the SMS driver.
    Sms {
        /// What the driver reported.
        result: SmsResult,
    },
    /// The call ended.
    Hangup {
        /// The ITU-T Q.850 cause (16 = normal clearing).
        cause: u8,
        /// Which side hung up.
        side: Side,
        /// The SIP status that ended it, if a response did.
        sip_status: Option<u16>,
    },
    /// How long the phases of a call lasted, in milliseconds.
    Durations {
        /// From INVITE to the first ringing or answer.
        #[serde(with = "timefmt::opt_millis")]
        setup_ms: Option<Duration>,
        /// From answer to hang-up (billable seconds).
        #[serde(with = "timefmt::opt_millis")]
        talk_ms: Option<Duration>,
        /// From INVITE (or inbound INVITE) to the end.
        #[serde(with = "timefmt::opt_millis")]
        total_ms: Option<Duration>,
    },
    /// The OTP was canceled (recorded by the store).
    Canceled {
        /// Why.
        reason: CancelReason,
    },
    /// The OTP reached its expiry time (recorded by the store).
    Expired,
}

impl EventKind {
    /// A prompt-played event, with digit prompts (`0` … `9`) recorded as
    /// `digit` so a code's digits never land in the record one by one.
    pub fn prompt_played(prompt: &str) -> EventKind {
        EventKind::PromptPlayed {
            prompt: mask_prompt(prompt),
        }
    }
}

/// Digit-only prompt names become `digit`.
pub(crate) fn mask_prompt(prompt: &str) -> String {
    if !prompt.is_empty() && prompt.bytes().all(|b| b.is_ascii_digit()) {
        "digit".to_owned()
    } else {
        prompt.to_owned()
    }
}

/// A key pressed during a call, as the record shows it: a digit of a code
/// being entered is masked as `*` (with `masked: true`); menu keys are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keypress {
    key: char,
    masked: bool,
    state: String,
}

impl Keypress {
    /// A digit typed while entering a code: recorded as `*`.
    pub fn masked(state: &str) -> Keypress {
        Keypress {
            key: '*',
            masked: true,
            state: state.to_owned(),
        }
    }

    /// A menu key such as "1 to repeat": recorded as pressed.
    pub fn menu(key: char, state: &str) -> Keypress {
        Keypress {
            key,
            masked: false,
            state: state.to_owned(),
        }
    }

    /// The key as recorded (`*` when masked).
    pub fn key(&self) -> char {
        self.key
    }

    /// Whether the key was a code digit, hidden.
    pub fn is_masked(&self) -> bool {
        self.masked
    }

    /// The flow state the call was in.
    pub fn state(&self) -> &str {
        &self.state
    }
}

/// Where a verification candidate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifySource {
    /// Keyed in on the call (input mode).
    Call,
    /// Posted to the HTTP API (read mode).
    Api,
}

/// What the SMS driver reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SmsResult {
    /// The gateway accepted it.
    Sent,
    /// It failed after the driver's retries.
    Failed {
        /// What went wrong, without the message text.
        reason: String,
    },
}

/// Which side of a call did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// voxpin.
    Local,
    /// The carrier or the phone.
    Remote,
}

/// Why an OTP was canceled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CancelReason {
    /// A `DELETE` through the API.
    Api,
    /// A newer OTP for the same application and number replaced it.
    Replaced {
        /// The newer OTP.
        by: OtpId,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_serialize_in_snake_case() {
        for status in Status::ALL {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        assert_eq!("nope".parse::<Status>(), Err(UnknownStatus));
    }

    #[test]
    fn events_serialize_with_a_type_tag() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_763_773_323_456);
        let event = |kind| serde_json::to_value(SessionEvent { at, kind }).unwrap();
        assert_eq!(
            event(EventKind::Keypress(Keypress::masked("collect"))),
            serde_json::json!({"at": "2025-11-22T01:02:03.456Z", "type": "keypress",
                "key": "*", "masked": true, "state": "collect"})
        );
        assert_eq!(
            event(EventKind::Hangup {
                cause: 16,
                side: Side::Remote,
                sip_status: None
            }),
            serde_json::json!({"at": "2025-11-22T01:02:03.456Z", "type": "hangup",
                "cause": 16, "side": "remote", "sip_status": null})
        );
        assert_eq!(
            event(EventKind::Durations {
                setup_ms: Some(Duration::from_millis(1500)),
                talk_ms: None,
                total_ms: Some(Duration::from_secs(20)),
            }),
            serde_json::json!({"at": "2025-11-22T01:02:03.456Z", "type": "durations",
                "setup_ms": 1500, "talk_ms": null, "total_ms": 20000})
        );
        assert_eq!(
            event(EventKind::Sms {
                result: SmsResult::Sent
            }),
            serde_json::json!({"at": "2025-11-22T01:02:03.456Z", "type": "sms",
                "result": {"outcome": "sent"}})
        );
        let back: SessionEvent = serde_json::from_value(event(EventKind::Ringing)).unwrap();
        assert_eq!(back.kind, EventKind::Ringing);
        assert_eq!(back.at, at);
    }

    #[test]
    fn digit_prompts_are_masked() {
        assert_eq!(
            EventKind::prompt_played("7"),
            EventKind::PromptPlayed {
                prompt: "digit".into()
            }
        );
        assert_eq!(
            EventKind::prompt_played("goodbye"),
            EventKind::PromptPlayed {
                prompt: "goodbye".into()
            }
        );
    }
}
