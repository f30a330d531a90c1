//! Outbound calls (UAC): INVITE, provisional responses, 2xx → ACK, digest
//! retry, CANCEL on the ring timeout, BYE; and the response dispatcher.

use std::time::Instant;

use bytes::Bytes;

use super::{CallId, ClientOwner, Endpoint, Event, OutboundCall, Side, Transmit};
use crate::auth::{authorization_for, Challenge};
use crate::call::{Call, CallState, CallTimer, CallTimers, CancelState, HangupCause};
use crate::dialog::Dialog;
use crate::msg::{CSeq, HeaderName, Headers, Method, Request, Response};
use crate::transaction::{deadline_after, TransactionKey};

impl Endpoint {
    pub(super) fn call_inner(&mut self, now: Instant, call: OutboundCall) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        let sip_call_id = self.new_sip_call_id();
        let local_tag = self.new_tag();
        let branch = self.new_branch();
        let via = self.via(call.transport, &branch);
        let mut from = call.from.clone();
        from.set_tag(&local_tag);

        let mut headers = Headers::default();
        headers.push(HeaderName::Via, via);
        headers.push(HeaderName::MaxForwards, "70");
        headers.push(HeaderName::From, from.to_string());
        headers.push(HeaderName::To, call.to.to_string());
        headers.push(HeaderName::CallId, sip_call_id.clone());
        let cseq = CSeq {
            seq: 1,
            method: Method::Invite,
        };
        headers.push(HeaderName::CSeq, cseq.to_string());
        headers.push(HeaderName::Contact, self.contact(call.transport));
        headers.push(HeaderName::Allow, Self::allow_value());
        headers.push(HeaderName::UserAgent, self.config.user_agent.clone());
        for (name, value) in &call.extra_headers {
            headers.push(name.clone(), value.clone());
        }
        if !call.sdp_offer.is_empty() {
            headers.push(HeaderName::ContentType, "application/sdp");
        }
        let invite = Request {
            method: Method::Invite,
            uri: call.request_uri.clone(),
            headers,
            body: call.sdp_offer.clone(),
        };

