//! Bad dialplan files are refused with a precise message: file, line, key path
//! and reason, for every kind of mistake ops can make (unknown prompt, state,
//! key or event; dead ends and loops; bad durations, rates and numbers; wrong
//! types; syntax errors). One file may yield several errors; all are reported.

use voxpin_ivr::{Dialplan, PromptSet};

const BASE: &str = "name = \"app\"\nmode = \"read\"\n";
const INPUT: &str = "name = \"app\"\nmode = \"input\"\n";
const FLOW: &str = "[flow]\nstart = \"a\"\n";

fn errors(text: &str) -> Vec<String> {
    match Dialplan::from_toml("app.toml", text, &PromptSet::standard()) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[track_caller]
fn refused(text: String, expected: &[&str]) {
    assert_eq!(errors(&text), expected, "\n{text}");
}

#[test]
fn unknown_prompt() {
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ play = \"press-2\" }}, \"hangup\"]\n"),
        &["app.toml:6: flow.states.a.steps[0].play: unknown prompt `press-2` (prompts: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, enter-your-code, goodbye, i-repeat, incorrect, invalid-request, press-1-to-repeat, press-any-key, verified, your-code-is)"],
    );
}

#[test]
fn the_built_in_flow_needs_its_prompts_too() {
    let prompts = PromptSet::new([
        "your-code-is",
        "press-any-key",
        "press-1-to-repeat",
        "i-repeat",
    ]);
    let errors = Dialplan::from_toml("app.toml", BASE, &prompts).expect_err("no goodbye prompt");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 1, "{text:#?}");
    assert!(text[0].starts_with("built-in read flow:"), "{}", text[0]);
    assert!(
        text[0].contains("flow.states.goodbye.steps[0].play: unknown prompt `goodbye`"),
        "{}",
        text[0]
    );
}

#[test]
fn unknown_state() {
    refused(
        format!(
            "{BASE}{FLOW}[flow.states.a]\nsteps = [{{ play = \"goodbye\" }}, {{ goto = \"b\" }}]\n"
        ),
        &["app.toml:6: flow.states.a.steps[1].goto: unknown state `b` (states: a)"],
    );
    refused(
        format!("{BASE}[flow]\nstart = \"zz\"\n[flow.states.a]\nsteps = [\"hangup\"]\n"),
        &["app.toml:4: flow.start: unknown state `zz` (states: a)"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ collect = \"key\" }}]\non.timeout = \"a\"\non.1 = \"nowhere\"\n"),
        &["app.toml:8: flow.states.a.on.1: unknown state `nowhere` (states: a)"],
    );
}

#[test]
fn dead_ends() {
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ play = \"goodbye\" }}]\n"),
        &["app.toml:5: flow.states.a: state `a` is a dead end: its last step must be `hangup`, `goto`, `collect = \"key\"` or `verify`"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ play = \"goodbye\" }}, {{ goto = \"b\" }}]\n[flow.states.b]\nsteps = [{{ play = \"goodbye\" }}, {{ goto = \"a\" }}]\n"),
        &[
            "app.toml:5: flow.states.a: no path from state `a` ends in `hangup`",
            "app.toml:7: flow.states.b: no path from state `b` ends in `hangup`",
        ],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ collect = \"key\" }}]\non.1 = \"b\"\n[flow.states.b]\nsteps = [\"hangup\"]\n"),
        &["app.toml:5: flow.states.a.on: the state waits for `timeout` but has no `on.timeout`"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nlimit = 2\nsteps = [\"hangup\"]\n"),
        &["app.toml:5: flow.states.a.on: the state waits for `repeats_exhausted` but has no `on.repeats_exhausted`"],
    );
}

