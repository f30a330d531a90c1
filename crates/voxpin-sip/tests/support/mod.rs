//! A simulated network and two endpoints wired together, for whole-call
//! tests that run in milliseconds on simulated time.
//!
//! [`Net`] delivers datagrams after a latency plus jitter (jitter reorders),
//! and may drop or duplicate them, all from a seeded RNG. [`Pair`] owns two
//! [`Endpoint`]s (`a` calls, `b` answers, by convention) and advances time to
//! the next delivery or timeout with [`Pair::step`]. A [`SeedGuard`] prints
//! the seed when a test panics so the run can be replayed.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use voxpin_sip::msg::{NameAddr, Uri};
use voxpin_sip::{CallId, Endpoint, EndpointConfig, Event, OutboundCall, Transport};

/// How the simulated network misbehaves.
#[derive(Debug, Clone, Copy)]
pub struct NetConfig {
    /// One-way base latency.
    pub latency: Duration,
    /// Extra uniform delay in `0..jitter` (reorders datagrams).
    pub jitter: Duration,
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
}

impl NetConfig {
    /// A perfect network with 10 ms latency.
    pub fn perfect() -> Self {
        Self {
            latency: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
        }
    }

    /// A bad network: 20 % loss, 10 % duplication, 0–60 ms jitter.
    pub fn lossy() -> Self {
        Self {
            latency: Duration::from_millis(20),
            jitter: Duration::from_millis(60),
            loss: 0.2,
            duplicate: 0.1,
        }
    }
}

/// A datagram in flight.
#[derive(Debug, Clone)]
struct InFlight {
    deliver_at: Instant,
    order: u64,
    source: SocketAddr,
    destination: SocketAddr,
    transport: Transport,
    payload: Vec<u8>,
}

/// The seeded network between the two endpoints.
#[derive(Debug)]
pub struct Net {
    config: NetConfig,
    rng: ChaCha8Rng,
    in_flight: Vec<InFlight>,
    order: u64,
    /// Every datagram handed to the network, as text (for assertions).
    pub sent: Vec<(SocketAddr, SocketAddr, String)>,
}

impl Net {
    fn send(&mut self, now: Instant, source: SocketAddr, t: voxpin_sip::Transmit) {
        self.sent.push((
            source,
            t.destination,
            String::from_utf8_lossy(&t.payload).into_owned(),
        ));
        if self.rng.random_bool(self.config.loss) {
            return;
        }
        let copies = if self.rng.random_bool(self.config.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter_ns = self.config.jitter.as_nanos() as u64;
            let jitter = if jitter_ns == 0 {
                Duration::ZERO
            } else {
                Duration::from_nanos(self.rng.random_range(0..jitter_ns))
            };
            self.order += 1;
            self.in_flight.push(InFlight {
                deliver_at: now + self.config.latency + jitter,
                order: self.order,
                source,
                destination: t.destination,
                transport: t.transport,
                payload: t.payload.clone(),
            });
        }
    }

    fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.iter().map(|d| d.deliver_at).min()
    }

    fn pop_due(&mut self, now: Instant) -> Option<InFlight> {
        let index = self
            .in_flight
            .iter()
            .enumerate()
            .filter(|(_, d)| d.deliver_at <= now)
            .min_by_key(|(_, d)| (d.deliver_at, d.order))
            .map(|(i, _)| i)?;
        Some(self.in_flight.swap_remove(index))
    }
}

/// One endpoint and the events it produced.
#[derive(Debug)]
pub struct Peer {
    pub endpoint: Endpoint,
    pub address: SocketAddr,
    pub events: Vec<Event>,
}

impl Peer {
    /// The first `IncomingCall` handle.
    pub fn incoming(&self) -> Option<CallId> {
        self.events.iter().find_map(|e| match e {
            Event::IncomingCall { call, .. } => Some(*call),
            _ => None,
        })
    }

    /// Whether an event matching `pred` was seen.
    pub fn saw(&self, pred: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(pred)
    }

    /// How many events match `pred`.
    pub fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|e| pred(e)).count()
    }

    /// The `Ended` event of `call`, if any.
    pub fn ended(&self, call: CallId) -> Option<&Event> {
        self.events
            .iter()
            .find(|e| matches!(e, Event::Ended { call: c, .. } if *c == call))
    }
}

/// Prints the seed if the test panics.
#[derive(Debug)]
pub struct SeedGuard(pub u64);

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "simulated network seed = {} (replay with this seed)",
                self.0
            );
        }
    }
}

