//! Every path of the read and input flows, driven on simulated time: each case
//! is a script of call events and the exact transcript of actions the flow
//! answers with (plays, barge-in stops, verifications, SMS, hang-up and the
//! records that matter: keypresses, gate, code heard, verify results, end).

mod support;

use support::Ev::{self, *};
use support::{check, flow, origin, run};
use voxpin_ivr::{Action, Flow, FlowEvent, RecordKind};

const READ: &str = r#"
name = "login"
mode = "read"
repeats = 2
max_duration = "2m"
[gate]
enabled = true
timeout = "8s"
"#;

const INPUT: &str = r#"
name = "signup"
mode = "input"
attempts = 3
code_length = 6
[collect]
first_digit = "10s"
inter_digit = "4s"
"#;

#[test]
fn read_flow_paths() {
    let cases: &[(&str, &str, &[Ev], &[&str])] = &[
        (
            "gate passed, code heard once, silence at the menu",
            READ,
            &[
                Answer,
                Done,
                TimeoutIn(8000),
                Key('5'),
                Done,
                Done,
                TimeoutIn(5000),
                Wait,
                Done,
            ],
            &[
                "play press-any-key",
                "key@gate 5",
                "gate passed",
                "play your-code-is,CODE",
                "heard 1",
                "play press-1-to-repeat",
                "play goodbye",
                "end Hangup",
                "hangup",
            ],
        ),
        (
            "a key during the gate prompt stops it and passes the gate",
            READ,
            &[Answer, Key('#')],
            &[
                "play press-any-key",
                "stop",
                "key@gate #",
                "gate passed",
                "play your-code-is,CODE",
            ],
        ),
        (
            "gate not pressed: asked twice, then goodbye",
            READ,
            &[Answer, Done, Wait, Done, Wait, Done],
            &[
                "play press-any-key",
                "play press-any-key",
                "gate not passed",
                "play goodbye",
                "end Hangup",
                "hangup",
            ],
        ),
        (
            "press 1 repeats until repeats are exhausted",
            READ,
            &[
                Answer,
                Key('1'),
                Done,
                Done,
                Key('1'),
                Done,
                Done,
                Key('1'),
                Done,
                Done,
                Key('1'),
                Done,
            ],
            &[
                "play press-any-key",
                "stop",
                "key@gate 1",
                "gate passed",
                "play your-code-is,CODE",
                "heard 1",
                "play press-1-to-repeat",
                "key@menu 1",
                "play i-repeat,CODE",
                "heard 2",
                "play press-1-to-repeat",
                "key@menu 1",
                "play i-repeat,CODE",
                "heard 3",
                "play press-1-to-repeat",
                "key@menu 1",
                "play goodbye",
                "end Hangup",
                "hangup",
            ],
        ),
        (
            "another key at the menu says goodbye",
            READ,
            &[Answer, Key('1'), Done, Key('7'), Done],
            &[
                "play press-any-key",
                "stop",
                "key@gate 1",
                "gate passed",
                "play your-code-is,CODE",
                "heard 1",
                "play press-1-to-repeat",
                "stop",
                "key@menu 7",
                "play goodbye",
                "end Hangup",
                "hangup",
            ],
        ),
        (
            "keys while the code plays are recorded (masked) and do not stop it",
            READ,
            &[Answer, Key('1'), Key('4'), Key('*'), Done],
            &[
                "play press-any-key",
                "stop",
                "key@gate 1",
                "gate passed",
                "play your-code-is,CODE",
                "key@code *masked*",
                "key@code *",
                "heard 1",
                "play press-1-to-repeat",
            ],
        ),
        (
            "hang-up in the middle of the code: not heard, no BYE from us",
            READ,
            &[Answer, Key('1'), HangUp, Done, Key('1'), Right],
            &[
                "play press-any-key",
                "stop",
                "key@gate 1",
                "gate passed",
                "play your-code-is,CODE",
                "end CallerHungUp",
            ],
        ),
        (
            "hang-up at the gate: gate not passed",
            READ,
            &[Answer, Done, HangUp],
            &["play press-any-key", "gate not passed", "end CallerHungUp"],
        ),
        (
            "gate disabled: the code straight away",
            "name = \"x\"\nmode = \"read\"\n[gate]\nenabled = false\n",
            &[Answer, Done],
            &[
                "play your-code-is,CODE",
                "heard 1",
                "play press-1-to-repeat",
            ],
        ),
        (
            "repeats = 0: pressing 1 says goodbye",
            "name = \"x\"\nmode = \"read\"\nrepeats = 0\n[gate]\nenabled = false\n",
            &[Answer, Done, Key('1'), Done],
            &[
                "play your-code-is,CODE",
                "heard 1",
                "play press-1-to-repeat",
                "stop",
                "key@menu 1",
                "play goodbye",
                "end Hangup",
                "hangup",
            ],
        ),
        (
            "SMS after the call when enabled",
            "name = \"x\"\nmode = \"read\"\n[gate]\nenabled = false\n[sms]\nenabled = true\n",
            &[Answer, Done, Done, Wait, Done],
            &[
                "play your-code-is,CODE",
                "heard 1",
                "play press-1-to-repeat",
                "play goodbye",
                "sms",
                "end Hangup",
                "hangup",
            ],
        ),
        (
            "a playback that never finishes ends at max_duration",
            READ,
            &[Answer, TimeoutIn(120_000), Wait],
            &[
                "play press-any-key",
                "stop",
                "gate not passed",
                "end MaxDuration",
                "hangup",
            ],
        ),
        (
            "nothing happens before the answer",
            READ,
            &[Done, Key('1'), HangUp],
            &["end CallerHungUp"],
        ),
    ];
    for (name, text, script, expected) in cases {
        check(name, text, script, expected);
    }
}

