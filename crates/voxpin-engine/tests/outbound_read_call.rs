//! An outbound read call, end to end on simulated time: the engine dials the
//! OTP's number over the application's trunk, the phone answers, hears "your
//! code is" and the code's digit prompts in order, presses 1 to hear it again,
//! and the engine hangs up; the OTP is `delivered`, its session record holds
//! the call's events, and one call record is written.

mod support;

use std::time::Duration;

use support::{read_plan, seed, trunk, Answer, World, APP_NUMBER, PERSON};
use voxpin_engine::{Command, Direction, Disposition, DtmfMode, HungUpBy};
use voxpin_otp::{EventKind, Mode, Status};

fn digit_prompts(code: &str) -> Vec<String> {
    code.chars().map(|c| c.to_string()).collect()
}

#[test]
fn the_code_is_read_in_order_and_the_otp_is_delivered() {
    let mut w = World::new(
        seed(),
        &[&read_plan(2)],
        trunk(&[], DtmfMode::Auto),
        Answer::After(Duration::from_secs(2)),
    );
    let otp = w.create("login", PERSON, Mode::Read, None);
    let code = w.code(&otp).expect("read mode keeps the code");
    w.command(Command::Dial { otp });

    let invite = w
        .engine_sent
        .iter()
        .find(|(_, m)| m.starts_with("INVITE "))
        .cloned()
        .expect("an INVITE went out");
    assert!(
        invite.1.contains(&format!("sip:{PERSON}@")),
        "request URI names the number: {}",
        invite.1
    );
    assert!(
        invite.1.contains(&format!("<sip:{APP_NUMBER}@")),
        "caller ID is the application's number: {}",
        invite.1
    );
    // The test phone rings at once.
    assert_eq!(w.otp(&otp).status, Status::Ringing);
    w.run_until(Duration::from_secs(60), "the call to end", |w| {
        !w.records.is_empty()
    });

    let mut expected = vec!["your-code-is".to_owned()];
    expected.extend(digit_prompts(&code));
    assert!(
        w.heard_in_order(&expected).is_some(),
        "the phone heard the code's digits in order"
    );
    let o = w.otp(&otp);
    assert_eq!(o.status, Status::Delivered);
    let kinds: Vec<&EventKind> = o.events.iter().map(|e| &e.kind).collect();
    assert!(kinds
        .iter()
        .any(|k| matches!(k, EventKind::DialAttempt { .. })));
    assert!(kinds.iter().any(|k| matches!(k, EventKind::Ringing)));
    assert!(kinds.iter().any(|k| matches!(k, EventKind::Answered)));
    assert!(kinds
        .iter()
        .any(|k| matches!(k, EventKind::CodePlayed { count: 1 })));
    assert!(kinds.iter().any(|k| matches!(k, EventKind::Hangup { .. })));
    assert!(
        !format!("{:?}", o.events).contains(&code),
        "the session record never holds the code"
    );

    assert_eq!(w.records.len(), 1, "one record per call");
    let r = &w.records[0];
    assert_eq!(r.direction, Direction::Outbound);
    assert_eq!(r.disposition, Disposition::Answered);
    assert_eq!(r.hungup_by, Some(HungUpBy::Local));
    assert_eq!(r.result, "delivered");
    let call_id = r
        .sip_call_id
        .as_deref()
        .expect("the record names the SIP Call-ID");
    assert!(
        invite.1.contains(&format!("Call-ID: {call_id}")),
        "{call_id} is the INVITE's"
    );
    assert!(r.billsec > 0.0 && r.duration > r.billsec);
    assert!(
        !r.to_json_line().contains(&code),
        "the call record never holds the code"
    );
    assert!(w.open_ports.is_empty(), "the RTP port was closed");
}

#[test]
fn pressing_1_replays_the_code() {
    let mut w = World::new(
        seed(),
        &[&read_plan(2)],
        trunk(&[], DtmfMode::Auto),
        Answer::After(Duration::from_millis(500)),
    );
    let otp = w.create("login", PERSON, Mode::Read, None);
    let code = w.code(&otp).expect("code");
    w.command(Command::Dial { otp });
    let last = code.chars().last().expect("digit").to_string();
    let first_play: Vec<String> = std::iter::once("your-code-is".to_owned())
        .chain(digit_prompts(&code))
        .collect();
    w.run_until(Duration::from_secs(30), "the code to be read once", |w| {
        w.heard_in_order(&first_play).is_some()
    });
    w.run_until(Duration::from_secs(10), "the repeat offer", |w| {
        w.heard_count("press-1-to-repeat") >= 1
    });
    w.press('1');
    w.run_until(Duration::from_secs(60), "the call to end", |w| {
        !w.records.is_empty()
    });
    let again: Vec<String> = std::iter::once("i-repeat".to_owned())
        .chain(digit_prompts(&code))
        .collect();
    let twice: Vec<String> = first_play.iter().chain(again.iter()).cloned().collect();
    assert!(
        w.heard_in_order(&twice).is_some(),
        "\"I repeat\" and the code again after pressing 1"
    );
    assert!(w.heard_count(&last) >= 2);
    let o = w.otp(&otp);
    assert!(o
        .events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Keypress(k) if k.key() == '1' && !k.is_masked())));
    assert!(o
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::CodePlayed { count: 2 })));
    assert_eq!(w.records[0].repeats, 2);
}

#[test]
fn the_far_end_hanging_up_mid_code_ends_the_call_cleanly() {
    let mut w = World::new(
        seed(),
        &[&read_plan(2)],
        trunk(&[], DtmfMode::Auto),
        Answer::After(Duration::from_millis(100)),
    );
    let otp = w.create("login", PERSON, Mode::Read, None);
    w.command(Command::Dial { otp });
    w.run_until(Duration::from_secs(10), "some audio", |w| {
        w.heard.len() > 60
    });
    w.phone_hangs_up();
    w.run_until(Duration::from_secs(5), "the record", |w| {
        !w.records.is_empty()
    });
    assert_eq!(w.records[0].hungup_by, Some(HungUpBy::Remote));
    assert_eq!(w.records[0].disposition, Disposition::Answered);
    assert_eq!(w.engine.active_calls(), 0);
    assert!(w.open_ports.is_empty());
}

#[test]
fn every_status_change_is_posted_to_the_status_callback() {
    let mut w = World::new(
        seed(),
        &[&read_plan(1)],
        trunk(&[], DtmfMode::Auto),
        Answer::After(Duration::from_millis(200)),
    );
    let otp = w.create_with_callback("login", PERSON, "https://app.example/hooks/otp");
    let code = w.code(&otp).expect("code");
    w.command(Command::Dial { otp });
    w.run_until(Duration::from_secs(60), "the call to end", |w| {
        !w.records.is_empty()
    });
    let statuses: Vec<&str> = w.callbacks.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(statuses, ["calling", "ringing", "answered", "delivered"]);
    for c in &w.callbacks {
        assert_eq!(c.url, "https://app.example/hooks/otp");
        assert_eq!(c.body["id"], otp.to_string());
        assert_eq!(c.body["status"], c.status);
        assert!(
            !c.body.to_string().contains(&code),
            "a callback never holds the code"
        );
    }
}
