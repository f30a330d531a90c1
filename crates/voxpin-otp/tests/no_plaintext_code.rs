//! The plaintext code never shows: not in `Debug`, not in error messages,
//! not in the record or its JSON; and the store hands it out only while it
//! may still be spoken or sent.

mod common;

use std::time::Duration;

use common::*;
use voxpin_otp::{
    Code, CodeError, CodeSource, EventKind, Keypress, Limits, Mode, OtpStore, RateLimit, SmsResult,
    Status, VerifySource,
};

const SECRET: &str = "937261";

fn assert_hidden(text: &str) {
    assert!(!text.contains(SECRET), "the code leaked into: {text}");
}

#[test]
fn nothing_the_store_returns_formats_the_code() {
    let store = store();
    let mut new = manual("+14155550100", SECRET);
    new.limits = Limits {
        per_number: Some(RateLimit {
            count: 1,
            window: Duration::from_secs(60),
        }),
        ..Limits::default()
    };
    assert_hidden(&format!("{new:?}"));
    let view = store.create(t(0), new.clone()).unwrap();
    assert_hidden(&format!("{view:?}"));
    assert_hidden(&serde_json::to_string(&view).unwrap());

    let code = store.code_for_delivery(&view.id, t(1)).unwrap().unwrap();
    assert_eq!(code.expose(), SECRET);
    assert_eq!(format!("{code:?}"), "Code(******)");
    assert_eq!(format!("{:#?}", Some(&code)), "Some(\n    Code(******),\n)");

    for prompt in ["your-code-is", "9", "3", "7"] {
        store
            .record_event(&view.id, t(2), EventKind::prompt_played(prompt))
            .unwrap();
        // Even a raw event with a digit prompt name is masked by the store.
        store
            .record_event(
                &view.id,
                t(2),
                EventKind::PromptPlayed {
                    prompt: prompt.into(),
                },
            )
            .unwrap();
    }
    for _ in 0..6 {
        store
            .record_event(
                &view.id,
                t(3),
                EventKind::Keypress(Keypress::masked("collect")),
            )
            .unwrap();
    }
    store
        .record_event(&view.id, t(4), EventKind::CodePlayed { count: 1 })
        .unwrap();
    let wrong = store
        .verify(&view.id, "000000", t(5), VerifySource::Call)
        .unwrap();
    assert_hidden(&format!("{wrong:?}"));
    let limited = store.verify(&view.id, SECRET, t(5), VerifySource::Api);
    assert_hidden(&format!("{limited:?}"));
    let err = store.create(t(6), new).unwrap_err();
    assert_hidden(&format!("{err:?} {err}"));

    let otp = store.get(&view.id).unwrap().unwrap();
    assert_hidden(&format!("{otp:?}"));
    assert_hidden(&format!("{otp:#?}"));
    let json = serde_json::to_string(&otp).unwrap();
    assert_hidden(&json);
    for digit in SECRET.chars() {
        assert!(
            !json.contains(&format!("\"prompt\":\"{digit}\"")),
            "a digit prompt leaked: {json}"
        );
    }
    assert_hidden(&format!("{store:?}"));
    assert_eq!(otp.times_played, 1);
}

#[test]
fn code_errors_never_echo_the_input() {
    for text in ["93726a", "9372610000001", "93 7261"] {
        let err = Code::manual(text).unwrap_err();
        let shown = format!("{err:?} {err}");
        assert!(!shown.contains("9372"), "{shown}");
    }
    assert!(matches!(
        Code::manual("12"),
        Err(CodeError::TooShort { length: 2 })
    ));
}

#[test]
fn input_mode_keeps_no_plaintext_without_an_sms() {
    let store = store();
    let mut new = manual("+14155550100", SECRET);
    new.mode = Mode::Input;
    let view = store.create(t(0), new).unwrap();
    assert!(store.code_for_delivery(&view.id, t(1)).unwrap().is_none());
    assert!(
        store
            .verify(&view.id, SECRET, t(2), VerifySource::Call)
            .unwrap()
            .valid
    );
}

#[test]
fn input_mode_keeps_the_plaintext_until_the_sms_is_sent() {
    let store = store();
    let mut new = manual("+14155550100", SECRET);
    new.mode = Mode::Input;
    new.sms_after_call = true;
    let view = store.create(t(0), new).unwrap();
    assert!(store.code_for_delivery(&view.id, t(1)).unwrap().is_some());
    store
        .record_event(
            &view.id,
            t(2),
            EventKind::Sms {
                result: SmsResult::Sent,
            },
        )
        .unwrap();
    assert!(store.code_for_delivery(&view.id, t(3)).unwrap().is_none());
    // Verification does not need the plaintext.
    assert!(
        store
            .verify(&view.id, SECRET, t(4), VerifySource::Call)
            .unwrap()
            .valid
    );
}

#[test]
fn read_mode_keeps_the_plaintext_for_callbacks_until_the_otp_ends() {
    let store = store();
    let view = store.create(t(0), manual("+14155550100", SECRET)).unwrap();
    store.set_status(&view.id, t(1), Status::NoAnswer).unwrap();
    assert!(store.code_for_delivery(&view.id, t(300)).unwrap().is_some());
    store.cancel(&view.id, t(301)).unwrap();
    assert!(store.code_for_delivery(&view.id, t(302)).unwrap().is_none());
}

#[test]
fn generated_codes_are_never_returned_by_create() {
    let store = store();
    let mut new = manual("+14155550100", SECRET);
    new.code = CodeSource::Generate(voxpin_otp::CodeLength::new(8).unwrap());
    let view = store.create(t(0), new).unwrap();
    let code = store.code_for_delivery(&view.id, t(0)).unwrap().unwrap();
    assert_eq!(code.len(), 8);
    assert!(!serde_json::to_string(&view)
        .unwrap()
        .contains(code.expose()));
    assert!(!format!("{:?}", store.get(&view.id).unwrap()).contains(code.expose()));
}
