//! One-time codes and the store that keeps them.
//!
//! This crate is pure: no sockets, files or clocks. Every operation takes the
//! wall-clock time (`SystemTime`) from the caller, so expiry, attempt limits
//! and send rates are tested on simulated time.
//!
//! - [`Code`]: 4 to 10 digits from the OS CSPRNG, or given by the client;
//!   wiped on drop; prints as `Code(******)`.
//! - [`PhoneNumber`] (E.164), [`Application`], [`OtpId`]: parsed newtypes.
//! - [`Otp`]: the record the API serves, with its session record of
//!   [`SessionEvent`]s. It never holds the code.
//! - [`OtpStore`]: the store trait; [`MemoryStore`] is the default backend.
//!   Codes are kept as HMAC-SHA256 under a per-store key and compared in
//!   constant time; the plaintext lives only while the code may still be
//!   spoken or sent.
//!
//! # The life of an OTP
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use voxpin_otp::{
//!     Application, EventKind, Mode, MemoryStore, NewOtp, OtpStore, PhoneNumber, SecretKey,
//!     Status, VerifySource,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new(SecretKey::generate()?);
//! let mut now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
//!
//! // The API creates it: limits and policy come from the application's dialplan.
//! let new = NewOtp::new(Application::new("login")?, PhoneNumber::new("+14155550100")?, Mode::Read);
//! let view = store.create(now, new)?;
//!
//! // The engine calls, records what happens, and fetches the code to speak it.
//! store.set_status(&view.id, now, Status::Calling)?;
//! store.record_event(&view.id, now, EventKind::Answered)?;
//! let code = store.code_for_delivery(&view.id, now)?.expect("read mode keeps the code");
//! let spoken: String = code.expose().to_owned(); // → playlist of digit prompts
//! store.record_event(&view.id, now, EventKind::CodePlayed { count: 1 })?;
//! store.set_status(&view.id, now, Status::Delivered)?;
//!
//! // The person types it into the app, which verifies it through the API.
//! now += Duration::from_secs(30);
//! let outcome = store.verify(&view.id, &spoken, now, VerifySource::Api)?;
//! assert!(outcome.valid);
//! assert_eq!(outcome.status, Status::Verified);
//! assert!(store.code_for_delivery(&view.id, now)?.is_none()); // wiped
//!
//! // A background task sweeps once a second with its own clock.
//! store.purge_expired(now)?;
//! # Ok(())
//! # }
//! ```

mod code;
mod ids;
mod limits;
mod memory;
mod record;
mod store;
mod timefmt;
mod usage;

pub use code::{Code, CodeError, CodeHash, CodeHasher, CodeLength, SecretKey};
pub use ids::{
    Application, ApplicationError, CountryCode, OtpId, OtpIdError, PhoneError, PhoneNumber,
};
pub use limits::{LimitScope, Limits, Policy, RateLimit};
pub use memory::{InMemoryStore, MemoryConfig, MemoryStore};
pub use record::{
    CancelReason, EventKind, Keypress, Mode, Otp, OtpView, SessionEvent, Side, SmsResult, Status,
    UnknownStatus, VerifySource,
};
pub use store::{
    BackendError, CancelError, CodeSource, CreateError, Cursor, Granularity, ListError, ListFilter,
    NewOtp, OtpStore, Page, PageRequest, RecordError, StatusError, UsageFilter, UsageRow,
    VerifyError, VerifyOutcome,
};
