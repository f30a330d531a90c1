//! Outbound calls that are not answered: busy (486 → `busy`), no answer
//! (ring timeout → CANCEL → `no_answer`), rejected (603 → `rejected`). Each
//! writes one call record with the Asterisk disposition and releases its port.

mod support;

use std::time::Duration;

use support::{read_plan, seed, trunk, Answer, World, PERSON};
use voxpin_engine::{Command, Disposition, DtmfMode};
use voxpin_otp::{Mode, Status};

fn failed_call(answer: Answer, within: Duration) -> World {
    let mut w = World::new(seed(), &[&read_plan(1)], trunk(&[], DtmfMode::Auto), answer);
    let otp = w.create("login", PERSON, Mode::Read, None);
    w.command(Command::Dial { otp });
    w.run_until(within, "the call record", |w| !w.records.is_empty());
    assert!(w.open_ports.is_empty(), "the port is closed");
    assert_eq!(w.engine.active_calls(), 0);
    w
}

#[test]
fn busy_far_end_marks_the_otp_busy() {
    let w = failed_call(Answer::Reject(486), Duration::from_secs(5));
    let r = &w.records[0];
    assert_eq!(r.disposition, Disposition::Busy);
    assert_eq!(r.sip_status, Some(486));
    assert_eq!(r.result, "busy");
    let otp = r.otp_id.clone().expect("otp id");
    let id = otp.parse().expect("uuid");
    assert_eq!(
        w.otp(&voxpin_otp::OtpId::from_uuid(id)).status,
        Status::Busy
    );
}

#[test]
fn ring_timeout_cancels_and_marks_no_answer() {
    let w = failed_call(Answer::Never, Duration::from_secs(40));
    assert!(
        w.engine_sent.iter().any(|(_, m)| m.starts_with("CANCEL ")),
        "a CANCEL went out"
    );
    let r = &w.records[0];
    assert_eq!(r.disposition, Disposition::NoAnswer);
    assert_eq!(r.result, "no_answer");
    assert!(
        r.duration >= 20.0,
        "rang for the trunk's ring timeout: {}",
        r.duration
    );
}

#[test]
fn declined_call_marks_the_otp_rejected() {
    let w = failed_call(Answer::Reject(603), Duration::from_secs(5));
    assert_eq!(w.records[0].disposition, Disposition::Failed);
    assert_eq!(w.records[0].result, "rejected");
}

#[test]
fn a_busy_call_is_retried_when_the_trunk_says_so() {
    let mut t = trunk(&[], DtmfMode::Auto);
    t.retry = voxpin_engine::RetryPolicy {
        attempts: 2,
        delay: Duration::from_secs(10),
        on_busy: true,
        on_no_answer: false,
    };
    let mut w = World::new(seed(), &[&read_plan(1)], t, Answer::Reject(486));
    let otp = w.create("login", PERSON, Mode::Read, None);
    w.command(Command::Dial { otp });
    w.run_until(Duration::from_secs(60), "three attempts", |w| {
        w.records.len() == 3
    });
    w.run_for(Duration::from_secs(30));
    assert_eq!(
        w.records.len(),
        3,
        "the first call and two retries, no more"
    );
    let invites = w
        .engine_sent
        .iter()
        .filter(|(_, m)| m.starts_with("INVITE "))
        .count();
    assert_eq!(invites, 3);
    let attempts: Vec<u32> = w
        .otp(&otp)
        .events
        .iter()
        .filter_map(|e| match e.kind {
            voxpin_otp::EventKind::DialAttempt { attempt, .. } => Some(attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
    assert_eq!(w.otp(&otp).status, Status::Busy);
}

#[test]
fn retries_are_off_by_default() {
    let mut w = failed_call(Answer::Reject(486), Duration::from_secs(5));
    w.run_for(Duration::from_secs(120));
    assert_eq!(w.records.len(), 1);
}
