//! The resolved dialplan: one OTP application's settings and its checked flow.

use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;

use crate::defaults::{INPUT_FLOW, READ_FLOW};
use crate::duration::{parse_duration, Rate};
use crate::error::{DialplanError, ErrorSite, Reason};
use crate::graph::{self, FlowGraph, GraphContext};
use crate::names::{is_valid_name, PhoneNumber, PromptSet};
use crate::raw::{RawDialplan, RawFlow};

pub use crate::raw::{CodeSource, Mode};

/// One OTP application, loaded from its TOML file: every value checked, every
/// prompt, state and transition of its flow resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialplan {
    file: String,
    name: String,
    title: String,
    enabled: bool,
    mode: Mode,
    code: CodeSource,
    code_length: u8,
    ttl: Duration,
    attempts: u32,
    repeats: u32,
    language: String,
    trunk: Option<String>,
    number: Option<PhoneNumber>,
    max_duration: Duration,
    pacing: Pacing,
    gate: Gate,
    sms: Sms,
    limits: Limits,
    verify: VerifyPolicy,
    collect: CollectTimeouts,
    flow: Arc<FlowGraph>,
    custom_flow: bool,
}

/// How the code's digits are spoken: `[pacing]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pacing {
    /// Silence between two digits of a group (default 300 ms).
    pub digit_gap: Duration,
    /// Digits per group, e.g. `[3, 3]` speaks "4 8 1 … 5 9 2"; empty means one group.
    pub grouping: Vec<u8>,
    /// Silence between groups (default 700 ms).
    pub group_gap: Duration,
    /// Silence after the last digit (default 500 ms).
    pub final_pause: Duration,
}

/// "Press any key to hear your code": `[gate]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gate {
    /// Whether gate states play (default true for read mode); when off they are passed through.
    pub enabled: bool,
    /// How long a gate waits for a key, unless its step says otherwise (default 8 s).
    pub timeout: Duration,
}

/// The SMS sent after the call: `[sms]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sms {
    /// Whether the flow asks for an SMS after the call (default false).
    pub enabled: bool,
    /// The text, with `{code}` where the code goes.
    pub template: SmsTemplate,
}

/// An SMS text with a `{code}` placeholder (checked at load).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmsTemplate(String);

impl SmsTemplate {
    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text with every `{code}` replaced by `code`. The result holds the
    /// secret: hand it to the SMS sender and drop it; never log it.
    pub fn render(&self, code: &str) -> String {
        self.0.replace("{code}", code)
    }
}

/// Send limits: `[limits]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Codes per phone number per window (`"3/1h"`); `None`: unlimited.
    pub per_number: Option<Rate>,
    /// Codes for the whole application per window; `None`: unlimited.
    pub per_application: Option<Rate>,
    /// Calls of this application at once; `None`: unlimited.
    pub concurrent_calls: Option<u32>,
    /// Whether a new code for a number replaces its live one (default true) or both stay valid.
    pub replace_previous: bool,
}

/// Verification policy: `[verify]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerifyPolicy {
    /// Whether a code stays valid after a successful verification (default false: single use).
    pub allow_repeat: bool,
    /// Verifications per code per window (`"1/3s"`); `None`: only `attempts` limits.
    pub rate: Option<Rate>,
}

/// Digit collection timeouts: `[collect]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CollectTimeouts {
    /// Wait for the first key (default 10 s).
    pub first_digit: Duration,
    /// Wait between keys of a code (default 5 s).
    pub inter_digit: Duration,
}

impl Dialplan {
    /// Parses and resolves one dialplan file. `file` labels errors (usually the path);
    /// `prompts` is what the prompt library holds. Returns every problem found.
    pub fn from_toml(
        file: &str,
        text: &str,
        prompts: &PromptSet,
    ) -> Result<Dialplan, Vec<DialplanError>> {
        let site = ErrorSite { file, text };
        let raw: RawDialplan = deserialize(site)?;
        Dialplan::try_from(Unresolved { raw, site, prompts })
    }

