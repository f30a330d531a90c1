//! Outbound calls: a dial command becomes an INVITE over the application's
//! trunk; provisional, answer and end events move the OTP's status.

use std::time::Instant;

use rand::RngCore;
use uuid::Uuid;
use voxpin_otp::{EventKind, OtpId, Status};
use voxpin_sip::msg::{parse_datagram, Datagram, Message, NameAddr, Scheme, Uri};
use voxpin_sip::sdp::{self, LocalMedia};
use voxpin_sip::{CallId, HangupCause, OutboundCall, Side};

use crate::call::{Call, Outcome, Phase};
use crate::engine::Engine;
use crate::io::Output;
use crate::record::{Direction, Disposition, HungUpBy};
use crate::trunk::Trunk;

impl Engine {
    /// Starts (or queues) the call for `otp`.
    pub(crate) fn dial(&mut self, now: Instant, otp: OtpId) {
        if self.draining.is_some() {
            self.fail_undialled(now, &otp, "shutting down");
            return;
        }
        if self.by_otp.contains_key(&otp) || self.queue.contains(&otp) {
            return;
        }
        // A retry that came due is taken out of the set before it dials.
        self.retries.retain(|(_, o)| *o != otp);
        if self.calls.len() >= self.config.max_calls {
            tracing::debug!(%otp, "call limit reached: dial queued");
            self.queue.push_back(otp);
            return;
        }
        self.place_call(now, otp);
    }

    /// Starts queued dials while call slots are free.
    pub(crate) fn start_queued(&mut self, now: Instant) {
        while self.calls.len() < self.config.max_calls && self.draining.is_none() {
            let Some(otp) = self.queue.pop_front() else {
                break;
            };
            self.place_call(now, otp);
        }
    }

    fn place_call(&mut self, now: Instant, otp_id: OtpId) {
        let wall = self.wall(now);
        let Some(otp) = self.store_get(&otp_id) else {
            tracing::warn!(otp = %otp_id, "dial for an unknown OTP ignored");
            return;
        };
        if !otp.is_live(wall) {
            tracing::debug!(otp = %otp_id, status = %otp.status, "dial for an OTP no longer live ignored");
            return;
        }
        let application = otp.application.as_str().to_owned();
        let Some(plan) = self.dialplans.by_name(&application).cloned() else {
            tracing::warn!(otp = %otp_id, %application, "no dialplan for the application");
            self.fail_undialled(now, &otp_id, "no dialplan for the application");
            return;
        };
        let trunk = match plan.trunk() {
            Some(name) => self.config.trunks.by_name(name).cloned(),
            None => self.config.trunks.iter().next().cloned(),
        };
        let trunk_name = plan.trunk().unwrap_or("(first trunk)").to_owned();
        let Some(trunk) = trunk else {
            tracing::warn!(otp = %otp_id, trunk = %trunk_name, "the application's trunk is not configured");
            self.fail_undialled(now, &otp_id, "trunk not configured");
            return;
        };
        let Some(port) = self.ports.allocate() else {
            tracing::warn!(otp = %otp_id, "no free RTP port: dial queued");
            self.queue.push_front(otp_id);
            return;
        };
        let caller = plan
            .number()
            .map(|n| n.as_str().to_owned())
            .or_else(|| trunk.from_user.clone())
            .unwrap_or_else(|| "voxpin".into());
        let callee = otp.to.as_str().to_owned();
        let local = LocalMedia {
            address: self.config.media_address,
            port: port.0,
            codecs: trunk.codecs.clone(),
            telephone_event: true,
            ptime_ms: 20,
        };
        let offer = sdp::offer(&local, self.rng.next_u64() >> 1);
        let request = outbound_request(
            &trunk,
            &caller,
            &callee,
            offer.to_bytes().into(),
            self.rng.next_u64(),
        );
        self.outputs.push_back(Output::OpenRtpPort(port));
        let id = self.endpoint.call(now, request);
        let sip_call_id = self.take_invite_call_id();
        let language = if otp.language.is_empty() {
            self.config.default_language.clone()
        } else {
            otp.language.clone()
        };
        let call = Call {
            uuid: self.new_uuid(),
            direction: Direction::Outbound,
            trunk: Some(trunk.name.clone()),
            dtmf: trunk.dtmf,
            otp: Some(otp_id),
            application: Some(application),
            language,
            caller,
            callee,
            port,
            offer: Some(offer),
            negotiated: None,
            phase: Phase::Setup,
            started: now,
            started_wall: wall,
            answered: None,
            sip_call_id,
            outcome: Outcome::Pending,
            attempts: 0,
            repeats: 0,
            hangup_local: false,
            sms_after_call: otp.sms_after_call,
            status_callback: otp.status_callback.clone(),
            armed: None,
            session: None,
        };
        let attempt = *self
            .attempts
            .entry(otp_id)
            .and_modify(|a| *a += 1)
            .or_insert(1);
        tracing::info!(otp = %otp_id, trunk = %trunk.name, call = %call.uuid, attempt, "dialing");
        self.calls.insert(id, call);
        self.by_port.insert(port, id);
        self.by_otp.insert(otp_id, id);
        self.store_event(
            now,
            &otp_id,
            EventKind::DialAttempt {
                trunk: trunk.name.0.clone(),
                attempt,
            },
        );
        self.set_status(now, id, Status::Calling);
    }

