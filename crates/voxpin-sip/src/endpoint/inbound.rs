//! Inbound requests (UAS): new calls, ACK, CANCEL, BYE, re-INVITE, INFO,
//! OPTIONS; and the engine's answers to an incoming call.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use super::{
    CallId, Endpoint, Event, ServerEntry, ServerMachine, Side, Transmit, Transport, ACCEPTED,
    ALLOWED,
};
use crate::call::{Call, CallState, CallTimer, CallTimers, HangupCause, Retransmitting};
use crate::dialog::{Dialog, DialogId};
use crate::msg::{HeaderName, Method, Param, Request, Response, UasCapabilities, Via};
use crate::transaction::{
    deadline_after, ServerInvite, ServerInviteInput, ServerNonInvite, TransactionKey,
};

impl Endpoint {
    pub(super) fn ringing_inner(&mut self, now: Instant, call: CallId) {
        let contact = self.call_contact(call);
        let Some((key, tag)) = self.incoming_transaction(call) else {
            return;
        };
        self.respond(now, &key, 180, "Ringing", Some(&tag), |r| {
            r.headers.push(HeaderName::Contact, contact);
        });
    }

    pub(super) fn answer_inner(&mut self, now: Instant, call: CallId, sdp_answer: Bytes) {
        let contact = self.call_contact(call);
        let Some((key, tag)) = self.incoming_transaction(call) else {
            return;
        };
        let body = sdp_answer.clone();
        let Some(response) = self.respond(now, &key, 200, "OK", Some(&tag), |r| {
            r.headers.push(HeaderName::Contact, contact);
            r.headers.push(HeaderName::Allow, Self::allow_value());
            if !body.is_empty() {
                r.headers.push(HeaderName::ContentType, "application/sdp");
            }
            r.body = body;
        }) else {
            return;
        };
        let timers = self.config.timers;
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let CallState::Incoming { invite, .. } = &entry.state else {
            return;
        };
        if let Some(dialog) = Dialog::uas(invite, &tag) {
            self.dialogs.insert(dialog.id().clone(), call);
            entry.dialog = Some(dialog);
        }
        entry.local_sdp = sdp_answer;
        entry.state = CallState::Answered {
            response,
            interval: timers.t1,
            bye_pending: false,
        };
        entry.timers.stop(CallTimer::Ring);
        if !entry.transport.is_reliable() {
            entry.timers.set(CallTimer::Retransmit, now + timers.t1);
        }
        entry
            .timers
            .set(CallTimer::AckWait, now + timers.transaction_timeout());
        self.schedule_call(call);
    }

    pub(super) fn reject_inner(
        &mut self,
        now: Instant,
        call: CallId,
        status: u16,
        extra_headers: Vec<(HeaderName, String)>,
    ) {
        if !matches!(
            self.calls.get(&call).map(|c| &c.state),
            Some(CallState::Incoming { .. })
        ) {
            return;
        }
        let status = if (300..700).contains(&status) {
            status
        } else {
            500
        };
        self.reject_incoming(now, call, status, reason_phrase(status), extra_headers);
        self.end_call(
            now,
            call,
            HangupCause::from_status(status),
            Some(status),
            Side::Local,
        );
    }

    pub(super) fn reject_incoming(
        &mut self,
        now: Instant,
        call: CallId,
        status: u16,
        reason: &str,
        extra_headers: Vec<(HeaderName, String)>,
    ) {
        let Some((key, tag)) = self.incoming_transaction(call) else {
            return;
        };
        self.respond(now, &key, status, reason, Some(&tag), |r| {
            for (name, value) in extra_headers {
                r.headers.push(name, value);
            }
        });
    }

    fn incoming_transaction(&self, call: CallId) -> Option<(TransactionKey, String)> {
        let entry = self.calls.get(&call)?;
        match &entry.state {
            CallState::Incoming { transaction, .. } => {
                Some((transaction.clone(), entry.local_tag.clone()))
            }
            _ => None,
        }
    }

    fn call_contact(&self, call: CallId) -> String {
        let transport = self
            .calls
            .get(&call)
            .map_or(Transport::Udp, |c| c.transport);
        self.contact(transport)
    }

