//! Who gets an answer at all: a source outside every trunk's inbound ACL gets
//! no response (not even 100 Trying); a number no application owns gets 404;
//! while draining, and over the call limit, callers get 503 with Retry-After.

mod support;

use std::time::Duration;

use support::{read_plan, seed, trunk, Answer, World, APP_NUMBER, PERSON};
use voxpin_engine::{Command, DtmfMode};
use voxpin_sip::Event;

fn final_status(w: &World) -> Option<u16> {
    w.phone_events.iter().find_map(|e| match e {
        Event::Ended { status, .. } => *status,
        _ => None,
    })
}

#[test]
fn a_source_outside_the_acl_gets_no_response() {
    let mut w = World::new(
        seed(),
        &[&read_plan(1)],
        trunk(&["192.0.2.0/24"], DtmfMode::Auto),
        Answer::Never,
    );
    w.phone_calls(PERSON, APP_NUMBER);
    w.run_for(Duration::from_secs(40));
    assert!(
        w.engine_sent.is_empty(),
        "the engine said nothing: {:?}",
        w.engine_sent
    );
    assert!(w.records.is_empty());
}

#[test]
fn an_unknown_called_number_gets_404() {
    let mut w = World::new(
        seed(),
        &[&read_plan(1)],
        trunk(&["10.0.0.0/24"], DtmfMode::Auto),
        Answer::Never,
    );
    w.phone_calls(PERSON, "+15559990000");
    w.run_for(Duration::from_secs(2));
    assert_eq!(final_status(&w), Some(404));
}

#[test]
fn draining_refuses_new_calls_with_503_and_retry_after() {
    let mut w = World::new(
        seed(),
        &[&read_plan(1)],
        trunk(&["10.0.0.0/24"], DtmfMode::Auto),
        Answer::Never,
    );
    let deadline = w.now + Duration::from_secs(30);
    w.command(Command::Drain { deadline });
    assert!(
        w.engine.is_drained(),
        "no call was live, so the drain is complete"
    );
    w.phone_calls(PERSON, APP_NUMBER);
    w.run_for(Duration::from_secs(2));
    assert_eq!(final_status(&w), Some(503));
    let resp = w
        .engine_sent
        .iter()
        .find(|(_, m)| m.starts_with("SIP/2.0 503"))
        .expect("a 503");
    assert!(resp.1.contains("Retry-After:"), "{}", resp.1);
}

#[test]
fn calls_over_the_limit_wait_in_the_queue_and_start_as_slots_free() {
    // max_calls is 4 in the test world.
    let mut w = World::new(
        seed(),
        &[&read_plan(1)],
        trunk(&[], DtmfMode::Auto),
        Answer::Never,
    );
    let otps: Vec<_> = (0..6)
        .map(|i| {
            w.create(
                "login",
                &format!("+1415555010{i}"),
                voxpin_otp::Mode::Read,
                None,
            )
        })
        .collect();
    for otp in &otps {
        w.command(Command::Dial { otp: *otp });
    }
    assert_eq!(w.engine.active_calls(), 4, "four calls up, two queued");
    w.run_until(Duration::from_secs(60), "all six calls to end", |w| {
        w.records.len() == 6
    });
    let invites = w
        .engine_sent
        .iter()
        .filter(|(_, m)| m.starts_with("INVITE "))
        .count();
    assert_eq!(invites, 6, "the queued dials were placed as slots freed");
}

#[test]
fn the_drain_deadline_hangs_up_live_calls() {
    let mut w = World::new(
        seed(),
        &[&read_plan(1)],
        trunk(&[], DtmfMode::Auto),
        Answer::After(Duration::from_millis(100)),
    );
    let otp = w.create("login", PERSON, voxpin_otp::Mode::Read, None);
    w.command(Command::Dial { otp });
    w.run_until(Duration::from_secs(5), "audio", |w| !w.heard.is_empty());
    let deadline = w.now + Duration::from_secs(1);
    w.command(Command::Drain { deadline });
    assert!(!w.engine.is_drained(), "a call is live");
    w.run_until(Duration::from_secs(3), "the drain", |w| {
        w.engine.is_drained()
    });
    assert!(
        w.now <= deadline + Duration::from_millis(100),
        "hung up at the deadline"
    );
    assert!(w.engine_sent.iter().any(|(_, m)| m.starts_with("BYE ")));
    assert_eq!(w.records.len(), 1);
}

#[test]
fn dials_queued_at_drain_are_marked_error_not_left_queued() {
    let mut w = World::new(
        seed(),
        &[&read_plan(1)],
        trunk(&[], DtmfMode::Auto),
        Answer::Never,
    );
    let otps: Vec<_> = (0..5)
        .map(|i| {
            w.create(
                "login",
                &format!("+1415555020{i}"),
                voxpin_otp::Mode::Read,
                None,
            )
        })
        .collect();
    for otp in &otps {
        w.command(Command::Dial { otp: *otp });
    }
    let deadline = w.now + Duration::from_secs(1);
    w.command(Command::Drain { deadline });
    assert_eq!(
        w.otp(&otps[4]).status,
        voxpin_otp::Status::Error,
        "the queued dial was dropped"
    );
    w.run_until(Duration::from_secs(3), "the drain", |w| {
        w.engine.is_drained()
    });
    assert_eq!(w.records.len(), 4);
}
