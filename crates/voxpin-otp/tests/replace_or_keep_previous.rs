//! A new OTP for the same application and number replaces the live one
//! (which becomes `canceled`, and whose call the engine hangs up), or, when
//! the application keeps previous codes, lives beside it.

mod common;

use common::*;
use voxpin_otp::{CancelReason, EventKind, Limits, OtpStore, Status, VerifyError, VerifySource};

#[test]
fn a_new_otp_replaces_the_live_one() {
    let store = store();
    let limits = Limits {
        replace_previous: true,
        ..Limits::default()
    };
    let mut first = manual("+14155550100", "111111");
    first.limits = limits.clone();
    let old = store.create(t(0), first).unwrap();
    store.set_status(&old.id, t(1), Status::Ringing).unwrap();
    let mut second = manual("+14155550100", "222222");
    second.limits = limits.clone();
    let new = store.create(t(5), second).unwrap();

    assert_eq!(new.replaced, vec![old.id]);
    let old_otp = store.get(&old.id).unwrap().unwrap();
    assert_eq!(old_otp.status, Status::Canceled);
    assert_eq!(
        old_otp.events.last().map(|e| &e.kind),
        Some(&EventKind::Canceled {
            reason: CancelReason::Replaced { by: new.id }
        })
    );
    assert!(matches!(
        store.verify(&old.id, "111111", t(6), VerifySource::Api),
        Err(VerifyError::Closed {
            status: Status::Canceled
        })
    ));
    assert!(store.code_for_delivery(&old.id, t(6)).unwrap().is_none());
    let live = store
        .find_live(&app("login"), &phone("+14155550100"), t(6))
        .unwrap()
        .unwrap();
    assert_eq!(live.id, new.id);
    assert_eq!(store.calls_in_progress(&app("login")), 1);

    // Other numbers and applications are untouched.
    let mut elsewhere = manual("+14155550100", "333333");
    elsewhere.application = app("signup");
    elsewhere.limits = limits;
    let other = store.create(t(7), elsewhere).unwrap();
    assert!(other.replaced.is_empty());
    assert_eq!(store.get(&new.id).unwrap().unwrap().status, Status::Queued);
}

#[test]
fn keeping_previous_codes_leaves_both_valid() {
    let store = store();
    let old = store
        .create(t(0), manual("+14155550100", "111111"))
        .unwrap();
    let new = store
        .create(t(5), manual("+14155550100", "222222"))
        .unwrap();
    assert!(new.replaced.is_empty());
    assert_eq!(
        store
            .find_live(&app("login"), &phone("+14155550100"), t(6))
            .unwrap()
            .unwrap()
            .id,
        new.id,
        "callbacks get the newest live OTP"
    );
    assert!(
        store
            .verify(&old.id, "111111", t(6), VerifySource::Api)
            .unwrap()
            .valid
    );
    assert!(
        store
            .verify(&new.id, "222222", t(6), VerifySource::Api)
            .unwrap()
            .valid
    );
    assert!(store
        .find_live(&app("login"), &phone("+14155550100"), t(7))
        .unwrap()
        .is_none());
}

#[test]
fn callbacks_find_only_the_number_the_code_was_issued_to() {
    let store = store();
    store
        .create(t(0), manual("+14155550100", "111111"))
        .unwrap();
    assert!(store
        .find_live(&app("login"), &phone("+14155550199"), t(1))
        .unwrap()
        .is_none());
    assert!(store
        .find_live(&app("signup"), &phone("+14155550100"), t(1))
        .unwrap()
        .is_none());
    assert!(store
        .find_live(&app("login"), &phone("+14155550100"), t(600))
        .unwrap()
        .is_none());
}
