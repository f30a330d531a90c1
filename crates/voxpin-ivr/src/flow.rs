//! The per-call flow: a state machine driven by call events and timeouts,
//! answering with actions (play, stop, verify, SMS, hang up, record).
//!
//! ```text
//!   new ──Answered──▶ run steps of `start` ──▶ Playing ──PlaybackFinished──▶ next step
//!                          │                     │ digit (barge-in, if a collect follows)
//!                          ▼                     ▼
//!                     Key / Code ◀──────── StopPlayback
//!                 digit / timeout │
//!                                 ▼
//!                          Verifying ──VerifyResult──▶ valid / invalid / attempts_exhausted
//!   any state ──HungUp / hangup step / max_duration──▶ Finished
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dialplan::{CollectTimeouts, Dialplan, Gate, Pacing};
use crate::graph::{is_dtmf, Event, FlowGraph, State, StateId, Step};
use crate::io::{
    Action, EndCause, EnteredCode, FlowContext, FlowEvent, FlowRecord, PlayItem, RecordKind,
    ShownKey,
};
use crate::names::{PromptName, StateName};

/// How many state changes one input may cause before the flow gives up (a guard).
const MAX_HOPS: usize = 4096;

/// The settings a running flow needs, copied from its dialplan.
#[derive(Debug, Clone)]
struct Settings {
    pacing: Pacing,
    gate: Gate,
    collect: CollectTimeouts,
    max_duration: Duration,
    sms_after_call: bool,
}

#[derive(Debug)]
enum Phase {
    /// Not answered yet.
    Waiting,
    /// Running steps (transient, inside one call).
    Running,
    /// A playlist is playing.
    Playing {
        prompts: Vec<PromptName>,
        code: bool,
        barge: bool,
    },
    /// Waiting for one key until `until`.
    Key { until: Instant },
    /// Collecting a code; `until` is the first-digit or inter-digit deadline.
    Code {
        until: Instant,
        inter_digit: Duration,
        first_digit: Duration,
    },
    /// Waiting for [`FlowEvent::VerifyResult`].
    Verifying,
    /// Done: nothing more happens.
    Finished,
}

/// One call's IVR flow. Push events with [`Flow::handle_event`] and
/// [`Flow::handle_timeout`]; after each, drain [`Flow::poll_action`] and re-arm
/// the timer from [`Flow::poll_timeout`].
#[derive(Debug)]
pub struct Flow {
    plan: Option<Arc<Dialplan>>,
    graph: Arc<FlowGraph>,
    settings: Settings,
    context: FlowContext,
    current: StateId,
    step: usize,
    entries: Vec<u32>,
    phase: Phase,
    deadline: Option<Instant>,
    gate_pending: bool,
    code_plays: u32,
    sms_sent: bool,
    entry: EnteredCode,
    actions: VecDeque<Action>,
}

impl Flow {
    /// A flow for one call of `plan`. Nothing happens until [`FlowEvent::Answered`].
    pub fn new(plan: Arc<Dialplan>, context: FlowContext, _now: Instant) -> Flow {
        let settings = Settings {
            pacing: plan.pacing().clone(),
            gate: plan.gate(),
            collect: plan.collect(),
            max_duration: plan.max_duration(),
            sms_after_call: plan.sms().enabled,
        };
        let graph = Arc::clone(plan.flow());
        Flow::with_graph(Some(plan), graph, settings, context)
    }

    /// The flow for a caller with no live code: on answer, plays `invalid-request`
    /// and hangs up. Sends no SMS.
    pub fn invalid_request(_now: Instant) -> Flow {
        let state = State {
            name: StateName::new("invalid-request"),
            gate: false,
            limit: None,
            steps: vec![
                Step::Play(vec![PromptName::new("invalid-request")]),
                Step::Hangup,
            ],
            on: BTreeMap::new(),
        };
        let graph = Arc::new(FlowGraph {
            states: vec![state],
            start: StateId(0),
        });
        let settings = Settings {
            pacing: Pacing {
                digit_gap: Duration::ZERO,
                grouping: Vec::new(),
                group_gap: Duration::ZERO,
                final_pause: Duration::ZERO,
            },
            gate: Gate {
                enabled: false,
                timeout: Duration::from_secs(8),
            },
            collect: CollectTimeouts {
                first_digit: Duration::from_secs(10),
                inter_digit: Duration::from_secs(5),
            },
            max_duration: Duration::from_secs(60),
            sms_after_call: false,
        };
        let context = FlowContext {
            code_length: 0,
            attempts_remaining: 0,
        };
        Flow::with_graph(None, graph, settings, context)
    }