    /// Every received request enters here.
    pub(super) fn handle_request(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        mut request: Request,
    ) {
        let Ok(via) = request.headers.top_via() else {
            return; // no Via: no way to answer
        };
        let reply_to = reply_address(transport, source, &via);
        annotate_top_via(&mut request, source);
        let Some(key) = TransactionKey::for_request(&request) else {
            return;
        };

        if request.method == Method::Ack {
            self.handle_ack(now, &key, &request);
            return;
        }
        if let Some(entry) = self.servers.get_mut(&key) {
            // A retransmission: the transaction answers it.
            match &mut entry.machine {
                ServerMachine::Invite(m) => {
                    m.handle_request(now, false);
                }
                ServerMachine::NonInvite(m) => m.handle_request(),
            }
            self.drive_server(&key);
            return;
        }
        let caps = UasCapabilities {
            methods: ALLOWED.to_vec(),
            extensions: Vec::new(),
            content_types: ACCEPTED.iter().map(|s| (*s).to_owned()).collect(),
        };
        if let Err(rejection) = crate::msg::check_request(&request, &caps) {
            self.respond_statelessly(
                transport,
                reply_to,
                &request,
                rejection.status,
                rejection.reason,
                rejection.headers,
            );
            return;
        }

        let dialog_call =
            DialogId::for_incoming_request(&request).and_then(|id| self.dialogs.get(&id).copied());
        let in_dialog = request
            .headers
            .to()
            .ok()
            .and_then(|t| t.tag().map(str::to_owned));
        if request.method == Method::Options && in_dialog.is_none() {
            // Out-of-dialog OPTIONS (keep-alive probes, scanners) is answered
            // statelessly (RFC 3261 section 8.2.7): no transaction to keep
            // for 64·T1, a retransmission is simply answered again.
            let headers = vec![
                (HeaderName::Allow, Self::allow_value()),
                (HeaderName::Accept, Self::accept_value()),
            ];
            self.respond_statelessly(transport, reply_to, &request, 200, "OK", headers);
            return;
        }
        self.start_server(now, &key, request.clone(), reply_to, transport, dialog_call);
        let tag = match in_dialog {
            Some(tag) => tag,
            None => self.new_tag(),
        };

        match request.method {
            Method::Invite if in_dialog_tag_present(&request) => match dialog_call {
                Some(call) => self.reinvite(now, &key, call, &request),
                None => self.respond_481(now, &key),
            },
            Method::Invite => self.new_incoming_call(now, key, request, source, transport, tag),
            Method::Cancel => self.handle_cancel(now, &key, &tag),
            Method::Bye | Method::Info
                if dialog_call.is_some_and(|call| !self.in_order(call, &request)) =>
            {
                // RFC 3261 section 12.2.2: an out-of-order request gets 500.
                self.respond(now, &key, 500, "Server Internal Error", None, |_| {});
            }
            Method::Bye => match dialog_call {
                Some(call) => {
                    self.respond(now, &key, 200, "OK", None, |_| {});
                    self.end_call(now, call, HangupCause::NormalClearing, None, Side::Remote);
                }
                None => self.respond_481(now, &key),
            },
            Method::Info => match dialog_call {
                Some(call) => {
                    self.respond(now, &key, 200, "OK", None, |_| {});
                    self.handle_info(call, &request);
                }
                None => self.respond_481(now, &key),
            },
            Method::Options => {
                self.respond(now, &key, 200, "OK", Some(&tag), |r| {
                    r.headers.push(HeaderName::Allow, Self::allow_value());
                    r.headers.push(HeaderName::Accept, Self::accept_value());
                });
            }
            _ => {
                self.respond(now, &key, 405, "Method Not Allowed", Some(&tag), |r| {
                    r.headers.push(HeaderName::Allow, Self::allow_value());
                });
            }
        }
    }

    /// Checks (and records) the CSeq of a request in `call`'s dialog.
    fn in_order(&mut self, call: CallId, request: &Request) -> bool {
        let Ok(cseq) = request.headers.cseq() else {
            return false;
        };
        self.calls
            .get_mut(&call)
            .and_then(|c| c.dialog.as_mut())
            .is_none_or(|d| d.accept_remote_cseq(cseq.seq))
    }

    fn start_server(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        request: Request,
        reply_to: SocketAddr,
        transport: Transport,
        call: Option<CallId>,
    ) {
        let timers = self.config.timers;
        let reliable = transport.is_reliable();
        let machine = if request.method == Method::Invite {
            let trying = Response::for_request(&request, 100, "Trying");
            ServerMachine::Invite(ServerInvite::new(
                now,
                timers,
                reliable,
                Bytes::from(trying.to_bytes()),
            ))
        } else {
            ServerMachine::NonInvite(ServerNonInvite::new(now, timers, reliable))
        };
        self.servers.insert(
            key.clone(),
            ServerEntry {
                machine,
                reply_to,
                transport,
                request,
                call,
                scheduled: None,
            },
        );
        self.drive_server(key);
    }

