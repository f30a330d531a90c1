//! The REGISTER client (RFC 3261 section 10): keeps one binding per trunk
//! alive at a registrar that requires registration.
//!
//! Each [`Registration`] sends REGISTER, answers one digest challenge per
//! attempt, refreshes the binding before it expires (halfway for short
//! bindings, a minute early for long ones), follows `423 Interval Too Brief`
//! and retries failures with exponential back-off. The endpoint drives it
//! ([`Endpoint::register`](crate::Endpoint::register)) and reports changes as
//! [`Event::Registration`](crate::Event::Registration).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::auth::{Challenge, Credentials};
use crate::endpoint::Transport;
use crate::msg::{CSeq, HeaderName, Headers, Method, NameAddr, Request, Response, Uri};
use crate::transaction::{deadline_after, TransactionKey};

/// The first retry delay after a failed registration.
pub const MIN_RETRY: Duration = Duration::from_secs(10);
/// The longest retry delay.
pub const MAX_RETRY: Duration = Duration::from_secs(600);
/// The longest binding lifetime believed from a registrar (a day); larger
/// `expires` values are clamped.
pub const MAX_EXPIRES: Duration = Duration::from_secs(24 * 3600);

/// Our handle for one REGISTER client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistrationId(pub u64);

/// What to register where.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The Request-URI: the registrar's domain, e.g. `sip:trunk.example.net`.
    pub registrar: Uri,
    /// Where to send REGISTER.
    pub destination: SocketAddr,
    /// Over which transport.
    pub transport: Transport,
    /// The address of record (To and From), e.g. `<sip:1234@trunk.example.net>`.
    pub aor: NameAddr,
    /// Credentials for digest challenges.
    pub credentials: Option<Credentials>,
    /// The binding lifetime to ask for.
    pub expires: Duration,
}

/// The state of a REGISTER client, as reported in
/// [`Event::Registration`](crate::Event::Registration).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistrationState {
    /// The registrar accepted the binding for `expires`.
    Registered {
        /// The lifetime the registrar granted.
        expires: Duration,
    },
    /// The attempt failed; the next one follows after `retry_in`.
    Failed {
        /// The final status, or `None` when no response came (Timer F).
        status: Option<u16>,
        /// When the next attempt goes out, from now.
        retry_in: Duration,
    },
    /// The binding was removed ([`Endpoint::unregister`](crate::Endpoint::unregister)).
    Unregistered,
}

/// Where a REGISTER client stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A REGISTER is in flight.
    Registering,
    /// Bound; the refresh timer is armed.
    Registered,
    /// Waiting for the retry timer.
    Failed,
    /// A REGISTER with `Expires: 0` is in flight.
    Unregistering,
    /// Done; the client is removed.
    Unregistered,
}

/// What a response to our REGISTER means.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send REGISTER again at once, answering this challenge if any.
    Resend(Option<(HeaderName, Challenge)>),
    /// Report this state.
    Report(RegistrationState),
    /// A provisional response or a stale transaction: nothing to do.
    Nothing,
}

/// One REGISTER client.
#[derive(Debug)]
pub(crate) struct RegisterClient {
    pub registration: Registration,
    pub call_id: String,
    pub from_tag: String,
    cseq: u32,
    pub phase: Phase,
    /// Refresh or retry deadline.
    pub timer: Option<Instant>,
    pub scheduled: Option<Instant>,
    backoff: Duration,
    /// The transaction of the REGISTER in flight.
    pub transaction: Option<TransactionKey>,
    /// Whether this attempt already answered a challenge (one per attempt,
    /// so wrong credentials cannot cause a REGISTER storm).
    answered_challenge: bool,
    /// The lifetime asked for (raised by 423 Min-Expires).
    asking: Duration,
}

impl RegisterClient {
    pub fn new(registration: Registration, call_id: String, from_tag: String) -> Self {
        let asking = registration.expires;
        Self {
            registration,
            call_id,
            from_tag,
            cseq: 0,
            phase: Phase::Registering,
            timer: None,
            scheduled: None,
            backoff: MIN_RETRY,
            transaction: None,
            answered_challenge: false,
            asking,
        }
    }

