//! Property: any sequence of call events (digits, junk keys, playback
//! finished, timeouts, verify results, hang-ups, in any order and at any time)
//! never panics, keeps the action stream well formed, and the call always
//! ends (hang-up, or the caller's) within a bounded number of further steps,
//! both with a media session that finishes every playlist and with one that
//! never does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use voxpin_ivr::{Action, Dialplan, EndCause, Flow, FlowContext, FlowEvent, PromptSet, RecordKind};

#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

const PLANS: [&str; 5] = [
    "name = \"a\"\nmode = \"read\"\n",
    "name = \"a\"\nmode = \"read\"\nrepeats = 10\n[gate]\nenabled = false\n[sms]\nenabled = true\n",
    "name = \"a\"\nmode = \"input\"\n",
    "name = \"a\"\nmode = \"input\"\nattempts = 20\ncode_length = 4\n",
    r##"
name = "a"
mode = "read"
[flow]
start = "menu"
[flow.states.menu]
limit = 5
steps = [{ play = ["press-1-to-repeat", "press-any-key"] }, { pause = "1s" }, "sms", { collect = "key", timeout = "2s" }]
on.1 = "code"
on.2 = "menu"
on."#" = "bye"
on.timeout = "menu"
on.repeats_exhausted = "bye"
[flow.states.code]
steps = ["say_code", { goto = "menu" }]
[flow.states.bye]
steps = ["hangup"]
"##,
];

#[derive(Debug, Clone)]
enum Input {
    Answer,
    Done,
    Key(char),
    Wait,
    Advance(u64),
    HangUp,
    Verify(bool, u32, bool),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => Just(Input::Answer),
        4 => Just(Input::Done),
        6 => prop::sample::select(vec!['0', '1', '2', '5', '9', '*', '#', 'A', 'D', 'x', '\0', 'é']).prop_map(Input::Key),
        3 => Just(Input::Wait),
        2 => (0u64..20_000).prop_map(Input::Advance),
        1 => Just(Input::HangUp),
        2 => (any::<bool>(), 0u32..6, any::<bool>()).prop_map(|(v, n, e)| Input::Verify(v, n, e)),
    ]
}

/// Checks what the flow said and returns (a play is pending, a verify is pending).
struct Observer {
    playing: bool,
    verifying: bool,
    ended: u32,
    hung_up: bool,
    code_length: usize,
}

impl Observer {
    fn drain(&mut self, flow: &mut Flow) {
        while let Some(action) = flow.poll_action() {
            assert!(!self.hung_up, "an action after Hangup: {action:?}");
            match action {
                Action::Play(items) => {
                    assert!(!items.is_empty());
                    self.playing = true;
                }
                Action::StopPlayback => {
                    assert!(self.playing, "stop without a playback");
                    self.playing = false;
                }
                Action::Verify(code) => {
                    assert!(code.len() <= self.code_length, "{} digits", code.len());
                    assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
                    self.verifying = true;
                }
                Action::Hangup => self.hung_up = true,
                Action::SendSms => {}
                Action::Record(r) => {
                    if let RecordKind::Ended { cause } = r.kind {
                        self.ended += 1;
                        assert_ne!(cause, EndCause::Spin);
                    }
                }
            }
        }
        if flow.is_finished() {
            assert_eq!(self.ended, 1, "one Ended record");
            assert_eq!(flow.poll_timeout(), None);
        }
    }
}

fn drive(plan: usize, inputs: &[Input], media_finishes: bool) {
    let text = PLANS[plan];
    let plan = Dialplan::from_toml("p.toml", text, &PromptSet::standard())
        .unwrap_or_else(|e| panic!("{e:#?}"));
    let code_length = usize::from(plan.code_length());
    let context = FlowContext {
        code_length: plan.code_length(),
        attempts_remaining: plan.attempts(),
    };
    let mut now = origin();
    let mut flow = Flow::new(Arc::new(plan), context, now);
    let mut seen = Observer {
        playing: false,
        verifying: false,
        ended: 0,
        hung_up: false,
        code_length,
    };
    for input in inputs {
        match *input {
            Input::Answer => flow.handle_event(now, FlowEvent::Answered),
            Input::Done => {
                seen.playing = false;
                flow.handle_event(now, FlowEvent::PlaybackFinished);
            }
            Input::Key(k) => flow.handle_event(now, FlowEvent::Digit(k)),
            Input::Wait => {
                if let Some(at) = flow.poll_timeout() {
                    now = now.max(at);
                }
                flow.handle_timeout(now);
            }
            Input::Advance(ms) => {
                now += Duration::from_millis(ms);
                flow.handle_timeout(now);
            }
            Input::HangUp => flow.handle_event(now, FlowEvent::HungUp),
            Input::Verify(valid, attempts_remaining, exhausted) => {
                seen.verifying = false;
                flow.handle_event(
                    now,
                    FlowEvent::VerifyResult {
                        valid,
                        attempts_remaining,
                        exhausted,
                    },
                );
            }
        }
        seen.drain(&mut flow);
    }
    // Whatever happened, the call is answered by now and must end on its own.
    flow.handle_event(now, FlowEvent::Answered);
    seen.drain(&mut flow);
    for _ in 0..2_000 {
        if flow.is_finished() {
            return;
        }
        if media_finishes && seen.playing {
            seen.playing = false;
            now += Duration::from_secs(2);
            flow.handle_event(now, FlowEvent::PlaybackFinished);
        } else if seen.verifying {
            seen.verifying = false;
            flow.handle_event(
                now,
                FlowEvent::VerifyResult {
                    valid: false,
                    attempts_remaining: 1,
                    exhausted: false,
                },
            );
        } else {
            let at = flow
                .poll_timeout()
                .expect("a running flow always arms a timer");
            now = now.max(at);
            flow.handle_timeout(now);
        }
        seen.drain(&mut flow);
    }
    panic!("the call did not end");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_events_never_panic_and_the_call_ends(
        plan in 0..PLANS.len(),
        inputs in prop::collection::vec(input(), 0..120),
        media_finishes in any::<bool>(),
    ) {
        drive(plan, &inputs, media_finishes);
    }
}