    fn respond_481(&mut self, now: Instant, key: &TransactionKey) {
        let tag = self.new_tag();
        self.respond(
            now,
            key,
            481,
            "Call/Transaction Does Not Exist",
            Some(&tag),
            |_| {},
        );
    }

    fn new_incoming_call(
        &mut self,
        now: Instant,
        key: TransactionKey,
        request: Request,
        source: SocketAddr,
        transport: Transport,
        local_tag: String,
    ) {
        let (Ok(from), Ok(to), Ok(sip_call_id)) = (
            request.headers.from(),
            request.headers.to(),
            request.headers.call_id(),
        ) else {
            return; // check_request guarantees these; nothing sensible otherwise
        };
        let sip_call_id = sip_call_id.to_owned();
        let origin = (
            sip_call_id.clone(),
            from.tag().unwrap_or_default().to_owned(),
            request.headers.cseq().map(|c| c.seq).unwrap_or(0),
        );
        if self.inbound_origins.contains_key(&origin) {
            // The same INVITE again on another branch (a forking proxy's
            // second copy): RFC 3261 section 8.2.2.2.
            let tag = local_tag;
            self.respond(now, &key, 482, "Loop Detected", Some(&tag), |_| {});
            return;
        }
        let id = CallId(self.next_call);
        self.next_call += 1;
        let peer = self
            .servers
            .get(&key)
            .map_or(source, |entry| entry.reply_to);
        if let Some(entry) = self.servers.get_mut(&key) {
            entry.call = Some(id);
        }
        let sdp_offer = (!request.body.is_empty()).then(|| request.body.clone());
        let mut timers = CallTimers::default();
        timers.set(
            CallTimer::Ring,
            deadline_after(now, self.config.incoming_answer_timeout),
        );
        self.events.push_back(Event::IncomingCall {
            call: id,
            source,
            transport,
            request_uri: request.uri.clone(),
            from,
            to,
            sip_call_id: sip_call_id.clone(),
            sdp_offer,
        });
        self.calls.insert(
            id,
            Call {
                state: CallState::Incoming {
                    transaction: key,
                    invite: request,
                },
                local_tag,
                peer,
                transport,
                dialog: None,
                origin: Some(origin.clone()),
                bye_credentials: None,
                local_sdp: Bytes::new(),
                timers,
                scheduled: None,
            },
        );
        self.inbound_origins.insert(origin, id);
        self.schedule_call(id);
    }

    /// A re-INVITE in an established dialog: answered 200 with our current
    /// SDP (we never change media mid-call).
    fn reinvite(&mut self, now: Instant, key: &TransactionKey, call: CallId, request: &Request) {
        let contact = self.call_contact(call);
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let seq = request.headers.cseq().map(|c| c.seq).unwrap_or(0);
        let in_order = entry
            .dialog
            .as_mut()
            .is_some_and(|d| d.accept_remote_cseq(seq));
        if !in_order || entry.is_ended() {
            let status = if in_order { 481 } else { 500 };
            self.respond(now, key, status, reason_phrase(status), None, |_| {});
            return;
        }
        let sdp = entry.local_sdp.clone();
        let Some(response) = self.respond(now, key, 200, "OK", None, |r| {
            r.headers.push(HeaderName::Contact, contact);
            if !sdp.is_empty() {
                r.headers.push(HeaderName::ContentType, "application/sdp");
            }
            r.body = sdp;
        }) else {
            return;
        };
        let timers = self.config.timers;
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        if let CallState::Confirmed { reinvite, .. } = &mut entry.state {
            if !entry.transport.is_reliable() {
                *reinvite = Some(Retransmitting {
                    response,
                    interval: timers.t1,
                });
                entry.timers.set(CallTimer::Retransmit, now + timers.t1);
                entry
                    .timers
                    .set(CallTimer::AckWait, now + timers.transaction_timeout());
                self.schedule_call(call);
            }
        }
    }