/// Two endpoints on a simulated network, on simulated time.
#[derive(Debug)]
pub struct Pair {
    pub now: Instant,
    pub a: Peer,
    pub b: Peer,
    pub net: Net,
    pub guard: SeedGuard,
}

/// The real instant simulated time starts from (read once per test).
#[allow(clippy::disallowed_methods)] // the one clock read; time then advances by arithmetic
pub fn origin() -> Instant {
    Instant::now()
}

fn address(last_octet: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last_octet)), port)
}

impl Pair {
    /// Two endpoints, `a` at 192.0.2.1:5060 and `b` at 192.0.2.2:5070.
    pub fn new(seed: u64, net: NetConfig) -> Self {
        Self::with_config(seed, net, |_| {})
    }

    /// Like [`Pair::new`], letting `tweak` adjust both endpoint configs.
    pub fn with_config(seed: u64, net: NetConfig, tweak: impl Fn(&mut EndpointConfig)) -> Self {
        let now = origin();
        let peer = |addr: SocketAddr, salt: u64| {
            let mut config = EndpointConfig {
                contact: addr,
                ..EndpointConfig::default()
            };
            tweak(&mut config);
            let rng = Box::new(ChaCha8Rng::seed_from_u64(seed ^ salt));
            Peer {
                endpoint: Endpoint::new(config, rng, now),
                address: addr,
                events: Vec::new(),
            }
        };
        Pair {
            now,
            a: peer(address(1, 5060), 0xA),
            b: peer(address(2, 5070), 0xB),
            net: Net {
                config: net,
                rng: ChaCha8Rng::seed_from_u64(seed),
                in_flight: Vec::new(),
                order: 0,
                sent: Vec::new(),
            },
            guard: SeedGuard(seed),
        }
    }

    /// A typical outbound call from `a` to `b`.
    pub fn outbound_call(&self) -> OutboundCall {
        OutboundCall {
            request_uri: Uri::parse(&format!("sip:+15550100@{}", self.b.address)).unwrap(),
            destination: self.b.address,
            transport: Transport::Udp,
            from: NameAddr::parse("\"Voxpin\" <sip:otp@example.com>").unwrap(),
            to: NameAddr::parse("<sip:+15550100@example.net>").unwrap(),
            sdp_offer: Bytes::from_static(b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"),
            credentials: None,
            ring_timeout: Duration::from_secs(30),
            extra_headers: Vec::new(),
        }
    }

    /// Moves every queued transmit and event out of both endpoints.
    pub fn flush(&mut self) {
        drain(&mut self.a, &mut self.net, self.now);
        drain(&mut self.b, &mut self.net, self.now);
    }

    /// Advances to the next delivery or timeout and processes it. Returns
    /// `false` when nothing is pending anywhere.
    pub fn step(&mut self) -> bool {
        self.flush();
        let next = [
            self.net.next_delivery(),
            self.a.endpoint.poll_timeout(),
            self.b.endpoint.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else {
            return false;
        };
        self.now = self.now.max(next);
        while let Some(d) = self.net.pop_due(self.now) {
            let peer = if d.destination == self.a.address {
                &mut self.a
            } else if d.destination == self.b.address {
                &mut self.b
            } else {
                continue; // nobody there
            };
            peer.endpoint
                .handle_datagram(self.now, d.transport, d.source, &d.payload);
        }
        self.a.endpoint.handle_timeout(self.now);
        self.b.endpoint.handle_timeout(self.now);
        self.flush();
        true
    }

    /// Steps until `done` holds or `limit` of simulated time passes; returns
    /// whether `done` held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Pair) -> bool) -> bool {
        let deadline = self.now + limit;
        loop {
            if done(self) {
                return true;
            }
            if self.now > deadline || !self.step() {
                return done(self);
            }
        }
    }

    /// Steps through `duration` of simulated time (or until idle).
    pub fn run_for(&mut self, duration: Duration) {
        let deadline = self.now + duration;
        while self.now < deadline {
            self.flush();
            let next = [
                self.net.next_delivery(),
                self.a.endpoint.poll_timeout(),
                self.b.endpoint.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(at) if at <= deadline => {
                    self.step();
                }
                _ => {
                    self.now = deadline;
                    break;
                }
            }
        }
        self.flush();
    }

    /// The SIP messages sent so far whose first line starts with `start`.
    pub fn sent_starting(&self, start: &str) -> usize {
        self.net
            .sent
            .iter()
            .filter(|(_, _, text)| text.starts_with(start))
            .count()
    }
}

fn drain(peer: &mut Peer, net: &mut Net, now: Instant) {
    while let Some(t) = peer.endpoint.poll_transmit() {
        net.send(now, peer.address, t);
    }
    while let Some(event) = peer.endpoint.poll_event() {
        peer.events.push(event);
    }
}

/// One endpoint facing a scripted peer: the test reads what the endpoint
/// sends and answers with hand-built messages.
#[derive(Debug)]
pub struct Scripted {
    pub now: Instant,
    pub endpoint: Endpoint,
    /// The scripted peer's address.
    pub peer: SocketAddr,
    pub events: Vec<Event>,
    pub guard: SeedGuard,
}

impl Scripted {
    /// An endpoint at 192.0.2.1:5060 and a scripted peer at 192.0.2.9:5060.
    pub fn new(seed: u64) -> Self {
        let now = origin();
        let config = EndpointConfig {
            contact: address(1, 5060),
            ..EndpointConfig::default()
        };
        let rng = Box::new(ChaCha8Rng::seed_from_u64(seed));
        Scripted {
            now,
            endpoint: Endpoint::new(config, rng, now),
            peer: address(9, 5060),
            events: Vec::new(),
            guard: SeedGuard(seed),
        }
    }

