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
