//! The [`OtpStore`] trait, what goes in and out of it, and its errors.
//!
//! Every method takes the wall-clock time from the caller. The trait is
//! object safe (`Arc<dyn OtpStore>`) and every method returns a `Result`, so a
//! shared backend (Redis: atomic attempt counters, TTL by key expiry) can
//! implement it later without changing callers.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::code::{Code, CodeError, CodeLength};
use crate::ids::{Application, CountryCode, OtpId, PhoneNumber};
use crate::limits::{LimitScope, Limits, Policy};
use crate::record::{EventKind, Mode, Otp, OtpView, Status, VerifySource};

/// A store of OTPs. See the crate documentation for the life of an OTP.
pub trait OtpStore: Send + Sync {
    /// Creates an OTP at `now`, checking `new.limits` first. Replaces the
    /// live OTPs of the same (application, number) unless the limits say to
    /// keep them. Returns the short view; the code is never returned.
    fn create(&self, now: SystemTime, new: NewOtp) -> Result<OtpView, CreateError>;

    /// The OTP with this id, whatever its status, while the store keeps it.
    fn get(&self, id: &OtpId) -> Result<Option<Otp>, BackendError>;

    /// The newest live OTP issued by `application` to `to` (for callbacks).
    fn find_live(
        &self,
        application: &Application,
        to: &PhoneNumber,
        now: SystemTime,
    ) -> Result<Option<Otp>, BackendError>;

    /// A page of OTPs matching `filter`, newest first.
    fn list(&self, filter: &ListFilter, page: &PageRequest) -> Result<Page, ListError>;

    /// Moves the OTP to `status` (call progress). Refused from a final
    /// status, and for `verified`, `expired` and `canceled`, which only
    /// [`OtpStore::verify`], expiry and [`OtpStore::cancel`] reach.
    fn set_status(&self, id: &OtpId, now: SystemTime, status: Status) -> Result<(), StatusError>;

    /// Appends an event to the OTP's session record (allowed in any status).
    fn record_event(&self, id: &OtpId, now: SystemTime, kind: EventKind)
        -> Result<(), RecordError>;

    /// The code, only while it may still be spoken or sent: the OTP is live
    /// and its delivery still needs the plaintext (read mode, or an SMS not
    /// yet sent). `None` otherwise.
    fn code_for_delivery(&self, id: &OtpId, now: SystemTime) -> Result<Option<Code>, BackendError>;

    /// Checks `candidate` against the OTP's code in constant time and
    /// records the attempt.
    fn verify(
        &self,
        id: &OtpId,
        candidate: &str,
        now: SystemTime,
        source: VerifySource,
    ) -> Result<VerifyOutcome, VerifyError>;

    /// Cancels a live OTP (a `DELETE` through the API) and wipes its code.
    fn cancel(&self, id: &OtpId, now: SystemTime) -> Result<Otp, CancelError>;

    /// One sweep: marks the OTPs past their expiry `expired` (wiping their
    /// codes) and forgets records past the store's retention. Returns how
    /// many OTPs expired in this sweep.
    fn purge_expired(&self, now: SystemTime) -> Result<usize, BackendError>;

    /// Counts of OTPs created in `filter`'s range, by period (UTC), by
    /// application, by status and by country code.
    fn usage(
        &self,
        granularity: Granularity,
        filter: &UsageFilter,
    ) -> Result<Vec<UsageRow>, BackendError>;
}

/// Everything needed to create an OTP.
#[derive(Debug, Clone)]
pub struct NewOtp {
    /// The application (dialplan) it belongs to.
    pub application: Application,
    /// The number to call.
    pub to: PhoneNumber,
    /// Read aloud or entered on the keypad.
    pub mode: Mode,
    /// Generated, or given by the API client.
    pub code: CodeSource,
    /// Time to live, attempts, repeats, verification rules.
    pub policy: Policy,
    /// The application's sending limits.
    pub limits: Limits,
    /// The prompt language.
    pub language: String,
    /// Free-form data from the API client.
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Where status changes are posted, if anywhere.
    pub status_callback: Option<String>,
    /// Whether an SMS with the code follows the call.
    pub sms_after_call: bool,
}

