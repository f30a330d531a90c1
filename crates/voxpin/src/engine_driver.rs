//! The engine's IO loop: one tokio task owns the sans-IO [`Engine`] and feeds
//! it everything (SIP from the transport, RTP from per-call sockets, API
//! commands, SMS results, timeouts, signals), then performs its outputs.
//!
//! ```text
//!   SipTransport::recv ─┐
//!   RTP sockets ────────┤ (one channel, receive timestamps taken at recv)
//!   API commands ───────┼──▶ engine.handle_*(now, ..) ──▶ poll_output() until Timeout
//!   SMS results ────────┤        SipTransmit → transport   RtpTransmit → socket
//!   sleep_until(timeout)┤        Open/CloseRtpPort → bind / drop
//!   SIGTERM / SIGHUP ───┘        SendSms, StatusCallback → spawned senders
//!                                CallRecord → records file
//! ```
//!
//! SIGTERM drains: new calls get 503, live calls run until the drain deadline,
//! then the loop ends. SIGHUP reloads the dialplans; a bad set is refused
//! (logged) and the old one keeps serving.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use voxpin_engine::{CallRecord, Command, Engine, Output, RtpPort};
use voxpin_ivr::DialplanSet;
use voxpin_otp::OtpId;
use voxpin_sip::driver::{SipTransport, TransportEvent};
use zeroize::Zeroizing;

use crate::records::RecordWriter;
use crate::sms::{SmsMessage, SmsSender};
use crate::webhook::{StatusEvent, WebhookSender};

/// Commands waiting for the engine loop before senders see back-pressure.
const COMMAND_QUEUE: usize = 4096;
/// RTP datagrams waiting for the engine loop.
const RTP_QUEUE: usize = 16_384;

/// A cheap, cloneable way to reach the engine loop (the API's dialer).
#[derive(Debug, Clone)]
pub struct EngineHandle {
    commands: mpsc::Sender<Command>,
    /// Cleared when the engine starts draining, so the API refuses new OTPs
    /// (503) instead of storing ones that could never be called.
    accepting: Arc<AtomicBool>,
}

impl EngineHandle {
    /// A handle and the receiver the loop reads.
    pub fn channel() -> (Self, mpsc::Receiver<Command>) {
        let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
        let accepting = Arc::new(AtomicBool::new(true));
        (
            Self {
                commands,
                accepting,
            },
            rx,
        )
    }

    /// The flag the loop clears when it starts draining (give it to [`Driver`]).
    pub fn accepting(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.accepting)
    }

    /// Asks the engine to call the phone of `otp` (already in the store).
    pub async fn dial(&self, otp: OtpId) -> bool {
        self.commands.send(Command::Dial { otp }).await.is_ok()
    }

    /// Asks the engine to stop delivering `otp` (hangs up its live call).
    pub async fn hangup(&self, otp: OtpId) -> bool {
        self.commands.send(Command::Hangup { otp }).await.is_ok()
    }

    /// Sends any command; `false` when the engine loop has ended.
    pub fn try_command(&self, command: Command) -> bool {
        self.commands.try_send(command).is_ok()
    }
}

/// Loads the dialplan set from disk (SIGHUP calls it again).
pub type DialplanLoader = Box<dyn Fn() -> anyhow::Result<DialplanSet> + Send>;

/// Everything the loop drives besides the engine.
pub struct Driver {
    /// The SIP sockets.
    pub transport: SipTransport,
    /// The address RTP sockets bind to.
    pub rtp_address: IpAddr,
    /// API commands.
    pub commands: mpsc::Receiver<Command>,
    /// SMS after calls.
    pub sms: SmsSender,
    /// Status callbacks.
    pub webhooks: WebhookSender,
    /// The call-record file.
    pub records: Arc<RecordWriter>,
    /// Re-reads the dialplans on SIGHUP.
    pub reload: DialplanLoader,
    /// The API's view of the dialplans, updated on reload.
    pub catalogue: Arc<DialplanCatalogue>,
    /// How long live calls may run after SIGTERM.
    pub drain_deadline: Duration,
    /// Shared with the API's [`EngineHandle`]: cleared at drain.
    pub accepting: Arc<AtomicBool>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("rtp_address", &self.rtp_address)
            .finish_non_exhaustive()
    }
}

