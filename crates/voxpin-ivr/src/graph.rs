//! The resolved flow: states, steps and transitions, with every name looked up.
//!
//! Built from `[flow]` (or the built-in flow of the dialplan's mode) by
//! [`build`], which refuses unknown prompts and states, dead ends, steps that
//! never run, transitions that never fire, states no path reaches, loops that
//! spin without waiting, and flows in which a silent caller is never hung up on.

use std::collections::BTreeMap;
use std::time::Duration;

use toml::Spanned;

use crate::check::check_graph;
use crate::duration::parse_duration;
use crate::error::{DialplanError, ErrorSite, Reason};
use crate::names::{is_valid_name, PromptName, PromptSet, StateName};
use crate::raw::{Mode, RawFlow, RawState, RawStep, RawStepTable};

/// Index of a state in its [`FlowGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StateId(pub(crate) usize);

/// A flow whose every prompt, state and transition exists and every path ends in a hang-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowGraph {
    pub(crate) states: Vec<State>,
    pub(crate) start: StateId,
}

impl FlowGraph {
    /// The state a call starts in when answered.
    pub fn start(&self) -> StateId {
        self.start
    }

    /// One state; `None` for an id from another graph.
    pub fn state(&self, id: StateId) -> Option<&State> {
        self.states.get(id.0)
    }

    /// One state of this graph.
    pub(crate) fn at(&self, id: StateId) -> &State {
        // Invariant: ids reaching here come from this graph (`build`, its own
        // transitions, or `start`), so they index its states.
        &self.states[id.0]
    }

    /// All states, sorted by name.
    pub fn states(&self) -> impl Iterator<Item = (StateId, &State)> {
        self.states.iter().enumerate().map(|(i, s)| (StateId(i), s))
    }

    /// The state called `name`.
    pub fn find(&self, name: &str) -> Option<StateId> {
        self.states.iter().position(|s| s.name == name).map(StateId)
    }
}

/// A named state: steps run in order, then transitions on events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub(crate) name: StateName,
    pub(crate) gate: bool,
    pub(crate) limit: Option<u32>,
    pub(crate) steps: Vec<Step>,
    pub(crate) on: BTreeMap<Event, StateId>,
}

impl State {
    /// The state's name.
    pub fn name(&self) -> &StateName {
        &self.name
    }

    /// Whether this is the "press any key" gate (passed straight through when `[gate]` is off).
    pub fn is_gate(&self) -> bool {
        self.gate
    }

    /// How many times the state may be entered before `repeats_exhausted` fires instead.
    pub fn limit(&self) -> Option<u32> {
        self.limit
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Where `event` leads, if the state handles it.
    pub fn on(&self, event: Event) -> Option<StateId> {
        self.on.get(&event).copied()
    }
}

/// One step of a state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Play prompts, in order.
    Play(Vec<PromptName>),
    /// Play silence.
    Pause(Duration),
    /// Speak the code's digits with the dialplan's pacing.
    SayCode,
    /// Ask the engine to send the SMS now (once per call).
    Sms,
    /// Wait for one key; fires a key event, `any_key` or `timeout`.
    CollectKey {
        /// How long to wait; `None` takes `[collect] first_digit` (or `[gate] timeout` in a gate).
        timeout: Option<Duration>,
    },
    /// Collect a code: code-length digits, `#` finishes, `*` clears; fires `no_input` if nothing came.
    CollectCode {
        /// Wait for the first digit; `None` takes `[collect] first_digit`.
        first_digit: Option<Duration>,
        /// Wait between digits; `None` takes `[collect] inter_digit`.
        inter_digit: Option<Duration>,
    },
    /// Verify the collected code; fires `valid`, `invalid` or `attempts_exhausted`.
    Verify,
    /// Hang up: the flow ends.
    Hangup,
    /// Go to another state.
    Goto(StateId),
}

/// What a state's `on` table reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Event {
    /// One key (`"1"`, `"#"`) in a `collect = "key"` step.
    Key(char),
    /// Any key without its own transition, in a `collect = "key"` step.
    AnyKey,
    /// A `collect = "key"` step waited in vain.
    Timeout,
    /// A `collect = "code"` step got no digit.
    NoInput,
    /// The code was right.
    Valid,
    /// The code was wrong; attempts remain.
    Invalid,
    /// The code was wrong and no attempt remains.
    AttemptsExhausted,
    /// The state was entered more often than its `limit`.
    RepeatsExhausted,
}

