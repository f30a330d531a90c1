//! The [`Engine`]: one owner of the SIP endpoint, the media sessions and the
//! IVR flows, driven by `handle_*` inputs and drained with [`Engine::poll_output`].

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use voxpin_ivr::DialplanSet;
use voxpin_media::{Pacer, PromptLibrary};
use voxpin_otp::{OtpId, OtpStore};
use voxpin_sip::{CallId, Endpoint, Event, Transport};

use crate::call::{Call, Phase};
use crate::clock::WallClock;
use crate::config::EngineConfig;
use crate::io::{Command, Output, RtpTransmit};
use crate::ports::{PortPool, RtpPort};
use crate::record::CallRecord;
use crate::session::media_key;

/// How often expired OTPs are purged from the store.
const SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Running totals the driver exports as metrics (never a phone number).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineCounters {
    /// Requests dropped unanswered: source outside every inbound ACL.
    pub acl_dropped: u64,
    /// Callers with no live code who heard "invalid request".
    pub unknown_callers: u64,
    /// Digits received as RFC 4733 events.
    pub dtmf_rfc4733: u64,
    /// Digits received as in-band tones.
    pub dtmf_inband: u64,
    /// Digits received as SIP INFO.
    pub dtmf_info: u64,
}

/// The call engine. See the crate documentation for the drive loop.
pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) endpoint: Endpoint,
    pub(crate) store: Arc<dyn OtpStore>,
    pub(crate) dialplans: Arc<DialplanSet>,
    pub(crate) prompts: Arc<PromptLibrary>,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) clock: WallClock,
    pub(crate) now: Instant,
    pub(crate) calls: HashMap<CallId, Call>,
    pub(crate) by_port: HashMap<RtpPort, CallId>,
    pub(crate) by_otp: HashMap<OtpId, CallId>,
    pub(crate) ports: PortPool,
    pub(crate) pacer: Pacer,
    /// Dials waiting for a free call slot (FIFO).
    pub(crate) queue: VecDeque<OtpId>,
    /// Retries waiting for their time: (when, OTP).
    pub(crate) retries: BTreeSet<(Instant, OtpId)>,
    /// Attempts made per OTP with a retry pending or a call live (1 = first).
    pub(crate) attempts: HashMap<OtpId, u32>,
    /// Flow and media deadlines: (when, call).
    pub(crate) timers: BTreeSet<(Instant, CallId)>,
    /// Records waiting for an SMS result, with the time they give up waiting.
    pub(crate) pending_records: HashMap<OtpId, (Instant, CallRecord)>,
    pub(crate) outputs: VecDeque<Output>,
    pub(crate) draining: Option<Instant>,
    pub(crate) next_sweep: Instant,
    pub(crate) counters: EngineCounters,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("calls", &self.calls.len())
            .field("queued", &self.queue.len())
            .field("draining", &self.draining.is_some())
            .finish_non_exhaustive()
    }
}

/// What the engine is built from besides its config.
pub struct EngineParts {
    /// The OTP store shared with the API.
    pub store: Arc<dyn OtpStore>,
    /// The dialplans in force at start.
    pub dialplans: Arc<DialplanSet>,
    /// Every prompt of every language, encoded.
    pub prompts: Arc<PromptLibrary>,
}