/// A datagram from one of the RTP sockets, stamped at receive.
struct RtpIn {
    port: RtpPort,
    at: Instant,
    source: SocketAddr,
    bytes: Vec<u8>,
}

/// An open RTP port: its socket and its receive task.
struct RtpSocket {
    socket: Arc<UdpSocket>,
    task: JoinHandle<()>,
}

/// Runs the engine until SIGTERM's drain completes.
pub async fn run(mut engine: Engine, mut driver: Driver) -> anyhow::Result<()> {
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let (rtp_tx, mut rtp_rx) = mpsc::channel::<RtpIn>(RTP_QUEUE);
    let (sms_tx, mut sms_rx) = mpsc::channel::<(OtpId, bool, String)>(1024);
    let mut rtp: HashMap<RtpPort, RtpSocket> = HashMap::new();
    let mut commands_open = true;
    let mut last_export = Instant::now();
    loop {
        let timeout = drain_outputs(&mut engine, &mut driver, &mut rtp, &rtp_tx, &sms_tx).await;
        let now = Instant::now();
        if now.saturating_duration_since(last_export) >= crate::metrics::LATENESS_PUBLISH_INTERVAL {
            last_export = now;
            export_gauges(&engine);
            crate::metrics::publish_lateness(engine.rtp_lateness());
        }
        if engine.is_drained() {
            tracing::info!("drained: every call has ended");
            break;
        }
        tokio::select! {
            received = driver.transport.next_event() => match received {
                Ok(TransportEvent::Message { transport, source, bytes }) => {
                    engine.handle_sip(Instant::now(), transport, source, &bytes);
                }
                // An outbound TCP connect failed: end the calls waiting on it now,
                // rather than at Timer B.
                Ok(TransportEvent::Unreachable { transport, destination }) => {
                    tracing::warn!(%destination, "SIP peer unreachable");
                    engine.handle_sip_unreachable(Instant::now(), transport, destination);
                }
                Err(e) => {
                    tracing::error!(error = %e, "SIP transport failed");
                    return Err(e.into());
                }
            },
            Some(packet) = rtp_rx.recv() => {
                engine.handle_rtp(packet.at, packet.port, packet.source, &packet.bytes);
                let mut received = 1u64;
                // Take what else is queued before producing output again.
                while let Ok(p) = rtp_rx.try_recv() {
                    engine.handle_rtp(p.at, p.port, p.source, &p.bytes);
                    received += 1;
                }
                metrics::counter!(crate::metrics::RTP_PACKETS_RECEIVED_TOTAL).increment(received);
            }
            command = driver.commands.recv(), if commands_open => match command {
                Some(c) => engine.handle_command(Instant::now(), SystemTime::now(), c),
                None => commands_open = false,
            },
            Some((otp, sent, detail)) = sms_rx.recv() => {
                engine.handle_sms_result(Instant::now(), SystemTime::now(), &otp, sent, &detail);
            }
            _ = tokio::time::sleep_until(timeout.into()) => engine.handle_timeout(Instant::now()),
            _ = sigterm.recv() => drain(&mut engine, &driver, "SIGTERM"),
            _ = sigint.recv() => drain(&mut engine, &driver, "SIGINT"),
            _ = sighup.recv() => match (driver.reload)() {
                Ok(set) => {
                    tracing::info!(applications = set.len(), "SIGHUP: dialplans reloaded");
                    let set = Arc::new(set);
                    driver.catalogue.replace(Arc::clone(&set));
                    engine.handle_command(Instant::now(), SystemTime::now(), Command::ReloadDialplans(set));
                }
                Err(e) => tracing::error!(error = %format!("{e:#}"), "SIGHUP: dialplans refused; the previous set keeps serving"),
            },
        }
    }
    for (_, s) in rtp.drain() {
        s.task.abort();
    }
    Ok(())
}

fn drain(engine: &mut Engine, driver: &Driver, signal: &str) {
    driver.accepting.store(false, Ordering::SeqCst);
    let within = driver.drain_deadline;
    let now = Instant::now();
    tracing::info!(
        signal,
        calls = engine.active_calls(),
        deadline_s = within.as_secs(),
        "draining: new calls get 503"
    );
    engine.handle_command(
        now,
        SystemTime::now(),
        Command::Drain {
            deadline: now + within,
        },
    );
}