impl Event {
    fn parse(text: &str) -> Option<Event> {
        Some(match text {
            "any_key" => Event::AnyKey,
            "timeout" => Event::Timeout,
            "no_input" => Event::NoInput,
            "valid" => Event::Valid,
            "invalid" => Event::Invalid,
            "attempts_exhausted" => Event::AttemptsExhausted,
            "repeats_exhausted" => Event::RepeatsExhausted,
            _ => {
                let mut chars = text.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if is_dtmf(c) => Event::Key(c),
                    _ => return None,
                }
            }
        })
    }
}

/// Whether `c` is a DTMF key: `0`-`9`, `*`, `#`, `A`-`D`.
pub fn is_dtmf(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')
}

/// The most states a flow may have (keeps loading fast: the checks are quadratic).
const MAX_STATES: usize = 200;

/// The most steps a state may have.
const MAX_STEPS: usize = 64;

/// What the graph builder needs from the rest of the dialplan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GraphContext<'a> {
    pub(crate) site: ErrorSite<'a>,
    pub(crate) prompts: &'a PromptSet,
    pub(crate) mode: Mode,
    pub(crate) repeats: u32,
    pub(crate) attempts: u32,
    pub(crate) gate_enabled: bool,
}

/// Resolves and checks a raw flow; returns every problem found.
pub(crate) fn build(raw: &RawFlow, cx: GraphContext<'_>) -> Result<FlowGraph, Vec<DialplanError>> {
    let mut errors = Vec::new();
    let names: Vec<&String> = raw.states.keys().collect();
    let known = names
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let lookup = |name: &Spanned<String>, key: String, errors: &mut Vec<DialplanError>| match names
        .iter()
        .position(|n| *n == name.get_ref())
    {
        Some(i) => Some(StateId(i)),
        None => {
            errors.push(cx.site.error(
                Some(name.span()),
                key,
                Reason::UnknownState {
                    name: name.get_ref().clone(),
                    known: known.clone(),
                },
            ));
            None
        }
    };
    if raw.states.len() > MAX_STATES {
        let reason = Reason::TooMany {
            what: "states in a flow",
            max: MAX_STATES,
        };
        return Err(vec![cx.site.error(
            Some(raw.start.span()),
            "flow.states",
            reason,
        )]);
    }
    if let Some((name, state)) = raw
        .states
        .iter()
        .find(|(_, s)| s.get_ref().steps.len() > MAX_STEPS)
    {
        let reason = Reason::TooMany {
            what: "steps in a state",
            max: MAX_STEPS,
        };
        return Err(vec![cx.site.error(
            Some(state.span()),
            format!("flow.states.{name}.steps"),
            reason,
        )]);
    }
    let start = lookup(&raw.start, "flow.start".into(), &mut errors);
    let mut states = Vec::with_capacity(raw.states.len());
    for (name, state) in &raw.states {
        let key = format!("flow.states.{name}");
        if !is_valid_name(name) {
            errors.push(cx.site.error(
                Some(state.span()),
                &key,
                Reason::BadName {
                    value: name.clone(),
                },
            ));
        }
        states.push(build_state(name, state, &key, cx, &lookup, &mut errors));
    }
    let Some(start) = start else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let graph = FlowGraph { states, start };
    check_graph(&graph, raw, cx, &mut errors);
    if errors.is_empty() {
        Ok(graph)
    } else {
        Err(errors)
    }
}

type Lookup<'l> = dyn Fn(&Spanned<String>, String, &mut Vec<DialplanError>) -> Option<StateId> + 'l;