    /// A 1xx arrived on an outbound call.
    pub(crate) fn provisional(&mut self, now: Instant, id: CallId, status: u16) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let otp = call.otp;
        let first_ring = matches!(status, 180 | 183) && call.phase == Phase::Setup;
        if first_ring {
            call.phase = Phase::Ringing;
        }
        if let Some(otp) = otp {
            self.store_event(now, &otp, EventKind::SipResponse { status });
            if first_ring {
                self.store_event(now, &otp, EventKind::Ringing);
                self.set_status(now, id, Status::Ringing);
            }
        }
    }

    /// The far end answered an outbound call.
    pub(crate) fn answered(&mut self, now: Instant, id: CallId, sdp_answer: Option<bytes::Bytes>) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.phase == Phase::Ending {
            return;
        }
        let negotiated = match (&call.offer, sdp_answer) {
            (Some(offer), Some(answer)) => sdp::SessionDescription::parse(&answer)
                .map_err(|e| e.to_string())
                .and_then(|a| sdp::accept_answer(offer, &a).map_err(|e| e.to_string())),
            _ => Err("no SDP in the answer".to_owned()),
        };
        let otp = call.otp;
        if let Some(otp) = otp {
            self.store_event(now, &otp, EventKind::SipResponse { status: 200 });
        }
        match negotiated {
            Ok(n) => {
                let call = self
                    .calls
                    .get_mut(&id)
                    .expect("looked up above; nothing removed since");
                call.negotiated = Some(n);
                call.phase = Phase::Answered;
                call.answered = Some(now);
                if let Some(otp) = otp {
                    self.store_event(now, &otp, EventKind::Answered);
                }
                self.set_status(now, id, Status::Answered);
                self.start_session(now, id);
            }
            Err(reason) => {
                tracing::warn!(%reason, "answer without usable SDP: hanging up");
                self.hangup(now, id);
            }
        }
    }

    /// The call ended: release its port, settle the OTP, write the record.
    pub(crate) fn ended(
        &mut self,
        now: Instant,
        id: CallId,
        cause: HangupCause,
        status: Option<u16>,
        by: Side,
    ) {
        self.end_session(now, id);
        let Some(mut call) = self.calls.remove(&id) else {
            return;
        };
        if let Some(t) = call.armed.take() {
            self.timers.remove(&(t, id));
        }
        self.by_port.remove(&call.port);
        self.ports.release(call.port);
        self.outputs.push_back(Output::CloseRtpPort(call.port));
        if let Some(otp) = call.otp {
            if self.by_otp.get(&otp) == Some(&id) {
                self.by_otp.remove(&otp);
            }
        }
        let by = match by {
            Side::Local => HungUpBy::Local,
            Side::Remote if call.hangup_local => HungUpBy::Local,
            Side::Remote => HungUpBy::Remote,
        };
        let answered = call.answered.is_some();
        let (disposition, unanswered_status) = unanswered_outcome(cause, status);
        let disposition = if answered {
            Disposition::Answered
        } else {
            disposition
        };
        let result = if answered {
            call.outcome.as_str()
        } else {
            unanswered_status.as_str()
        };
        if let Some(otp) = call.otp {
            let setup = call
                .answered
                .map(|a| a.saturating_duration_since(call.started));
            if let Some(s) = status {
                if call.direction == Direction::Outbound && !answered {
                    self.store_event(now, &otp, EventKind::SipResponse { status: s });
                }
            }
            self.store_event(
                now,
                &otp,
                EventKind::Hangup {
                    cause: cause.q850(),
                    side: if by == HungUpBy::Local {
                        voxpin_otp::Side::Local
                    } else {
                        voxpin_otp::Side::Remote
                    },
                    sip_status: status,
                },
            );
            self.store_event(
                now,
                &otp,
                EventKind::Durations {
                    setup_ms: setup,
                    talk_ms: call.answered.map(|a| now.saturating_duration_since(a)),
                    total_ms: Some(now.saturating_duration_since(call.started)),
                },
            );
            if !answered && call.direction == Direction::Outbound {
                self.set_otp_status(
                    now,
                    &otp,
                    unanswered_status,
                    call.status_callback.as_deref(),
                );
                self.schedule_retry(now, &otp, &call, unanswered_status);
            } else {
                self.attempts.remove(&otp);
            }
        }
        let end_wall = self.wall(now);
        let record = call.record(now, end_wall, cause, status, Some(by), disposition, result);
        tracing::info!(call = %call.uuid, cause = cause.as_str(), ?status, result, "call ended");
        let sms = call.sms_after_call
            && call.otp.is_some()
            && call.outcome != Outcome::Verified
            && call.outcome != Outcome::InvalidRequest;
        match (sms, call.otp) {
            (true, Some(otp)) if self.queue_sms(now, &otp, &call) => {
                let until = now + self.config.sms_record_wait;
                self.pending_records.insert(otp, (until, record));
            }
            _ => self.outputs.push_back(Output::CallRecord(record)),
        }
        call.session = None;
    }

    /// Queues another attempt when the trunk's retry policy asks for one.
    fn schedule_retry(&mut self, now: Instant, otp: &OtpId, call: &Call, status: Status) {
        let made = self.attempts.get(otp).copied().unwrap_or(1);
        let policy = call
            .trunk
            .as_ref()
            .and_then(|t| self.config.trunks.by_name(&t.0))
            .map(|t| t.retry)
            .unwrap_or_default();
        let wanted = match status {
            Status::Busy => policy.on_busy,
            Status::NoAnswer => policy.on_no_answer,
            _ => false,
        };
        if wanted && made <= policy.attempts && !call.hangup_local {
            tracing::info!(%otp, attempt = made + 1, delay_s = policy.delay.as_secs(), "retry scheduled");
            self.retries.insert((now + policy.delay, *otp));
        } else {
            self.attempts.remove(otp);
        }
    }

    /// Marks an OTP that never got a call (no trunk, draining, ...).
    /// (`error`: the store keeps `canceled` for API cancels, and an OTP
    /// that was not called may still be called back or verified.)
    pub(crate) fn fail_undialled(&mut self, now: Instant, otp: &OtpId, reason: &str) {
        tracing::info!(%otp, reason, "OTP not dialled");
        self.set_otp_status(now, otp, Status::Error, None);
    }

    /// Moves the transmits the endpoint just queued (the new call's INVITE)
    /// to the output queue, reading the SIP Call-ID off the INVITE for the
    /// call record.
    fn take_invite_call_id(&mut self) -> Option<String> {
        let mut call_id = None;
        while let Some(t) = self.endpoint.poll_transmit() {
            if call_id.is_none() && t.payload.starts_with(b"INVITE ") {
                if let Ok(Datagram::Message(Message::Request(req))) = parse_datagram(&t.payload) {
                    call_id = req.headers.call_id().ok().map(str::to_owned);
                }
            }
            self.outputs.push_back(Output::SipTransmit(t));
        }
        call_id
    }

    pub(crate) fn new_uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// The INVITE of an outbound call.
