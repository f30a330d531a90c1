//! The sans-IO SIP endpoint: bytes and timeouts in, datagrams and call
//! events out.
//!
//! The [`Endpoint`] owns every transaction, dialog and call of one SIP
//! address. It never reads the clock or touches a socket: the driver feeds
//! it what arrived with [`Endpoint::handle_datagram`], calls
//! [`Endpoint::handle_timeout`] at [`Endpoint::poll_timeout`], and after
//! every call drains [`Endpoint::poll_transmit`] and
//! [`Endpoint::poll_event`] until both return `None`.
//!
//! What it does by itself: 100 Trying after 200 ms of silence on an inbound
//! INVITE; ACK for every 2xx (and its retransmissions); retransmission of
//! our 2xx until the ACK, BYE after 64·T1 without one; 200 + 487 for a
//! CANCEL; one digest retry per call on 401/407; CANCEL on the ring timeout
//! (held back until a provisional response, RFC 3261 section 9.1); 200 with
//! Allow/Accept for OPTIONS; the current SDP for a re-INVITE; 481 for
//! requests outside a known dialog, 500 for out-of-order ones; stateless
//! 4xx/5xx for requests `msg::check_request` rejects or that only a lenient
//! salvage could read; ACK + BYE for a forked second 2xx.
//!
//! Signalling is symmetric: in-dialog requests go to the address the dialog
//! was set up with (the trunk for outbound calls, the INVITE's response
//! address for inbound ones), with the route set in Route headers. There is
//! no DNS in the core. Not supported: reliable provisional responses
//! (PRACK/100rel), UPDATE, session timers, sending re-INVITEs, more than one
//! early dialog per call.

mod inbound;
mod outbound;
mod plumbing;
mod registration;

use inbound::reply_address;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::RngCore;

use crate::auth::Credentials;
use crate::call::{Call, HangupCause};
use crate::dialog::DialogId;
use crate::msg::{HeaderName, Method, NameAddr, Request, Uri};
use crate::register::{RegisterClient, RegistrationId, RegistrationState};
use crate::transaction::{
    ClientInvite, ClientNonInvite, ServerInvite, ServerNonInvite, TimerConfig, TransactionKey,
};

pub use crate::register::Registration;

/// The transport a message travels over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: unreliable, the transactions retransmit.
    Udp,
    /// TCP: reliable, no retransmissions.
    Tcp,
}

impl Transport {
    /// Whether the transport delivers reliably (no retransmissions needed).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// The name used in Via headers: `UDP` or `TCP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Over which transport.
    pub transport: Transport,
    /// To where.
    pub destination: SocketAddr,
    /// The complete SIP message.
    pub payload: Vec<u8>,
}

/// How the endpoint presents itself and times its transactions.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// The address we advertise in Via and Contact (what peers can reach).
    pub contact: SocketAddr,
    /// The user part of our Contact URI.
    pub contact_user: String,
    /// The `User-Agent` / `Server` header value.
    pub user_agent: String,
    /// T1, T2 and T4.
    pub timers: TimerConfig,
    /// Whether INFO DTMF (`application/dtmf-relay`, `application/dtmf`)
    /// produces [`Event::Dtmf`]; when off such INFOs are answered 200 and
    /// ignored.
    pub allow_info_dtmf: bool,
    /// How long an inbound call may go without a final response before the
    /// endpoint answers 480 itself and reports `NO_ANSWER` (a guard against
    /// a driver that never decides; the caller usually cancels first).
    pub incoming_answer_timeout: Duration,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            contact: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5060),
            contact_user: "voxpin".to_owned(),
            user_agent: concat!("voxpin/", env!("CARGO_PKG_VERSION")).to_owned(),
            timers: TimerConfig::default(),
            allow_info_dtmf: true,
            incoming_answer_timeout: Duration::from_secs(180),
        }
    }
}

/// Our handle for one call (not the SIP Call-ID string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

impl std::fmt::Display for CallId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// A call to place with [`Endpoint::call`].
#[derive(Debug, Clone)]
pub struct OutboundCall {
    /// The Request-URI, e.g. `sip:+15551234567@trunk.example.net`.
    pub request_uri: Uri,
    /// Where to send the INVITE (the trunk's address).
    pub destination: SocketAddr,
    /// Over which transport.
    pub transport: Transport,
    /// The From (caller id); its tag is set by the endpoint.
    pub from: NameAddr,
    /// The To.
    pub to: NameAddr,
    /// Our SDP offer (opaque to the endpoint).
    pub sdp_offer: Bytes,
    /// Credentials for one retry after a 401/407 challenge.
    pub credentials: Option<Credentials>,
    /// How long to let it ring before CANCEL (cause `NO_ANSWER`).
    pub ring_timeout: Duration,
    /// Extra headers for the INVITE (e.g. `P-Asserted-Identity`).
    pub extra_headers: Vec<(HeaderName, String)>,
}

