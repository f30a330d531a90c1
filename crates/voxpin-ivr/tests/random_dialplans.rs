//! Properties of the dialplan loader on generated input: arbitrary text and
//! mutated shipped files never panic it, and every randomly generated flow it
//! accepts really is safe to run: driven by random call events, it never spins
//! and always ends within a bounded number of steps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use voxpin_ivr::{Action, Dialplan, EndCause, Flow, FlowContext, FlowEvent, PromptSet, RecordKind};

#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

fn load(text: &str) -> Result<Dialplan, Vec<voxpin_ivr::DialplanError>> {
    Dialplan::from_toml("gen.toml", text, &PromptSet::standard())
}

const LOGIN: &str = include_str!("../../../dialplans/login.toml");
const SIGNUP: &str = include_str!("../../../dialplans/signup.toml");

const TOKENS: [&str; 24] = [
    "\"menu\"",
    "\"goodbye\"",
    "\"nowhere\"",
    "\"press-2\"",
    "\"1\"",
    "\"5s\"",
    "\"5\"",
    "\"-1s\"",
    "0",
    "-1",
    "999",
    "true",
    "\"\"",
    "[",
    "]",
    "{",
    "}",
    "=",
    "on.x",
    "\"repeats\"",
    "\"attempts\"",
    "goto",
    "\"hangup\"",
    "\"say_code\"",
];

/// One generated state: steps before the last, the last, limit, gate, and where
/// each event it must handle leads.
#[derive(Debug, Clone)]
struct GenState {
    limit: Option<u8>,
    gate: bool,
    prefix: Vec<u8>,
    last: u8,
    targets: Vec<usize>,
    extra_key: bool,
}

fn gen_state(n: usize) -> impl Strategy<Value = GenState> {
    (
        prop::option::of(0u8..3),
        prop::bool::weighted(0.2),
        prop::collection::vec(0u8..5, 0..3),
        0u8..4,
        prop::collection::vec(0..n, 6),
        any::<bool>(),
    )
        .prop_map(|(limit, gate, prefix, last, targets, extra_key)| GenState {
            limit,
            gate,
            prefix,
            last,
            targets,
            extra_key,
        })
}

fn render(input_mode: bool, gate_enabled: bool, states: &[GenState]) -> String {
    let mut t = format!(
        "name = \"gen\"\nmode = \"{}\"\nmax_duration = \"1h\"\nrepeats = 2\nattempts = 3\ncode_length = 4\n[gate]\nenabled = {gate_enabled}\n[flow]\nstart = \"s0\"\n",
        if input_mode { "input" } else { "read" }
    );
    for (i, s) in states.iter().enumerate() {
        t += &format!("[flow.states.s{i}]\n");
        if let Some(l) = s.limit {
            t += &format!("limit = {l}\n");
        }
        let mut steps: Vec<String> = s
            .prefix
            .iter()
            .map(|p| {
                match p {
                    0 => "{ play = \"goodbye\" }",
                    1 => "{ pause = \"200ms\" }",
                    2 if input_mode => "{ play = [\"incorrect\", \"enter-your-code\"] }",
                    2 => "\"say_code\"",
                    3 => "\"sms\"",
                    _ => "{ pause = \"0s\" }",
                }
                .to_owned()
            })
            .collect();
        let target = |k: usize| format!("\"s{}\"", s.targets[k]);
        let mut on = Vec::new();
        // The last state always hangs up, so most flows have a way out.
        let last = if i + 1 == states.len() { 0 } else { s.last };
        match last {
            0 => steps.push("\"hangup\"".into()),
            1 => steps.push(format!("{{ goto = {} }}", target(0))),
            2 if input_mode => {
                steps.push("{ collect = \"code\" }".into());
                steps.push("\"verify\"".into());
                on.push(("no_input", target(0)));
                on.push(("valid", target(1)));
                on.push(("invalid", target(2)));
                on.push(("attempts_exhausted", target(3)));
            }
            _ => {
                if s.gate {
                    t += "gate = true\n";
                }
                steps.push("{ collect = \"key\", timeout = \"3s\" }".into());
                on.push(("timeout", target(0)));
                on.push(("any_key", target(1)));
                if s.extra_key {
                    on.push(("\"1\"", target(2)));
                }
            }
        }
        if s.limit.is_some() {
            on.push(("repeats_exhausted", target(5)));
        }
        t += &format!("steps = [{}]\n", steps.join(", "));
        for (event, target) in on {
            t += &format!("on.{event} = {target}\n");
        }
    }
    t
}

