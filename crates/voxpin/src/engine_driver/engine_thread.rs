//! The engine thread: one OS thread owns the sans-IO [`Engine`], every RTP
//! socket, the SIP UDP socket and the pacing clock.
//!
//! Each turn it performs the engine's outputs (RTP packets and SIP over UDP
//! straight to their sockets, SIP over TCP to the transport task, SMS and
//! callbacks spawned on the runtime), then waits for the next deadline or for
//! input:
//!
//! - far from the deadline (≥ 2 ms) it blocks in `epoll` on the RTP sockets,
//!   the SIP UDP socket and the waker that the API and the TCP task ring;
//! - near it, it checks for input without blocking and then sleeps to the
//!   exact deadline (`epoll` timeouts are whole milliseconds; `nanosleep` is
//!   not), so a pacing tick starts within the kernel's wake-up latency.
//!
//! Lateness is measured per packet at the moment it is handed to the kernel
//! (`now − slot`), so a tick's last packet counts as late as it really is.
//! Counters are plain integers published once a second: nothing on the
//! per-packet path locks or allocates.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};
use tokio::sync::mpsc::UnboundedSender;
use voxpin_engine::{CallRecord, Command, Engine, Output, RtpPort, RtpTransmit};
use voxpin_media::LatenessHistogram;
use voxpin_otp::OtpId;
use voxpin_sip::driver::TransportEvent;
use voxpin_sip::{Transmit, Transport};
use zeroize::Zeroizing;

use crate::records::RecordWriter;
use crate::sms::{SmsMessage, SmsSender};
use crate::webhook::{StatusEvent, WebhookSender};

/// The waker's token; RTP sockets use their port number.
pub(super) const WAKER: Token = Token(usize::MAX);

/// The SIP UDP socket's token.
const SIP_UDP: Token = Token(usize::MAX - 1);

/// The largest datagram read (SIP over UDP fits in one IP datagram).
const DATAGRAM_MAX: usize = 65_536;

/// Below this distance to the deadline the thread stops blocking in `epoll`
/// (millisecond timeouts) and sleeps precisely instead.
const FINE_WAIT: Duration = Duration::from_millis(2);

/// Datagrams read from one socket per turn, so a flood on one call cannot
/// starve the others; the rest is read on the next turn.
const READS_PER_TURN: usize = 64;