        let mut timers = CallTimers::default();
        timers.set(CallTimer::Ring, deadline_after(now, call.ring_timeout));
        let transaction = TransactionKey::client(&branch, &Method::Invite);
        self.calls.insert(
            id,
            Call {
                state: CallState::Calling {
                    invite: invite.clone(),
                    transaction,
                    provisional: false,
                    cancel: None,
                    credentials: call.credentials.clone(),
                },
                local_tag,
                peer: call.destination,
                transport: call.transport,
                dialog: None,
                origin: None,
                bye_credentials: call.credentials,
                local_sdp: call.sdp_offer,
                timers,
                scheduled: None,
            },
        );
        self.start_client(
            now,
            invite,
            call.destination,
            call.transport,
            ClientOwner::Invite(id),
        );
        self.schedule_call(id);
        id
    }

    pub(super) fn hangup_inner(&mut self, now: Instant, call: CallId) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        match &mut entry.state {
            CallState::Calling { .. } => self.cancel_call(now, call, HangupCause::OriginatorCancel),
            CallState::Incoming { .. } => {
                self.reject_incoming(now, call, 480, "Temporarily Unavailable", Vec::new());
                self.end_call(now, call, HangupCause::NormalClearing, None, Side::Local);
            }
            CallState::Answered { bye_pending, .. } => {
                // RFC 3261 section 15: no BYE before the ACK; it goes out
                // when the ACK arrives or the wait for it ends.
                if !*bye_pending {
                    *bye_pending = true;
                    self.events.push_back(Event::Ended {
                        call,
                        cause: HangupCause::NormalClearing,
                        status: None,
                        by: Side::Local,
                    });
                }
            }
            CallState::Confirmed { .. } => {
                self.send_bye(now, call);
                self.end_call(now, call, HangupCause::NormalClearing, None, Side::Local);
            }
            CallState::Ended { .. } => {}
        }
    }

    /// Routes a received response to its client transaction and owner.
    pub(super) fn handle_response(&mut self, now: Instant, response: Response) {
        let Some(key) = TransactionKey::for_response(&response) else {
            return;
        };
        let Some(owner) = self.client_response(now, &key, &response) else {
            return;
        };
        match owner {
            ClientOwner::Invite(call) => self.invite_response(now, call, &key, response),
            ClientOwner::Register(id) => self.registration_response(now, id, &response),
            ClientOwner::Bye(call) if response.status == 401 || response.status == 407 => {
                self.retry_bye(now, call, &response)
            }
            ClientOwner::Cancel(_) | ClientOwner::Bye(_) => {}
        }
    }

    /// A carrier challenged our BYE: send it again, once, with credentials.
    fn retry_bye(&mut self, now: Instant, call: CallId, response: &Response) {
        let (challenge_header, answer_header) = challenge_headers(response.status);
        let Some(challenge) = response
            .headers
            .all(&challenge_header)
            .find_map(|value| Challenge::parse(value).ok())
        else {
            return;
        };
        let branch = self.new_branch();
        let cnonce = self.random_hex(8);
        let user_agent = self.config.user_agent.clone();
        let Some(entry) = self.calls.get(&call) else {
            return;
        };
        let via = self.via(entry.transport, &branch);
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let (Some(creds), Some(dialog)) = (entry.bye_credentials.take(), entry.dialog.as_mut())
        else {
            return;
        };
        let mut bye = dialog.request(Method::Bye, &via);
        let uri = bye.uri.to_string();
        let Ok(value) = authorization_for(&challenge, &creds, "BYE", &uri, &cnonce, 1) else {
            return;
        };
        bye.headers.push(HeaderName::UserAgent, user_agent);
        bye.headers.push(answer_header, value);
        let (peer, transport) = (entry.peer, entry.transport);
        self.start_client(now, bye, peer, transport, ClientOwner::Bye(call));
    }

    fn invite_response(
        &mut self,
        now: Instant,
        call: CallId,
        key: &TransactionKey,
        response: Response,
    ) {
        let status = response.status;
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        match &mut entry.state {
            CallState::Calling {
                transaction,
                provisional,
                cancel,
                ..
            } => {
                if transaction != key {
                    return; // a response to an INVITE we replaced (auth retry)
                }
                if status < 200 {
                    // Any provisional response, 100 included, allows CANCEL
                    // (RFC 3261 section 9.1); only 101-199 are reported.
                    *provisional = true;
                    if status > 100 {
                        let body = non_empty(&response.body);
                        self.events.push_back(Event::Provisional {
                            call,
                            status,
                            sdp: body,
                        });
                    }
                    if cancel.is_some_and(|c| !c.sent) {
                        self.send_cancel(now, call);
                    }
                } else if status < 300 {
                    self.invite_answered(now, call, response);
                } else {
                    self.invite_failed(now, call, response);
                }
            }
            CallState::Confirmed { ack, .. } | CallState::Ended { ack } => {
                let to_tag = response
                    .headers
                    .to()
                    .ok()
                    .and_then(|t| t.tag().map(str::to_owned));
                let known = entry.dialog.as_ref().map(|d| d.id().remote_tag.clone());
                if (200..300).contains(&status) && to_tag.is_some() && to_tag != known {
                    // A forked 2xx from another callee: ACK it, then BYE it
                    // (RFC 3261 section 13.2.2.4); the call stays with the
                    // first answer.
                    self.refuse_forked_answer(now, call, &response);
                } else if (200..300).contains(&status) {
                    // A retransmitted 2xx: our ACK was lost (RFC 3261 13.2.2.4).
                    if let Some(ack) = ack.clone() {
                        self.transmits.push_back(Transmit {
                            transport: entry.transport,
                            destination: entry.peer,
                            payload: ack.to_vec(),
                        });
                    }
                }
            }
            CallState::Incoming { .. } | CallState::Answered { .. } => {}
        }
    }

    fn invite_answered(&mut self, now: Instant, call: CallId, response: Response) {
        let branch = self.new_branch();
        let Some(entry) = self.calls.get(&call) else {
            return;
        };
        let via = self.via(entry.transport, &branch);
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let CallState::Calling { invite, cancel, .. } = &entry.state else {
            return;
        };
        let cancel = *cancel;
        let Some(dialog) = Dialog::uac(invite, &response) else {
            // A 2xx without a To tag cannot form a dialog: treat as failure.
            self.end_call(
                now,
                call,
                HangupCause::NormalTemporaryFailure,
                Some(response.status),
                Side::Remote,
            );
            return;
        };
        let invite_seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        let mut ack = dialog.ack(invite_seq, &via);
        // "The ACK MUST contain the same credentials as the INVITE" (RFC
        // 3261 section 13.2.2.4).
        for name in [HeaderName::Authorization, HeaderName::ProxyAuthorization] {
            for value in invite.headers.all(&name) {
                ack.headers.push(name.clone(), value);
            }
        }
        let ack = Bytes::from(ack.to_bytes());
        self.transmits.push_back(Transmit {
            transport: entry.transport,
            destination: entry.peer,
            payload: ack.to_vec(),
        });
        self.dialogs.insert(dialog.id().clone(), call);
        entry.dialog = Some(dialog);
        entry.state = CallState::Confirmed {
            ack: Some(ack),
            reinvite: None,
        };
        entry.timers.stop(CallTimer::Ring);
        entry.timers.stop(CallTimer::CancelGuard);
        if let Some(cancel) = cancel {
            // The 2xx crossed our CANCEL: the call is up, so hang it up.
            self.send_bye(now, call);
            self.end_call(now, call, cancel.cause, None, Side::Local);
            return;
        }
        self.events.push_back(Event::Answered {
            call,
            sdp_answer: non_empty(&response.body),
        });
        self.schedule_call(call);
    }

    fn refuse_forked_answer(&mut self, now: Instant, call: CallId, response: &Response) {
        let ack_branch = self.new_branch();
        let bye_branch = self.new_branch();
        let user_agent = self.config.user_agent.clone();
        let Some(entry) = self.calls.get(&call) else {
            return;
        };
        let (peer, transport) = (entry.peer, entry.transport);
        let Some(mut fork) = entry.dialog.as_ref().and_then(|d| d.fork(response)) else {
            return;
        };
        let ack_via = self.via(transport, &ack_branch);
        let bye_via = self.via(transport, &bye_branch);
        let invite_seq = response.headers.cseq().map(|c| c.seq).unwrap_or(1);
        self.transmits.push_back(Transmit {
            transport,
            destination: peer,
            payload: fork.ack(invite_seq, &ack_via).to_bytes(),
        });
        let mut bye = fork.request(Method::Bye, &bye_via);
        bye.headers.push(HeaderName::UserAgent, user_agent);
        self.start_client(now, bye, peer, transport, ClientOwner::Bye(call));
    }

    fn invite_failed(&mut self, now: Instant, call: CallId, response: Response) {
        let status = response.status;
        if (status == 401 || status == 407) && self.retry_with_credentials(now, call, &response) {
            return;
        }
        let Some(entry) = self.calls.get(&call) else {
            return;
        };
        let (cause, by) = match &entry.state {
            CallState::Calling {
                cancel: Some(cancel),
                ..
            } if status == 487 => (cancel.cause, Side::Local),
            _ => (HangupCause::from_status(status), Side::Remote),
        };
        self.end_call(now, call, cause, Some(status), by);
    }

    /// Re-sends the INVITE with digest credentials, once. Returns whether a
    /// retry went out.
    fn retry_with_credentials(&mut self, now: Instant, call: CallId, response: &Response) -> bool {
        let (challenge_header, answer_header) = if response.status == 401 {
            (HeaderName::WwwAuthenticate, HeaderName::Authorization)
        } else {
            (
                HeaderName::ProxyAuthenticate,
                HeaderName::ProxyAuthorization,
            )
        };
        let Some(challenge) = response
            .headers
            .all(&challenge_header)
            .find_map(|value| Challenge::parse(value).ok())
        else {
            return false;
        };
        let branch = self.new_branch();
        let cnonce = self.random_hex(8);
        let Some(entry) = self.calls.get(&call) else {
            return false;
        };
        let via = self.via(entry.transport, &branch);
        let Some(entry) = self.calls.get_mut(&call) else {
            return false;
        };
        let CallState::Calling {
            invite,
            transaction,
            credentials,
            cancel: None,
            ..
        } = &mut entry.state
        else {
            return false;
        };
        let Some(creds) = credentials.take() else {
            return false;
        };
        let uri = invite.uri.to_string();
        let Ok(value) = authorization_for(&challenge, &creds, "INVITE", &uri, &cnonce, 1) else {
            return false;
        };
        let mut retry = invite.clone();
        let seq = retry
            .headers
            .cseq()
            .map(|c| c.seq)
            .unwrap_or(1)
            .wrapping_add(1);
        retry.headers.set(HeaderName::Via, via);
        retry.headers.set(
            HeaderName::CSeq,
            CSeq {
                seq,
                method: Method::Invite,
            }
            .to_string(),
        );
        retry.headers.set(answer_header, value);
        *invite = retry.clone();
        *transaction = TransactionKey::client(&branch, &Method::Invite);
        let (peer, transport) = (entry.peer, entry.transport);
        self.start_client(now, retry, peer, transport, ClientOwner::Invite(call));
        true
    }

    /// Timer B: no final response to our INVITE.
    pub(super) fn invite_timed_out(&mut self, now: Instant, call: CallId) {
        let Some(entry) = self.calls.get(&call) else {
            return;
        };
        if let CallState::Calling { cancel, .. } = &entry.state {
            let (cause, by) = match cancel {
                Some(cancel) => (cancel.cause, Side::Local),
                None => (HangupCause::RecoveryOnTimerExpire, Side::Remote),
            };
            self.end_call(now, call, cause, None, by);
        }
    }

    /// Cancels a ringing outbound call with `cause` (RFC 3261 section 9.1):
    /// the CANCEL goes out once a provisional response arrived.
    pub(super) fn cancel_call(&mut self, now: Instant, call: CallId, cause: HangupCause) {
        let guard = now + self.config.timers.transaction_timeout();
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let CallState::Calling {
            cancel,
            provisional,
            ..
        } = &mut entry.state
        else {
            return;
        };
        if cancel.is_some() {
            return;
        }
        *cancel = Some(CancelState { cause, sent: false });
        let provisional = *provisional;
        entry.timers.stop(CallTimer::Ring);
        entry.timers.set(CallTimer::CancelGuard, guard);
        if provisional {
            self.send_cancel(now, call);
        }
        self.schedule_call(call);
    }

    /// The cause a pending CANCEL will report.
    pub(super) fn pending_cancel_cause(&self, call: CallId) -> HangupCause {
        match self.calls.get(&call).map(|c| &c.state) {
            Some(CallState::Calling {
                cancel: Some(cancel),
                ..
            }) => cancel.cause,
            _ => HangupCause::NoAnswer,
        }
    }

    fn send_cancel(&mut self, now: Instant, call: CallId) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let CallState::Calling {
            invite,
            cancel: Some(cancel),
            ..
        } = &mut entry.state
        else {
            return;
        };
        cancel.sent = true;
        let request = cancel_for(invite);
        let (peer, transport) = (entry.peer, entry.transport);
        self.start_client(now, request, peer, transport, ClientOwner::Cancel(call));
    }

    /// Sends BYE in the call's dialog.
    pub(super) fn send_bye(&mut self, now: Instant, call: CallId) {
        let branch = self.new_branch();
        let Some(entry) = self.calls.get(&call) else {
            return;
        };
        let via = self.via(entry.transport, &branch);
        let user_agent = self.config.user_agent.clone();
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(dialog) = entry.dialog.as_mut() else {
            return;
        };
        let mut bye = dialog.request(Method::Bye, &via);
        bye.headers.push(HeaderName::UserAgent, user_agent);
        let (peer, transport) = (entry.peer, entry.transport);
        self.start_client(now, bye, peer, transport, ClientOwner::Bye(call));
    }
}