/// Runs `script`, then a silent caller with a prompt media session, to the end;
/// returns why the flow ended.
fn drive(plan: Dialplan, script: &[(u8, u8)]) -> EndCause {
    let context = FlowContext {
        code_length: plan.code_length(),
        attempts_remaining: plan.attempts(),
    };
    let mut now = origin();
    let mut flow = Flow::new(Arc::new(plan), context, now);
    flow.handle_event(now, FlowEvent::Answered);
    let mut playing = false;
    let mut verifying = false;
    let mut steps = 0usize;
    let mut script = script.iter().copied();
    let mut end = None;
    while !flow.is_finished() {
        steps += 1;
        assert!(steps < 5_000, "the call did not end");
        while let Some(action) = flow.poll_action() {
            match action {
                Action::Play(_) => playing = true,
                Action::StopPlayback => playing = false,
                Action::Verify(_) => verifying = true,
                Action::Record(r) => {
                    if let RecordKind::Ended { cause } = r.kind {
                        assert_ne!(cause, EndCause::Spin, "an accepted flow spun");
                        end = Some(cause);
                    }
                }
                _ => {}
            }
        }
        if flow.is_finished() {
            break;
        }
        match script.next() {
            Some((0, k)) => flow.handle_event(
                now,
                FlowEvent::Digit(b"0123456789*#"[usize::from(k) % 12] as char),
            ),
            Some((1, k)) if verifying => {
                verifying = false;
                let valid = k % 3 == 0;
                flow.handle_event(
                    now,
                    FlowEvent::VerifyResult {
                        valid,
                        attempts_remaining: 1,
                        exhausted: k % 3 == 1,
                    },
                );
            }
            _ if playing => {
                playing = false;
                now += Duration::from_secs(1);
                flow.handle_event(now, FlowEvent::PlaybackFinished);
            }
            _ if verifying => {
                verifying = false;
                flow.handle_event(
                    now,
                    FlowEvent::VerifyResult {
                        valid: false,
                        attempts_remaining: 0,
                        exhausted: true,
                    },
                );
            }
            _ => {
                let at = flow.poll_timeout().expect("a running flow arms a timer");
                now = now.max(at);
                flow.handle_timeout(now);
            }
        }
    }
    while let Some(action) = flow.poll_action() {
        if let Action::Record(r) = action {
            if let RecordKind::Ended { cause } = r.kind {
                end = Some(cause);
            }
        }
    }
    end.expect("an Ended record")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = load(&text);
    }

    #[test]
    fn mutated_shipped_files_never_panic(
        which in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, 0..TOKENS.len()), 1..4),
    ) {
        let mut lines: Vec<String> = (if which { LOGIN } else { SIGNUP }).lines().map(str::to_owned).collect();
        for (at, kind, token) in edits {
            let i = at.index(lines.len());
            match kind {
                0 => { lines.remove(i); }
                1 => { let l = lines[i].clone(); lines.insert(i, l); }
                _ => {
                    let line = &lines[i];
                    let cut = line.find('=').map_or(0, |p| p + 1);
                    lines[i] = format!("{} {}", &line[..cut], TOKENS[token]);
                }
            }
        }
        let text = lines.join("\n");
        if let Ok(plan) = load(&text) {
            let _ = drive(plan, &[]);
        }
    }

    #[test]
    fn accepted_random_flows_always_end(
        input_mode in any::<bool>(),
        gate_enabled in any::<bool>(),
        states in (1usize..6).prop_flat_map(|n| prop::collection::vec(gen_state(n), n)),
        script in prop::collection::vec((0u8..3, 0u8..12), 0..60),
    ) {
        let text = render(input_mode, gate_enabled, &states);
        if let Ok(plan) = load(&text) {
            // Loading guarantees a silent caller is hung up on by the flow itself,
            // long before the `max_duration` guard.
            prop_assert_eq!(drive(plan, &script), EndCause::Hangup, "{}", text);
        }
    }
}

/// The generator must produce accepted flows often enough for the property to mean something.
#[test]
fn the_generator_yields_accepted_flows() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    // A fixed seed: the count is the same on every run.
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = (
        any::<bool>(),
        any::<bool>(),
        (1usize..6).prop_flat_map(|n| prop::collection::vec(gen_state(n), n)),
    );
    let mut accepted = 0;
    for _ in 0..2_000 {
        let (input_mode, gate, states) = strategy.new_tree(&mut runner).expect("tree").current();
        if load(&render(input_mode, gate, &states)).is_ok() {
            accepted += 1;
        }
    }
    assert!(
        accepted >= 100,
        "only {accepted} of 2000 generated flows were accepted"
    );
    println!("{accepted} of 2000 generated flows accepted");
}
