//! Per-application limits, checked at creation: sends per phone number and
//! per application over sliding windows, and calls in progress. A refused
//! creation stores nothing and does not count as a send.

mod common;

use std::time::Duration;

use common::*;
use voxpin_otp::{
    CreateError, EventKind, LimitScope, Limits, NewOtp, OtpStore, RateLimit, Side, Status,
};

fn limited(to: &str, limits: &Limits) -> NewOtp {
    let mut new = manual(to, "123456");
    new.limits = limits.clone();
    new
}

#[test]
fn sends_per_number_are_limited_per_window() {
    let store = store();
    let limits = Limits {
        per_number: Some(RateLimit {
            count: 3,
            window: Duration::from_secs(3600),
        }),
        ..Limits::default()
    };
    for s in [0, 100, 200] {
        store
            .create(t(s), limited("+14155550100", &limits))
            .unwrap();
    }
    let err = store
        .create(t(300), limited("+14155550100", &limits))
        .unwrap_err();
    match err {
        CreateError::RateLimited { scope, retry_after } => {
            assert_eq!(scope, LimitScope::PhoneNumber);
            assert_eq!(retry_after, Duration::from_secs(3300));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(store.len(), 3, "a refused send stores nothing");
    // Another number is not affected.
    store
        .create(t(300), limited("+14155550101", &limits))
        .unwrap();
    // The window slides: the first send leaves it at 3600 s.
    assert!(store
        .create(t(3599), limited("+14155550100", &limits))
        .is_err());
    store
        .create(t(3600), limited("+14155550100", &limits))
        .unwrap();
    assert!(store
        .create(t(3601), limited("+14155550100", &limits))
        .is_err());
}

#[test]
fn sends_per_application_are_limited_per_window() {
    let store = store();
    let limits = Limits {
        per_application: Some(RateLimit {
            count: 2,
            window: Duration::from_secs(60),
        }),
        ..Limits::default()
    };
    store
        .create(t(0), limited("+14155550100", &limits))
        .unwrap();
    store
        .create(t(1), limited("+14155550101", &limits))
        .unwrap();
    let err = store
        .create(t(2), limited("+14155550102", &limits))
        .unwrap_err();
    assert!(matches!(
        err,
        CreateError::RateLimited {
            scope: LimitScope::Application,
            retry_after
        } if retry_after == Duration::from_secs(58)
    ));
    // Another application has its own window.
    let mut other = limited("+14155550102", &limits);
    other.application = app("signup");
    store.create(t(2), other).unwrap();
    store
        .create(t(60), limited("+14155550102", &limits))
        .unwrap();
}

#[test]
fn calls_in_progress_are_limited_until_they_hang_up() {
    let store = store();
    let limits = Limits {
        max_concurrent_calls: Some(2),
        ..Limits::default()
    };
    let a = store
        .create(t(0), limited("+14155550100", &limits))
        .unwrap();
    let b = store
        .create(t(0), limited("+14155550101", &limits))
        .unwrap();
    let err = store
        .create(t(0), limited("+14155550102", &limits))
        .unwrap_err();
    assert!(matches!(err, CreateError::TooManyCalls { limit: 2 }));
    assert_eq!(store.calls_in_progress(&app("login")), 2);

    // A call that ends frees its place; so does one that was not answered.
    store.set_status(&a.id, t(1), Status::Answered).unwrap();
    store
        .record_event(
            &a.id,
            t(20),
            EventKind::Hangup {
                cause: 16,
                side: Side::Remote,
                sip_status: None,
            },
        )
        .unwrap();
    store
        .create(t(20), limited("+14155550102", &limits))
        .unwrap();
    store.set_status(&b.id, t(30), Status::NoAnswer).unwrap();
    assert_eq!(store.calls_in_progress(&app("login")), 1);
    store
        .create(t(30), limited("+14155550103", &limits))
        .unwrap();
    assert_eq!(store.calls_in_progress(&app("login")), 2);

    // A callback counts while it lasts.
    store
        .record_event(&a.id, t(40), EventKind::Callback)
        .unwrap();
    assert_eq!(store.calls_in_progress(&app("login")), 3);
}

#[test]
fn final_statuses_and_expiry_free_the_call_count() {
    let store = store();
    let a = store
        .create(t(0), manual("+14155550100", "123456"))
        .unwrap();
    let b = store
        .create(t(0), manual("+14155550101", "123456"))
        .unwrap();
    let c = store
        .create(t(0), manual("+14155550102", "123456"))
        .unwrap();
    assert_eq!(store.calls_in_progress(&app("login")), 3);
    store.cancel(&a.id, t(1)).unwrap();
    store
        .verify(&b.id, "123456", t(1), voxpin_otp::VerifySource::Call)
        .unwrap();
    assert_eq!(store.calls_in_progress(&app("login")), 1);
    store.purge_expired(t(600)).unwrap();
    assert_eq!(store.get(&c.id).unwrap().unwrap().status, Status::Expired);
    assert_eq!(store.calls_in_progress(&app("login")), 0);
}

#[test]
fn bad_policies_are_refused() {
    let store = store();
    let mut zero_ttl = manual("+14155550100", "123456");
    zero_ttl.policy.ttl = Duration::ZERO;
    assert!(matches!(
        store.create(t(0), zero_ttl),
        Err(CreateError::BadTtl)
    ));
    let mut huge_ttl = manual("+14155550100", "123456");
    huge_ttl.policy.ttl = Duration::MAX;
    assert!(matches!(
        store.create(t(0), huge_ttl),
        Err(CreateError::BadTtl)
    ));
    let mut no_attempts = manual("+14155550100", "123456");
    no_attempts.policy.max_attempts = 0;
    assert!(matches!(
        store.create(t(0), no_attempts),
        Err(CreateError::NoAttempts)
    ));
    assert!(store.is_empty());
}

#[test]
fn a_full_store_refuses_until_a_sweep_forgets() {
    let store = voxpin_otp::MemoryStore::with_config(
        voxpin_otp::SecretKey::from_bytes([1; 32]),
        voxpin_otp::MemoryConfig {
            max_records: 2,
            retention: Duration::from_secs(60),
            ..voxpin_otp::MemoryConfig::default()
        },
    );
    store
        .create(t(0), manual("+14155550100", "123456"))
        .unwrap();
    store
        .create(t(0), manual("+14155550101", "123456"))
        .unwrap();
    assert!(matches!(
        store.create(t(1), manual("+14155550102", "123456")),
        Err(CreateError::StoreFull { capacity: 2 })
    ));
    store.purge_expired(t(660)).unwrap();
    store
        .create(t(660), manual("+14155550102", "123456"))
        .unwrap();
}