/// The CANCEL for `invite` (RFC 3261 section 9.1): same Request-URI,
/// Call-ID, From, To, CSeq number and top Via, method CANCEL.
fn cancel_for(invite: &Request) -> Request {
    let mut headers = Headers::default();
    if let Ok(via) = invite.headers.top_via() {
        headers.push(HeaderName::Via, via.to_string());
    }
    for value in invite.headers.all(&HeaderName::Route) {
        headers.push(HeaderName::Route, value);
    }
    headers.push(HeaderName::MaxForwards, "70");
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        if let Some(value) = invite.headers.get(&name) {
            headers.push(name, value);
        }
    }
    let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
    let cseq = CSeq {
        seq,
        method: Method::Cancel,
    };
    headers.push(HeaderName::CSeq, cseq.to_string());
    Request {
        method: Method::Cancel,
        uri: invite.uri.clone(),
        headers,
        body: Bytes::new(),
    }
}

/// The challenge header of a 401 or 407 and the header that answers it.
fn challenge_headers(status: u16) -> (HeaderName, HeaderName) {
    if status == 401 {
        (HeaderName::WwwAuthenticate, HeaderName::Authorization)
    } else {
        (
            HeaderName::ProxyAuthenticate,
            HeaderName::ProxyAuthorization,
        )
    }
}

fn non_empty(body: &Bytes) -> Option<Bytes> {
    (!body.is_empty()).then(|| body.clone())
}
