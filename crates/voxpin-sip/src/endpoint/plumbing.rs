//! The endpoint's internals shared by the inbound and outbound halves:
//! identifiers, transaction bookkeeping, timers, responses, call teardown.

use std::cmp::Reverse;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use super::{
    ClientEntry, ClientMachine, ClientOwner, Endpoint, Event, ServerMachine, Side, TimerOwner,
    Transmit, Transport, ACCEPTED, ALLOWED,
};
use crate::call::{CallState, CallTimer, HangupCause};
use crate::msg::{HeaderName, Method, Request, Response};
use crate::transaction::{
    ack_for_non_2xx, ClientInvite, ClientNonInvite, Delivery, Output, TransactionKey,
    BRANCH_MAGIC_COOKIE,
};

impl Endpoint {
    // ---- identifiers -------------------------------------------------------

    pub(super) fn random_hex(&mut self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.rng.fill_bytes(&mut buf);
        hex::encode(buf)
    }

    pub(super) fn new_branch(&mut self) -> String {
        format!("{BRANCH_MAGIC_COOKIE}{}", self.random_hex(10))
    }

    pub(super) fn new_tag(&mut self) -> String {
        self.random_hex(6)
    }

    pub(super) fn new_sip_call_id(&mut self) -> String {
        self.random_hex(16)
    }

    /// A Via for a request we send: our advertised address, `rport` so the
    /// peer answers to the port we sent from (RFC 3581).
    pub(super) fn via(&mut self, transport: Transport, branch: &str) -> String {
        format!(
            "SIP/2.0/{} {};branch={branch};rport",
            transport.as_str(),
            self.config.contact
        )
    }

    /// Our Contact header value.
    pub(super) fn contact(&self, transport: Transport) -> String {
        let param = match transport {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
        };
        format!(
            "<sip:{}@{}{param}>",
            self.config.contact_user, self.config.contact
        )
    }

