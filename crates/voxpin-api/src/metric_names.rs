//! The metrics the API itself emits (the binary's `metrics` module lists them
//! with all the others).

/// Code verifications, by `result` (`valid`, `invalid`, `exhausted`, `expired`).
pub const VERIFICATIONS_TOTAL: &str = "voxpin_verifications_total";
/// API requests refused by the per-key rate limit.
pub const RATE_LIMITED_TOTAL: &str = "voxpin_api_rate_limited_total";
/// OTPs created through the API, by `mode` (`read`|`input`).
pub const OTPS_CREATED_TOTAL: &str = "voxpin_otps_created_total";