/// What the async side (SIP over TCP, signals, SMS senders) tells the
/// engine thread. Sent through [`Notifier`].
#[derive(Debug)]
pub(super) enum Event {
    /// A SIP message over TCP or an unreachable TCP destination.
    Sip(TransportEvent),
    /// A SIP message could not be sent.
    SipSendFailed {
        /// Over which transport.
        transport: voxpin_sip::Transport,
        /// To where.
        destination: SocketAddr,
    },
    /// The SIP transport failed for good.
    TransportFailed(io::Error),
    /// An SMS was sent (`true`) or failed; the detail names no code.
    Sms(OtpId, bool, String),
    /// SIGTERM or SIGINT: refuse new calls, end live ones by the deadline.
    Drain(&'static str),
    /// SIGHUP produced a new dialplan set (already validated).
    Reload(Arc<voxpin_ivr::DialplanSet>),
}

/// Sends [`Event`]s to the engine thread and wakes it.
#[derive(Debug, Clone)]
pub(super) struct Notifier {
    pub(super) events: Sender<Event>,
    pub(super) waker: Arc<Waker>,
}

impl Notifier {
    /// `false` when the engine thread has ended.
    pub(super) fn send(&self, event: Event) -> bool {
        let sent = self.events.send(event).is_ok();
        if sent {
            let _ = self.waker.wake();
        }
        sent
    }
}

/// Everything the engine thread owns.
pub(super) struct EngineThread {
    pub(super) engine: Engine,
    pub(super) poll: Poll,
    pub(super) commands: Receiver<Command>,
    pub(super) events: Receiver<Event>,
    pub(super) notifier: Notifier,
    /// SIP over UDP: read and written on this thread.
    pub(super) sip_udp: UdpSocket,
    /// SIP over TCP: sent by the transport task.
    pub(super) sip_out: UnboundedSender<Transmit>,
    pub(super) runtime: tokio::runtime::Handle,
    pub(super) rtp_address: IpAddr,
    pub(super) sms: SmsSender,
    pub(super) webhooks: WebhookSender,
    pub(super) records: Arc<RecordWriter>,
    pub(super) drain_deadline: Duration,
    pub(super) accepting: Arc<AtomicBool>,
}

/// Running totals, published as absolute counters.
#[derive(Debug, Default)]
struct Totals {
    sent: u64,
    send_failed: u64,
    received: u64,
    /// SIP datagrams the kernel refused for lack of buffer (retransmission
    /// recovers them, as it does losses on the wire).
    sip_dropped: u64,
}

/// The RTP sockets by port, with the ports whose reads were cut short.
#[derive(Default)]
struct Sockets {
    by_port: HashMap<RtpPort, UdpSocket>,
    backlog: Vec<RtpPort>,
    /// The SIP socket's reads were cut short.
    sip_backlog: bool,
}

impl EngineThread {
    /// Runs until the engine has drained (or the SIP transport failed).
    pub(super) fn run(mut self) -> anyhow::Result<()> {
        self.poll
            .registry()
            .register(&mut self.sip_udp, SIP_UDP, Interest::READABLE)?;
        let mut events = Events::with_capacity(1024);
        let mut sockets = Sockets::default();
        let mut totals = Totals::default();
        let mut lateness = LatenessHistogram::new();
        let mut buf = vec![0u8; DATAGRAM_MAX];
        let mut last_export = Instant::now();
        let mut commands_open = true;
        let mut backlog = Vec::new();
        loop {
            let deadline = self.perform_outputs(&mut sockets, &mut totals, &mut lateness);
            let now = Instant::now();
            if now.saturating_duration_since(last_export)
                >= crate::metrics::LATENESS_PUBLISH_INTERVAL
            {
                last_export = now;
                export(&self.engine, &totals, &lateness);
            }
            if self.engine.is_drained() {
                tracing::info!("drained: every call has ended");
                export(&self.engine, &totals, &lateness);
                return Ok(());
            }
            wait(
                &mut self.poll,
                &mut events,
                deadline,
                !sockets.backlog.is_empty() || sockets.sip_backlog,
            );
            // Input first, each stamped as it is read.
            std::mem::swap(&mut backlog, &mut sockets.backlog);
            for port in backlog.drain(..) {
                self.read_rtp(&mut sockets, port, &mut buf, &mut totals);
            }
            let mut sip_ready = std::mem::take(&mut sockets.sip_backlog);
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    SIP_UDP => sip_ready = true,
                    token => {
                        let port = RtpPort(u16::try_from(token.0).unwrap_or_default());
                        self.read_rtp(&mut sockets, port, &mut buf, &mut totals);
                    }
                }
            }
            if sip_ready {
                sockets.sip_backlog = self.read_sip(&mut buf);
            }
            if commands_open {
                commands_open = self.take_commands();
            }
            self.take_events()?;
            let now = Instant::now();
            if now >= deadline {
                self.engine.handle_timeout(now);
            }
        }
    }

    /// Reads what `port` has (up to [`READS_PER_TURN`]).
    fn read_rtp(
        &mut self,
        sockets: &mut Sockets,
        port: RtpPort,
        buf: &mut [u8],
        totals: &mut Totals,
    ) {
        let Some(socket) = sockets.by_port.get(&port) else {
            return;
        };
        let engine = &mut self.engine;
        let more = receive(socket, buf, "RTP", |source, bytes| {
            totals.received += 1;
            engine.handle_rtp(Instant::now(), port, source, bytes);
        });
        if more {
            // Edge-triggered readiness: come back to what is left.
            sockets.backlog.push(port);
        }
    }

    /// Reads what the SIP UDP socket has (up to [`READS_PER_TURN`]);
    /// `true` when more may be waiting.
    fn read_sip(&mut self, buf: &mut [u8]) -> bool {
        let engine = &mut self.engine;
        receive(&self.sip_udp, buf, "SIP", |source, bytes| {
            engine.handle_sip(Instant::now(), Transport::Udp, source, bytes);
        })
    }

    /// Sends one SIP message: over UDP from this thread, over TCP through
    /// the transport task.
    fn send_sip(&mut self, transmit: Transmit, totals: &mut Totals) {
        if transmit.transport != Transport::Udp {
            // The transport task is gone only when the process is ending.
            let _ = self.sip_out.send(transmit);
            return;
        }
        match self
            .sip_udp
            .send_to(&transmit.payload, transmit.destination)
        {
            Ok(_) => {}
            // A full socket buffer loses the datagram as the wire might:
            // the transaction's retransmissions recover it.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => totals.sip_dropped += 1,
            Err(e) => {
                let destination = transmit.destination;
                tracing::warn!(error = %e, %destination, "SIP send failed");
                self.engine
                    .handle_sip_unreachable(Instant::now(), Transport::Udp, destination);
            }
        }
    }

    /// API commands; `false` once every sender is gone.
    fn take_commands(&mut self) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(c) => self
                    .engine
                    .handle_command(Instant::now(), SystemTime::now(), c),
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
    }

    /// SIP, SMS results and signals.
    fn take_events(&mut self) -> anyhow::Result<()> {
        while let Ok(event) = self.events.try_recv() {
            let now = Instant::now();
            match event {
                Event::Sip(TransportEvent::Message {
                    transport,
                    source,
                    bytes,
                }) => self.engine.handle_sip(now, transport, source, &bytes),
                // An outbound TCP connect failed: end the calls waiting on it
                // now, rather than at Timer B.
                Event::Sip(TransportEvent::Unreachable {
                    transport,
                    destination,
                }) => {
                    tracing::warn!(%destination, "SIP peer unreachable");
                    self.engine
                        .handle_sip_unreachable(now, transport, destination);
                }
                Event::SipSendFailed {
                    transport,
                    destination,
                } => self
                    .engine
                    .handle_sip_unreachable(now, transport, destination),
                Event::TransportFailed(e) => {
                    tracing::error!(error = %e, "SIP transport failed");
                    return Err(e.into());
                }
                Event::Sms(otp, sent, detail) => {
                    self.engine
                        .handle_sms_result(now, SystemTime::now(), &otp, sent, &detail);
                }
                Event::Drain(signal) => self.drain(signal),
                Event::Reload(set) => {
                    self.engine.handle_command(
                        now,
                        SystemTime::now(),
                        Command::ReloadDialplans(set),
                    );
                }
            }
        }
        Ok(())
    }

    fn drain(&mut self, signal: &str) {
        self.accepting.store(false, Ordering::SeqCst);
        let within = self.drain_deadline;
        let now = Instant::now();
        tracing::info!(
            signal,
            calls = self.engine.active_calls(),
            deadline_s = within.as_secs(),
            "draining: new calls get 503"
        );
        self.engine.handle_command(
            now,
            SystemTime::now(),
            Command::Drain {
                deadline: now + within,
            },
        );
    }

    /// Performs every output until the engine names its next timeout.
    fn perform_outputs(
        &mut self,
        sockets: &mut Sockets,
        totals: &mut Totals,
        lateness: &mut LatenessHistogram,
    ) -> Instant {
        loop {
            let Some(output) = self.engine.poll_output() else {
                return Instant::now() + Duration::from_secs(1);
            };
            match output {
                Output::Timeout(t) => return t,
                Output::RtpTransmit(p) => send_rtp(sockets, &p, totals, lateness),
                Output::SipTransmit(t) => self.send_sip(t, totals),
                Output::OpenRtpPort(port) => {
                    if let Err(e) = self.open_rtp(sockets, port) {
                        tracing::error!(%port, error = %e, "cannot bind RTP port");
                    }
                }
                Output::CloseRtpPort(port) => {
                    if let Some(mut socket) = sockets.by_port.remove(&port) {
                        let _ = self.poll.registry().deregister(&mut socket);
                    }
                }
                Output::SendSms(request) => self.send_sms(request),
                Output::StatusCallback(cb) => self.status_callback(cb),
                Output::CallRecord(record) => {
                    count_call(&record);
                    if let Err(e) = self.records.write(&record) {
                        tracing::error!(error = %e, "call record not written");
                    }
                }
                _ => {}
            }
        }
    }

    fn open_rtp(&self, sockets: &mut Sockets, port: RtpPort) -> io::Result<()> {
        let std_socket = std::net::UdpSocket::bind((self.rtp_address, port.0))?;
        std_socket.set_nonblocking(true)?;
        let mut socket = UdpSocket::from_std(std_socket);
        self.poll.registry().register(
            &mut socket,
            Token(usize::from(port.0)),
            Interest::READABLE,
        )?;
        sockets.by_port.insert(port, socket);
        Ok(())
    }

    fn send_sms(&self, request: voxpin_engine::SmsRequest) {
        let sender = self.sms.clone();
        let results = self.notifier.clone();
        self.runtime.spawn(async move {
            let message = SmsMessage {
                to: request.to.clone(),
                code: Zeroizing::new(request.code.as_str().to_owned()),
                template: request.template.clone(),
            };
            let result = sender.send(&message).await;
            crate::metrics::sms_result(if result.sent { "sent" } else { "failed" });
            let detail = result
                .error
                .clone()
                .unwrap_or_else(|| result.driver.to_owned());
            results.send(Event::Sms(request.otp, result.sent, detail));
        });
    }

    fn status_callback(&self, cb: voxpin_engine::StatusCallback) {
        let sender = self.webhooks.clone();
        self.runtime.spawn(async move {
            let event = StatusEvent::new(voxpin_engine::record::wall_to_datetime(cb.at), cb.body);
            let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
            let outcome = sender.deliver(&cb.url, &id, &event).await;
            match outcome {
                crate::webhook::DeliveryOutcome::Delivered { .. } => {
                    crate::metrics::webhook_result("delivered")
                }
                crate::webhook::DeliveryOutcome::Failed { .. } => {
                    crate::metrics::webhook_result("failed")
                }
                _ => {}
            }
            tracing::debug!(otp = %cb.otp, status = %cb.status, ?outcome, "status callback");
        });
    }
}