fn build_state(
    name: &str,
    raw: &Spanned<RawState>,
    key: &str,
    cx: GraphContext<'_>,
    lookup: &Lookup<'_>,
    errors: &mut Vec<DialplanError>,
) -> State {
    let state = raw.get_ref();
    let mut steps = Vec::new();
    let mut ended_by: Option<&'static str> = None;
    let mut collected_code = false;
    let mut unresolved = false;
    for (i, step) in state.steps.iter().enumerate() {
        let step_key = format!("{key}.steps[{i}]");
        let span = Some(step.span());
        if let Some(after) = ended_by {
            errors.push(
                cx.site
                    .error(span, &step_key, Reason::StepNeverRuns { after }),
            );
            continue;
        }
        let Some(resolved) =
            build_step(step.get_ref(), &step_key, span.clone(), cx, lookup, errors)
        else {
            unresolved = true;
            continue;
        };
        let mode_problem = match (&resolved, cx.mode) {
            (Step::SayCode, Mode::Input) => {
                Some(("say_code", "input mode keeps no code that could be spoken"))
            }
            (Step::CollectCode { .. }, Mode::Read) => Some((
                "collect = \"code\"",
                "read mode codes are verified through the API",
            )),
            (Step::Verify, Mode::Read) => {
                Some(("verify", "read mode codes are verified through the API"))
            }
            _ => None,
        };
        if let Some((step_word, why)) = mode_problem {
            let reason = Reason::ModeMismatch {
                step: step_word,
                mode: cx.mode.as_str(),
                why,
            };
            errors.push(cx.site.error(span.clone(), &step_key, reason));
        }
        match resolved {
            Step::Hangup => ended_by = Some("hangup"),
            Step::Goto(_) => ended_by = Some("goto"),
            Step::CollectKey { .. } => ended_by = Some("collect = \"key\""),
            Step::Verify => ended_by = Some("verify"),
            Step::CollectCode { .. } => collected_code = true,
            _ => {}
        }
        if resolved == Step::Verify && !collected_code {
            errors.push(cx.site.error(span, &step_key, Reason::VerifyWithoutCollect));
        }
        steps.push(resolved);
    }
    if ended_by.is_none() && !unresolved {
        errors.push(cx.site.error(
            Some(raw.span()),
            key,
            Reason::DeadEnd {
                state: name.to_owned(),
            },
        ));
    }
    let has = |f: fn(&Step) -> bool| steps.iter().any(f);
    let waits_key = has(|s| matches!(s, Step::CollectKey { .. }));
    let waits_code = has(|s| matches!(s, Step::CollectCode { .. }));
    let verifies = has(|s| matches!(s, Step::Verify));

    let limit = state.limit.as_ref().and_then(|limit| {
        let value = match limit.get_ref() {
            toml::Value::Integer(n) if (0..=100).contains(n) => u32::try_from(*n).ok(),
            toml::Value::Integer(n) => {
                let reason = Reason::OutOfRange {
                    value: *n,
                    min: 0,
                    max: 100,
                };
                errors.push(
                    cx.site
                        .error(Some(limit.span()), format!("{key}.limit"), reason),
                );
                return None;
            }
            toml::Value::String(s) if s == "repeats" => Some(cx.repeats),
            toml::Value::String(s) if s == "attempts" => Some(cx.attempts),
            _ => None,
        };
        if value.is_none() {
            let reason = Reason::Expected {
                expected: "a number from 0 to 100, \"repeats\" or \"attempts\"",
            };
            errors.push(
                cx.site
                    .error(Some(limit.span()), format!("{key}.limit"), reason),
            );
        }
        value
    });

    let mut on = BTreeMap::new();
    for (event_text, target) in &state.on {
        let event_key = format!("{key}.on.{event_text}");
        let Some(event) = Event::parse(event_text) else {
            let reason = Reason::UnknownEvent {
                name: event_text.clone(),
            };
            errors.push(cx.site.error(Some(target.span()), event_key, reason));
            continue;
        };
        let never = match event {
            Event::Key(_) | Event::AnyKey | Event::Timeout if !waits_key => {
                Some("it has no `collect = \"key\"` step")
            }
            Event::NoInput if !waits_code => Some("it has no `collect = \"code\"` step"),
            Event::Valid | Event::Invalid | Event::AttemptsExhausted if !verifies => {
                Some("it has no `verify` step")
            }
            Event::RepeatsExhausted if state.limit.is_none() => Some("it has no `limit`"),
            _ => None,
        };
        if let Some(why) = never {
            let reason = Reason::EventNeverFires {
                event: event_text.clone(),
                why,
            };
            errors.push(cx.site.error(Some(target.span()), event_key, reason));
            continue;
        }
        if let Some(id) = lookup(target, event_key, errors) {
            on.insert(event, id);
        }
    }
    let mut required: Vec<(Event, &'static str)> = Vec::new();
    if waits_key {
        required.push((Event::Timeout, "timeout"));
        let any_key_event = state
            .on
            .keys()
            .any(|k| matches!(Event::parse(k), Some(Event::Key(_) | Event::AnyKey)));
        if !any_key_event || state.gate {
            required.push((Event::AnyKey, "any_key"));
        }
    }
    if waits_code {
        required.push((Event::NoInput, "no_input"));
    }
    if verifies {
        required.push((Event::Valid, "valid"));
        required.push((Event::Invalid, "invalid"));
        required.push((Event::AttemptsExhausted, "attempts_exhausted"));
    }
    if state.limit.is_some() {
        required.push((Event::RepeatsExhausted, "repeats_exhausted"));
    }
    for (event, word) in required {
        let written = state.on.keys().any(|k| Event::parse(k) == Some(event));
        if !written {
            let reason = Reason::MissingTransition { event: word };
            errors.push(cx.site.error(Some(raw.span()), format!("{key}.on"), reason));
        }
    }
    if state.gate && !waits_key {
        errors.push(cx.site.error(
            Some(raw.span()),
            format!("{key}.gate"),
            Reason::GateWithoutKey,
        ));
    }
    State {
        name: StateName::new(name),
        gate: state.gate,
        limit,
        steps,
        on,
    }
}

fn build_step(
    raw: &RawStep,
    key: &str,
    span: Option<std::ops::Range<usize>>,
    cx: GraphContext<'_>,
    lookup: &Lookup<'_>,
    errors: &mut Vec<DialplanError>,
) -> Option<Step> {
    let table = match raw {
        RawStep::Word(word) => {
            return match word.as_str() {
                "say_code" => Some(Step::SayCode),
                "verify" => Some(Step::Verify),
                "sms" => Some(Step::Sms),
                "hangup" => Some(Step::Hangup),
                _ => {
                    errors.push(cx.site.error(
                        span,
                        key,
                        Reason::UnknownStep { word: word.clone() },
                    ));
                    None
                }
            };
        }
        RawStep::Table(table) => &**table,
    };
    let RawStepTable {
        play,
        pause,
        say_code,
        collect,
        verify,
        sms,
        hangup,
        goto,
        timeout,
        first_digit,
        inter_digit,
    } = table;
    let actions: Vec<&'static str> = [
        ("play", play.is_some()),
        ("pause", pause.is_some()),
        ("say_code", say_code.is_some()),
        ("collect", collect.is_some()),
        ("verify", verify.is_some()),
        ("sms", sms.is_some()),
        ("hangup", hangup.is_some()),
        ("goto", goto.is_some()),
    ]
    .into_iter()
    .filter_map(|(word, present)| present.then_some(word))
    .collect();
    let action = match actions.as_slice() {
        [] => {
            errors.push(cx.site.error(span, key, Reason::EmptyStep));
            return None;
        }
        [one] => *one,
        [first, second, ..] => {
            let reason = Reason::TwoActions { first, second };
            errors.push(cx.site.error(span, key, reason));
            return None;
        }
    };
    let collect_kind = collect.as_ref().map(|c| c.get_ref().as_str());
    for (option, present, allowed) in [
        ("timeout", timeout.is_some(), collect_kind == Some("key")),
        (
            "first_digit",
            first_digit.is_some(),
            collect_kind == Some("code"),
        ),
        (
            "inter_digit",
            inter_digit.is_some(),
            collect_kind == Some("code"),
        ),
    ] {
        if present && !allowed {
            let shown = match (action, collect_kind) {
                ("collect", Some("key")) => "collect = \"key\"",
                ("collect", Some("code")) => "collect = \"code\"",
                _ => action,
            };
            errors.push(cx.site.error(
                span.clone(),
                format!("{key}.{option}"),
                Reason::OptionNotForStep {
                    option,
                    action: shown,
                },
            ));
            return None;
        }
    }
    let flag = |value: &Option<bool>, word: &str, errors: &mut Vec<DialplanError>| -> Option<()> {
        if *value == Some(true) {
            Some(())
        } else {
            let reason = Reason::Expected {
                expected: "`true` (or write the step as a bare word)",
            };
            errors.push(cx.site.error(span.clone(), format!("{key}.{word}"), reason));
            None
        }
    };
    match action {
        "play" => {
            let play = play.as_ref()?;
            resolve_prompts(play, &format!("{key}.play"), cx, errors).map(Step::Play)
        }
        "pause" => duration(pause.as_ref()?, &format!("{key}.pause"), cx, errors).map(Step::Pause),
        "say_code" => flag(say_code, "say_code", errors).map(|()| Step::SayCode),
        "verify" => flag(verify, "verify", errors).map(|()| Step::Verify),
        "sms" => flag(sms, "sms", errors).map(|()| Step::Sms),
        "hangup" => flag(hangup, "hangup", errors).map(|()| Step::Hangup),
        "goto" => lookup(goto.as_ref()?, format!("{key}.goto"), errors).map(Step::Goto),
        _ => {
            let collect = collect.as_ref()?;
            let opt =
                |d: &Option<Spanned<String>>, k: &str, errors: &mut Vec<DialplanError>| match d {
                    None => Ok(None),
                    Some(d) => duration(d, &format!("{key}.{k}"), cx, errors)
                        .map(Some)
                        .ok_or(()),
                };
            match collect.get_ref().as_str() {
                "key" => Some(Step::CollectKey {
                    timeout: opt(timeout, "timeout", errors).ok()?,
                }),
                "code" => {
                    let first_digit = opt(first_digit, "first_digit", errors);
                    let inter_digit = opt(inter_digit, "inter_digit", errors);
                    Some(Step::CollectCode {
                        first_digit: first_digit.ok()?,
                        inter_digit: inter_digit.ok()?,
                    })
                }
                _ => {
                    let reason = Reason::Expected {
                        expected: "\"key\" (one key) or \"code\" (a whole code)",
                    };
                    errors.push(cx.site.error(
                        Some(collect.span()),
                        format!("{key}.collect"),
                        reason,
                    ));
                    None
                }
            }
        }
    }
}