impl std::fmt::Debug for EngineParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineParts").finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with no calls. `seed` seeds every random protocol value
    /// (tags, branches, SSRCs, record ids); codes come from the store's CSPRNG.
    pub fn new(
        config: EngineConfig,
        parts: EngineParts,
        seed: u64,
        now: Instant,
        wall: SystemTime,
    ) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let sip_rng = ChaCha20Rng::seed_from_u64(rng.next_u64());
        let endpoint = Endpoint::new(config.endpoint.clone(), Box::new(sip_rng), now);
        let ports = PortPool::new(config.rtp_port_min, config.rtp_port_max);
        let pacer = Pacer::with_phases(now, config.pacer_phases);
        Self {
            config,
            endpoint,
            store: parts.store,
            dialplans: parts.dialplans,
            prompts: parts.prompts,
            rng,
            clock: WallClock::new(now, wall),
            now,
            calls: HashMap::new(),
            by_port: HashMap::new(),
            by_otp: HashMap::new(),
            ports,
            pacer,
            queue: VecDeque::new(),
            retries: BTreeSet::new(),
            attempts: HashMap::new(),
            timers: BTreeSet::new(),
            pending_records: HashMap::new(),
            outputs: VecDeque::new(),
            draining: None,
            next_sweep: now + SWEEP_INTERVAL,
            counters: EngineCounters::default(),
        }
    }

    /// How many calls are live.
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// Live calls by direction: (outbound, inbound).
    pub fn active_calls_by_direction(&self) -> (usize, usize) {
        let outbound = self
            .calls
            .values()
            .filter(|c| c.direction == crate::record::Direction::Outbound)
            .count();
        (outbound, self.calls.len() - outbound)
    }

    /// Running totals for metrics.
    pub fn counters(&self) -> EngineCounters {
        self.counters
    }

    /// Send-slot lateness of every RTP packet produced so far (`now` as
    /// given to the last `handle_*` minus the packet's 20 ms slot).
    pub fn rtp_lateness(&self) -> &voxpin_media::LatenessHistogram {
        self.pacer.lateness()
    }

    /// Whether a drain was requested and every call has ended: the driver may exit.
    pub fn is_drained(&self) -> bool {
        self.draining.is_some() && self.calls.is_empty() && self.pending_records.is_empty()
    }

    /// The dialplans in force.
    pub fn dialplans(&self) -> &Arc<DialplanSet> {
        &self.dialplans
    }

    /// A SIP datagram (or a whole message framed off a TCP stream) arrived.
    ///
    /// Requests from sources outside every trunk's `inbound_acl` get no
    /// response at all, except in-dialog requests from a trunk's own address.
    pub fn handle_sip(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        bytes: &[u8],
    ) {
        self.now = now;
        if !self.admits(source, bytes) {
            self.counters.acl_dropped += 1;
            tracing::debug!(%source, "SIP request from a source outside every inbound ACL: dropped");
            return;
        }
        self.endpoint.handle_datagram(now, transport, source, bytes);
        self.process(now);
    }

    /// Sending SIP to `destination` over `transport` failed (connection
    /// refused or reset, ICMP unreachable): its transactions fail now.
    pub fn handle_sip_unreachable(
        &mut self,
        now: Instant,
        transport: Transport,
        destination: SocketAddr,
    ) {
        self.now = now;
        self.endpoint
            .handle_transport_error(now, transport, destination);
        self.process(now);
    }

    /// An RTP packet arrived on `port` (one of the ports the engine opened).
    pub fn handle_rtp(&mut self, now: Instant, port: RtpPort, source: SocketAddr, bytes: &[u8]) {
        self.now = now;
        let Some(&id) = self.by_port.get(&port) else {
            return;
        };
        let _ = id;
        let _ = self.pacer.handle_rtp(now, media_key(port), source, bytes);
        self.process(now);
    }

    /// Time passed: run every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.endpoint.handle_timeout(now);
        let due: Vec<CallId> = self
            .timers
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|&(_, id)| id)
            .collect();
        for id in due {
            self.flow_timeout(now, id);
        }
        if let Some(deadline) = self.draining {
            if now >= deadline {
                let live: Vec<CallId> = self.calls.keys().copied().collect();
                for id in live {
                    self.hangup(now, id);
                }
            }
        }
        let expired: Vec<OtpId> = self
            .pending_records
            .iter()
            .filter(|(_, (until, _))| *until <= now)
            .map(|(otp, _)| *otp)
            .collect();
        for otp in expired {
            if let Some((_, record)) = self.pending_records.remove(&otp) {
                self.outputs.push_back(Output::CallRecord(record));
            }
        }
        let due: Vec<(Instant, OtpId)> = self
            .retries
            .iter()
            .take_while(|(t, _)| *t <= now)
            .copied()
            .collect();
        for entry in due {
            self.retries.remove(&entry);
            self.dial(now, entry.1);
        }
        if now >= self.next_sweep {
            self.next_sweep = now + SWEEP_INTERVAL;
            self.sweep(now);
        }
        self.process(now);
    }

    /// A command from the API or the binary; `wall` is the wall-clock time at `now`.
    pub fn handle_command(&mut self, now: Instant, wall: SystemTime, command: Command) {
        self.now = now;
        self.clock.update(now, wall);
        match command {
            Command::Dial { otp } => self.dial(now, otp),
            Command::Hangup { otp } => {
                self.queue.retain(|queued| *queued != otp);
                self.retries.retain(|(_, o)| *o != otp);
                self.attempts.remove(&otp);
                if let Some(&id) = self.by_otp.get(&otp) {
                    self.hangup(now, id);
                }
            }
            Command::StatusChanged { otp, status } => self.status_callback(now, &otp, status, None),
            Command::ReloadDialplans(set) => {
                tracing::info!("dialplans reloaded: new calls use the new set");
                self.dialplans = set;
            }
            Command::Drain { deadline } => {
                tracing::info!(calls = self.calls.len(), "draining: new calls refused");
                self.draining = Some(deadline);
                self.retries.clear();
                let dropped: Vec<OtpId> = self.queue.drain(..).collect();
                for otp in dropped {
                    self.fail_undialled(now, &otp, "shutting down");
                }
            }
        }
        self.process(now);
    }

    /// The SMS for `otp` was sent (`sent`) or failed; `detail` describes it
    /// for the record (never the code).
    pub fn handle_sms_result(
        &mut self,
        now: Instant,
        wall: SystemTime,
        otp: &OtpId,
        sent: bool,
        detail: &str,
    ) {
        self.now = now;
        self.clock.update(now, wall);
        self.record_sms_result(now, otp, sent, detail);
        if let Some((_, mut record)) = self.pending_records.remove(otp) {
            record.sms_result = Some(if sent {
                "sent".into()
            } else {
                format!("failed: {detail}")
            });
            self.outputs.push_back(Output::CallRecord(record));
        }
        self.process(now);
    }

    /// The next thing to do. Drain after every `handle_*` until it returns
    /// [`Output::Timeout`].
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(out) = self.outputs.pop_front() {
            return Some(out);
        }
        if let Some(t) = self.endpoint.poll_transmit() {
            return Some(Output::SipTransmit(t));
        }
        if let Some(t) = self.pacer.poll_transmit(self.now) {
            let port = RtpPort(u16::try_from(t.key.0).unwrap_or_default());
            // Only due packets are handed out, so `now - lateness` is the slot.
            let deadline = self.now.checked_sub(t.lateness).unwrap_or(self.now);
            return Some(Output::RtpTransmit(RtpTransmit::new(
                port,
                t.destination,
                t.packet,
                deadline,
            )));
        }
        // Media events raised while sending (a prompt ended, a digit timed
        // out) drive flows, which may queue more output.
        if self.pacer_has_events() {
            self.process(self.now);
            return self.poll_output();
        }
        Some(Output::Timeout(self.next_timeout()))
    }

    fn next_timeout(&self) -> Instant {
        let mut next = self.next_sweep;
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = next.min(t);
            }
        };
        consider(self.endpoint.poll_timeout());
        consider(self.pacer.poll_timeout());
        consider(self.timers.first().map(|&(t, _)| t));
        consider(self.draining);
        consider(self.retries.first().map(|&(t, _)| t));
        consider(self.pending_records.values().map(|(t, _)| *t).min());
        next
    }

    /// Runs endpoint events and per-call work until nothing changes.
    pub(crate) fn process(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(event) = self.endpoint.poll_event() {
                progressed = true;
                self.handle_sip_event(now, event);
            }
            while let Some((key, event)) = self.pacer.poll_event() {
                progressed = true;
                self.media_event(now, key, event);
            }
            if !progressed {
                break;
            }
        }
        self.start_queued(now);
    }

    fn handle_sip_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::IncomingCall {
                call,
                source,
                transport: _,
                request_uri,
                from,
                to,
                sip_call_id,
                sdp_offer,
            } => self.incoming(
                now,
                call,
                source,
                &request_uri,
                &from,
                &to,
                sip_call_id,
                sdp_offer,
            ),
            Event::Provisional {
                call,
                status,
                sdp: _,
            } => self.provisional(now, call, status),
            Event::Answered { call, sdp_answer } => self.answered(now, call, sdp_answer),
            Event::Confirmed { call } => self.confirmed(now, call),
            Event::Dtmf {
                call,
                digit,
                duration: _,
            } => self.info_digit(now, call, digit),
            Event::Ended {
                call,
                cause,
                status,
                by,
            } => self.ended(now, call, cause, status, by),
            _ => {}
        }
    }

    /// Rebuilds a call's entry in the timer set after it changed.
    pub(crate) fn rearm(&mut self, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if let Some(old) = call.armed.take() {
            self.timers.remove(&(old, id));
        }
        if let Some(t) = call.poll_timeout() {
            call.armed = Some(t);
            self.timers.insert((t, id));
        }
    }

    /// Hangs up a live call (BYE, CANCEL or a final response, as its state needs).
    pub(crate) fn hangup(&mut self, now: Instant, id: CallId) {
        if let Some(call) = self.calls.get_mut(&id) {
            if call.phase != Phase::Ending {
                call.phase = Phase::Ending;
                call.hangup_local = true;
                self.endpoint.hangup(now, id);
            }
        }
    }

    fn pacer_has_events(&mut self) -> bool {
        match self.pacer.poll_event() {
            Some((key, event)) => {
                let now = self.now;
                self.media_event(now, key, event);
                true
            }
            None => false,
        }
    }

    pub(crate) fn wall(&self, now: Instant) -> SystemTime {
        self.clock.wall(now)
    }

    fn sweep(&mut self, now: Instant) {
        let wall = self.wall(now);
        if let Err(e) = self.store.purge_expired(wall) {
            tracing::warn!(error = %e, "expiry sweep failed");
        }
    }
}