    /// CANCEL (RFC 3261 section 9.2): 200 for the CANCEL, 487 for the INVITE
    /// if it has no final response yet; 481 when no INVITE matches.
    fn handle_cancel(&mut self, now: Instant, key: &TransactionKey, tag: &str) {
        let invite_key = key.with_method(&Method::Invite);
        let Some(call) = self.servers.get(&invite_key).map(|e| e.call) else {
            self.respond_481(now, key);
            return;
        };
        let call_tag = call.and_then(|c| self.calls.get(&c).map(|c| c.local_tag.clone()));
        let tag = call_tag.unwrap_or_else(|| tag.to_owned());
        self.respond(now, key, 200, "OK", Some(&tag), |_| {});
        if let Some(call) = call {
            if self.incoming_transaction(call).is_some() {
                self.reject_incoming(now, call, 487, "Request Terminated", Vec::new());
                self.end_call(
                    now,
                    call,
                    HangupCause::OriginatorCancel,
                    Some(487),
                    Side::Remote,
                );
            }
        }
    }

    fn handle_ack(&mut self, now: Instant, key: &TransactionKey, request: &Request) {
        if let Some(entry) = self.servers.get_mut(key) {
            let call = entry.call;
            let input = match &mut entry.machine {
                ServerMachine::Invite(m) => m.handle_request(now, true),
                ServerMachine::NonInvite(_) => ServerInviteInput::Absorbed,
            };
            self.drive_server(key);
            if input == ServerInviteInput::Absorbed {
                return;
            }
            if let Some(call) = call {
                self.ack_received(now, call, request);
            }
            return;
        }
        let call =
            DialogId::for_incoming_request(request).and_then(|id| self.dialogs.get(&id).copied());
        if let Some(call) = call {
            self.ack_received(now, call, request);
        }
    }

    fn ack_received(&mut self, now: Instant, call: CallId, ack: &Request) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        if let CallState::Confirmed { reinvite, .. } = &mut entry.state {
            // The ACK for our 2xx to a re-INVITE.
            if reinvite.take().is_some() {
                entry.timers.stop(CallTimer::Retransmit);
                entry.timers.stop(CallTimer::AckWait);
                self.schedule_call(call);
            }
            return;
        }
        let CallState::Answered { bye_pending, .. } = entry.state else {
            return;
        };
        entry.timers.stop(CallTimer::Retransmit);
        entry.timers.stop(CallTimer::AckWait);
        if bye_pending {
            entry.state = CallState::Confirmed {
                ack: None,
                reinvite: None,
            };
            self.send_bye(now, call);
            self.retire_call(now, call);
        } else {
            entry.state = CallState::Confirmed {
                ack: None,
                reinvite: None,
            };
            if !ack.body.is_empty() {
                // Delayed offer: our 2xx carried the offer, the ACK answers.
                self.events.push_back(Event::AckAnswer {
                    call,
                    sdp_answer: ack.body.clone(),
                });
            }
            self.events.push_back(Event::Confirmed { call });
            self.schedule_call(call);
        }
    }

    pub(super) fn retransmit_2xx(&mut self, now: Instant, call: CallId) {
        let timers = self.config.timers;
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let pending = match &mut entry.state {
            CallState::Answered {
                response, interval, ..
            } => Some((response, interval)),
            CallState::Confirmed {
                reinvite: Some(r), ..
            } => Some((&mut r.response, &mut r.interval)),
            _ => None,
        };
        if let Some((response, interval)) = pending {
            self.transmits.push_back(Transmit {
                transport: entry.transport,
                destination: entry.peer,
                payload: response.to_vec(),
            });
            *interval = timers.backoff_capped(*interval);
            entry.timers.set(CallTimer::Retransmit, now + *interval);
        }
    }

    /// No ACK within 64·T1 of our 2xx (RFC 3261 section 13.3.1.4): BYE.
    pub(super) fn ack_timed_out(&mut self, now: Instant, call: CallId) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        if let CallState::Confirmed { reinvite, .. } = &mut entry.state {
            // No ACK for our 2xx to a re-INVITE: stop retransmitting; the
            // call itself stays up.
            *reinvite = None;
            entry.timers.stop(CallTimer::Retransmit);
            return;
        }
        let CallState::Answered { bye_pending, .. } = entry.state else {
            return;
        };
        self.send_bye(now, call);
        if bye_pending {
            self.retire_call(now, call);
        } else {
            self.end_call(
                now,
                call,
                HangupCause::RecoveryOnTimerExpire,
                None,
                Side::Local,
            );
        }
    }

    fn handle_info(&mut self, call: CallId, request: &Request) {
        if !self.config.allow_info_dtmf {
            return;
        }
        let Some(entry) = self.calls.get(&call) else {
            return;
        };
        if entry.is_ended() {
            return;
        }
        let content_type = request.headers.content_type().unwrap_or("");
        if let Some(info) = crate::info::parse(content_type, &request.body) {
            self.events.push_back(Event::Dtmf {
                call,
                digit: info.digit,
                duration: info.duration,
            });
        }
    }
}