#[test]
fn loops_that_never_end() {
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ play = \"press-any-key\" }}, {{ collect = \"key\" }}]\non.timeout = \"a\"\non.any_key = \"b\"\n[flow.states.b]\nsteps = [\"hangup\"]\n"),
        &["app.toml:5: flow.states.a: a caller who never presses a key can loop forever: a -> a; give one of these states a `limit` whose `on.repeats_exhausted` leads out of the loop"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [\"sms\", {{ goto = \"b\" }}]\n[flow.states.b]\nsteps = [{{ goto = \"a\" }}]\n[flow.states.c]\nsteps = [{{ collect = \"key\" }}]\non.timeout = \"a\"\non.any_key = \"d\"\n[flow.states.d]\nsteps = [\"hangup\"]\n"),
        &[
            "app.toml:9: flow.states.c: state `c` is never reached from `start`",
            "app.toml:13: flow.states.d: state `d` is never reached from `start`",
            "app.toml:5: flow.states.a: no path from state `a` ends in `hangup`",
            "app.toml:7: flow.states.b: no path from state `b` ends in `hangup`",
        ],
    );
    // A spin with a way out is still a spin.
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ goto = \"b\" }}]\n[flow.states.b]\nsteps = [{{ goto = \"a\" }}]\n"),
        &[
            "app.toml:5: flow.states.a: no path from state `a` ends in `hangup`",
            "app.toml:7: flow.states.b: no path from state `b` ends in `hangup`",
        ],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ collect = \"key\" }}]\non.timeout = \"b\"\non.1 = \"c\"\n[flow.states.b]\nsteps = [{{ goto = \"a\" }}]\n[flow.states.c]\nsteps = [\"hangup\"]\n"),
        &["app.toml:5: flow.states.a: a caller who never presses a key can loop forever: a -> b -> a; give one of these states a `limit` whose `on.repeats_exhausted` leads out of the loop"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nlimit = 1\nsteps = [{{ goto = \"b\" }}]\non.repeats_exhausted = \"b\"\n[flow.states.b]\nsteps = [\"sms\", {{ goto = \"a\" }}]\n[flow.states.c]\nsteps = [\"hangup\"]\n"),
        &["app.toml:11: flow.states.c: state `c` is never reached from `start`", "app.toml:5: flow.states.a: no path from state `a` ends in `hangup`", "app.toml:9: flow.states.b: no path from state `b` ends in `hangup`"],
    );
}

#[test]
fn a_used_up_limit_that_leads_back_into_a_silent_loop_is_refused() {
    // s1 runs once; after a key press brought the caller back, silence goes
    // s0 -> s3 -> s1 (used up) -> s3 -> s1 ... forever.
    refused(
        format!("{BASE}[flow]\nstart = \"s0\"\n[flow.states.s0]\nsteps = [{{ collect = \"key\" }}]\non.timeout = \"s3\"\non.any_key = \"s0\"\n[flow.states.s1]\nlimit = 1\nsteps = [{{ collect = \"key\" }}]\non.timeout = \"s2\"\non.any_key = \"s0\"\non.repeats_exhausted = \"s3\"\n[flow.states.s2]\nsteps = [\"hangup\"]\n[flow.states.s3]\nsteps = [{{ play = \"goodbye\" }}, {{ collect = \"key\" }}]\non.timeout = \"s1\"\non.any_key = \"s0\"\n"),
        &["app.toml:17: flow.states.s3: a caller who never presses a key can loop forever: s3 -> s1 -> s3; give one of these states a `limit` whose `on.repeats_exhausted` leads out of the loop"],
    );
}

#[test]
fn a_limited_loop_is_fine_and_an_unlimited_instant_one_is_not() {
    // a and b bounce without waiting, but `a` may be entered only twice.
    let ok = format!("{BASE}{FLOW}[flow.states.a]\nlimit = 2\nsteps = [{{ goto = \"b\" }}]\non.repeats_exhausted = \"c\"\n[flow.states.b]\nsteps = [{{ goto = \"a\" }}]\n[flow.states.c]\nsteps = [\"hangup\"]\n");
    Dialplan::from_toml("app.toml", &ok, &PromptSet::standard())
        .unwrap_or_else(|e| panic!("{e:#?}"));
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nlimit = 2\nsteps = [{{ goto = \"b\" }}]\non.repeats_exhausted = \"b\"\n[flow.states.b]\nsteps = [{{ collect = \"key\" }}]\non.timeout = \"a\"\non.1 = \"c\"\n[flow.states.c]\nsteps = [{{ goto = \"a\" }}]\n"),
        &["app.toml:5: flow.states.a: no path from state `a` ends in `hangup`", "app.toml:9: flow.states.b: no path from state `b` ends in `hangup`", "app.toml:13: flow.states.c: no path from state `c` ends in `hangup`"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nlimit = 2\nsteps = [{{ goto = \"b\" }}]\non.repeats_exhausted = \"b\"\n[flow.states.b]\nsteps = [{{ goto = \"a\" }}]\n[flow.states.c]\nsteps = [\"hangup\"]\n[flow.states.d]\nsteps = [{{ collect = \"key\" }}]\non.timeout = \"c\"\non.any_key = \"a\"\n"),
        &["app.toml:11: flow.states.c: state `c` is never reached from `start`", "app.toml:13: flow.states.d: state `d` is never reached from `start`", "app.toml:5: flow.states.a: no path from state `a` ends in `hangup`", "app.toml:9: flow.states.b: no path from state `b` ends in `hangup`"],
    );
}

#[test]
fn instant_loop_with_an_exit_elsewhere() {
    // `b` and `c` jump to each other forever once `b` is used up, though `e` hangs up.
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ collect = \"key\" }}]\non.timeout = \"e\"\non.1 = \"b\"\n[flow.states.b]\nlimit = 1\nsteps = [{{ goto = \"d\" }}]\non.repeats_exhausted = \"c\"\n[flow.states.c]\nsteps = [{{ goto = \"b\" }}]\n[flow.states.d]\nsteps = [{{ play = \"goodbye\" }}, {{ goto = \"a\" }}]\n[flow.states.e]\nsteps = [\"hangup\"]\n"),
        &["app.toml:9: flow.states.b: states b -> c -> b jump to each other without playing or waiting: the call would spin"],
    );
}

#[test]
fn unreachable_state() {
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [\"hangup\"]\n[flow.states.b]\nsteps = [\"hangup\"]\n"),
        &["app.toml:7: flow.states.b: state `b` is never reached from `start`"],
    );
}

#[test]
fn bad_durations_and_rates() {
    refused(
        format!("{BASE}ttl = \"10 minutes\"\n"),
        &["app.toml:3: ttl: `10 minutes` is not a duration: unknown unit; units are ms, s, m, h (write e.g. \"500ms\", \"3s\", \"10m\", \"1h\")"],
    );
    refused(
        format!("{BASE}[collect]\nfirst_digit = \"10\"\n"),
        &["app.toml:4: collect.first_digit: `10` is not a duration: a number has no unit; units are ms, s, m, h (write e.g. \"500ms\", \"3s\", \"10m\", \"1h\")"],
    );
    refused(format!("{BASE}ttl = \"2d\"\n"), &["app.toml:3: ttl: `2d` is not a duration: unknown unit; units are ms, s, m, h (write e.g. \"500ms\", \"3s\", \"10m\", \"1h\")"]);
    refused(
        format!("{BASE}ttl = \"48h\"\n"),
        &["app.toml:3: ttl: `48h` is out of range: 1s to 24h"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ pause = \"soon\" }}, \"hangup\"]\n"),
        &["app.toml:6: flow.states.a.steps[0].pause: `soon` is not a duration: a unit has no number before it (write e.g. \"500ms\", \"3s\", \"10m\", \"1h\")"],
    );
    refused(
        format!("{BASE}[limits]\nper_number = \"3 per hour\"\n"),
        &["app.toml:4: limits.per_number: `3 per hour` is not a rate: write a rate as count/window, e.g. \"3/1h\""],
    );
    refused(
        format!("{BASE}[verify]\nrate = \"1/0s\"\n"),
        &["app.toml:4: verify.rate: `1/0s` is out of range: the window must be longer than zero"],
    );
}

#[test]
fn wrong_types() {
    refused(
        format!("{BASE}code_length = \"six\"\n"),
        &["app.toml:3: code_length: invalid type: string \"six\", expected i64"],
    );
    refused(
        format!("{BASE}[gate]\nenabled = \"yes\"\n"),
        &["app.toml:4: gate.enabled: invalid type: string \"yes\", expected a boolean"],
    );
    refused(
        format!("{BASE}ttl = 600\n"),
        &["app.toml:3: ttl: invalid type: integer `600`, expected a string"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ play = 3 }}, \"hangup\"]\n"),
        &["app.toml:6: flow.states.a.steps[0].play: expected a prompt name or a non-empty list of prompt names"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nlimit = \"lots\"\nsteps = [\"hangup\"]\non.repeats_exhausted = \"a\"\n"),
        &["app.toml:6: flow.states.a.limit: expected a number from 0 to 100, \"repeats\" or \"attempts\""],
    );
    refused(
        format!("{BASE}code_length = 12\n"),
        &["app.toml:3: code_length: 12 is out of range (4 to 10)"],
    );
    refused(
        "name = \"app\"\nmode = \"reed\"\n".into(),
        &["app.toml:2: mode: unknown variant `reed`, expected `read` or `input`"],
    );
    refused(
        "name = \"app\"\n".into(),
        &["app.toml:1: missing field `mode`"],
    );
    refused(
        format!("{BASE}number = \"555-0100\"\n"),
        &["app.toml:3: number: `555-0100` is not an E.164 number (`+` then 8 to 15 digits)"],
    );
    refused(
        format!("{BASE}name = \"x\"\n"),
        &["app.toml:3: invalid TOML: duplicate key"],
    );
    refused("name = \"Log In\"\nmode = \"read\"\n".into(), &["app.toml:1: name: `Log In` is not a valid name: use 1 to 64 of a-z, 0-9, `-`, `_`, starting with a letter or digit"]);
}