    /// Builds the next REGISTER (fresh CSeq). `authorization` answers a
    /// challenge; `Expires` is 0 while unregistering.
    pub fn build(
        &mut self,
        via: &str,
        contact: &str,
        user_agent: &str,
        authorization: Option<(HeaderName, String)>,
    ) -> Request {
        self.cseq = self.cseq.wrapping_add(1);
        let expires = if self.phase == Phase::Unregistering {
            0
        } else {
            self.asking.as_secs()
        };
        let mut from = self.registration.aor.clone();
        from.set_tag(&self.from_tag);
        let mut headers = Headers::default();
        headers.push(HeaderName::Via, via);
        headers.push(HeaderName::MaxForwards, "70");
        headers.push(HeaderName::From, from.to_string());
        headers.push(HeaderName::To, self.registration.aor.to_string());
        headers.push(HeaderName::CallId, self.call_id.clone());
        let cseq = CSeq {
            seq: self.cseq,
            method: Method::Register,
        };
        headers.push(HeaderName::CSeq, cseq.to_string());
        headers.push(HeaderName::Contact, contact);
        headers.push(HeaderName::Expires, expires.to_string());
        headers.push(HeaderName::UserAgent, user_agent);
        if let Some((name, value)) = authorization {
            headers.push(name, value);
        }
        Request {
            method: Method::Register,
            uri: self.registration.registrar.clone(),
            headers,
            body: Bytes::new(),
        }
    }

    /// Starts a new attempt (first registration, refresh, retry, removal):
    /// it may answer one challenge again.
    pub fn start_attempt(&mut self) {
        self.answered_challenge = false;
    }

    /// Interprets a response to the REGISTER in flight.
    pub fn handle_response(&mut self, now: Instant, response: &Response) -> Step {
        let status = response.status;
        if status < 200 {
            return Step::Nothing;
        }
        self.transaction = None;
        if self.phase == Phase::Unregistering {
            self.phase = Phase::Unregistered;
            self.timer = None;
            return Step::Report(RegistrationState::Unregistered);
        }
        if (200..300).contains(&status) {
            let granted = granted_expiry(response)
                .unwrap_or(self.asking)
                .min(MAX_EXPIRES);
            self.phase = Phase::Registered;
            self.backoff = MIN_RETRY;
            self.timer = Some(deadline_after(now, refresh_delay(granted)));
            return Step::Report(RegistrationState::Registered { expires: granted });
        }
        if (status == 401 || status == 407) && !self.answered_challenge {
            let (challenge, answer) = if status == 401 {
                (HeaderName::WwwAuthenticate, HeaderName::Authorization)
            } else {
                (
                    HeaderName::ProxyAuthenticate,
                    HeaderName::ProxyAuthorization,
                )
            };
            let parsed = response
                .headers
                .all(&challenge)
                .find_map(|value| Challenge::parse(value).ok());
            if let (Some(parsed), true) = (parsed, self.registration.credentials.is_some()) {
                self.answered_challenge = true;
                return Step::Resend(Some((answer, parsed)));
            }
        }
        if status == 423 {
            let min = response
                .headers
                .get(&HeaderName::Other("Min-Expires".to_owned()))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            if let Some(min) = min.filter(|m| *m > self.asking && *m <= MAX_EXPIRES) {
                self.asking = min;
                return Step::Resend(None);
            }
        }
        Step::Report(self.fail(now, Some(status)))
    }

    /// The REGISTER got no response (Timer F) or was refused: schedule the
    /// retry and say so.
    pub fn fail(&mut self, now: Instant, status: Option<u16>) -> RegistrationState {
        self.transaction = None;
        let retry_in = self.backoff;
        self.backoff = self.backoff.saturating_mul(2).min(MAX_RETRY);
        self.phase = Phase::Failed;
        self.timer = Some(deadline_after(now, retry_in));
        RegistrationState::Failed { status, retry_in }
    }
}

/// When to refresh a binding granted for `granted`: halfway for short
/// bindings, a minute early for long ones.
pub(crate) fn refresh_delay(granted: Duration) -> Duration {
    let half = granted / 2;
    granted.saturating_sub(Duration::from_secs(60)).max(half)
}

/// The lifetime a 2xx grants: the `expires` parameter of the Contact, else
/// the Expires header.
fn granted_expiry(response: &Response) -> Option<Duration> {
    let from_contact = match response.headers.contact() {
        Some(Ok(contact)) => contact
            .params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case("expires"))
            .and_then(|p| p.value.as_deref())
            .and_then(|v| v.trim().parse::<u64>().ok()),
        _ => None,
    };
    from_contact
        .or_else(|| {
            response
                .headers
                .get(&HeaderName::Expires)
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_before_expiry() {
        assert_eq!(
            refresh_delay(Duration::from_secs(3600)),
            Duration::from_secs(3540)
        );
        assert_eq!(
            refresh_delay(Duration::from_secs(60)),
            Duration::from_secs(30)
        );
        assert_eq!(
            refresh_delay(Duration::from_secs(100)),
            Duration::from_secs(50)
        );
    }
}