/// Reads up to [`READS_PER_TURN`] datagrams from `socket` into `buf`, handing
/// each to `each`, so a flood on one socket cannot starve the others; `true`
/// when more may be waiting. ICMP errors reported for earlier sends are not
/// fatal to the socket; any other error ends this turn's reads.
fn receive(
    socket: &UdpSocket,
    buf: &mut [u8],
    what: &str,
    mut each: impl FnMut(SocketAddr, &[u8]),
) -> bool {
    for _ in 0..READS_PER_TURN {
        match socket.recv_from(buf) {
            Ok((n, source)) => each(source, buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                let local = socket.local_addr().ok();
                tracing::warn!(protocol = what, ?local, error = %e, "UDP receive failed");
                return false;
            }
        }
    }
    true
}

/// Hands one packet to the kernel, never waiting on a full socket buffer
/// (a late packet is a lost one), and records how late it left.
fn send_rtp(
    sockets: &Sockets,
    packet: &RtpTransmit,
    totals: &mut Totals,
    lateness: &mut LatenessHistogram,
) {
    let Some(socket) = sockets.by_port.get(&packet.port) else {
        return;
    };
    let now = Instant::now();
    match socket.send_to(packet.payload(), packet.destination) {
        Ok(_) => {
            totals.sent += 1;
            lateness.record(now.saturating_duration_since(packet.deadline));
        }
        Err(_) => totals.send_failed += 1,
    }
}