/// Which side did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// This endpoint (the engine asked, or one of our timers fired).
    Local,
    /// The peer.
    Remote,
}

/// What the endpoint tells its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // events are few per call; boxing buys nothing
pub enum Event {
    /// A new INVITE arrived. Answer with [`Endpoint::ringing`],
    /// [`Endpoint::answer`], [`Endpoint::reject`] or [`Endpoint::hangup`];
    /// the endpoint sends 100 Trying itself after 200 ms.
    IncomingCall {
        /// Our handle.
        call: CallId,
        /// Where the INVITE came from.
        source: SocketAddr,
        /// Over which transport.
        transport: Transport,
        /// The Request-URI (the dialled number).
        request_uri: Uri,
        /// The caller.
        from: NameAddr,
        /// The callee.
        to: NameAddr,
        /// The SIP Call-ID.
        sip_call_id: String,
        /// The SDP offer, if the INVITE carried one.
        sdp_offer: Option<Bytes>,
    },
    /// A provisional response (180, 183, ...) on an outbound call.
    Provisional {
        /// Our handle.
        call: CallId,
        /// The status code.
        status: u16,
        /// Early media SDP, if any.
        sdp: Option<Bytes>,
    },
    /// An outbound call was answered (the ACK is already sent).
    Answered {
        /// Our handle.
        call: CallId,
        /// The SDP answer, if the 2xx carried one.
        sdp_answer: Option<Bytes>,
    },
    /// An inbound call is confirmed: the ACK for our 2xx arrived.
    Confirmed {
        /// Our handle.
        call: CallId,
    },
    /// The SDP answer carried by the ACK of an inbound call that arrived
    /// without an offer (delayed offer: the SDP given to
    /// [`Endpoint::answer`] was the offer). Comes just before
    /// [`Event::Confirmed`].
    AckAnswer {
        /// Our handle.
        call: CallId,
        /// The peer's SDP answer.
        sdp_answer: Bytes,
    },
    /// A key press sent as SIP INFO.
    Dtmf {
        /// Our handle.
        call: CallId,
        /// `'0'..='9'`, `'*'`, `'#'`, `'A'..='D'`.
        digit: char,
        /// How long the key was held, as reported by the sender.
        duration: Duration,
    },
    /// The call is over; no further event for it follows.
    Ended {
        /// Our handle.
        call: CallId,
        /// Why.
        cause: HangupCause,
        /// The SIP status that ended it, when a final response did.
        status: Option<u16>,
        /// Who ended it.
        by: Side,
    },
    /// The state of a REGISTER client changed.
    Registration {
        /// Which registration.
        registration: RegistrationId,
        /// Its new state.
        state: RegistrationState,
    },
}

/// What owns a client transaction: where its responses go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientOwner {
    /// The INVITE of an outbound call.
    Invite(CallId),
    /// A CANCEL for an outbound call.
    Cancel(CallId),
    /// A BYE (nothing left to report).
    Bye(CallId),
    /// A REGISTER.
    Register(RegistrationId),
}

#[derive(Debug)]
enum ClientMachine {
    Invite(ClientInvite),
    NonInvite(ClientNonInvite),
}

#[derive(Debug)]
struct ClientEntry {
    machine: ClientMachine,
    owner: ClientOwner,
    destination: SocketAddr,
    transport: Transport,
    /// The request, for building its ACK.
    request: Request,
    scheduled: Option<Instant>,
}

#[derive(Debug)]
enum ServerMachine {
    Invite(ServerInvite),
    NonInvite(ServerNonInvite),
}

#[derive(Debug)]
struct ServerEntry {
    machine: ServerMachine,
    /// Where responses go (RFC 3261 section 18.2.2).
    reply_to: SocketAddr,
    transport: Transport,
    /// The request, with `received`/`rport` added to its top Via.
    request: Request,
    /// The call this transaction belongs to.
    call: Option<CallId>,
    scheduled: Option<Instant>,
}

/// Whose deadline a timer-heap entry is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum TimerOwner {
    Client(TransactionKey),
    Server(TransactionKey),
    Call(CallId),
    Registration(RegistrationId),
}

