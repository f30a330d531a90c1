//! voxpin IVR: dialplans (one TOML file per OTP application) and the per-call
//! flow state machine. Pure: no IO, no clock; time is passed in.
//!
//! A dialplan is parsed and resolved once ([`Dialplan::from_toml`], or a whole
//! directory as a [`DialplanSet`]); errors name the file, line, key and reason.
//! Each call then runs a [`Flow`]: push call events in, pull actions out.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Duration, Instant};
//! use voxpin_ivr::{Action, Dialplan, Flow, FlowContext, FlowEvent, PromptSet};
//!
//! let text = r#"
//!     name = "login"
//!     mode = "read"
//!     [gate]
//!     enabled = false
//! "#;
//! let plan = Dialplan::from_toml("login.toml", text, &PromptSet::standard()).expect("valid");
//! let mut now = Instant::now();
//! let context = FlowContext { code_length: plan.code_length(), attempts_remaining: plan.attempts() };
//! let mut flow = Flow::new(Arc::new(plan), context, now);
//!
//! flow.handle_event(now, FlowEvent::Answered);
//! let mut heard = Vec::new();
//! loop {
//!     let mut playing = false;
//!     while let Some(action) = flow.poll_action() {
//!         match action {
//!             Action::Play(items) => { heard.push(items.len()); playing = true } // to the media session
//!             Action::Hangup => {}                                            // send BYE
//!             _ => {}                                        // stop, verify, SMS, records
//!         }
//!     }
//!     if flow.is_finished() { break }
//!     if playing {
//!         // The media session reports the playlist done (a silent caller here).
//!         now += Duration::from_secs(3);
//!         flow.handle_event(now, FlowEvent::PlaybackFinished);
//!     } else if let Some(at) = flow.poll_timeout() {
//!         now = at;
//!         flow.handle_timeout(now);
//!     }
//! }
//! // "your code is" + code, "press 1 to hear it again" (times out), "goodbye".
//! assert_eq!(heard, vec![2, 1, 1]);
//! ```
//!
//! The flow language and every key are described in `docs/dialplans.md`.

mod check;
mod defaults;
mod dialplan;
mod duration;
mod error;
mod flow;
mod graph;
mod io;
mod names;
mod raw;
mod set;

pub use defaults::{INPUT_FLOW, READ_FLOW};
pub use dialplan::{
    CodeSource, CollectTimeouts, Dialplan, Gate, Limits, Mode, Pacing, Sms, SmsTemplate,
    VerifyPolicy,
};
pub use duration::{parse_duration, DurationProblem, Rate};
pub use error::{DialplanError, Reason};
pub use flow::Flow;
pub use graph::{is_dtmf, Event, FlowGraph, State, StateId, Step};
pub use io::{
    Action, EndCause, EnteredCode, FlowContext, FlowEvent, FlowRecord, PlayItem, RecordKind,
    ShownKey,
};
pub use names::{PhoneNumber, PromptName, PromptSet, StateName, STANDARD_PROMPTS};
pub use set::DialplanSet;
