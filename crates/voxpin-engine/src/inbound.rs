//! Inbound calls (callbacks): the ACL, routing by called number, the live-OTP
//! lookup for the caller, and the 503s when full or draining.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use rand::RngCore;
use voxpin_otp::EventKind;
use voxpin_sip::msg::{HeaderName, NameAddr, Uri};
use voxpin_sip::sdp::{self, LocalMedia, SessionDescription};
use voxpin_sip::CallId;

use crate::call::{Call, Outcome, Phase};
use crate::engine::Engine;
use crate::io::Output;
use crate::record::Direction;
use crate::route::{called_number, canonical_number};

impl Engine {
    /// Whether a datagram from `source` may reach the endpoint at all.
    ///
    /// Responses always may (the endpoint drops those matching no
    /// transaction). Requests may when the source is inside a trunk's
    /// `inbound_acl`, or when it is a trunk's own address and the request is
    /// not a new INVITE (a carrier sends BYE in dialogs we opened).
    pub(crate) fn admits(&self, source: SocketAddr, bytes: &[u8]) -> bool {
        if bytes.starts_with(b"SIP/2.0") || bytes.iter().all(|b| matches!(b, b'\r' | b'\n')) {
            return true;
        }
        if self.config.trunks.admitting(source.ip()).is_some() {
            return true;
        }
        let from_trunk = self
            .config
            .trunks
            .iter()
            .any(|t| t.destination.ip() == source.ip());
        from_trunk && !is_initial_invite(bytes)
    }

    /// A new INVITE passed the ACL.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn incoming(
        &mut self,
        now: Instant,
        id: CallId,
        source: SocketAddr,
        request_uri: &Uri,
        from: &NameAddr,
        to: &NameAddr,
        sip_call_id: String,
        sdp_offer: Option<Bytes>,
    ) {
        let retry_after = vec![(
            HeaderName::RetryAfter,
            self.config.retry_after.as_secs().max(1).to_string(),
        )];
        if self.draining.is_some() || self.calls.len() >= self.config.max_calls {
            tracing::info!(%source, calls = self.calls.len(), draining = self.draining.is_some(), "inbound call refused: 503");
            self.endpoint.reject(now, id, 503, retry_after);
            return;
        }
        let Some(trunk) = self.config.trunks.admitting(source.ip()).cloned() else {
            // A trunk's own address outside every ACL: admitted for in-dialog
            // requests only, so a new call from it is refused.
            self.endpoint.reject(now, id, 403, Vec::new());
            return;
        };
        let called = called_number(request_uri.user.as_deref(), to.uri.user.as_deref());
        let Some(plan) = called
            .as_deref()
            .and_then(|n| self.dialplans.by_number(n))
            .cloned()
        else {
            tracing::info!(?called, "inbound call for no application's number: 404");
            self.endpoint.reject(now, id, 404, Vec::new());
            return;
        };
        let application = plan.name().to_owned();
        let caller = from.uri.user.as_deref().and_then(canonical_number);
        let offer = sdp_offer.as_deref().map(SessionDescription::parse);
        let Some(Ok(offer)) = offer else {
            self.endpoint.reject(now, id, 488, Vec::new());
            return;
        };
        let Some(port) = self.ports.allocate() else {
            self.endpoint.reject(now, id, 503, retry_after);
            return;
        };
        let local = LocalMedia {
            address: self.config.media_address,
            port: port.0,
            codecs: trunk.codecs.clone(),
            telephone_event: true,
            ptime_ms: 20,
        };
        let (answer, negotiated) = match sdp::answer(&offer, &local, self.rng.next_u64() >> 1) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::info!(error = %e, "inbound offer unusable: 488");
                self.ports.release(port);
                self.endpoint.reject(now, id, 488, Vec::new());
                return;
            }
        };
        let wall = self.wall(now);
        // The one place a code may reach a caller: a live OTP issued to this
        // very number for this application.
        let otp = caller
            .as_deref()
            .and_then(|c| self.store_find_live(&application, c, wall));
        if otp.is_none() {
            self.counters.unknown_callers += 1;
        }
        let language = otp
            .as_ref()
            .map(|o| o.language.clone())
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| self.config.default_language.clone());
        let call = Call {
            uuid: self.new_uuid(),
            direction: Direction::Inbound,
            trunk: Some(trunk.name.clone()),
            dtmf: trunk.dtmf,
            otp: otp.as_ref().map(|o| o.id),
            application: Some(application.clone()),
            language,
            caller: caller
                .clone()
                .unwrap_or_else(|| from.uri.user.clone().unwrap_or_default()),
            callee: called.clone().unwrap_or_default(),
            port,
            offer: None,
            negotiated: Some(negotiated),
            phase: Phase::Setup,
            started: now,
            started_wall: wall,
            answered: None,
            sip_call_id: Some(sip_call_id),
            outcome: if otp.is_some() {
                Outcome::Pending
            } else {
                Outcome::InvalidRequest
            },
            attempts: 0,
            repeats: 0,
            hangup_local: false,
            sms_after_call: false,
            status_callback: otp.as_ref().and_then(|o| o.status_callback.clone()),
            armed: None,
            session: None,
        };
        tracing::info!(call = %call.uuid, %application, known_caller = otp.is_some(), "inbound call answered");
        self.outputs.push_back(Output::OpenRtpPort(port));
        self.by_port.insert(port, id);
        if let Some(o) = &otp {
            if let Some(previous) = self.by_otp.insert(o.id, id) {
                // One call per OTP: a callback replaces a call still running.
                self.by_otp.insert(o.id, previous);
            }
            self.store_event(now, &o.id, EventKind::Callback);
        }
        self.calls.insert(id, call);
        self.endpoint
            .answer(now, id, Bytes::from(answer.to_bytes()));
    }

    /// The ACK for our 2xx arrived: media and flow start.
    pub(crate) fn confirmed(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.phase != Phase::Setup {
            return;
        }
        call.phase = Phase::Answered;
        call.answered = Some(now);
        if let Some(otp) = call.otp {
            self.store_event(now, &otp, EventKind::Answered);
        }
        self.start_session(now, id);
    }
}

/// Whether a request is an INVITE without a To tag (a new call).
fn is_initial_invite(bytes: &[u8]) -> bool {
    if !bytes.starts_with(b"INVITE ") {
        return false;
    }
    match voxpin_sip::msg::parse_datagram(bytes) {
        Ok(voxpin_sip::msg::Datagram::Message(voxpin_sip::msg::Message::Request(req))) => req
            .headers
            .to()
            .map(|to| to.tag().is_none())
            .unwrap_or(true),
        _ => true,
    }
}
