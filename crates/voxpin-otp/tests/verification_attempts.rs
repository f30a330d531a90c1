//! Verification: wrong codes use up attempts until the OTP fails; the right
//! code verifies once (or again, for reusable applications); API checks are
//! rate-limited per OTP while codes keyed in on a call are not.

mod common;

use std::time::Duration;

use common::*;
use voxpin_otp::{EventKind, OtpStore, Status, VerifyError, VerifyOutcome, VerifySource};

#[test]
fn wrong_codes_use_up_the_attempts_then_the_otp_fails() {
    let store = store();
    let view = store
        .create(t(0), manual("+14155550100", "123456"))
        .unwrap();
    for (i, remaining) in [4, 3, 2, 1].into_iter().enumerate() {
        let outcome = store
            .verify(&view.id, "000000", t(10 * i as u64), VerifySource::Api)
            .unwrap();
        assert_eq!(
            outcome,
            VerifyOutcome {
                valid: false,
                status: Status::Queued,
                attempts_remaining: remaining
            }
        );
    }
    let last = store
        .verify(&view.id, "000000", t(50), VerifySource::Api)
        .unwrap();
    assert_eq!(
        last,
        VerifyOutcome {
            valid: false,
            status: Status::Failed,
            attempts_remaining: 0
        }
    );
    // The right code no longer helps, and is not counted.
    let err = store
        .verify(&view.id, "123456", t(60), VerifySource::Api)
        .unwrap_err();
    assert!(matches!(
        err,
        VerifyError::Closed {
            status: Status::Failed
        }
    ));
    let otp = store.get(&view.id).unwrap().unwrap();
    assert_eq!(otp.attempts_used, 5);
    assert!(store.code_for_delivery(&view.id, t(60)).unwrap().is_none());
    let results: Vec<bool> = otp
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::VerifyResult { valid, .. } => Some(valid),
            _ => None,
        })
        .collect();
    assert_eq!(results, vec![false; 5]);
}

#[test]
fn the_right_code_verifies_once() {
    let store = store();
    let view = store
        .create(t(0), manual("+14155550100", "123456"))
        .unwrap();
    let wrong = store
        .verify(&view.id, "12345", t(1), VerifySource::Call)
        .unwrap();
    assert!(!wrong.valid);
    let right = store
        .verify(&view.id, "123456", t(2), VerifySource::Call)
        .unwrap();
    assert_eq!(
        right,
        VerifyOutcome {
            valid: true,
            status: Status::Verified,
            attempts_remaining: 3
        }
    );
    let again = store
        .verify(&view.id, "123456", t(10), VerifySource::Api)
        .unwrap_err();
    assert!(matches!(
        again,
        VerifyError::Closed {
            status: Status::Verified
        }
    ));
    assert_eq!(store.get(&view.id).unwrap().unwrap().attempts_used, 2);
    assert!(store.code_for_delivery(&view.id, t(10)).unwrap().is_none());
}

#[test]
fn reusable_applications_verify_again_within_the_attempts() {
    let store = store();
    let mut new = manual("+14155550100", "123456");
    new.policy.reusable = true;
    new.policy.max_attempts = 3;
    let view = store.create(t(0), new).unwrap();
    for i in 0..3u64 {
        let outcome = store
            .verify(&view.id, "123456", t(10 * i), VerifySource::Api)
            .unwrap();
        assert!(outcome.valid);
        assert_eq!(outcome.status, Status::Verified);
    }
    let err = store
        .verify(&view.id, "123456", t(100), VerifySource::Api)
        .unwrap_err();
    assert!(matches!(
        err,
        VerifyError::Closed {
            status: Status::Verified
        }
    ));
}

#[test]
fn reusable_otps_still_expire() {
    let store = store();
    let mut new = manual("+14155550100", "123456");
    new.policy.reusable = true;
    let view = store.create(t(0), new).unwrap();
    assert!(
        store
            .verify(&view.id, "123456", t(10), VerifySource::Api)
            .unwrap()
            .valid
    );
    let err = store
        .verify(&view.id, "123456", t(600), VerifySource::Api)
        .unwrap_err();
    assert!(matches!(
        err,
        VerifyError::Closed {
            status: Status::Expired
        }
    ));
    assert_eq!(store.get(&view.id).unwrap().unwrap().attempts_used, 1);
}

#[test]
fn api_verifications_are_rate_limited_per_otp() {
    let store = store();
    let view = store
        .create(t(0), manual("+14155550100", "123456"))
        .unwrap();
    let other = store
        .create(t(0), manual("+14155550199", "123456"))
        .unwrap();
    store
        .verify(&view.id, "000000", t(100), VerifySource::Api)
        .unwrap();
    let err = store
        .verify(
            &view.id,
            "123456",
            t(101) + Duration::from_millis(500),
            VerifySource::Api,
        )
        .unwrap_err();
    match err {
        VerifyError::RateLimited { retry_after } => {
            assert_eq!(retry_after, Duration::from_millis(1500))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    // Another OTP is not affected; a refused attempt is not counted.
    assert!(
        store
            .verify(&other.id, "123456", t(101), VerifySource::Api)
            .unwrap()
            .valid
    );
    assert_eq!(store.get(&view.id).unwrap().unwrap().attempts_used, 1);
    assert!(
        store
            .verify(&view.id, "123456", t(103), VerifySource::Api)
            .unwrap()
            .valid
    );
}

#[test]
fn codes_keyed_in_on_a_call_are_not_rate_limited() {
    let store = store();
    let view = store
        .create(t(0), manual("+14155550100", "123456"))
        .unwrap();
    store
        .verify(&view.id, "000000", t(5), VerifySource::Call)
        .unwrap();
    let outcome = store
        .verify(&view.id, "123456", t(5), VerifySource::Call)
        .unwrap();
    assert!(outcome.valid);
}

#[test]
fn a_clock_that_went_backwards_does_not_lock_verification_out() {
    let store = store();
    let view = store
        .create(t(0), manual("+14155550100", "123456"))
        .unwrap();
    store
        .verify(&view.id, "000000", t(500), VerifySource::Api)
        .unwrap();
    // The wall clock is stepped back 400 s: the next check is let through
    // instead of waiting 400 s.
    assert!(
        store
            .verify(&view.id, "123456", t(100), VerifySource::Api)
            .unwrap()
            .valid
    );
}

#[test]
fn unknown_ids_are_not_found() {
    let store = store();
    let id = voxpin_otp::OtpId::random();
    assert!(matches!(
        store.verify(&id, "123456", t(0), VerifySource::Api),
        Err(VerifyError::NotFound)
    ));
    assert!(store.get(&id).unwrap().is_none());
    assert!(store.code_for_delivery(&id, t(0)).unwrap().is_none());
}

#[test]
fn hostile_candidates_are_just_wrong() {
    let store = store();
    let mut new = manual("+14155550100", "123456");
    new.policy.verify_interval = Duration::ZERO;
    new.policy.max_attempts = 10;
    let view = store.create(t(0), new).unwrap();
    for candidate in [
        "",
        "1234567",
        "12345 6",
        "١٢٣٤٥٦",
        "123456\0",
        &"9".repeat(100_000),
    ] {
        let outcome = store
            .verify(&view.id, candidate, t(1), VerifySource::Api)
            .unwrap();
        assert!(!outcome.valid);
    }
}