fn outbound_request(
    trunk: &Trunk,
    caller: &str,
    callee: &str,
    sdp_offer: bytes::Bytes,
    tag_seed: u64,
) -> OutboundCall {
    let _ = tag_seed;
    let user_of = |number: &str| number.to_owned();
    let request_uri = Uri {
        scheme: Scheme::Sip,
        user: Some(user_of(callee)),
        host: trunk.host.clone(),
        port: Some(trunk.destination.port()),
        params: Vec::new(),
        headers: Vec::new(),
    };
    let from = NameAddr {
        display_name: None,
        uri: Uri {
            scheme: Scheme::Sip,
            user: Some(user_of(caller)),
            host: trunk.from_domain().to_owned(),
            port: None,
            params: Vec::new(),
            headers: Vec::new(),
        },
        params: Vec::new(),
    };
    let to = NameAddr {
        display_name: None,
        uri: Uri {
            port: None,
            ..request_uri.clone()
        },
        params: Vec::new(),
    };
    OutboundCall {
        request_uri,
        destination: trunk.destination,
        transport: trunk.transport,
        from,
        to,
        sdp_offer,
        credentials: trunk.auth.as_ref().map(|a| voxpin_sip::auth::Credentials {
            username: a.username.clone(),
            password: a.password.clone(),
            realm: a.realm.clone(),
        }),
        ring_timeout: trunk.ring_timeout,
        extra_headers: Vec::new(),
    }
}

/// Disposition and OTP status of a call that was never answered.
pub(crate) fn unanswered_outcome(cause: HangupCause, status: Option<u16>) -> (Disposition, Status) {
    match (status, cause) {
        (Some(486 | 600), _) | (_, HangupCause::UserBusy) => (Disposition::Busy, Status::Busy),
        (Some(503), _) => (Disposition::Congestion, Status::Error),
        (Some(408 | 480 | 487), _)
        | (
            _,
            HangupCause::NoAnswer | HangupCause::NoUserResponse | HangupCause::OriginatorCancel,
        ) => (Disposition::NoAnswer, Status::NoAnswer),
        (Some(403 | 603), _) | (_, HangupCause::CallRejected) => {
            (Disposition::Failed, Status::Rejected)
        }
        _ => (Disposition::Failed, Status::Error),
    }
}