/// Whether the request carries a To tag (a mid-dialog request).
fn in_dialog_tag_present(request: &Request) -> bool {
    request
        .headers
        .to()
        .ok()
        .is_some_and(|to| to.tag().is_some())
}

/// Where responses to a request go (RFC 3261 section 18.2.2, RFC 3581): over
/// TCP back on the connection; over UDP to the source address when the Via
/// asks for `rport`, else to the source IP at the Via's sent-by port.
pub(super) fn reply_address(transport: Transport, source: SocketAddr, via: &Via) -> SocketAddr {
    match transport {
        Transport::Tcp => source,
        Transport::Udp => {
            if via.rport().is_some() {
                source
            } else {
                SocketAddr::new(source.ip(), via.port.unwrap_or(5060))
            }
        }
    }
}

/// Adds `received` (when the sent-by host is not the source IP) and fills
/// `rport` (when asked for) on the top Via (RFC 3261 section 18.2.1, RFC
/// 3581 section 4).
fn annotate_top_via(request: &mut Request, source: SocketAddr) {
    let Ok(mut vias) = request.headers.vias() else {
        return;
    };
    let Some(top) = vias.first_mut() else {
        return;
    };
    let source_ip = source.ip().to_string();
    let host = top.host.trim_start_matches('[').trim_end_matches(']');
    let wants_rport = top
        .params
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case("rport"));
    if host != source_ip || wants_rport {
        top.params
            .retain(|p| !p.name.eq_ignore_ascii_case("received"));
        top.params.push(Param {
            name: "received".to_owned(),
            value: Some(source_ip),
        });
    }
    for param in top.params.iter_mut() {
        if param.name.eq_ignore_ascii_case("rport") {
            param.value = Some(source.port().to_string());
        }
    }
    request.headers.remove(&HeaderName::Via);
    for via in vias {
        request.headers.push(HeaderName::Via, via.to_string());
    }
}

/// The standard reason phrase for the statuses the endpoint sends.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        503 => "Service Unavailable",
        603 => "Decline",
        _ => match status / 100 {
            3 => "Redirection",
            4 => "Client Error",
            5 => "Server Error",
            _ => "Global Failure",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{parse_datagram, Datagram, Message};

    fn options(via: &str) -> Request {
        let text = format!(
            "OPTIONS sip:otp@[2001:db8::1] SIP/2.0\r\n\
             Via: {via}\r\n\
             Via: SIP/2.0/UDP proxy.example;branch=z9hG4bKlower\r\n\
             From: <sip:a@[2001:db8::9]>;tag=x\r\n\
             To: <sip:otp@[2001:db8::1]>\r\n\
             Call-ID: v6\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        );
        match parse_datagram(text.as_bytes()) {
            Ok(Datagram::Message(Message::Request(r))) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ipv6_source_equal_to_sent_by_gets_no_received() {
        let source: SocketAddr = "[2001:db8::9]:5062".parse().unwrap();
        let mut request = options("SIP/2.0/UDP [2001:db8::9]:5062;branch=z9hG4bKv6");
        annotate_top_via(&mut request, source);
        let vias = request.headers.vias().unwrap();
        assert_eq!(vias.len(), 2, "lower Vias are kept");
        assert_eq!(vias[0].received(), None);
        assert_eq!(reply_address(Transport::Udp, source, &vias[0]), source);
    }

    #[test]
    fn rport_and_received_are_filled_from_the_source() {
        let source: SocketAddr = "[2001:db8::77]:40000".parse().unwrap();
        let mut request = options("SIP/2.0/UDP [2001:db8::9]:5062;branch=z9hG4bKv6;rport");
        annotate_top_via(&mut request, source);
        let top = request.headers.top_via().unwrap();
        assert_eq!(top.received(), Some("2001:db8::77"));
        assert_eq!(top.rport(), Some(Some(40000)));
        assert_eq!(reply_address(Transport::Udp, source, &top), source);
        // Without rport: the source IP at the sent-by port.
        let plain = Via::parse("SIP/2.0/UDP [2001:db8::9];branch=z9hG4bKx").unwrap();
        assert_eq!(
            reply_address(Transport::Udp, source, &plain),
            "[2001:db8::77]:5060".parse().unwrap()
        );
        assert_eq!(reply_address(Transport::Tcp, source, &plain), source);
    }
}