/// Blocks until `deadline` or until input arrives, whichever is first.
/// With `backlog`, only checks for input (there is more to read already).
fn wait(poll: &mut Poll, events: &mut Events, deadline: Instant, backlog: bool) {
    let check = |poll: &mut Poll, events: &mut Events, timeout: Duration| {
        if let Err(e) = poll.poll(events, Some(timeout)) {
            if e.kind() != io::ErrorKind::Interrupted {
                tracing::error!(error = %e, "epoll failed");
            }
            events.clear();
        }
    };
    if backlog {
        check(poll, events, Duration::ZERO);
        return;
    }
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            check(poll, events, Duration::ZERO);
            return;
        }
        if remaining >= FINE_WAIT {
            // `epoll` rounds up to whole milliseconds: stop a millisecond
            // short and finish with a precise sleep.
            check(poll, events, remaining - Duration::from_millis(1));
            if !events.is_empty() {
                return;
            }
            continue;
        }
        // Input that arrives meanwhile waits at most this sleep (< 2 ms;
        // one pacing tick while calls stream). Absolute: the wake-up is tied
        // to the deadline, not to when this line ran.
        voxpin_media::driver::sleep_until(deadline);
        check(poll, events, Duration::ZERO);
        return;
    }
}

/// Publishes the running totals, the gauges and the lateness histogram.
fn export(engine: &Engine, totals: &Totals, lateness: &LatenessHistogram) {
    use crate::metrics as m;
    metrics::counter!(m::RTP_PACKETS_SENT_TOTAL).absolute(totals.sent);
    metrics::counter!(m::RTP_PACKETS_RECEIVED_TOTAL).absolute(totals.received);
    metrics::counter!(m::RTP_PACKETS_DROPPED_TOTAL, "reason" => "send_failed")
        .absolute(totals.send_failed);
    metrics::counter!(m::SIP_DATAGRAMS_DROPPED_TOTAL).absolute(totals.sip_dropped);
    m::publish_lateness(lateness);
    let (outbound, inbound) = engine.active_calls_by_direction();
    m::active_calls("outbound", outbound);
    m::active_calls("inbound", inbound);
    let c = engine.counters();
    metrics::counter!(m::REJECTED_CALLERS_TOTAL, "reason" => "acl").absolute(c.acl_dropped);
    metrics::counter!(m::REJECTED_CALLERS_TOTAL, "reason" => "no_otp").absolute(c.unknown_callers);
    metrics::counter!(m::DTMF_DIGITS_TOTAL, "method" => "rfc4733").absolute(c.dtmf_rfc4733);
    metrics::counter!(m::DTMF_DIGITS_TOTAL, "method" => "inband").absolute(c.dtmf_inband);
    metrics::counter!(m::DTMF_DIGITS_TOTAL, "method" => "info").absolute(c.dtmf_info);
}

fn count_call(record: &CallRecord) {
    let direction = match record.direction {
        voxpin_engine::Direction::Outbound => "outbound",
        voxpin_engine::Direction::Inbound => "inbound",
    };
    let result = match record.disposition {
        voxpin_engine::Disposition::Answered => "answered",
        voxpin_engine::Disposition::NoAnswer => "no_answer",
        voxpin_engine::Disposition::Busy => "busy",
        voxpin_engine::Disposition::Failed => "failed",
        voxpin_engine::Disposition::Congestion => "congestion",
    };
    metrics::counter!(crate::metrics::CALLS_TOTAL, "direction" => direction, "result" => result)
        .increment(1);
    if let Some(answer) = record.answer {
        let setup = (answer - record.start).as_seconds_f64().max(0.0);
        metrics::histogram!(crate::metrics::CALL_SETUP_SECONDS, "direction" => direction)
            .record(setup);
    }
}