#[test]
fn unknown_keys() {
    refused(
        format!("{BASE}colour = \"blue\"\n"),
        &["app.toml:3: colour: unknown field `colour`, expected one of `name`, `title`, `enabled`, `mode`, `code`, `code_length`, `ttl`, `attempts`, `repeats`, `language`, `trunk`, `number`, `max_duration`, `pacing`, `gate`, `sms`, `limits`, `verify`, `collect`, `flow`"],
    );
    refused(
        format!("{BASE}[pacing]\ndigit_pause = \"1s\"\n"),
        &["app.toml:4: pacing.digit_pause: unknown field `digit_pause`, expected one of `digit_gap`, `grouping`, `group_gap`, `final_pause`"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ plya = \"goodbye\" }}, \"hangup\"]\n"),
        &["app.toml:6: flow.states.a.steps[0].plya: unknown field `plya`, expected one of `play`, `pause`, `say_code`, `collect`, `verify`, `sms`, `hangup`, `goto`, `timeout`, `first_digit`, `inter_digit`"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [\"hangupp\"]\n"),
        &["app.toml:6: flow.states.a.steps[0]: unknown step `hangupp`: as a bare word a step is \"say_code\", \"verify\", \"sms\" or \"hangup\""],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ collect = \"key\" }}]\non.timeout = \"b\"\non.any_key = \"b\"\non.press = \"b\"\n[flow.states.b]\nsteps = [\"hangup\"]\n"),
        &["app.toml:9: flow.states.a.on.press: unknown event `press`: events are a key (\"0\"-\"9\", \"*\", \"#\", \"A\"-\"D\"), any_key, timeout, no_input, valid, invalid, attempts_exhausted, repeats_exhausted"],
    );
}