    fn with_graph(
        plan: Option<Arc<Dialplan>>,
        graph: Arc<FlowGraph>,
        settings: Settings,
        context: FlowContext,
    ) -> Flow {
        Flow {
            plan,
            current: graph.start(),
            entries: vec![0; graph.states.len()],
            graph,
            settings,
            context,
            step: 0,
            phase: Phase::Waiting,
            deadline: None,
            gate_pending: false,
            code_plays: 0,
            sms_sent: false,
            entry: EnteredCode::default(),
            actions: VecDeque::new(),
        }
    }

    /// The dialplan this flow runs (`None` for [`Flow::invalid_request`]).
    pub fn dialplan(&self) -> Option<&Arc<Dialplan>> {
        self.plan.as_ref()
    }

    /// The state the flow is in.
    pub fn state(&self) -> &StateName {
        &self.graph.at(self.current).name
    }

    /// Whether the flow has ended (hung up, or the caller did).
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Finished)
    }

    /// Attempts left, as last reported by the store.
    pub fn attempts_remaining(&self) -> u32 {
        self.context.attempts_remaining
    }

    /// How often the code was played to the end.
    pub fn code_plays(&self) -> u32 {
        self.code_plays
    }

    /// Pushes one call event in. Drain [`Flow::poll_action`] afterwards.
    pub fn handle_event(&mut self, now: Instant, event: FlowEvent) {
        if self.deadline.is_some_and(|d| now >= d) && !matches!(self.phase, Phase::Finished) {
            // The call outlived `max_duration` even if the timer was not served.
            self.handle_timeout(now);
            return;
        }
        match event {
            FlowEvent::Answered => {
                if matches!(self.phase, Phase::Waiting) {
                    self.deadline = Some(now + self.settings.max_duration);
                    self.phase = Phase::Running;
                    self.go(now, self.graph.start());
                }
            }
            FlowEvent::HungUp => match std::mem::replace(&mut self.phase, Phase::Running) {
                Phase::Finished => self.phase = Phase::Finished,
                Phase::Playing { prompts, code, .. } => {
                    self.record(
                        now,
                        RecordKind::Played {
                            prompts,
                            code,
                            completed: false,
                        },
                    );
                    self.finish(now, EndCause::CallerHungUp, false);
                }
                _ => self.finish(now, EndCause::CallerHungUp, false),
            },
            FlowEvent::PlaybackFinished => {
                if let Phase::Playing { .. } = self.phase {
                    if let Phase::Playing { prompts, code, .. } =
                        std::mem::replace(&mut self.phase, Phase::Running)
                    {
                        self.record(
                            now,
                            RecordKind::Played {
                                prompts,
                                code,
                                completed: true,
                            },
                        );
                        if code {
                            self.code_plays = self.code_plays.saturating_add(1);
                            self.record(
                                now,
                                RecordKind::CodePlayed {
                                    count: self.code_plays,
                                },
                            );
                        }
                    }
                    self.run(now);
                }
            }
            FlowEvent::Digit(key) => self.digit(now, key),
            FlowEvent::VerifyResult {
                valid,
                attempts_remaining,
                exhausted,
            } => {
                if let Phase::Verifying = self.phase {
                    self.phase = Phase::Running;
                    self.context.attempts_remaining = attempts_remaining;
                    self.record(
                        now,
                        RecordKind::Verified {
                            valid,
                            attempts_remaining,
                            exhausted,
                        },
                    );
                    let event = match (valid, exhausted) {
                        (true, _) => Event::Valid,
                        (false, true) => Event::AttemptsExhausted,
                        (false, false) => Event::Invalid,
                    };
                    self.fire(now, event);
                }
            }
        }
    }

    /// Tells the flow the time; call it when [`Flow::poll_timeout`]'s instant has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Waiting | Phase::Finished) {
            return;
        }
        if self.deadline.is_some_and(|d| now >= d) {
            if let Phase::Playing { prompts, code, .. } =
                std::mem::replace(&mut self.phase, Phase::Running)
            {
                self.actions.push_back(Action::StopPlayback);
                self.record(
                    now,
                    RecordKind::Played {
                        prompts,
                        code,
                        completed: false,
                    },
                );
            }
            self.finish(now, EndCause::MaxDuration, true);
            return;
        }
        match self.phase {
            Phase::Key { until } if now >= until => {
                self.phase = Phase::Running;
                self.fire(now, Event::Timeout);
            }
            Phase::Code { until, .. } if now >= until => {
                self.phase = Phase::Running;
                if self.entry.is_empty() {
                    self.fire(now, Event::NoInput);
                } else {
                    self.code_complete(now);
                }
            }
            _ => {}
        }
    }

    /// When [`Flow::handle_timeout`] must next be called; `None` when nothing is timed
    /// (before answer, and after the end).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let phase_deadline = match self.phase {
            Phase::Waiting | Phase::Finished => return None,
            Phase::Key { until } | Phase::Code { until, .. } => Some(until),
            _ => None,
        };
        match (self.deadline, phase_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next action; call until `None` after every `handle_*`.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    fn digit(&mut self, now: Instant, key: char) {
        if !is_dtmf(key) || matches!(self.phase, Phase::Waiting | Phase::Finished) {
            return;
        }
        if let Phase::Playing { barge: true, .. } = self.phase {
            if let Phase::Playing { prompts, code, .. } =
                std::mem::replace(&mut self.phase, Phase::Running)
            {
                self.actions.push_back(Action::StopPlayback);
                self.record(
                    now,
                    RecordKind::Played {
                        prompts,
                        code,
                        completed: false,
                    },
                );
            }
            self.run(now);
        }
        let masked = if key.is_ascii_digit() {
            ShownKey::Masked
        } else {
            ShownKey::Key(key)
        };
        match self.phase {
            Phase::Key { .. } => {
                self.record(
                    now,
                    RecordKind::Keypress {
                        key: ShownKey::Key(key),
                    },
                );
                let graph = Arc::clone(&self.graph);
                let state = graph.at(self.current);
                let target = state.on(Event::Key(key)).or(state.on(Event::AnyKey));
                if let Some(target) = target {
                    if state.gate && self.gate_pending {
                        self.gate_pending = false;
                        self.record(now, RecordKind::Gate { passed: true });
                    }
                    self.phase = Phase::Running;
                    self.go(now, target);
                }
            }
            Phase::Code {
                ref mut until,
                inter_digit,
                first_digit,
            } => {
                match key {
                    '0'..='9' => {
                        *until = now + inter_digit;
                        self.entry.0.push(key);
                    }
                    '*' => {
                        *until = now + first_digit;
                        self.entry.0.clear();
                    }
                    _ => {}
                }
                self.record(now, RecordKind::Keypress { key: masked });
                if key == '#' {
                    self.phase = Phase::Running;
                    if self.entry.is_empty() {
                        self.fire(now, Event::NoInput);
                    } else {
                        self.code_complete(now);
                    }
                } else if key.is_ascii_digit()
                    && self.entry.len() >= usize::from(self.context.code_length)
                {
                    self.phase = Phase::Running;
                    self.code_complete(now);
                }
            }
            _ => self.record(now, RecordKind::Keypress { key: masked }),
        }
    }

    /// The code entry is done: run the steps after the collect.
    fn code_complete(&mut self, now: Instant) {
        self.step += 1;
        self.run(now);
    }

    /// Fires `event` in the current state: follows its transition, or hangs up if
    /// the state has none (loading makes that impossible).
    fn fire(&mut self, now: Instant, event: Event) {
        match self.graph.at(self.current).on(event) {
            Some(target) => self.go(now, target),
            None => self.finish(now, EndCause::Hangup, true),
        }
    }

    /// Enters `target` and runs its steps.
    fn go(&mut self, now: Instant, target: StateId) {
        if self.enter(now, target) {
            self.run(now);
        }
    }

    /// Makes `target` current, following limits and a disabled gate; false if the flow ended.
    fn enter(&mut self, now: Instant, mut target: StateId) -> bool {
        let graph = Arc::clone(&self.graph);
        for _ in 0..MAX_HOPS {
            let state = graph.at(target);
            if self.gate_pending && !state.gate {
                self.gate_pending = false;
                self.record(now, RecordKind::Gate { passed: false });
            }
            if state.gate && !self.settings.gate.enabled {
                match state.on(Event::AnyKey) {
                    Some(next) => {
                        target = next;
                        continue;
                    }
                    None => break,
                }
            }
            if let Some(limit) = state.limit {
                // Invariant: `entries` has one slot per state of `graph`.
                if self.entries[target.0] >= limit {
                    self.current = target;
                    match state.on(Event::RepeatsExhausted) {
                        Some(next) => {
                            target = next;
                            continue;
                        }
                        None => break,
                    }
                }
                self.entries[target.0] += 1;
            }
            self.current = target;
            self.step = 0;
            if state.gate {
                self.gate_pending = true;
            }
            return true;
        }
        self.finish(now, EndCause::Spin, true);
        false
    }

    /// Runs steps of the current state from `self.step` until one waits or the flow ends.
    fn run(&mut self, now: Instant) {
        let graph = Arc::clone(&self.graph);
        for _ in 0..MAX_HOPS {
            let state = graph.at(self.current);
            let Some(step) = state.steps.get(self.step) else {
                self.finish(now, EndCause::Hangup, true);
                return;
            };
            match step {
                Step::Play(_) | Step::Pause(_) | Step::SayCode => {
                    self.play(state);
                    return;
                }
                Step::Sms => {
                    if !self.sms_sent {
                        self.sms_sent = true;
                        self.actions.push_back(Action::SendSms);
                    }
                    self.step += 1;
                }
                Step::CollectKey { timeout } => {
                    let default = if state.gate {
                        self.settings.gate.timeout
                    } else {
                        self.settings.collect.first_digit
                    };
                    self.phase = Phase::Key {
                        until: now + timeout.unwrap_or(default),
                    };
                    return;
                }
                Step::CollectCode {
                    first_digit,
                    inter_digit,
                } => {
                    let first_digit = first_digit.unwrap_or(self.settings.collect.first_digit);
                    let inter_digit = inter_digit.unwrap_or(self.settings.collect.inter_digit);
                    self.entry = EnteredCode::default();
                    self.phase = Phase::Code {
                        until: now + first_digit,
                        inter_digit,
                        first_digit,
                    };
                    return;
                }
                Step::Verify => {
                    let code = std::mem::take(&mut self.entry);
                    self.actions.push_back(Action::Verify(code));
                    self.phase = Phase::Verifying;
                    return;
                }
                Step::Hangup => {
                    self.finish(now, EndCause::Hangup, true);
                    return;
                }
                Step::Goto(target) => {
                    if !self.enter(now, *target) {
                        return;
                    }
                }
            }
        }
        self.finish(now, EndCause::Spin, true);
    }

    /// Emits one playlist from the consecutive play, pause and say_code steps at `self.step`.
    fn play(&mut self, state: &State) {
        let mut items = Vec::new();
        let mut prompts = Vec::new();
        let mut code = false;
        while let Some(step) = state.steps.get(self.step) {
            match step {
                Step::Play(names) => {
                    prompts.extend(names.iter().cloned());
                    items.extend(names.iter().cloned().map(PlayItem::Prompt));
                }
                Step::Pause(d) => items.push(PlayItem::Silence(*d)),
                Step::SayCode => {
                    code = true;
                    items.push(PlayItem::Code(self.settings.pacing.clone()));
                }
                _ => break,
            }
            self.step += 1;
        }
        let barge = matches!(
            state.steps.get(self.step),
            Some(Step::CollectKey { .. } | Step::CollectCode { .. })
        );
        self.actions.push_back(Action::Play(items));
        self.phase = Phase::Playing {
            prompts,
            code,
            barge,
        };
    }

    fn finish(&mut self, now: Instant, cause: EndCause, hang_up: bool) {
        if matches!(self.phase, Phase::Finished) {
            return;
        }
        if self.gate_pending {
            self.gate_pending = false;
            self.record(now, RecordKind::Gate { passed: false });
        }
        self.entry = EnteredCode::default();
        if self.settings.sms_after_call && !self.sms_sent {
            self.sms_sent = true;
            self.actions.push_back(Action::SendSms);
        }
        self.record(now, RecordKind::Ended { cause });
        if hang_up {
            self.actions.push_back(Action::Hangup);
        }
        self.phase = Phase::Finished;
    }

    fn record(&mut self, at: Instant, kind: RecordKind) {
        let state = self.graph.at(self.current).name.clone();
        self.actions
            .push_back(Action::Record(FlowRecord { at, state, kind }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::PromptSet;

    #[allow(clippy::disallowed_methods)]
    fn origin() -> Instant {
        Instant::now()
    }

    fn input_flow(now: Instant) -> Flow {
        let text = "name = \"t\"\nmode = \"input\"\ncode_length = 4\nmax_duration = \"1m\"\n[collect]\nfirst_digit = \"7s\"\ninter_digit = \"3s\"\n";
        let plan = Dialplan::from_toml("t.toml", text, &PromptSet::standard()).expect("valid");
        Flow::new(
            Arc::new(plan),
            FlowContext {
                code_length: 4,
                attempts_remaining: 5,
            },
            now,
        )
    }

    fn drain(flow: &mut Flow) -> Vec<Action> {
        std::iter::from_fn(|| flow.poll_action()).collect()
    }

    #[test]
    fn timers_follow_the_phase() {
        let t0 = origin();
        let mut flow = input_flow(t0);
        assert_eq!(
            flow.poll_timeout(),
            None,
            "nothing is timed before the answer"
        );
        flow.handle_event(t0, FlowEvent::Answered);
        assert_eq!(
            flow.poll_timeout(),
            Some(t0 + Duration::from_secs(60)),
            "only max_duration while playing"
        );
        let t1 = t0 + Duration::from_secs(2);
        flow.handle_event(t1, FlowEvent::PlaybackFinished);
        assert_eq!(
            flow.poll_timeout(),
            Some(t1 + Duration::from_secs(7)),
            "first digit"
        );
        let t2 = t1 + Duration::from_secs(1);
        flow.handle_event(t2, FlowEvent::Digit('4'));
        assert_eq!(
            flow.poll_timeout(),
            Some(t2 + Duration::from_secs(3)),
            "inter digit"
        );
        flow.handle_event(t2, FlowEvent::Digit('*'));
        assert_eq!(
            flow.poll_timeout(),
            Some(t2 + Duration::from_secs(7)),
            "`*` starts over"
        );
        // An early call to handle_timeout changes nothing.
        flow.handle_timeout(t2 + Duration::from_secs(1));
        assert_eq!(flow.state(), "ask");
        assert!(!drain(&mut flow)
            .iter()
            .any(|a| matches!(a, Action::Verify(_))));
    }

    #[test]
    fn a_second_answer_does_not_restart_the_flow() {
        let t0 = origin();
        let mut flow = input_flow(t0);
        flow.handle_event(t0, FlowEvent::Answered);
        let first = drain(&mut flow).len();
        flow.handle_event(t0, FlowEvent::Answered);
        assert_eq!(first, 1);
        assert!(drain(&mut flow).is_empty());
    }

    #[test]
    fn verify_result_updates_attempts() {
        let t0 = origin();
        let mut flow = input_flow(t0);
        flow.handle_event(t0, FlowEvent::Answered);
        flow.handle_event(t0, FlowEvent::PlaybackFinished);
        for k in "1234".chars() {
            flow.handle_event(t0, FlowEvent::Digit(k));
        }
        let verify = drain(&mut flow).into_iter().find_map(|a| match a {
            Action::Verify(code) => Some(code),
            _ => None,
        });
        assert_eq!(verify.as_ref().map(EnteredCode::expose), Some("1234"));
        flow.handle_event(
            t0,
            FlowEvent::VerifyResult {
                valid: false,
                attempts_remaining: 3,
                exhausted: false,
            },
        );
        assert_eq!(flow.attempts_remaining(), 3);
        assert_eq!(flow.state(), "incorrect");
    }

    #[test]
    fn late_events_after_the_end_are_ignored() {
        let t0 = origin();
        let mut flow = Flow::invalid_request(t0);
        assert!(flow.dialplan().is_none());
        flow.handle_event(t0, FlowEvent::Answered);
        flow.handle_event(t0, FlowEvent::PlaybackFinished);
        assert!(flow.is_finished());
        drain(&mut flow);
        for event in [
            FlowEvent::Digit('1'),
            FlowEvent::HungUp,
            FlowEvent::PlaybackFinished,
            FlowEvent::Answered,
        ] {
            flow.handle_event(t0, event);
        }
        flow.handle_timeout(t0 + Duration::from_secs(3600));
        assert!(drain(&mut flow).is_empty());
    }
}