    pub(super) fn allow_value() -> String {
        ALLOWED
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(super) fn accept_value() -> String {
        ACCEPTED.join(", ")
    }

    // ---- client transactions -----------------------------------------------

    /// Starts a client transaction for `request` (whose top Via carries the
    /// branch) and sends it.
    pub(super) fn start_client(
        &mut self,
        now: Instant,
        request: Request,
        destination: SocketAddr,
        transport: Transport,
        owner: ClientOwner,
    ) -> Option<TransactionKey> {
        let branch = request.headers.top_via().ok()?.branch()?.to_owned();
        let key = TransactionKey::client(&branch, &request.method);
        let bytes = Bytes::from(request.to_bytes());
        let reliable = transport.is_reliable();
        let timers = self.config.timers;
        let machine = if request.method == Method::Invite {
            ClientMachine::Invite(ClientInvite::new(now, timers, reliable, bytes))
        } else {
            ClientMachine::NonInvite(ClientNonInvite::new(now, timers, reliable, bytes))
        };
        self.clients.insert(
            key.clone(),
            ClientEntry {
                machine,
                owner,
                destination,
                transport,
                request,
                scheduled: None,
            },
        );
        self.drive_client(now, &key);
        Some(key)
    }

    /// Passes a response to its client transaction; returns the owner when
    /// the transaction user should see it.
    pub(super) fn client_response(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        response: &Response,
    ) -> Option<ClientOwner> {
        let entry = self.clients.get_mut(key)?;
        let delivery = match &mut entry.machine {
            ClientMachine::Invite(machine) => {
                let request = &entry.request;
                machine.handle_response(now, response.status, || {
                    Bytes::from(ack_for_non_2xx(request, response).to_bytes())
                })
            }
            ClientMachine::NonInvite(machine) => machine.handle_response(now, response.status),
        };
        let owner = entry.owner;
        self.drive_client(now, key);
        (delivery == Delivery::ToTransactionUser).then_some(owner)
    }

    pub(super) fn client_timeout(&mut self, now: Instant, key: &TransactionKey) {
        if let Some(entry) = self.clients.get_mut(key) {
            entry.scheduled = None;
            match &mut entry.machine {
                ClientMachine::Invite(m) => m.handle_timeout(now),
                ClientMachine::NonInvite(m) => m.handle_timeout(now),
            }
            self.drive_client(now, key);
        }
    }

    /// Acts on a client transaction's outputs and reschedules it.
    fn drive_client(&mut self, now: Instant, key: &TransactionKey) {
        let Some(entry) = self.clients.get_mut(key) else {
            return;
        };
        let mut timed_out = false;
        let mut terminated = false;
        loop {
            let output = match &mut entry.machine {
                ClientMachine::Invite(m) => m.poll_output(),
                ClientMachine::NonInvite(m) => m.poll_output(),
            };
            match output {
                None => break,
                Some(Output::Transmit(bytes)) => self.transmits.push_back(Transmit {
                    transport: entry.transport,
                    destination: entry.destination,
                    payload: bytes.to_vec(),
                }),
                Some(Output::TimedOut) => timed_out = true,
                Some(Output::Terminated) => terminated = true,
            }
        }
        let owner = entry.owner;
        if terminated {
            self.clients.remove(key);
        } else {
            let deadline = match &entry.machine {
                ClientMachine::Invite(m) => m.poll_timeout(),
                ClientMachine::NonInvite(m) => m.poll_timeout(),
            };
            if deadline != entry.scheduled {
                entry.scheduled = deadline;
                if let Some(at) = deadline {
                    self.timers
                        .push(Reverse((at, TimerOwner::Client(key.clone()))));
                }
            }
        }
        if timed_out {
            match owner {
                ClientOwner::Invite(call) => self.invite_timed_out(now, call),
                ClientOwner::Register(id) => self.registration_failed(now, id, None),
                ClientOwner::Cancel(_) | ClientOwner::Bye(_) => {}
            }
        }
    }

    // ---- server transactions -----------------------------------------------

    pub(super) fn server_timeout(&mut self, now: Instant, key: &TransactionKey) {
        if let Some(entry) = self.servers.get_mut(key) {
            entry.scheduled = None;
            match &mut entry.machine {
                ServerMachine::Invite(m) => m.handle_timeout(now),
                ServerMachine::NonInvite(m) => m.handle_timeout(now),
            }
            self.drive_server(key);
        }
    }

    /// Acts on a server transaction's outputs and reschedules it.
    pub(super) fn drive_server(&mut self, key: &TransactionKey) {
        let Some(entry) = self.servers.get_mut(key) else {
            return;
        };
        let mut terminated = false;
        loop {
            let output = match &mut entry.machine {
                ServerMachine::Invite(m) => m.poll_output(),
                ServerMachine::NonInvite(m) => m.poll_output(),
            };
            match output {
                None => break,
                Some(Output::Transmit(bytes)) => self.transmits.push_back(Transmit {
                    transport: entry.transport,
                    destination: entry.reply_to,
                    payload: bytes.to_vec(),
                }),
                // Timer H: the peer never ACKed our error response. The
                // call already ended when we sent it; nothing to report.
                Some(Output::TimedOut) => {}
                Some(Output::Terminated) => terminated = true,
            }
        }
        if terminated {
            self.servers.remove(key);
            return;
        }
        let deadline = match &entry.machine {
            ServerMachine::Invite(m) => m.poll_timeout(),
            ServerMachine::NonInvite(m) => m.poll_timeout(),
        };
        if deadline != entry.scheduled {
            entry.scheduled = deadline;
            if let Some(at) = deadline {
                self.timers
                    .push(Reverse((at, TimerOwner::Server(key.clone()))));
            }
        }
    }

    /// Sends a response through the server transaction `key`. `to_tag` is
    /// added to To when the request had none; `decorate` adds headers and a
    /// body. Returns the response bytes as sent.
    pub(super) fn respond(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        status: u16,
        reason: &str,
        to_tag: Option<&str>,
        decorate: impl FnOnce(&mut Response),
    ) -> Option<Bytes> {
        let user_agent = self.config.user_agent.clone();
        let entry = self.servers.get_mut(key)?;
        let mut response = Response::for_request(&entry.request, status, reason);
        if let Some(tag) = to_tag {
            set_to_tag(&mut response, tag);
        }
        response.headers.push(HeaderName::Server, user_agent);
        decorate(&mut response);
        let bytes = Bytes::from(response.to_bytes());
        match &mut entry.machine {
            ServerMachine::Invite(m) => m.send_response(now, status, bytes.clone()),
            ServerMachine::NonInvite(m) => m.send_response(now, status, bytes.clone()),
        }
        self.drive_server(key);
        Some(bytes)
    }

    /// Answers `request` without a transaction (RFC 3261 section 8.2: errors
    /// found before any transaction exists).
    pub(super) fn respond_statelessly(
        &mut self,
        transport: Transport,
        reply_to: SocketAddr,
        request: &Request,
        status: u16,
        reason: &str,
        headers: Vec<(HeaderName, String)>,
    ) {
        if request.method == Method::Ack {
            return;
        }
        let mut response = Response::for_request(request, status, reason);
        let tag = self.new_tag();
        set_to_tag(&mut response, &tag);
        for (name, value) in headers {
            response.headers.push(name, value);
        }
        response
            .headers
            .push(HeaderName::Server, self.config.user_agent.clone());
        self.transmits.push_back(Transmit {
            transport,
            destination: reply_to,
            payload: response.to_bytes(),
        });
    }

    /// A datagram that failed the strict parse with `error`: answer it
    /// statelessly (400, or 505 for a foreign version) from the salvaged
    /// headers when it was a request, drop it otherwise.
    pub(super) fn answer_unparseable(
        &mut self,
        transport: Transport,
        source: SocketAddr,
        bytes: &[u8],
        error: &crate::msg::ParseError,
    ) {
        let Some(salvage) = crate::msg::salvage(bytes) else {
            return;
        };
        let reply_to = match salvage.top_via() {
            Some(via) => super::reply_address(transport, source, &via),
            None => source,
        };
        let response = salvage.response(error.response_status(), error.response_reason());
        self.transmits.push_back(Transmit {
            transport,
            destination: reply_to,
            payload: response.to_bytes(),
        });
    }

    // ---- calls ---------------------------------------------------------------

    /// Reports the end of a call once, stops its timers and keeps it for
    /// 64·T1 to answer late retransmissions.
    pub(super) fn end_call(
        &mut self,
        now: Instant,
        call: super::CallId,
        cause: HangupCause,
        status: Option<u16>,
        by: Side,
    ) {
        let Some(entry) = self.calls.get(&call) else {
            return;
        };
        let already_reported = match &entry.state {
            CallState::Ended { .. } => return,
            CallState::Answered { bye_pending, .. } => *bye_pending,
            _ => false,
        };
        self.retire_call(now, call);
        if !already_reported {
            self.events.push_back(Event::Ended {
                call,
                cause,
                status,
                by,
            });
        }
    }

    /// Moves a call to Ended without reporting (the report went out
    /// earlier) and arms its cleanup.
    pub(super) fn retire_call(&mut self, now: Instant, call: super::CallId) {
        let linger = self.config.timers.transaction_timeout();
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let ack = match &entry.state {
            CallState::Confirmed { ack, .. } | CallState::Ended { ack } => ack.clone(),
            _ => None,
        };
        entry.state = CallState::Ended { ack };
        entry.timers.stop_all();
        entry.timers.set(CallTimer::Cleanup, now + linger);
        self.schedule_call(call);
    }

    /// Pushes the call's next deadline onto the timer heap if it changed.
    pub(super) fn schedule_call(&mut self, call: super::CallId) {
        let Some(entry) = self.calls.get_mut(&call) else {
            return;
        };
        let deadline = entry.timers.next_deadline();
        if deadline != entry.scheduled {
            entry.scheduled = deadline;
            if let Some(at) = deadline {
                self.timers.push(Reverse((at, TimerOwner::Call(call))));
            }
        }
    }

    pub(super) fn call_timeout(&mut self, now: Instant, call: super::CallId) {
        loop {
            let Some(entry) = self.calls.get_mut(&call) else {
                return;
            };
            entry.scheduled = None;
            let Some(timer) = entry.timers.pop_expired(now) else {
                break;
            };
            match timer {
                CallTimer::Ring => self.ring_timeout(now, call),
                CallTimer::CancelGuard => {
                    // No final response 64·T1 after CANCEL: consider the
                    // INVITE cancelled and drop its transaction (RFC 3261
                    // section 9.1).
                    if let Some(CallState::Calling { transaction, .. }) =
                        self.calls.get(&call).map(|c| &c.state)
                    {
                        let transaction = transaction.clone();
                        self.clients.remove(&transaction);
                    }
                    let cause = self.pending_cancel_cause(call);
                    self.end_call(now, call, cause, None, Side::Local);
                }
                CallTimer::Retransmit => self.retransmit_2xx(now, call),
                CallTimer::AckWait => self.ack_timed_out(now, call),
                CallTimer::Cleanup => {
                    if let Some(gone) = self.calls.remove(&call) {
                        if let Some(dialog) = gone.dialog {
                            self.dialogs.remove(dialog.id());
                        }
                        if let Some(origin) = gone.origin {
                            self.inbound_origins.remove(&origin);
                        }
                    }
                    return;
                }
            }
        }
        self.schedule_call(call);
    }
}

impl Endpoint {
    /// The ring timer fired: cancel an outbound call, give up on an inbound
    /// one nobody answered.
    fn ring_timeout(&mut self, now: Instant, call: super::CallId) {
        match self.calls.get(&call).map(|c| &c.state) {
            Some(CallState::Calling { .. }) => self.cancel_call(now, call, HangupCause::NoAnswer),
            Some(CallState::Incoming { .. }) => {
                self.reject_incoming(now, call, 480, "Temporarily Unavailable", Vec::new());
                self.end_call(now, call, HangupCause::NoAnswer, Some(480), Side::Local);
            }
            _ => {}
        }
    }
}

/// Adds `tag` to the To header of `response` unless it has one.
pub(super) fn set_to_tag(response: &mut Response, tag: &str) {
    if let Ok(mut to) = response.headers.to() {
        if to.tag().is_none() {
            to.set_tag(tag);
            response.headers.set(HeaderName::To, to.to_string());
        }
    }
}
