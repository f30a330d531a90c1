//! What the API needs from the rest of voxpin: the engine that places calls
//! ([`Dialer`]), the applications it knows ([`Catalogue`]) and the wall clock
//! ([`Clock`]). The binary adapts the engine and the dialplans to these.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use voxpin_otp::{Application, CodeLength, Limits, Mode, OtpId, Policy, Status};

/// The engine, as the API sees it. Calls must return quickly: queue the work.
pub trait Dialer: Send + Sync {
    /// A new OTP was stored: place its call.
    fn dial(&self, id: OtpId);
    /// The OTP was canceled or replaced: hang up its call if one is live.
    fn hang_up(&self, id: OtpId);
    /// The API changed the OTP's status (verified, failed, canceled), for
    /// status callbacks. The engine reports its own changes itself.
    fn status_changed(&self, id: OtpId, status: Status) {
        let _ = (id, status);
    }
    /// Whether new calls are taken now. While false (draining after SIGTERM,
    /// queue full), `POST /v1/otp` answers 503 `unavailable` with
    /// `Retry-After` and stores nothing.
    fn is_accepting(&self) -> bool {
        true
    }
}

/// Where a manual or generated code comes from for one application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRule {
    /// voxpin generates the code; a request must not carry one.
    Auto(CodeLength),
    /// The client sends the code; a request must carry one. With a length,
    /// codes of another length are refused.
    Manual(Option<CodeLength>),
}

/// What the API needs to know about one OTP application (one dialplan).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplicationSpec {
    /// Read the code aloud, or collect it on the keypad.
    pub mode: Mode,
    /// Generated or given codes.
    pub code: CodeRule,
    /// Time to live, attempts, repeats, verification rules.
    pub policy: Policy,
    /// Sending limits.
    pub limits: Limits,
    /// Languages the application has prompts for; the first is the default.
    /// Empty accepts any language and defaults to `en`.
    pub languages: Vec<String>,
    /// Whether an SMS follows the call when the request does not say.
    pub sms_after_call: bool,
}

impl ApplicationSpec {
    /// A spec with the default policy and no limits.
    pub fn new(mode: Mode, code: CodeRule) -> Self {
        Self {
            mode,
            code,
            policy: Policy::default(),
            limits: Limits::default(),
            languages: Vec::new(),
            sms_after_call: false,
        }
    }

    /// Sets the time to live.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.policy.ttl = ttl;
        self
    }

    /// Sets the policy.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the languages (first = default).
    pub fn with_languages(mut self, languages: &[&str]) -> Self {
        self.languages = languages.iter().map(|l| (*l).to_owned()).collect();
        self
    }

    /// Sets the default for `sms_after_call`.
    pub fn with_sms_after_call(mut self, sms: bool) -> Self {
        self.sms_after_call = sms;
        self
    }
}

/// The applications, by name. The engine swaps its set on reload; the API
/// asks on every request.
pub trait Catalogue: Send + Sync {
    /// The application called `name`, if it exists.
    fn application(&self, name: &Application) -> Option<ApplicationSpec>;
}

/// A fixed catalogue (tests, and setups without reload).
#[derive(Debug, Clone, Default)]
pub struct StaticCatalogue {
    apps: BTreeMap<Application, ApplicationSpec>,
}

impl StaticCatalogue {
    /// An empty catalogue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) an application.
    pub fn with(mut self, name: Application, spec: ApplicationSpec) -> Self {
        self.apps.insert(name, spec);
        self
    }
}

impl Catalogue for StaticCatalogue {
    fn application(&self, name: &Application) -> Option<ApplicationSpec> {
        self.apps.get(name).cloned()
    }
}

/// The wall clock, injected so tests are deterministic.
pub trait Clock: Send + Sync {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: SystemTime) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.0.lock().map_or(SystemTime::UNIX_EPOCH, |t| *t)
    }
}

/// A dialer that does nothing (an API without an engine, and tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoDialer;

impl Dialer for NoDialer {
    fn dial(&self, _id: OtpId) {}
    fn hang_up(&self, _id: OtpId) {}
}