    /// The file label it was loaded from.
    pub fn file(&self) -> &str {
        &self.file
    }
    /// The application name (`name`), used by the API.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// A human title (`title`, default: the name).
    pub fn title(&self) -> &str {
        &self.title
    }
    /// Whether the application takes new codes and calls (`enabled`, default true).
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// Read or input (`mode`).
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// Generated or passed-in codes (`code`, default auto).
    pub fn code(&self) -> CodeSource {
        self.code
    }
    /// Digits per code, 4 to 10 (`code_length`, default 6).
    pub fn code_length(&self) -> u8 {
        self.code_length
    }
    /// How long a code lives (`ttl`, default 10 min).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
    /// Verification attempts per code (`attempts`, default 5).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
    /// How often the caller may hear the code again (`repeats`, default 2).
    pub fn repeats(&self) -> u32 {
        self.repeats
    }
    /// Prompt language, the directory under `prompts/` (`language`, default "en").
    pub fn language(&self) -> &str {
        &self.language
    }
    /// The trunk to call out through (`trunk`); `None`: the engine's default trunk.
    pub fn trunk(&self) -> Option<&str> {
        self.trunk.as_deref()
    }
    /// The application's number: the DID people call back and the caller ID it shows (`number`).
    pub fn number(&self) -> Option<&PhoneNumber> {
        self.number.as_ref()
    }
    /// The longest a call may last before the flow hangs up (`max_duration`, default 5 min).
    pub fn max_duration(&self) -> Duration {
        self.max_duration
    }
    /// How code digits are spoken.
    pub fn pacing(&self) -> &Pacing {
        &self.pacing
    }
    /// The "press any key" gate.
    pub fn gate(&self) -> Gate {
        self.gate
    }
    /// The SMS after the call.
    pub fn sms(&self) -> &Sms {
        &self.sms
    }
    /// Send limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }
    /// Verification policy.
    pub fn verify(&self) -> VerifyPolicy {
        self.verify
    }
    /// Digit collection timeouts.
    pub fn collect(&self) -> CollectTimeouts {
        self.collect
    }
    /// The resolved flow (custom, or the built-in one of the mode).
    pub fn flow(&self) -> &Arc<FlowGraph> {
        &self.flow
    }
    /// Whether the file has its own `[flow]`.
    pub fn has_custom_flow(&self) -> bool {
        self.custom_flow
    }
}

/// Deserializes TOML into `T`, naming the key path and line of the first problem.
pub(crate) fn deserialize<T: serde::de::DeserializeOwned>(
    site: ErrorSite<'_>,
) -> Result<T, Vec<DialplanError>> {
    let de = toml::Deserializer::parse(site.text).map_err(|e| {
        vec![site.error(
            e.span(),
            "",
            Reason::Syntax {
                message: e.message().trim().to_owned(),
            },
        )]
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "")
            .replace("$__serde_spanned_private_value", "");
        let key = if key == "." { String::new() } else { key };
        let inner = e.into_inner();
        vec![site.error(
            inner.span(),
            key,
            Reason::Schema {
                message: inner.message().trim().to_owned(),
            },
        )]
    })
}

/// A parsed file waiting to be resolved, with what resolving needs.
pub(crate) struct Unresolved<'a> {
    pub(crate) raw: RawDialplan,
    pub(crate) site: ErrorSite<'a>,
    pub(crate) prompts: &'a PromptSet,
}

/// Checks one optional value, recording an error; yields the default when absent.
struct Checker<'a> {
    site: ErrorSite<'a>,
    errors: Vec<DialplanError>,
}