/// A sans-IO SIP user agent: places and answers calls.
///
/// See the crate documentation for the drive loop.
pub struct Endpoint {
    config: EndpointConfig,
    rng: Box<dyn RngCore + Send>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    clients: HashMap<TransactionKey, ClientEntry>,
    servers: HashMap<TransactionKey, ServerEntry>,
    calls: HashMap<CallId, Call>,
    dialogs: HashMap<DialogId, CallId>,
    /// Inbound INVITEs by (Call-ID, From tag, CSeq), to spot a merged
    /// request: the same INVITE arriving again on another branch (RFC 3261
    /// section 8.2.2.2).
    inbound_origins: HashMap<(String, String, u32), CallId>,
    registrations: HashMap<RegistrationId, RegisterClient>,
    next_registration: u64,
    /// Deadlines, earliest first; an entry may be stale (then it only
    /// causes a harmless early wake-up).
    timers: BinaryHeap<Reverse<(Instant, TimerOwner)>>,
    next_call: u64,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("contact", &self.config.contact)
            .field("calls", &self.calls.len())
            .field("client_transactions", &self.clients.len())
            .field("server_transactions", &self.servers.len())
            .finish_non_exhaustive()
    }
}

/// The methods we accept (Allow header, `check_request`).
const ALLOWED: [Method; 6] = [
    Method::Invite,
    Method::Ack,
    Method::Bye,
    Method::Cancel,
    Method::Options,
    Method::Info,
];

/// The body types we accept (Accept header, `check_request`).
const ACCEPTED: [&str; 3] = [
    "application/sdp",
    "application/dtmf-relay",
    "application/dtmf",
];

impl Endpoint {
    /// Creates an endpoint. `rng` supplies Call-IDs, tags, branches and
    /// cnonces (seed it in tests; these values need to be unique, not
    /// secret).
    pub fn new(config: EndpointConfig, rng: Box<dyn RngCore + Send>, now: Instant) -> Self {
        let _ = now;
        Self {
            config,
            rng,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            clients: HashMap::new(),
            servers: HashMap::new(),
            calls: HashMap::new(),
            dialogs: HashMap::new(),
            inbound_origins: HashMap::new(),
            registrations: HashMap::new(),
            next_registration: 1,
            timers: BinaryHeap::new(),
            next_call: 1,
        }
    }

