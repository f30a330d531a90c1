//! Dialplan errors: the file, the line (when known), the key path and the reason.

use std::fmt;

use crate::duration::DurationProblem;

/// A dialplan that was refused, and exactly why.
///
/// Displays as `file:line: key: reason`, e.g.
/// `login.toml:31: flow.states.menu.on.1: unknown state \`repaet\` (states: code, goodbye, menu, repeat)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct DialplanError {
    /// The file label the text was loaded under (usually its path).
    pub file: String,
    /// 1-based line of the offending value, when known.
    pub line: Option<usize>,
    /// Dotted key path (`flow.states.menu.steps[1].goto`); empty for whole-file errors.
    pub key: String,
    /// What is wrong.
    pub reason: Reason,
}

impl fmt::Display for DialplanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The reason a dialplan was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    /// The text is not valid TOML (message from the TOML parser).
    #[error("invalid TOML: {message}")]
    Syntax {
        /// The parser's message.
        message: String,
    },
    /// A key is unknown, missing or of the wrong type (message from the TOML deserializer).
    #[error("{message}")]
    Schema {
        /// The deserializer's message, e.g. ``unknown field `colour` ``.
        message: String,
    },
    /// A duration could not be read.
    #[error(
        "`{value}` is not a duration: {problem} (write e.g. \"500ms\", \"3s\", \"10m\", \"1h\")"
    )]
    BadDuration {
        /// The text as written.
        value: String,
        /// What is wrong with it.
        problem: DurationProblem,
    },
    /// A duration is outside what the key allows.
    #[error("`{value}` is out of range: {allowed}")]
    DurationOutOfRange {
        /// The text as written.
        value: String,
        /// The allowed range, in words.
        allowed: &'static str,
    },
    /// A rate could not be read.
    #[error("`{value}` is not a rate: {problem}")]
    BadRate {
        /// The text as written.
        value: String,
        /// What is wrong with it.
        problem: DurationProblem,
    },
    /// A number is outside what the key allows.
    #[error("{value} is out of range ({min} to {max})")]
    OutOfRange {
        /// The value as written.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// A name has characters outside `a-z 0-9 - _`.
    #[error("`{value}` is not a valid name: use 1 to 64 of a-z, 0-9, `-`, `_`, starting with a letter or digit")]
    BadName {
        /// The name as written.
        value: String,
    },
    /// A phone number is not E.164.
    #[error("`{value}` is not an E.164 number (`+` then 8 to 15 digits)")]
    BadNumber {
        /// The number as written.
        value: String,
    },
    /// A language tag is not like `en` or `pt-BR`.
    #[error("`{value}` is not a language tag (e.g. \"en\", \"pt-BR\")")]
    BadLanguage {
        /// The tag as written.
        value: String,
    },
    /// A `play` names a prompt the prompt library does not have.
    #[error("unknown prompt `{name}` (prompts: {known})")]
    UnknownPrompt {
        /// The prompt as written.
        name: String,
        /// The known prompts, comma-separated.
        known: String,
    },
    /// A `goto`, `start` or transition names a state the flow does not define.
    #[error("unknown state `{name}` (states: {known})")]
    UnknownState {
        /// The state as written.
        name: String,
        /// The defined states, comma-separated.
        known: String,
    },
    /// A step table names no action.
    #[error("a step needs one of `play`, `pause`, `say_code`, `collect`, `verify`, `sms`, `hangup`, `goto`")]
    EmptyStep,
    /// A bare-word step is not one of the words that need no value.
    #[error("unknown step `{word}`: as a bare word a step is \"say_code\", \"verify\", \"sms\" or \"hangup\"")]
    UnknownStep {
        /// The word as written.
        word: String,
    },
    /// A step names two actions.
    #[error("a step does one thing, this one has both `{first}` and `{second}`: split it in two")]
    TwoActions {
        /// The first action key.
        first: &'static str,
        /// The second action key.
        second: &'static str,
    },
    /// An option that belongs to another kind of step.
    #[error("`{option}` does not apply to a `{action}` step")]
    OptionNotForStep {
        /// The option key.
        option: &'static str,
        /// The step's action.
        action: &'static str,
    },
    /// A value has the wrong shape for its key.
    #[error("expected {expected}")]
    Expected {
        /// What the key takes, in words.
        expected: &'static str,
    },
    /// A key under `on` is not an event.
    #[error("unknown event `{name}`: events are a key (\"0\"-\"9\", \"*\", \"#\", \"A\"-\"D\"), any_key, timeout, no_input, valid, invalid, attempts_exhausted, repeats_exhausted")]
    UnknownEvent {
        /// The event as written.
        name: String,
    },
    /// A transition for an event the state can never produce.
    #[error("`{event}` never fires in this state: {why}")]
    EventNeverFires {
        /// The event.
        event: String,
        /// Why, in words.
        why: &'static str,
    },
    /// A state waits for an event it has no transition for.
    #[error("the state waits for `{event}` but has no `on.{event}`")]
    MissingTransition {
        /// The event.
        event: &'static str,
    },
    /// A state runs out of steps without hanging up, jumping or waiting.
    #[error("state `{state}` is a dead end: its last step must be `hangup`, `goto`, `collect = \"key\"` or `verify`")]
    DeadEnd {
        /// The state.
        state: String,
    },
    /// A step after one that ends the state's steps.
    #[error("this step never runs: `{after}` ends the state's steps before it")]
    StepNeverRuns {
        /// The step that ends the sequence.
        after: &'static str,
    },
    /// `verify` with no code collected before it in the same state.
    #[error("`verify` needs a `collect = \"code\"` step before it in the same state")]
    VerifyWithoutCollect,
    /// A gate state without a key to wait for.
    #[error("a gate state needs a `collect = \"key\"` step")]
    GateWithoutKey,
    /// A state that no path from `start` reaches.
    #[error("state `{state}` is never reached from `start`")]
    Unreachable {
        /// The state.
        state: String,
    },
    /// No path from a state leads to a hang-up.
    #[error("no path from state `{state}` ends in `hangup`")]
    NoWayToHangUp {
        /// The state.
        state: String,
    },
    /// States that pass control to each other without waiting for anything.
    #[error("states {path} jump to each other without playing or waiting: the call would spin")]
    InstantLoop {
        /// The loop, as `a -> b -> a`.
        path: String,
    },
    /// A caller who never presses a key is never hung up on.
    #[error("a caller who never presses a key can loop forever: {path}; give one of these states a `limit` whose `on.repeats_exhausted` leads out of the loop")]
    SilentLoop {
        /// The loop, as `a -> b -> a`.
        path: String,
    },
    /// A step that does not fit the dialplan's mode.
    #[error("`{step}` cannot be used in {mode} mode: {why}")]
    ModeMismatch {
        /// The step.
        step: &'static str,
        /// The mode.
        mode: &'static str,
        /// Why, in words.
        why: &'static str,
    },
    /// The SMS template would not carry the code.
    #[error("the template has no `{{code}}` placeholder")]
    MissingCodePlaceholder,
    /// Pacing groups that do not add up to the code length.
    #[error("the groups add up to {sum} digits but code_length is {code_length}")]
    GroupingMismatch {
        /// Sum of the groups.
        sum: u64,
        /// The code length.
        code_length: u8,
    },
    /// A flow or a state is larger than voxpin accepts.
    #[error("at most {max} {what}")]
    TooMany {
        /// What is counted.
        what: &'static str,
        /// The most allowed.
        max: usize,
    },
    /// Two files define the same application name.
    #[error("application `{name}` is also defined in {other_file}")]
    DuplicateName {
        /// The name.
        name: String,
        /// The other file.
        other_file: String,
    },
    /// Two files claim the same phone number.
    #[error("number {number} is also used by {other_file}")]
    DuplicateNumber {
        /// The number.
        number: String,
        /// The other file.
        other_file: String,
    },
}

/// Builds a [`DialplanError`] for one file; knows the text so spans become lines.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorSite<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
}

impl ErrorSite<'_> {
    /// An error at `key`, with the line of `span` when given.
    pub(crate) fn error(
        &self,
        span: Option<std::ops::Range<usize>>,
        key: impl Into<String>,
        reason: Reason,
    ) -> DialplanError {
        DialplanError {
            file: self.file.to_owned(),
            line: span.map(|s| line_of(self.text, s.start)),
            key: key.into(),
            reason,
        }
    }
}

/// 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_file_line_key_reason() {
        let site = ErrorSite {
            file: "a.toml",
            text: "x = 1\ny = 2\n",
        };
        let e = site.error(Some(6..7), "y", Reason::EmptyStep);
        assert_eq!(e.line, Some(2));
        assert!(
            e.to_string().starts_with("a.toml:2: y: a step needs"),
            "{e}"
        );
        let e = site.error(None, "", Reason::MissingCodePlaceholder);
        assert_eq!(
            e.to_string(),
            "a.toml: the template has no `{code}` placeholder"
        );
    }

    #[test]
    fn lines_count_from_one_and_clamp() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
        assert_eq!(line_of("a\nb\nc", 999), 3);
    }
}