    /// A call toward the scripted peer.
    pub fn outbound_call(&self) -> OutboundCall {
        OutboundCall {
            request_uri: Uri::parse(&format!("sip:+15550100@{}", self.peer)).unwrap(),
            destination: self.peer,
            transport: Transport::Udp,
            from: NameAddr::parse("<sip:otp@example.com>").unwrap(),
            to: NameAddr::parse("<sip:+15550100@example.net>").unwrap(),
            sdp_offer: Bytes::from_static(b"v=0\r\n"),
            credentials: None,
            ring_timeout: Duration::from_secs(30),
            extra_headers: Vec::new(),
        }
    }

    /// Everything the endpoint queued to send, parsed; events are kept.
    pub fn sent(&mut self) -> Vec<voxpin_sip::msg::Message> {
        let mut out = Vec::new();
        while let Some(t) = self.endpoint.poll_transmit() {
            match voxpin_sip::msg::parse_datagram(&t.payload) {
                Ok(voxpin_sip::msg::Datagram::Message(m)) => out.push(m),
                other => panic!("endpoint sent something unparseable: {other:?}"),
            }
        }
        while let Some(e) = self.endpoint.poll_event() {
            self.events.push(e);
        }
        out
    }

    /// The requests among what the endpoint sent.
    pub fn sent_requests(&mut self) -> Vec<voxpin_sip::msg::Request> {
        self.sent()
            .into_iter()
            .filter_map(|m| match m {
                voxpin_sip::msg::Message::Request(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// The responses among what the endpoint sent.
    pub fn sent_responses(&mut self) -> Vec<voxpin_sip::msg::Response> {
        self.sent()
            .into_iter()
            .filter_map(|m| match m {
                voxpin_sip::msg::Message::Response(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// Delivers raw bytes from the scripted peer.
    pub fn deliver(&mut self, bytes: &[u8]) {
        self.endpoint
            .handle_datagram(self.now, Transport::Udp, self.peer, bytes);
    }

    /// Advances simulated time by `by`, firing due timers.
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(at) = self.endpoint.poll_timeout() {
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            self.endpoint.handle_timeout(self.now);
        }
        self.now = until;
    }

    /// Collects pending events.
    pub fn drain_events(&mut self) -> &[Event] {
        while let Some(e) = self.endpoint.poll_event() {
            self.events.push(e);
        }
        &self.events
    }
}

/// A response to `request` from the scripted peer, with `to_tag` added and
/// `headers` appended.
pub fn reply(
    request: &voxpin_sip::msg::Request,
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
    headers: &[(voxpin_sip::msg::HeaderName, &str)],
) -> Vec<u8> {
    use voxpin_sip::msg::{HeaderName, Response};
    let mut response = Response::for_request(request, status, reason);
    if let Some(tag) = to_tag {
        let mut to = response.headers.to().unwrap();
        to.set_tag(tag);
        response.headers.set(HeaderName::To, to.to_string());
    }
    for (name, value) in headers {
        response.headers.push(name.clone(), *value);
    }
    response.to_bytes()
}
