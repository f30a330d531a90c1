//! Callbacks: a person calls the application's number. From the number a
//! live code was issued to, the flow reads that code; from any other number
//! the caller hears "invalid request" and is hung up on, and no digit of any
//! code is spoken.

mod support;

use std::time::Duration;

use support::{read_plan, seed, trunk, Answer, World, APP_NUMBER, PERSON};
use voxpin_engine::{Direction, DtmfMode};
use voxpin_otp::{EventKind, Mode};

#[test]
fn a_known_caller_hears_their_code() {
    let mut w = World::new(
        seed(),
        &[&read_plan(1)],
        trunk(&["10.0.0.0/24"], DtmfMode::Auto),
        Answer::Never,
    );
    let otp = w.create("login", PERSON, Mode::Read, None);
    let code = w.code(&otp).expect("code");
    w.phone_calls(PERSON, APP_NUMBER);
    w.run_until(Duration::from_secs(60), "the call to end", |w| {
        !w.records.is_empty()
    });
    let mut expected = vec!["your-code-is".to_owned()];
    expected.extend(code.chars().map(|c| c.to_string()));
    assert!(
        w.heard_in_order(&expected).is_some(),
        "the caller heard their code"
    );
    let r = &w.records[0];
    assert_eq!(r.direction, Direction::Inbound);
    assert_eq!(r.otp_id.as_deref(), Some(otp.to_string().as_str()));
    assert!(w
        .otp(&otp)
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::Callback)));
}

#[test]
fn an_unknown_caller_hears_invalid_request_and_no_code() {
    let mut w = World::new(
        seed(),
        &[&read_plan(1)],
        trunk(&["10.0.0.0/24"], DtmfMode::Auto),
        Answer::Never,
    );
    let otp = w.create("login", PERSON, Mode::Read, None);
    let code = w.code(&otp).expect("code");
    w.phone_calls("+14155559999", APP_NUMBER);
    w.run_until(Duration::from_secs(30), "the call to end", |w| {
        !w.records.is_empty()
    });
    assert_eq!(w.heard_count("invalid-request"), 1);
    let digits: Vec<String> = code.chars().map(|c| c.to_string()).collect();
    assert!(w.heard_in_order(&digits).is_none(), "no code was spoken");
    assert_eq!(w.heard_count("your-code-is"), 0);
    assert_eq!(w.records[0].result, "invalid_request");
    assert!(w.records[0].otp_id.is_none());
}
