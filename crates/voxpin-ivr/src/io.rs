//! What flows into and out of a [`crate::Flow`]: call events, actions, playlist
//! items, the secret entered code, and session records.

use std::fmt;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::dialplan::Pacing;
use crate::names::{PromptName, StateName};

/// Per-call facts the flow needs from the OTP behind the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowContext {
    /// Digits of this call's code (what `collect = "code"` waits for).
    pub code_length: u8,
    /// Verification attempts the code has left.
    pub attempts_remaining: u32,
}

/// What happened on the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowEvent {
    /// The call was answered: the flow starts.
    Answered,
    /// The last [`Action::Play`] finished playing (not reported for a stopped one).
    PlaybackFinished,
    /// A DTMF key: `'0'..='9'`, `'*'`, `'#'`, `'A'..='D'` (anything else is ignored).
    Digit(char),
    /// The far end hung up: the flow ends without [`Action::Hangup`].
    HungUp,
    /// The answer to [`Action::Verify`].
    VerifyResult {
        /// The code was right.
        valid: bool,
        /// Attempts the code has left.
        attempts_remaining: u32,
        /// No attempt is left: the code is failed.
        exhausted: bool,
    },
}

/// What the engine must do.
#[derive(Debug, Clone)]
pub enum Action {
    /// Play these items in order, then report [`FlowEvent::PlaybackFinished`].
    Play(Vec<PlayItem>),
    /// Stop the current playback at once (barge-in); do not report it finished.
    StopPlayback,
    /// Verify this code against the store, then report [`FlowEvent::VerifyResult`].
    Verify(EnteredCode),
    /// Send the application's SMS with the code.
    SendSms,
    /// Hang up the call. The flow is finished.
    Hangup,
    /// Add this to the OTP's session record.
    Record(FlowRecord),
}

/// One item of a playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayItem {
    /// A prompt from the library.
    Prompt(PromptName),
    /// Silence.
    Silence(Duration),
    /// The code's digits (the engine knows them, the flow never does), spoken with this pacing.
    Code(Pacing),
}

/// Digits the caller typed as a code. A secret: `Debug` shows only its length, and
/// the memory is wiped on drop.
#[derive(Clone, Default)]
pub struct EnteredCode(pub(crate) Zeroizing<String>);

impl EnteredCode {
    /// The digits, for the verifier only. Never log them.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// How many digits were typed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was typed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for EnteredCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnteredCode({} digits)", self.0.len())
    }
}

/// One line of the OTP's session record, with its time and the state it happened in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRecord {
    /// When.
    pub at: Instant,
    /// The state the flow was in.
    pub state: StateName,
    /// What.
    pub kind: RecordKind,
}

/// What a [`FlowRecord`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordKind {
    /// A key was pressed.
    Keypress {
        /// The key, or `Masked` for a digit outside a menu (it may be part of a code).
        key: ShownKey,
    },
    /// A playlist ended.
    Played {
        /// The prompts it held, in order.
        prompts: Vec<PromptName>,
        /// Whether it held the code.
        code: bool,
        /// Whether it played to the end (false: barge-in, hang-up or time limit).
        completed: bool,
    },
    /// The code was played to the end, for the `count`-th time on this call.
    CodePlayed {
        /// How often so far.
        count: u32,
    },
    /// The store answered a verification.
    Verified {
        /// The code was right.
        valid: bool,
        /// Attempts left.
        attempts_remaining: u32,
        /// No attempt left.
        exhausted: bool,
    },
    /// The "press any key" gate was passed (a key) or not (timeout, limit, hang-up).
    Gate {
        /// Whether a key was pressed.
        passed: bool,
    },
    /// The flow ended.
    Ended {
        /// Why.
        cause: EndCause,
    },
}

/// A key as the record shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownKey {
    /// A menu key, `*`, `#` or `A`-`D`, shown as pressed.
    Key(char),
    /// A digit that may belong to a code.
    Masked,
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndCause {
    /// A `hangup` step.
    Hangup,
    /// The far end hung up.
    CallerHungUp,
    /// The dialplan's `max_duration` passed.
    MaxDuration,
    /// The flow passed control between states too often without waiting (a guard; loading prevents it).
    Spin,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entered_code_debug_hides_the_digits() {
        let code = EnteredCode(Zeroizing::new("482913".to_owned()));
        assert_eq!(format!("{code:?}"), "EnteredCode(6 digits)");
        let action = format!("{:?}", Action::Verify(code.clone()));
        assert!(!action.contains("482913"), "{action}");
        assert_eq!(code.len(), 6);
        assert!(!code.is_empty());
    }
}
