//! The dialplan file as written: serde structs that mirror the TOML, unknown keys refused.
//!
//! Nothing here is trusted; [`crate::dialplan`] turns it into a resolved [`crate::Dialplan`].

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDialplan {
    pub(crate) name: Spanned<String>,
    pub(crate) title: Option<String>,
    pub(crate) enabled: Option<bool>,
    pub(crate) mode: Mode,
    pub(crate) code: Option<CodeSource>,
    pub(crate) code_length: Option<Spanned<i64>>,
    pub(crate) ttl: Option<Spanned<String>>,
    pub(crate) attempts: Option<Spanned<i64>>,
    pub(crate) repeats: Option<Spanned<i64>>,
    pub(crate) language: Option<Spanned<String>>,
    pub(crate) trunk: Option<Spanned<String>>,
    pub(crate) number: Option<Spanned<String>>,
    pub(crate) max_duration: Option<Spanned<String>>,
    pub(crate) pacing: Option<RawPacing>,
    pub(crate) gate: Option<RawGate>,
    pub(crate) sms: Option<RawSms>,
    pub(crate) limits: Option<RawLimits>,
    pub(crate) verify: Option<RawVerify>,
    pub(crate) collect: Option<RawCollect>,
    pub(crate) flow: Option<RawFlow>,
}

/// Whether the call reads the code out or asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The call speaks the code; the user types it into the application.
    Read,
    /// The user types the code on the phone keypad; the call verifies it.
    Input,
}

impl Mode {
    /// The word used in the dialplan file.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Read => "read",
            Mode::Input => "input",
        }
    }
}

/// Where the code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CodeSource {
    /// voxpin generates the code (OS CSPRNG).
    Auto,
    /// The API client passes the code in.
    Manual,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPacing {
    pub(crate) digit_gap: Option<Spanned<String>>,
    pub(crate) grouping: Option<Spanned<Vec<i64>>>,
    pub(crate) group_gap: Option<Spanned<String>>,
    pub(crate) final_pause: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGate {
    pub(crate) enabled: Option<bool>,
    pub(crate) timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSms {
    pub(crate) enabled: Option<bool>,
    pub(crate) template: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub(crate) per_number: Option<Spanned<String>>,
    pub(crate) per_application: Option<Spanned<String>>,
    pub(crate) concurrent_calls: Option<Spanned<i64>>,
    pub(crate) replace_previous: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVerify {
    pub(crate) allow_repeat: Option<bool>,
    pub(crate) rate: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCollect {
    pub(crate) first_digit: Option<Spanned<String>>,
    pub(crate) inter_digit: Option<Spanned<String>>,
}

/// `[flow]`: where to start and the named states.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFlow {
    pub(crate) start: Spanned<String>,
    pub(crate) states: BTreeMap<String, Spanned<RawState>>,
}

/// `[flow.states.<name>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawState {
    #[serde(default)]
    pub(crate) gate: bool,
    pub(crate) limit: Option<Spanned<toml::Value>>,
    pub(crate) steps: Vec<Spanned<RawStep>>,
    #[serde(default)]
    pub(crate) on: BTreeMap<String, Spanned<String>>,
}

/// One step: a bare word (`"hangup"`) or a table with one action key (`{ play = "goodbye" }`).
#[derive(Debug)]
pub(crate) enum RawStep {
    Word(String),
    Table(Box<RawStepTable>),
}

/// A step written as a table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStepTable {
    pub(crate) play: Option<Spanned<toml::Value>>,
    pub(crate) pause: Option<Spanned<String>>,
    pub(crate) say_code: Option<bool>,
    pub(crate) collect: Option<Spanned<String>>,
    pub(crate) verify: Option<bool>,
    pub(crate) sms: Option<bool>,
    pub(crate) hangup: Option<bool>,
    pub(crate) goto: Option<Spanned<String>>,
    pub(crate) timeout: Option<Spanned<String>>,
    pub(crate) first_digit: Option<Spanned<String>>,
    pub(crate) inter_digit: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for RawStep {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;

        impl<'de> Visitor<'de> for StepVisitor {
            type Value = RawStep;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a step: a word such as \"hangup\" or a table such as { play = \"goodbye\" }",
                )
            }

            fn visit_str<E: de::Error>(self, word: &str) -> Result<RawStep, E> {
                Ok(RawStep::Word(word.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawStep, A::Error> {
                RawStepTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|t| RawStep::Table(Box::new(t)))
            }
        }

        deserializer.deserialize_any(StepVisitor)
    }
}