impl NewOtp {
    /// A generated 6-digit code with the default policy, no limits, language
    /// `en`, no attributes, callback or SMS. Adjust the fields as needed.
    pub fn new(application: Application, to: PhoneNumber, mode: Mode) -> NewOtp {
        NewOtp {
            application,
            to,
            mode,
            code: CodeSource::Generate(CodeLength::DEFAULT),
            policy: Policy::default(),
            limits: Limits::default(),
            language: "en".to_owned(),
            attributes: BTreeMap::new(),
            status_callback: None,
            sms_after_call: false,
        }
    }
}

/// Where an OTP's code comes from.
#[derive(Debug, Clone)]
pub enum CodeSource {
    /// Drawn from the OS CSPRNG with this many digits.
    Generate(CodeLength),
    /// Given by the API client (manual applications).
    Manual(Code),
}

/// Why an OTP was not created. Nothing was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// A send-rate limit is reached.
    #[error("too many codes sent for this {scope}; retry in {} s", whole_seconds(*retry_after))]
    RateLimited {
        /// Which limit.
        scope: LimitScope,
        /// When one more send will fit.
        retry_after: Duration,
    },
    /// The application already has its maximum of calls in progress.
    #[error("the application already has {limit} calls in progress")]
    TooManyCalls {
        /// The limit.
        limit: u32,
    },
    /// The store holds as many records as it may; try again after a sweep.
    #[error("the OTP store is full ({capacity} records)")]
    StoreFull {
        /// How many records it holds at most.
        capacity: usize,
    },
    /// The policy's time to live is zero or longer than a day.
    #[error("the time to live must be between 1 s and 24 h")]
    BadTtl,
    /// The policy allows no verification attempt.
    #[error("at least one verification attempt must be allowed")]
    NoAttempts,
    /// The code could not be generated.
    #[error(transparent)]
    Code(#[from] CodeError),
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// A wait in whole seconds, rounded up (at least 1), as `Retry-After` wants.
fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs();
    if wait.subsec_nanos() > 0 {
        secs.saturating_add(1)
    } else {
        secs.max(1)
    }
}

/// What a verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyOutcome {
    /// Whether the code was right.
    pub valid: bool,
    /// The OTP's status after the attempt.
    pub status: Status,
    /// Attempts left after this one.
    pub attempts_remaining: u32,
}

/// Why no verification attempt was made (none was counted).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No OTP has this id (or it was forgotten after retention).
    #[error("no such OTP")]
    NotFound,
    /// The OTP can no longer be verified: it is final, expired, or out of
    /// attempts.
    #[error("the OTP can no longer be verified (status: {status})")]
    Closed {
        /// Why: its final status, or `expired` for a reusable OTP that
        /// outlived its time to live (its status stays `verified`).
        status: Status,
    },
    /// Verified too soon after the previous attempt.
    #[error("too many verification attempts; retry in {} ms", retry_after.as_millis())]
    RateLimited {
        /// When the next attempt is allowed.
        retry_after: Duration,
    },
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Why a status was not set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// No OTP has this id.
    #[error("no such OTP")]
    NotFound,
    /// The OTP is in a final status.
    #[error("the OTP's status can no longer change (status: {status})")]
    Final {
        /// Its final status.
        status: Status,
    },
    /// `verified`, `expired` and `canceled` are not set directly.
    #[error("the status {status} is reached only through verify, expiry or cancel")]
    NotSettable {
        /// The status asked for.
        status: Status,
    },
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Why an event was not recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// No OTP has this id.
    #[error("no such OTP")]
    NotFound,
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Why an OTP was not canceled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CancelError {
    /// No OTP has this id.
    #[error("no such OTP")]
    NotFound,
    /// The OTP is already in a final status.
    #[error("the OTP is already {status}")]
    Final {
        /// Its final status.
        status: Status,
    },
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Why a page could not be listed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// The cursor was not made by this store.
    #[error("the cursor is not valid")]
    BadCursor,
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// A failure of a shared backend (the in-memory store never fails).
#[derive(Debug, thiserror::Error)]
#[error("the OTP store backend failed: {source}")]
pub struct BackendError {
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl BackendError {
    /// Wraps a backend's own error.
    pub fn new(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> BackendError {
        BackendError {
            source: source.into(),
        }
    }
}

/// Which OTPs to list. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only this application's.
    pub application: Option<Application>,
    /// Only those sent to this number.
    pub to: Option<PhoneNumber>,
    /// Only those in this status.
    pub status: Option<Status>,
    /// Only those created at or after this time.
    pub since: Option<SystemTime>,
    /// Only those created before this time.
    pub until: Option<SystemTime>,
}

/// Which page to return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page: default 20, at most 100 (larger values are clamped).
    pub limit: Option<usize>,
    /// Where the previous page ended; `None` for the first page.
    pub cursor: Option<Cursor>,
}

impl PageRequest {
    /// The default page size.
    pub const DEFAULT_LIMIT: usize = 20;
    /// The largest page size.
    pub const MAX_LIMIT: usize = 100;

    /// The page size to use.
    pub fn effective_limit(&self) -> usize {
        self.limit
            .unwrap_or(Self::DEFAULT_LIMIT)
            .clamp(1, Self::MAX_LIMIT)
    }
}

/// One page of OTPs, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// The OTPs.
    pub items: Vec<Otp>,
    /// Pass this back for the next page; `None` on the last one.
    pub next_cursor: Option<Cursor>,
}