const M: &str = "key@ask *masked*";

#[test]
fn input_flow_paths() {
    let six = [Key('1'), Key('2'), Key('3'), Key('4'), Key('5'), Key('6')];
    let with = |head: &[Ev], tail: &[Ev]| -> Vec<Ev> {
        head.iter().chain(six.iter()).chain(tail).copied().collect()
    };
    let cases: Vec<(&str, &str, Vec<Ev>, Vec<&str>)> = vec![
        (
            "right code",
            INPUT,
            with(&[Answer, Done, TimeoutIn(10_000)], &[Right, Done, Done]),
            vec![
                "play enter-your-code",
                M,
                M,
                M,
                M,
                M,
                M,
                "verify 123456",
                "verified valid=true left=2 exhausted=false",
                "play verified",
                "play goodbye",
                "end Hangup",
                "hangup",
            ],
        ),
        (
            "wrong, then right",
            INPUT,
            [
                with(&[Answer, Done], &[Wrong(2), Done, Done]),
                with(&[], &[Right]),
            ]
            .concat(),
            vec![
                "play enter-your-code",
                M,
                M,
                M,
                M,
                M,
                M,
                "verify 123456",
                "verified valid=false left=2 exhausted=false",
                "play incorrect",
                "play enter-your-code",
                M,
                M,
                M,
                M,
                M,
                M,
                "verify 123456",
                "verified valid=true left=2 exhausted=false",
                "play verified",
            ],
        ),
        (
            "attempts exhausted",
            INPUT,
            with(&[Answer, Done], &[Exhausted, Done, Done]),
            vec![
                "play enter-your-code",
                M,
                M,
                M,
                M,
                M,
                M,
                "verify 123456",
                "verified valid=false left=0 exhausted=true",
                "play incorrect",
                "play goodbye",
                "end Hangup",
                "hangup",
            ],
        ),
        (
            "a digit during the prompt barges in and counts",
            INPUT,
            with(&[Answer], &[]),
            vec![
                "play enter-your-code",
                "stop",
                M,
                M,
                M,
                M,
                M,
                M,
                "verify 123456",
            ],
        ),
        (
            "* clears, the digits after it count",
            INPUT,
            with(
                &[
                    Answer,
                    Done,
                    Key('9'),
                    Key('9'),
                    Key('*'),
                    TimeoutIn(10_000),
                ],
                &[],
            ),
            vec![
                "play enter-your-code",
                M,
                M,
                "key@ask *",
                M,
                M,
                M,
                M,
                M,
                M,
                "verify 123456",
            ],
        ),
        (
            "# finishes a short entry",
            INPUT,
            vec![Answer, Done, Key('4'), Key('2'), Key('#')],
            vec!["play enter-your-code", M, M, "key@ask #", "verify 42"],
        ),
        (
            "inter-digit timeout submits what was typed",
            INPUT,
            vec![
                Answer,
                Done,
                Key('4'),
                TimeoutIn(4_000),
                Key('2'),
                TimeoutIn(4_000),
                Wait,
            ],
            vec!["play enter-your-code", M, M, "verify 42"],
        ),
        (
            "silence: asked `attempts` times, then goodbye",
            INPUT,
            vec![Answer, Done, Wait, Done, Wait, Done, Wait, Done],
            vec![
                "play enter-your-code",
                "play enter-your-code",
                "play enter-your-code",
                "play goodbye",
                "end Hangup",
                "hangup",
            ],
        ),
        (
            "# alone counts as no input",
            INPUT,
            vec![Answer, Done, Key('#')],
            vec!["play enter-your-code", "key@ask #", "play enter-your-code"],
        ),
        (
            "keys during a verify or a non-menu prompt are masked and ignored",
            INPUT,
            with(&[Answer, Done], &[Key('7'), Wrong(2), Key('8'), Key('A')]),
            vec![
                "play enter-your-code",
                M,
                M,
                M,
                M,
                M,
                M,
                "verify 123456",
                M,
                "verified valid=false left=2 exhausted=false",
                "play incorrect",
                "key@incorrect *masked*",
                "key@incorrect A",
            ],
        ),
        (
            "hang-up while verifying",
            INPUT,
            with(&[Answer, Done], &[HangUp, Right]),
            vec![
                "play enter-your-code",
                M,
                M,
                M,
                M,
                M,
                M,
                "verify 123456",
                "end CallerHungUp",
            ],
        ),
        (
            "a verify result nobody asked for is ignored",
            INPUT,
            vec![Answer, Right, Done],
            vec!["play enter-your-code"],
        ),
    ];
    for (name, text, script, expected) in &cases {
        check(name, text, script, expected);
    }
}