#[test]
fn syntax_error_names_the_line() {
    refused(
        format!("{BASE}ttl = \"10m\n"),
        &["app.toml:3: invalid TOML: invalid basic string, expected `\"`"],
    );
}

#[test]
fn steps_that_make_no_sense() {
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ play = \"goodbye\", hangup = true }}, \"hangup\"]\n"),
        &["app.toml:6: flow.states.a.steps[0]: a step does one thing, this one has both `play` and `hangup`: split it in two"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{}}, \"hangup\"]\n"),
        &["app.toml:6: flow.states.a.steps[0]: a step needs one of `play`, `pause`, `say_code`, `collect`, `verify`, `sms`, `hangup`, `goto`"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [\"hangup\", {{ play = \"goodbye\" }}]\n"),
        &["app.toml:6: flow.states.a.steps[1]: this step never runs: `hangup` ends the state's steps before it"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{{ play = \"goodbye\", timeout = \"3s\" }}, \"hangup\"]\n"),
        &["app.toml:6: flow.states.a.steps[0].timeout: `timeout` does not apply to a `play` step"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [\"hangup\"]\non.valid = \"a\"\n"),
        &["app.toml:7: flow.states.a.on.valid: `valid` never fires in this state: it has no `verify` step"],
    );
    refused(
        format!("{INPUT}{FLOW}[flow.states.a]\nsteps = [\"say_code\", \"hangup\"]\n"),
        &["app.toml:6: flow.states.a.steps[0]: `say_code` cannot be used in input mode: input mode keeps no code that could be spoken"],
    );
    refused(
        format!("{INPUT}{FLOW}[flow.states.a]\nsteps = [\"verify\"]\non.valid = \"b\"\non.invalid = \"b\"\non.attempts_exhausted = \"b\"\n[flow.states.b]\nsteps = [\"hangup\"]\n"),
        &["app.toml:6: flow.states.a.steps[0]: `verify` needs a `collect = \"code\"` step before it in the same state"],
    );
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\ngate = true\nsteps = [\"hangup\"]\n"),
        &["app.toml:5: flow.states.a.gate: a gate state needs a `collect = \"key\"` step"],
    );
}

#[test]
fn other_settings() {
    refused(
        format!("{BASE}[sms]\nenabled = true\ntemplate = \"Your code\"\n"),
        &["app.toml:5: sms.template: the template has no `{code}` placeholder"],
    );
    refused(
        format!("{BASE}[pacing]\ngrouping = [3, 2]\n"),
        &["app.toml:4: pacing.grouping: the groups add up to 5 digits but code_length is 6"],
    );
    refused(
        format!("{BASE}language = \"English\"\n"),
        &["app.toml:3: language: `English` is not a language tag (e.g. \"en\", \"pt-BR\")"],
    );
}

#[test]
fn flows_have_a_size_limit() {
    let mut text = format!("{BASE}{FLOW}");
    for i in 0..201 {
        text += &format!("[flow.states.s{i}]\nsteps = [\"hangup\"]\n");
    }
    refused(
        text,
        &["app.toml:4: flow.states: at most 200 states in a flow"],
    );
    let steps = vec!["\"sms\""; 64].join(", ");
    refused(
        format!("{BASE}{FLOW}[flow.states.a]\nsteps = [{steps}, \"hangup\"]\n"),
        &["app.toml:5: flow.states.a.steps: at most 64 steps in a state"],
    );
}

#[test]
fn every_error_of_a_file_is_reported() {
    let all = errors(&format!(
        "{BASE}code_length = 2\nttl = \"1 week\"\nnumber = \"0\"\n"
    ));
    assert_eq!(all.len(), 3, "{all:#?}");
}
