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
//! # Rules the store keeps
//!
//! - **Statuses.** `verified`, `failed`, `expired` and `canceled` are final.
//!   Call outcomes (`no_answer`, `busy`, `rejected`, `error`) are not: the
//!   person may still call back or type the code in the app until expiry.
//!   The engine moves call progress with [`OtpStore::set_status`]; only
//!   [`OtpStore::verify`], expiry and [`OtpStore::cancel`] reach `verified`,
//!   `expired` and `canceled`.
//! - **Attempts.** Every counted verification (right or wrong) uses one
//!   attempt; the last wrong one fails the OTP. Refusals (`Closed`,
//!   `RateLimited`, `NotFound`) are not attempts. API checks of one OTP are
//!   spaced by [`Policy::verify_interval`] (3 s by default); codes keyed in
//!   on a call are paced by the call.
//! - **Plaintext.** Kept only while it may be spoken or sent: read mode until
//!   the OTP is final or expired (callbacks read it again), input mode only
//!   until the SMS after the call is recorded. Wiped (zeroized) otherwise.
//!   The record never holds it: digit prompts are recorded as `digit`, code
//!   keypresses as `*`.
//! - **Limits** ([`Limits`], from the dialplan) are checked atomically with
//!   the insert: sends per number and per application over sliding windows,
//!   and calls in progress (an OTP counts from creation, or from a
//!   [`EventKind::Callback`], until its [`EventKind::Hangup`], a call outcome
//!   status or a final status).
//! - **Sweeps.** [`OtpStore::purge_expired`] marks overdue OTPs `expired`;
//!   records are forgotten [`MemoryConfig::retention`] after expiry, their
//!   usage kept per day.
//!
//! # Backends
//!
//! [`MemoryStore`] serves one process. Each operation on one OTP runs under
//! that OTP's lock, the semantics a Redis backend gets from a Lua script or
//! `WATCH`/`MULTI` on the OTP's hash, with key expiry at `expires_at` plus the
//! retention. [`CodeHasher`] and [`Otp`]'s serde forms are public so such a
//! backend can live in another crate; nodes sharing a backend share the
//! [`SecretKey`].
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
