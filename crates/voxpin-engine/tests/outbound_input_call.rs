//! An outbound input call: "please enter your code", the phone keys the code
//! as RFC 4733 events, the engine verifies it against the store: right →
//! `verified`; wrong every time → `failed` once the attempts are used up.
//! Keypresses land in the session record masked.

mod support;

use std::time::Duration;

use support::{input_plan, seed, trunk, Answer, World};
use voxpin_engine::{Command, DtmfMode};
use voxpin_otp::{EventKind, Status};

const TO: &str = "+14155550123";

fn answered_input_call(attempts: u32) -> (World, voxpin_otp::OtpId) {
    answered_call_with(attempts, DtmfMode::Rfc4733)
}

fn answered_call_with(attempts: u32, dtmf: DtmfMode) -> (World, voxpin_otp::OtpId) {
    let mut w = World::new(
        seed(),
        &[&input_plan(attempts)],
        trunk(&[], dtmf),
        Answer::After(Duration::from_millis(300)),
    );
    let otp = w.create_input("signup", TO, "4812", attempts);
    w.command(Command::Dial { otp });
    w.run_until(Duration::from_secs(10), "the prompt", |w| {
        w.heard_count("enter-your-code") >= 1
    });
    (w, otp)
}

#[test]
fn the_right_code_verifies() {
    let (mut w, otp) = answered_input_call(3);
    for d in "4812".chars() {
        w.press(d);
        w.run_for(Duration::from_millis(200));
    }
    w.run_until(Duration::from_secs(30), "the call to end", |w| {
        !w.records.is_empty()
    });
    assert_eq!(w.otp(&otp).status, Status::Verified);
    assert!(w.heard_count("verified") >= 1);
    assert_eq!(w.records[0].result, "verified");
    let presses = w
        .otp(&otp)
        .events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Keypress(k) if k.is_masked()))
        .count();
    assert_eq!(presses, 4, "four masked keypresses");
}

#[test]
fn wrong_codes_use_up_the_attempts_and_fail() {
    let (mut w, otp) = answered_input_call(2);
    for round in 0..2 {
        w.run_until(Duration::from_secs(20), "a prompt to enter the code", |w| {
            w.heard_count("enter-your-code") > round
        });
        for d in "9999".chars() {
            w.press(d);
            w.run_for(Duration::from_millis(200));
        }
    }
    w.run_until(Duration::from_secs(30), "the call to end", |w| {
        !w.records.is_empty()
    });
    assert_eq!(w.otp(&otp).status, Status::Failed);
    assert!(w.heard_count("incorrect") >= 1);
    assert_eq!(w.records[0].attempts, 2);
    assert_eq!(w.records[0].result, "failed");
}

#[test]
fn an_inband_trunk_hears_tones() {
    let (mut w, otp) = answered_call_with(3, DtmfMode::Inband);
    for d in "4812".chars() {
        w.press_inband(d);
    }
    w.run_until(Duration::from_secs(30), "the call to end", |w| {
        !w.records.is_empty()
    });
    assert_eq!(w.otp(&otp).status, Status::Verified);
}