impl Checker<'_> {
    fn int(
        &mut self,
        value: &Option<Spanned<i64>>,
        key: &str,
        min: i64,
        max: i64,
        default: i64,
    ) -> i64 {
        match value {
            None => default,
            Some(v) if (min..=max).contains(v.get_ref()) => *v.get_ref(),
            Some(v) => {
                let reason = Reason::OutOfRange {
                    value: *v.get_ref(),
                    min,
                    max,
                };
                self.errors
                    .push(self.site.error(Some(v.span()), key, reason));
                default
            }
        }
    }

    fn duration(
        &mut self,
        value: &Option<Spanned<String>>,
        key: &str,
        range: (Duration, Duration, &'static str),
        default: Duration,
    ) -> Duration {
        let Some(v) = value else { return default };
        match parse_duration(v.get_ref()) {
            Ok(d) if d >= range.0 && d <= range.1 => d,
            Ok(_) => {
                let reason = Reason::DurationOutOfRange {
                    value: v.get_ref().clone(),
                    allowed: range.2,
                };
                self.errors
                    .push(self.site.error(Some(v.span()), key, reason));
                default
            }
            Err(problem) => {
                let reason = Reason::BadDuration {
                    value: v.get_ref().clone(),
                    problem,
                };
                self.errors
                    .push(self.site.error(Some(v.span()), key, reason));
                default
            }
        }
    }

    fn rate(&mut self, value: &Option<Spanned<String>>, key: &str) -> Option<Rate> {
        let v = value.as_ref()?;
        match Rate::parse(v.get_ref()) {
            Ok(rate) if rate.per > Duration::ZERO => Some(rate),
            Ok(_) => {
                let reason = Reason::DurationOutOfRange {
                    value: v.get_ref().clone(),
                    allowed: "the window must be longer than zero",
                };
                self.errors
                    .push(self.site.error(Some(v.span()), key, reason));
                None
            }
            Err(problem) => {
                let reason = Reason::BadRate {
                    value: v.get_ref().clone(),
                    problem,
                };
                self.errors
                    .push(self.site.error(Some(v.span()), key, reason));
                None
            }
        }
    }
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
const fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

impl TryFrom<Unresolved<'_>> for Dialplan {
    type Error = Vec<DialplanError>;

    fn try_from(u: Unresolved<'_>) -> Result<Dialplan, Vec<DialplanError>> {
        let Unresolved { raw, site, prompts } = u;
        let mut c = Checker {
            site,
            errors: Vec::new(),
        };
        let name = raw.name.get_ref().clone();
        if !is_valid_name(&name) {
            c.errors.push(site.error(
                Some(raw.name.span()),
                "name",
                Reason::BadName {
                    value: name.clone(),
                },
            ));
        }
        let code_length = c.int(&raw.code_length, "code_length", 4, 10, 6) as u8;
        let attempts = c.int(&raw.attempts, "attempts", 1, 20, 5) as u32;
        let repeats = c.int(&raw.repeats, "repeats", 0, 10, 2) as u32;
        let ttl = c.duration(
            &raw.ttl,
            "ttl",
            (secs(1), secs(86_400), "1s to 24h"),
            secs(600),
        );
        let max_duration = c.duration(
            &raw.max_duration,
            "max_duration",
            (secs(10), secs(3_600), "10s to 1h"),
            secs(300),
        );
        let language = match &raw.language {
            None => "en".to_owned(),
            Some(l) if is_language(l.get_ref()) => l.get_ref().clone(),
            Some(l) => {
                c.errors.push(site.error(
                    Some(l.span()),
                    "language",
                    Reason::BadLanguage {
                        value: l.get_ref().clone(),
                    },
                ));
                String::new()
            }
        };
        let trunk = raw.trunk.as_ref().map(|t| {
            if !is_valid_name(t.get_ref()) {
                c.errors.push(site.error(
                    Some(t.span()),
                    "trunk",
                    Reason::BadName {
                        value: t.get_ref().clone(),
                    },
                ));
            }
            t.get_ref().clone()
        });
        let number = raw.number.as_ref().and_then(|n| {
            let parsed = PhoneNumber::parse(n.get_ref());
            if parsed.is_none() {
                c.errors.push(site.error(
                    Some(n.span()),
                    "number",
                    Reason::BadNumber {
                        value: n.get_ref().clone(),
                    },
                ));
            }
            parsed
        });

        let gap = (Duration::ZERO, secs(5), "0s to 5s");
        let pacing = match &raw.pacing {
            None => Pacing {
                digit_gap: millis(300),
                grouping: Vec::new(),
                group_gap: millis(700),
                final_pause: millis(500),
            },
            Some(p) => {
                let grouping = match &p.grouping {
                    None => Vec::new(),
                    Some(g) => {
                        let mut groups = Vec::new();
                        for &size in g.get_ref() {
                            if (1..=10).contains(&size) {
                                groups.push(size as u8);
                            } else {
                                let reason = Reason::OutOfRange {
                                    value: size,
                                    min: 1,
                                    max: 10,
                                };
                                c.errors.push(site.error(
                                    Some(g.span()),
                                    "pacing.grouping",
                                    reason,
                                ));
                            }
                        }
                        let sum: u64 = groups.iter().map(|&g| u64::from(g)).sum();
                        if groups.len() == g.get_ref().len()
                            && !groups.is_empty()
                            && sum != u64::from(code_length)
                        {
                            let reason = Reason::GroupingMismatch { sum, code_length };
                            c.errors
                                .push(site.error(Some(g.span()), "pacing.grouping", reason));
                        }
                        groups
                    }
                };
                Pacing {
                    digit_gap: c.duration(&p.digit_gap, "pacing.digit_gap", gap, millis(300)),
                    grouping,
                    group_gap: c.duration(&p.group_gap, "pacing.group_gap", gap, millis(700)),
                    final_pause: c.duration(
                        &p.final_pause,
                        "pacing.final_pause",
                        (Duration::ZERO, secs(10), "0s to 10s"),
                        millis(500),
                    ),
                }
            }
        };
        let wait = (millis(500), secs(60), "500ms to 60s");
        let gate = Gate {
            enabled: raw
                .gate
                .as_ref()
                .and_then(|g| g.enabled)
                .unwrap_or(raw.mode == Mode::Read),
            timeout: c.duration(
                &raw.gate.as_ref().and_then(|g| g.timeout.clone()),
                "gate.timeout",
                wait,
                secs(8),
            ),
        };
        let sms = {
            let enabled = raw.sms.as_ref().and_then(|s| s.enabled).unwrap_or(false);
            let template = match raw.sms.as_ref().and_then(|s| s.template.as_ref()) {
                None => "Your code is {code}".to_owned(),
                Some(t) => {
                    if !t.get_ref().contains("{code}") {
                        c.errors.push(site.error(
                            Some(t.span()),
                            "sms.template",
                            Reason::MissingCodePlaceholder,
                        ));
                    }
                    t.get_ref().clone()
                }
            };
            Sms {
                enabled,
                template: SmsTemplate(template),
            }
        };
        let limits = match &raw.limits {
            None => Limits {
                per_number: None,
                per_application: None,
                concurrent_calls: None,
                replace_previous: true,
            },
            Some(l) => Limits {
                per_number: c.rate(&l.per_number, "limits.per_number"),
                per_application: c.rate(&l.per_application, "limits.per_application"),
                concurrent_calls: l.concurrent_calls.is_some().then(|| {
                    c.int(
                        &l.concurrent_calls,
                        "limits.concurrent_calls",
                        1,
                        100_000,
                        1,
                    ) as u32
                }),
                replace_previous: l.replace_previous.unwrap_or(true),
            },
        };
        let verify = VerifyPolicy {
            allow_repeat: raw
                .verify
                .as_ref()
                .and_then(|v| v.allow_repeat)
                .unwrap_or(false),
            rate: raw
                .verify
                .as_ref()
                .and_then(|v| c.rate(&v.rate, "verify.rate")),
        };
        let collect = CollectTimeouts {
            first_digit: c.duration(
                &raw.collect.as_ref().and_then(|v| v.first_digit.clone()),
                "collect.first_digit",
                wait,
                secs(10),
            ),
            inter_digit: c.duration(
                &raw.collect.as_ref().and_then(|v| v.inter_digit.clone()),
                "collect.inter_digit",
                wait,
                secs(5),
            ),
        };

        let mut errors = c.errors;
        let cx = GraphContext {
            site,
            prompts,
            mode: raw.mode,
            repeats,
            attempts,
            gate_enabled: gate.enabled,
        };
        let custom_flow = raw.flow.is_some();
        let flow = match &raw.flow {
            Some(flow) => graph::build(flow, cx),
            None => built_in(raw.mode, cx),
        };
        let flow = match flow {
            Ok(flow) => Some(flow),
            Err(mut flow_errors) => {
                errors.append(&mut flow_errors);
                None
            }
        };
        match flow {
            Some(flow) if errors.is_empty() => Ok(Dialplan {
                file: site.file.to_owned(),
                title: raw.title.clone().unwrap_or_else(|| name.clone()),
                name,
                enabled: raw.enabled.unwrap_or(true),
                mode: raw.mode,
                code: raw.code.unwrap_or(CodeSource::Auto),
                code_length,
                ttl,
                attempts,
                repeats,
                language,
                trunk,
                number,
                max_duration,
                pacing,
                gate,
                sms,
                limits,
                verify,
                collect,
                flow: Arc::new(flow),
                custom_flow,
            }),
            _ => Err(errors),
        }
    }
}