/// Performs every output until the engine names its next timeout.
async fn drain_outputs(
    engine: &mut Engine,
    driver: &mut Driver,
    rtp: &mut HashMap<RtpPort, RtpSocket>,
    rtp_tx: &mpsc::Sender<RtpIn>,
    sms_tx: &mpsc::Sender<(OtpId, bool, String)>,
) -> Instant {
    loop {
        let Some(output) = engine.poll_output() else {
            return Instant::now() + Duration::from_secs(1);
        };
        match output {
            Output::Timeout(t) => return t,
            Output::SipTransmit(t) => {
                let (transport, destination) = (t.transport, t.destination);
                if let Err(e) = driver.transport.send(t).await {
                    tracing::warn!(error = %e, %destination, "SIP send failed");
                    engine.handle_sip_unreachable(Instant::now(), transport, destination);
                }
            }
            Output::RtpTransmit(p) => {
                if let Some(s) = rtp.get(&p.port) {
                    // Never wait on a full socket buffer: a late packet is a lost one.
                    if s.socket.try_send_to(p.payload(), p.destination).is_ok() {
                        metrics::counter!(crate::metrics::RTP_PACKETS_SENT_TOTAL).increment(1);
                    } else {
                        metrics::counter!(crate::metrics::RTP_PACKETS_DROPPED_TOTAL, "reason" => "late").increment(1);
                    }
                }
            }
            Output::OpenRtpPort(port) => match open_rtp(driver.rtp_address, port, rtp_tx.clone()) {
                Ok(s) => {
                    rtp.insert(port, s);
                }
                Err(e) => tracing::error!(%port, error = %e, "cannot bind RTP port"),
            },
            Output::CloseRtpPort(port) => {
                if let Some(s) = rtp.remove(&port) {
                    s.task.abort();
                }
            }
            Output::SendSms(request) => {
                let sender = driver.sms.clone();
                let results = sms_tx.clone();
                tokio::spawn(async move {
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
                    let _ = results.send((request.otp, result.sent, detail)).await;
                });
            }
            Output::StatusCallback(cb) => {
                let sender = driver.webhooks.clone();
                tokio::spawn(async move {
                    let event =
                        StatusEvent::new(voxpin_engine::record::wall_to_datetime(cb.at), cb.body);
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
            Output::CallRecord(record) => {
                count_call(&record);
                if let Err(e) = driver.records.write(&record) {
                    tracing::error!(error = %e, "call record not written");
                }
            }
            _ => {}
        }
    }
}

/// Binds one RTP port and starts its receive task.
fn open_rtp(address: IpAddr, port: RtpPort, tx: mpsc::Sender<RtpIn>) -> std::io::Result<RtpSocket> {
    let std_socket = std::net::UdpSocket::bind((address, port.0))?;
    std_socket.set_nonblocking(true)?;
    let socket = Arc::new(UdpSocket::from_std(std_socket)?);
    let rx = Arc::clone(&socket);
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            match rx.recv_from(&mut buf).await {
                Ok((n, source)) => {
                    let at = Instant::now();
                    let bytes = buf.get(..n).unwrap_or_default().to_vec();
                    if tx
                        .try_send(RtpIn {
                            port,
                            at,
                            source,
                            bytes,
                        })
                        .is_err()
                    {
                        metrics::counter!(crate::metrics::RTP_PACKETS_DROPPED_TOTAL).increment(1);
                    }
                }
                // ICMP port-unreachable from an earlier send: not fatal.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                Err(_) => break,
            }
        }
    });
    Ok(RtpSocket { socket, task })
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

/// Gauges and the engine's running totals.
fn export_gauges(engine: &Engine) {
    let (outbound, inbound) = engine.active_calls_by_direction();
    crate::metrics::active_calls("outbound", outbound);
    crate::metrics::active_calls("inbound", inbound);
    let c = engine.counters();
    metrics::counter!(crate::metrics::REJECTED_CALLERS_TOTAL, "reason" => "acl")
        .absolute(c.acl_dropped);
    metrics::counter!(crate::metrics::REJECTED_CALLERS_TOTAL, "reason" => "no_otp")
        .absolute(c.unknown_callers);
    metrics::counter!(crate::metrics::DTMF_DIGITS_TOTAL, "method" => "rfc4733")
        .absolute(c.dtmf_rfc4733);
    metrics::counter!(crate::metrics::DTMF_DIGITS_TOTAL, "method" => "inband")
        .absolute(c.dtmf_inband);
    metrics::counter!(crate::metrics::DTMF_DIGITS_TOTAL, "method" => "info").absolute(c.dtmf_info);
}

impl voxpin_api::Dialer for EngineHandle {
    fn dial(&self, id: OtpId) {
        if !self.try_command(Command::Dial { otp: id }) {
            tracing::error!(otp = %id, "engine queue full or stopped: call not placed");
        }
    }

    fn hang_up(&self, id: OtpId) {
        if !self.try_command(Command::Hangup { otp: id }) {
            tracing::error!(otp = %id, "engine queue full or stopped: hang-up not sent");
        }
    }

    fn status_changed(&self, id: OtpId, status: voxpin_otp::Status) {
        let _ = self.try_command(Command::StatusChanged { otp: id, status });
    }

    fn is_accepting(&self) -> bool {
        self.accepting.load(Ordering::SeqCst) && !self.commands.is_closed()
    }
}

/// The API's view of the dialplans, swapped on reload.
#[derive(Debug)]
pub struct DialplanCatalogue {
    set: std::sync::RwLock<Arc<DialplanSet>>,
}

impl DialplanCatalogue {
    /// A catalogue over `set`.
    pub fn new(set: Arc<DialplanSet>) -> Self {
        Self {
            set: std::sync::RwLock::new(set),
        }
    }

    /// Serves `set` from now on.
    pub fn replace(&self, set: Arc<DialplanSet>) {
        match self.set.write() {
            Ok(mut guard) => *guard = set,
            Err(poisoned) => *poisoned.into_inner() = set,
        }
    }

    fn current(&self) -> Arc<DialplanSet> {
        match self.set.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

impl voxpin_api::Catalogue for DialplanCatalogue {
    fn application(&self, name: &voxpin_otp::Application) -> Option<voxpin_api::ApplicationSpec> {
        let set = self.current();
        let plan = set.by_name(name.as_str())?;
        if !plan.enabled() {
            return None;
        }
        Some(application_spec(plan))
    }
}

/// What the API needs to know of one dialplan.
pub fn application_spec(plan: &voxpin_ivr::Dialplan) -> voxpin_api::ApplicationSpec {
    use voxpin_api::{ApplicationSpec, CodeRule};
    use voxpin_otp::{CodeLength, Limits, Mode, Policy, RateLimit};
    let length = CodeLength::new(plan.code_length()).unwrap_or(CodeLength::DEFAULT);
    let code = match plan.code() {
        voxpin_ivr::CodeSource::Auto => CodeRule::Auto(length),
        voxpin_ivr::CodeSource::Manual => CodeRule::Manual(Some(length)),
    };
    let mode = match plan.mode() {
        voxpin_ivr::Mode::Read => Mode::Read,
        voxpin_ivr::Mode::Input => Mode::Input,
    };
    let verify = plan.verify();
    let policy = Policy {
        ttl: plan.ttl(),
        max_attempts: plan.attempts(),
        repeats: plan.repeats(),
        verify_interval: verify
            .rate
            .map(|r| r.per / r.count.max(1))
            // No `[verify] rate`: only the attempts limit applies.
            .unwrap_or(std::time::Duration::ZERO),
        reusable: verify.allow_repeat,
    };
    let l = plan.limits();
    let rate = |r: Option<voxpin_ivr::Rate>| {
        r.map(|r| RateLimit {
            count: r.count,
            window: r.per,
        })
    };
    let limits = Limits {
        per_number: rate(l.per_number),
        per_application: rate(l.per_application),
        max_concurrent_calls: l.concurrent_calls,
        replace_previous: l.replace_previous,
    };
    ApplicationSpec::new(mode, code)
        .with_policy(policy)
        .with_limits(limits)
        .with_languages(&[plan.language()])
        .with_sms_after_call(plan.sms().enabled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxpin_api::Dialer;

    #[test]
    fn the_api_stops_accepting_when_draining_or_when_the_loop_is_gone() {
        let (handle, rx) = EngineHandle::channel();
        assert!(handle.is_accepting());
        let flag = handle.accepting();
        flag.store(false, Ordering::SeqCst); // what `drain` does
        assert!(!handle.is_accepting());
        flag.store(true, Ordering::SeqCst);
        assert!(handle.is_accepting());
        drop(rx); // the engine loop has ended
        assert!(!handle.is_accepting());
    }
}