    /// The configuration the endpoint runs with.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Feeds a received datagram (UDP) or a framed message (TCP) from
    /// `source`. Malformed requests get a stateless error response when
    /// enough of them can be salvaged; anything else malformed is dropped.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        bytes: &[u8],
    ) {
        match crate::msg::parse_datagram(bytes) {
            Ok(crate::msg::Datagram::KeepAlive) => {}
            Ok(crate::msg::Datagram::Message(crate::msg::Message::Request(request))) => {
                self.handle_request(now, transport, source, request)
            }
            Ok(crate::msg::Datagram::Message(crate::msg::Message::Response(response))) => {
                self.handle_response(now, response)
            }
            Err(error) => self.answer_unparseable(transport, source, bytes, &error),
        }
        self.prune_timers();
    }

    /// Fires every timer due at `now`. Call at (or after)
    /// [`poll_timeout`](Self::poll_timeout).
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, owner))) = self.timers.pop() else {
                break;
            };
            match owner {
                TimerOwner::Client(key) => self.client_timeout(now, &key),
                TimerOwner::Server(key) => self.server_timeout(now, &key),
                TimerOwner::Call(call) => self.call_timeout(now, call),
                TimerOwner::Registration(id) => self.registration_timeout(now, id),
            }
        }
        self.prune_timers();
    }

    /// Reports that `destination` cannot be reached over `transport` (a TCP
    /// connection refused or reset, an ICMP unreachable): every transaction
    /// toward it fails at once instead of waiting for its timer, and a call
    /// still being set up there ends with `NETWORK_OUT_OF_ORDER`.
    pub fn handle_transport_error(
        &mut self,
        now: Instant,
        transport: Transport,
        destination: SocketAddr,
    ) {
        let clients: Vec<TransactionKey> = self
            .clients
            .iter()
            .filter(|(_, e)| e.transport == transport && e.destination == destination)
            .map(|(k, _)| k.clone())
            .collect();
        for key in clients {
            let Some(entry) = self.clients.get_mut(&key) else {
                continue;
            };
            let owner = entry.owner;
            match &mut entry.machine {
                ClientMachine::Invite(m) => m.handle_transport_error(),
                ClientMachine::NonInvite(m) => m.handle_transport_error(),
            }
            if let ClientOwner::Invite(call) = owner {
                if matches!(
                    self.calls.get(&call).map(|c| &c.state),
                    Some(crate::call::CallState::Calling { .. })
                ) {
                    self.end_call(now, call, HangupCause::NetworkOutOfOrder, None, Side::Local);
                }
            }
            self.client_timeout(now, &key);
        }
        let servers: Vec<TransactionKey> = self
            .servers
            .iter()
            .filter(|(_, e)| e.transport == transport && e.reply_to == destination)
            .map(|(k, _)| k.clone())
            .collect();
        for key in servers {
            if let Some(entry) = self.servers.get_mut(&key) {
                match &mut entry.machine {
                    ServerMachine::Invite(m) => m.handle_transport_error(),
                    ServerMachine::NonInvite(m) => m.handle_transport_error(),
                }
                self.drive_server(&key);
            }
        }
        self.prune_timers();
    }

    /// Drops timer-heap entries that no longer match their owner's deadline,
    /// so that [`poll_timeout`](Self::poll_timeout) is exact. Run at the end
    /// of every public entry point.
    fn prune_timers(&mut self) {
        while let Some(Reverse((at, owner))) = self.timers.peek() {
            let scheduled = match owner {
                TimerOwner::Client(key) => self.clients.get(key).and_then(|e| e.scheduled),
                TimerOwner::Server(key) => self.servers.get(key).and_then(|e| e.scheduled),
                TimerOwner::Call(call) => self.calls.get(call).and_then(|c| c.scheduled),
                TimerOwner::Registration(id) => {
                    self.registrations.get(id).and_then(|r| r.scheduled)
                }
            };
            if scheduled == Some(*at) {
                break;
            }
            self.timers.pop();
        }
    }

    /// The next message to send; call after every `handle_*` and command
    /// until it returns `None`.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event; call after every `handle_*` and command until it
    /// returns `None`.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next; `None`
    /// when nothing is pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    // ---- commands ------------------------------------------------------------

    /// Places a call: sends an INVITE with `call.sdp_offer` and returns our
    /// handle. Progress arrives as [`Event::Provisional`],
    /// [`Event::Answered`] and finally [`Event::Ended`].
    pub fn call(&mut self, now: Instant, call: OutboundCall) -> CallId {
        let id = self.call_inner(now, call);
        self.prune_timers();
        id
    }

    /// Sends 180 Ringing on an inbound call that has no final response yet.
    pub fn ringing(&mut self, now: Instant, call: CallId) {
        self.ringing_inner(now, call);
        self.prune_timers();
    }

    /// Answers an inbound call with 200 OK carrying `sdp_answer`; the 2xx is
    /// retransmitted until the ACK arrives ([`Event::Confirmed`]).
    pub fn answer(&mut self, now: Instant, call: CallId, sdp_answer: Bytes) {
        self.answer_inner(now, call, sdp_answer);
        self.prune_timers();
    }

    /// Rejects an inbound call that has no final response yet with `status`
    /// (e.g. 486, 503 with `Retry-After` in `extra_headers`).
    pub fn reject(
        &mut self,
        now: Instant,
        call: CallId,
        status: u16,
        extra_headers: Vec<(HeaderName, String)>,
    ) {
        self.reject_inner(now, call, status, extra_headers);
        self.prune_timers();
    }

    /// Ends a call from our side: CANCEL while an outbound call rings, BYE
    /// once it is up, 480 for an inbound call not yet answered. Reports
    /// [`Event::Ended`] (at once, or when the CANCEL completes).
    pub fn hangup(&mut self, now: Instant, call: CallId) {
        self.hangup_inner(now, call);
        self.prune_timers();
    }

    /// Starts a REGISTER client: registers now, refreshes before expiry,
    /// retries failures with back-off. Reports [`Event::Registration`].
    pub fn register(&mut self, now: Instant, registration: Registration) -> RegistrationId {
        let id = self.register_inner(now, registration);
        self.prune_timers();
        id
    }

    /// Removes the binding (REGISTER with `Expires: 0`) and stops the
    /// client; reports `Unregistered` when the registrar answers.
    pub fn unregister(&mut self, now: Instant, id: RegistrationId) {
        self.unregister_inner(now, id);
        self.prune_timers();
    }

    /// How many calls the endpoint holds (including ended ones that linger
    /// for late retransmissions).
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// How many transactions are alive (client and server).
    pub fn transaction_count(&self) -> usize {
        self.clients.len() + self.servers.len()
    }
}