#[test]
fn invalid_request_plays_and_hangs_up() {
    let mut f = Flow::invalid_request(origin());
    assert_eq!(f.poll_timeout(), None);
    let got = run(&mut f, &[Key('1'), Answer, Key('1'), Done, Done]);
    assert_eq!(
        got,
        [
            "play invalid-request",
            "key@invalid-request *masked*",
            "end Hangup",
            "hangup"
        ]
    );
    assert!(f.is_finished());
    assert_eq!(f.poll_timeout(), None);
}

#[test]
fn played_records_say_whether_the_playlist_completed() {
    let mut f = flow(READ);
    let now = origin();
    f.handle_event(now, FlowEvent::Answered);
    f.handle_event(now, FlowEvent::Digit('1'));
    f.handle_event(now, FlowEvent::HungUp);
    let played: Vec<(Vec<String>, bool, bool)> = std::iter::from_fn(|| f.poll_action())
        .filter_map(|a| match a {
            Action::Record(r) => match r.kind {
                RecordKind::Played {
                    prompts,
                    code,
                    completed,
                } => Some((
                    prompts.iter().map(|p| p.to_string()).collect(),
                    code,
                    completed,
                )),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(
        played,
        vec![
            (vec!["press-any-key".to_owned()], false, false),
            (vec!["your-code-is".to_owned()], true, false),
        ]
    );
    assert_eq!(f.code_plays(), 0);
}

#[test]
fn entered_code_debug_shows_no_digits() {
    let mut f = flow(INPUT);
    let now = origin();
    f.handle_event(now, FlowEvent::Answered);
    for k in "987654".chars() {
        f.handle_event(now, FlowEvent::Digit(k));
    }
    let all: Vec<String> = std::iter::from_fn(|| f.poll_action())
        .map(|a| format!("{a:?}"))
        .collect();
    let text = all.join("\n");
    assert!(text.contains("EnteredCode(6 digits)"), "{text}");
    for digit in ['9', '8', '7', '6', '5', '4'] {
        assert!(
            !text.contains(&format!("'{digit}'")),
            "digit {digit} leaked: {text}"
        );
    }
    assert!(!text.contains("987654"));
}
