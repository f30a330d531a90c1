//! Helpers shared by the behaviour tests: a store, a simulated clock and
//! OTP requests with known codes.
#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use voxpin_otp::{
    Application, Code, CodeSource, MemoryConfig, MemoryStore, Mode, NewOtp, PhoneNumber, SecretKey,
};

/// A store with a fixed key and the default settings.
pub fn store() -> MemoryStore {
    MemoryStore::new(SecretKey::from_bytes([42; 32]))
}

/// A store keeping records `retention` after expiry.
pub fn store_with_retention(retention: Duration) -> MemoryStore {
    MemoryStore::with_config(
        SecretKey::from_bytes([42; 32]),
        MemoryConfig {
            retention,
            ..MemoryConfig::default()
        },
    )
}

/// Simulated wall time: `secs` after 2026-11-22T00:00:00Z.
pub fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_305_600 + secs)
}

pub fn app(name: &str) -> Application {
    Application::new(name).unwrap()
}

pub fn phone(number: &str) -> PhoneNumber {
    PhoneNumber::new(number).unwrap()
}

/// A read-mode OTP for `login` to `to` with the manual code `code`.
pub fn manual(to: &str, code: &str) -> NewOtp {
    let mut new = NewOtp::new(app("login"), phone(to), Mode::Read);
    new.code = CodeSource::Manual(Code::manual(code).unwrap());
    new
}