fn resolve_prompts(
    play: &Spanned<toml::Value>,
    key: &str,
    cx: GraphContext<'_>,
    errors: &mut Vec<DialplanError>,
) -> Option<Vec<PromptName>> {
    let names: Vec<&str> = match play.get_ref() {
        toml::Value::String(s) => vec![s.as_str()],
        toml::Value::Array(items) if !items.is_empty() => {
            let names: Option<Vec<&str>> = items.iter().map(|v| v.as_str()).collect();
            names.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    if names.is_empty() {
        let reason = Reason::Expected {
            expected: "a prompt name or a non-empty list of prompt names",
        };
        errors.push(cx.site.error(Some(play.span()), key, reason));
        return None;
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        if cx.prompts.contains(name) {
            out.push(PromptName::new(name));
        } else {
            let known = cx.prompts.iter().collect::<Vec<_>>().join(", ");
            let reason = Reason::UnknownPrompt {
                name: name.to_owned(),
                known,
            };
            errors.push(cx.site.error(Some(play.span()), key, reason));
        }
    }
    (out.len() == names_len(play)).then_some(out)
}

fn names_len(play: &Spanned<toml::Value>) -> usize {
    match play.get_ref() {
        toml::Value::Array(items) => items.len(),
        _ => 1,
    }
}

/// Parses a duration value, recording an error naming `key`.
pub(crate) fn duration(
    value: &Spanned<String>,
    key: &str,
    cx: GraphContext<'_>,
    errors: &mut Vec<DialplanError>,
) -> Option<Duration> {
    parse_duration(value.get_ref())
        .map_err(|problem| {
            let reason = Reason::BadDuration {
                value: value.get_ref().clone(),
                problem,
            };
            errors.push(cx.site.error(Some(value.span()), key, reason));
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse() {
        assert_eq!(Event::parse("1"), Some(Event::Key('1')));
        assert_eq!(Event::parse("#"), Some(Event::Key('#')));
        assert_eq!(Event::parse("D"), Some(Event::Key('D')));
        assert_eq!(Event::parse("any_key"), Some(Event::AnyKey));
        assert_eq!(
            Event::parse("repeats_exhausted"),
            Some(Event::RepeatsExhausted)
        );
        assert_eq!(Event::parse("E"), None);
        assert_eq!(Event::parse("12"), None);
        assert_eq!(Event::parse(""), None);
        assert_eq!(Event::parse("Timeout"), None);
    }

    #[test]
    fn dtmf_keys() {
        let keys: String = (0u8..=127)
            .map(char::from)
            .filter(|&c| is_dtmf(c))
            .collect();
        assert_eq!(keys, "#*0123456789ABCD");
    }
}