/// The built-in flow of `mode`, checked like a custom one (its prompts must exist too).
fn built_in(mode: Mode, cx: GraphContext<'_>) -> Result<FlowGraph, Vec<DialplanError>> {
    let (label, text) = match mode {
        Mode::Read => ("built-in read flow", READ_FLOW),
        Mode::Input => ("built-in input flow", INPUT_FLOW),
    };
    let site = ErrorSite { file: label, text };
    let raw: FlowOnly = deserialize(site)?;
    graph::build(&raw.flow, GraphContext { site, ..cx })
}

/// A TOML document holding only `[flow]`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowOnly {
    pub(crate) flow: RawFlow,
}

/// `en`, `pt-BR`, `zh-Hant-TW`: 2-3 lowercase letters, then `-` subtags of 1-8 letters or digits.
fn is_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_file_takes_the_defaults() {
        let plan = Dialplan::from_toml(
            "m.toml",
            "name = \"m\"\nmode = \"read\"\n",
            &PromptSet::standard(),
        )
        .expect("valid");
        assert_eq!(plan.file(), "m.toml");
        assert_eq!(plan.title(), "m");
        assert!(plan.enabled());
        assert_eq!(plan.code(), CodeSource::Auto);
        assert_eq!(plan.code_length(), 6);
        assert_eq!(plan.ttl(), secs(600));
        assert_eq!(plan.attempts(), 5);
        assert_eq!(plan.repeats(), 2);
        assert_eq!(plan.language(), "en");
        assert_eq!(plan.trunk(), None);
        assert_eq!(plan.number(), None);
        assert_eq!(plan.max_duration(), secs(300));
        assert_eq!(plan.pacing().digit_gap, millis(300));
        assert!(plan.pacing().grouping.is_empty());
        assert_eq!(
            plan.gate(),
            Gate {
                enabled: true,
                timeout: secs(8)
            }
        );
        assert!(!plan.sms().enabled);
        assert_eq!(plan.limits().per_number, None);
        assert!(plan.limits().replace_previous);
        assert!(!plan.verify().allow_repeat);
        assert_eq!(
            plan.collect(),
            CollectTimeouts {
                first_digit: secs(10),
                inter_digit: secs(5)
            }
        );
        assert!(!plan.has_custom_flow());
        assert!(plan.flow().find("menu").is_some());
    }

    #[test]
    fn input_mode_has_no_gate_by_default() {
        let plan = Dialplan::from_toml(
            "m.toml",
            "name = \"m\"\nmode = \"input\"\n",
            &PromptSet::standard(),
        )
        .expect("valid");
        assert!(!plan.gate().enabled);
        assert!(plan.flow().find("ask").is_some());
    }

    #[test]
    fn sms_template_renders_the_code() {
        let template = SmsTemplate("Code {code}; again: {code}".to_owned());
        assert_eq!(template.render("123456"), "Code 123456; again: 123456");
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "pt-BR", "zh-Hant-TW", "fil"] {
            assert!(is_language(ok), "{ok}");
        }
        for bad in ["", "e", "EN", "english", "en-", "en_US", "en-toolongsubtag"] {
            assert!(!is_language(bad), "{bad}");
        }
    }
}
