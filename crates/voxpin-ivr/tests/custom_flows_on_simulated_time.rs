//! Custom flows on simulated time: pauses in playlists, a skipped gate, a
//! numeric `limit`, key-specific transitions, `sms` steps (sent once), keys
//! without a transition, and step-level collect timeouts.

mod support;

use support::Ev::*;
use support::{check, Ev};

/// A custom read flow using every step and option the built-in flows do not.
const CUSTOM: &str = r##"
name = "custom"
mode = "read"
[gate]
enabled = false
[flow]
start = "hello"

[flow.states.hello]
gate = true
steps = [{ play = "press-any-key" }, { collect = "key" }]
on.any_key = "code"
on.timeout = "bye"

[flow.states.code]
steps = [{ pause = "1s" }, { play = "your-code-is" }, "say_code", { pause = "500ms" }, { goto = "menu" }]

[flow.states.menu]
limit = 3
steps = [{ play = ["press-1-to-repeat", "press-any-key"] }, { collect = "key", timeout = "2s" }]
on.1 = "code"
on."#" = "text"
on.timeout = "menu"
on.repeats_exhausted = "bye"

[flow.states.text]
steps = ["sms", { goto = "bye" }]

[flow.states.bye]
steps = [{ play = "goodbye" }, "sms", "hangup"]
"##;

#[test]
fn custom_flow_paths() {
    let cases: &[(&str, &[Ev], &[&str])] = &[
        (
            "a disabled gate is skipped; pauses are silences in the playlist",
            &[Answer, Done, Done, TimeoutIn(2_000)],
            &[
                "play ~1000ms,your-code-is,CODE,~500ms",
                "heard 1",
                "play press-1-to-repeat,press-any-key",
            ],
        ),
        (
            "a numeric limit: the menu is heard 3 times, then goodbye",
            &[Answer, Done, Done, Wait, Done, Wait, Done, Wait, Done],
            &[
                "play ~1000ms,your-code-is,CODE,~500ms",
                "heard 1",
                "play press-1-to-repeat,press-any-key",
                "play press-1-to-repeat,press-any-key",
                "play press-1-to-repeat,press-any-key",
                "play goodbye",
                "sms",
                "end Hangup",
                "hangup",
            ],
        ),
        (
            "# sends the SMS once, then goodbye",
            &[Answer, Done, Key('#'), Done],
            &[
                "play ~1000ms,your-code-is,CODE,~500ms",
                "heard 1",
                "play press-1-to-repeat,press-any-key",
                "stop",
                "key@menu #",
                "sms",
                "play goodbye",
                "end Hangup",
                "hangup",
            ],
        ),
        (
            "unhandled keys at the menu are recorded and the timer keeps running",
            &[Answer, Done, Done, Key('5'), TimeoutIn(1_900), Key('1')],
            &[
                "play ~1000ms,your-code-is,CODE,~500ms",
                "heard 1",
                "play press-1-to-repeat,press-any-key",
                "key@menu 5",
                "key@menu 1",
                "play ~1000ms,your-code-is,CODE,~500ms",
            ],
        ),
    ];
    for (name, script, expected) in cases {
        check(name, CUSTOM, script, expected);
    }
}

#[test]
fn step_options_override_collect_timeouts() {
    let text = r#"
name = "x"
mode = "input"
[flow]
start = "ask"
[flow.states.ask]
steps = [{ collect = "code", first_digit = "20s", inter_digit = "1500ms" }, "verify"]
on.no_input = "bye"
on.valid = "bye"
on.invalid = "bye"
on.attempts_exhausted = "bye"
[flow.states.bye]
steps = ["hangup"]
"#;
    check(
        "no prompt: the collect starts at once",
        text,
        &[
            Answer,
            TimeoutIn(20_000),
            Key('3'),
            TimeoutIn(1_500),
            Wait,
            Right,
        ],
        &[
            "key@ask *masked*",
            "verify 3",
            "verified valid=true left=2 exhausted=false",
            "end Hangup",
            "hangup",
        ],
    );
    check("silence", text, &[Answer, Wait], &["end Hangup", "hangup"]);
    check(
        "hang-up during the entry",
        text,
        &[Answer, Key('1'), HangUp],
        &["key@ask *masked*", "end CallerHungUp"],
    );
}