/// An opaque position in a listing (text, safe in a URL).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cursor {
    pub(crate) created_nanos: u128,
    pub(crate) id: OtpId,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}.{}", self.created_nanos, self.id.as_uuid().simple())
    }
}

impl FromStr for Cursor {
    type Err = ListError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (nanos, id) = text.split_once('.').ok_or(ListError::BadCursor)?;
        if nanos.is_empty() || nanos.len() > 32 || !nanos.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ListError::BadCursor);
        }
        let created_nanos = u128::from_str_radix(nanos, 16).map_err(|_| ListError::BadCursor)?;
        let id = id.parse().map_err(|_| ListError::BadCursor)?;
        Ok(Cursor { created_nanos, id })
    }
}

impl TryFrom<String> for Cursor {
    type Error = ListError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Cursor> for String {
    fn from(cursor: Cursor) -> String {
        cursor.to_string()
    }
}

/// The period usage is counted by (UTC calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// `2026-11-22`.
    Day,
    /// `2026-11`.
    Month,
    /// `2026`.
    Year,
}

/// Which OTPs usage counts. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageFilter {
    /// Only this application's.
    pub application: Option<Application>,
    /// Only those created at or after this time.
    pub since: Option<SystemTime>,
    /// Only those created before this time.
    pub until: Option<SystemTime>,
}

/// Usage of one application in one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    /// The period: `2026-11-22`, `2026-11` or `2026`.
    pub period: String,
    /// The application.
    pub application: Application,
    /// OTPs created.
    pub total: u64,
    /// OTPs by their current (or last) status.
    pub by_status: BTreeMap<Status, u64>,
    /// OTPs by the country code of the number called.
    pub by_country: BTreeMap<CountryCode, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_is_object_safe() {
        fn takes(_: &std::sync::Arc<dyn OtpStore>) {}
        let store: std::sync::Arc<dyn OtpStore> = std::sync::Arc::new(crate::MemoryStore::new(
            crate::SecretKey::from_bytes([0; 32]),
        ));
        takes(&store);
    }

    #[test]
    fn cursors_round_trip_through_text_and_json() {
        let cursor = Cursor {
            created_nanos: 1_795_305_600_123_456_789,
            id: OtpId::random(),
        };
        assert_eq!(cursor.to_string().parse::<Cursor>().unwrap(), cursor);
        let json = serde_json::to_string(&cursor).unwrap();
        assert_eq!(serde_json::from_str::<Cursor>(&json).unwrap(), cursor);
    }

    #[test]
    fn page_limits_are_clamped() {
        let limit = |n| {
            PageRequest {
                limit: n,
                cursor: None,
            }
            .effective_limit()
        };
        assert_eq!(limit(None), 20);
        assert_eq!(limit(Some(0)), 1);
        assert_eq!(limit(Some(7)), 7);
        assert_eq!(limit(Some(usize::MAX)), 100);
    }

    #[test]
    fn errors_read_well() {
        let err = CreateError::RateLimited {
            scope: LimitScope::PhoneNumber,
            retry_after: Duration::from_millis(1500),
        };
        assert_eq!(
            err.to_string(),
            "too many codes sent for this phone number; retry in 2 s"
        );
        let err = VerifyError::Closed {
            status: Status::Failed,
        };
        assert_eq!(
            err.to_string(),
            "the OTP can no longer be verified (status: failed)"
        );
    }

    proptest::proptest! {
        #[test]
        fn cursor_parser_never_panics(text in "\\PC{0,80}") {
            let _ = text.parse::<Cursor>();
        }
    }
}
