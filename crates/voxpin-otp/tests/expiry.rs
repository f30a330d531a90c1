//! An OTP is valid until its time to live runs out: then verification is
//! refused, the code is no longer handed out for delivery, the sweep marks it
//! `expired`, and after the retention the record itself is forgotten (its
//! usage is kept).

mod common;

use std::time::Duration;

use common::*;
use voxpin_otp::{
    EventKind, Granularity, OtpStore, Status, UsageFilter, VerifyError, VerifySource,
};

#[test]
fn verification_is_refused_at_the_expiry_instant() {
    let store = store();
    let view = store
        .create(t(0), manual("+14155550100", "123456"))
        .unwrap();
    assert_eq!(view.expires_at, t(600));
    assert!(store.code_for_delivery(&view.id, t(599)).unwrap().is_some());
    let err = store
        .verify(&view.id, "123456", t(600), VerifySource::Api)
        .unwrap_err();
    assert!(matches!(
        err,
        VerifyError::Closed {
            status: Status::Expired
        }
    ));
    let otp = store.get(&view.id).unwrap().unwrap();
    assert_eq!(otp.status, Status::Expired);
    assert_eq!(
        otp.attempts_used, 0,
        "a refused verification is not an attempt"
    );
    assert!(store.code_for_delivery(&view.id, t(600)).unwrap().is_none());
}

#[test]
fn the_sweep_expires_live_otps_once() {
    let store = store();
    let a = store
        .create(t(0), manual("+14155550100", "123456"))
        .unwrap();
    let mut short = manual("+14155550101", "123456");
    short.policy.ttl = Duration::from_secs(60);
    let b = store.create(t(0), short).unwrap();

    assert_eq!(store.purge_expired(t(59)).unwrap(), 0);
    assert_eq!(store.purge_expired(t(60)).unwrap(), 1);
    assert_eq!(store.purge_expired(t(61)).unwrap(), 0);
    assert_eq!(store.get(&b.id).unwrap().unwrap().status, Status::Expired);
    assert_eq!(store.get(&a.id).unwrap().unwrap().status, Status::Queued);
    assert!(store.code_for_delivery(&b.id, t(61)).unwrap().is_none());
    assert!(store
        .find_live(&app("login"), &phone("+14155550101"), t(61))
        .unwrap()
        .is_none());
    let events = store.get(&b.id).unwrap().unwrap().events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, EventKind::Expired);
    assert_eq!(events[0].at, t(60));
}

#[test]
fn final_otps_do_not_expire_again() {
    let store = store();
    let view = store
        .create(t(0), manual("+14155550100", "123456"))
        .unwrap();
    store
        .verify(&view.id, "123456", t(10), VerifySource::Api)
        .unwrap();
    assert_eq!(store.purge_expired(t(700)).unwrap(), 0);
    assert_eq!(
        store.get(&view.id).unwrap().unwrap().status,
        Status::Verified
    );
}

#[test]
fn records_are_forgotten_after_the_retention_but_usage_stays() {
    let store = store_with_retention(Duration::from_secs(3600));
    let view = store
        .create(t(0), manual("+447911123456", "123456"))
        .unwrap();
    assert_eq!(store.purge_expired(t(600)).unwrap(), 1);
    store.purge_expired(t(600 + 3599)).unwrap();
    assert!(store.get(&view.id).unwrap().is_some());
    store.purge_expired(t(600 + 3600)).unwrap();
    assert!(store.get(&view.id).unwrap().is_none());
    assert!(store.is_empty());

    let rows = store
        .usage(Granularity::Day, &UsageFilter::default())
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].period, "2026-11-22");
    assert_eq!(rows[0].total, 1);
    assert_eq!(rows[0].by_status.get(&Status::Expired), Some(&1));
    assert_eq!(
        rows[0]
            .by_country
            .iter()
            .map(|(c, n)| (c.value(), *n))
            .collect::<Vec<_>>(),
        vec![(44, 1)]
    );
}

#[test]
fn a_clock_that_jumps_forward_expires_on_every_path() {
    let store = store();
    let view = store
        .create(t(0), manual("+14155550100", "123456"))
        .unwrap();
    assert!(store
        .set_status(&view.id, t(10_000), Status::Calling)
        .is_err());
    assert_eq!(
        store.get(&view.id).unwrap().unwrap().status,
        Status::Expired
    );
}
