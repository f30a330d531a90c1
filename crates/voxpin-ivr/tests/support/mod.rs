//! The flow test harness: scripts of call events on simulated time, and a
//! transcript of the actions a flow answers with.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use voxpin_ivr::{
    Action, Dialplan, Flow, FlowContext, FlowEvent, PlayItem, PromptSet, RecordKind, ShownKey,
};

/// The instant simulated time starts from (any instant will do).
#[allow(clippy::disallowed_methods)]
pub fn origin() -> Instant {
    Instant::now()
}

/// One step of a script.
#[derive(Debug, Clone, Copy)]
pub enum Ev {
    Answer,
    /// The media session finished the playlist.
    Done,
    Key(char),
    /// Let time run to the flow's next timeout.
    Wait,
    /// Assert the next timeout is this far away.
    TimeoutIn(u64),
    HangUp,
    Right,
    Wrong(u32),
    Exhausted,
}

pub fn transcript(action: &Action) -> Option<String> {
    Some(match action {
        Action::Play(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| match i {
                    PlayItem::Prompt(p) => p.to_string(),
                    PlayItem::Silence(d) => format!("~{}ms", d.as_millis()),
                    PlayItem::Code(_) => "CODE".to_owned(),
                })
                .collect();
            format!("play {}", items.join(","))
        }
        Action::StopPlayback => "stop".to_owned(),
        Action::Verify(code) => format!("verify {}", code.expose()),
        Action::SendSms => "sms".to_owned(),
        Action::Hangup => "hangup".to_owned(),
        Action::Record(r) => match &r.kind {
            RecordKind::Keypress {
                key: ShownKey::Key(k),
            } => format!("key@{} {k}", r.state),
            RecordKind::Keypress {
                key: ShownKey::Masked,
            } => format!("key@{} *masked*", r.state),
            RecordKind::Gate { passed } => {
                format!("gate {}", if *passed { "passed" } else { "not passed" })
            }
            RecordKind::CodePlayed { count } => format!("heard {count}"),
            RecordKind::Verified {
                valid,
                attempts_remaining,
                exhausted,
            } => {
                format!("verified valid={valid} left={attempts_remaining} exhausted={exhausted}")
            }
            RecordKind::Ended { cause } => format!("end {cause:?}"),
            _ => return None,
        },
    })
}

pub fn run(flow: &mut Flow, script: &[Ev]) -> Vec<String> {
    let mut now = origin();
    let mut out = Vec::new();
    for (i, step) in script.iter().enumerate() {
        now += Duration::from_millis(100);
        match *step {
            Ev::Answer => flow.handle_event(now, FlowEvent::Answered),
            Ev::Done => flow.handle_event(now, FlowEvent::PlaybackFinished),
            Ev::Key(k) => flow.handle_event(now, FlowEvent::Digit(k)),
            Ev::HangUp => flow.handle_event(now, FlowEvent::HungUp),
            Ev::Wait => {
                let at = flow
                    .poll_timeout()
                    .unwrap_or_else(|| panic!("step {i}: no timeout armed"));
                now = now.max(at);
                flow.handle_timeout(now);
            }
            Ev::TimeoutIn(ms) => {
                now -= Duration::from_millis(100);
                let at = flow
                    .poll_timeout()
                    .unwrap_or_else(|| panic!("step {i}: no timeout armed"));
                assert_eq!(
                    at.saturating_duration_since(now),
                    Duration::from_millis(ms),
                    "step {i}"
                );
            }
            Ev::Right => flow.handle_event(
                now,
                FlowEvent::VerifyResult {
                    valid: true,
                    attempts_remaining: 2,
                    exhausted: false,
                },
            ),
            Ev::Wrong(left) => flow.handle_event(
                now,
                FlowEvent::VerifyResult {
                    valid: false,
                    attempts_remaining: left,
                    exhausted: false,
                },
            ),
            Ev::Exhausted => flow.handle_event(
                now,
                FlowEvent::VerifyResult {
                    valid: false,
                    attempts_remaining: 0,
                    exhausted: true,
                },
            ),
        }
        while let Some(action) = flow.poll_action() {
            out.extend(transcript(&action));
        }
    }
    out
}

pub fn flow(text: &str) -> Flow {
    let plan = Dialplan::from_toml("test.toml", text, &PromptSet::standard())
        .unwrap_or_else(|e| panic!("{e:#?}"));
    let context = FlowContext {
        code_length: plan.code_length(),
        attempts_remaining: plan.attempts(),
    };
    Flow::new(Arc::new(plan), context, origin())
}

pub fn check(name: &str, text: &str, script: &[Ev], expected: &[&str]) {
    let mut f = flow(text);
    let got = run(&mut f, script);
    assert_eq!(got, expected, "case `{name}`");
    let ended = expected
        .last()
        .is_some_and(|l| l.starts_with("end ") || *l == "hangup");
    assert_eq!(f.is_finished(), ended, "case `{name}`: finished");
    if ended {
        assert_eq!(
            f.poll_timeout(),
            None,
            "case `{name}`: a finished flow arms no timer"
        );
        assert!(f.poll_action().is_none());
    }
}
