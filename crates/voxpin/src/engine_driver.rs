//! The engine's IO: a dedicated thread owns the sans-IO [`Engine`], the RTP
//! sockets, the SIP UDP socket and the pacing clock; the tokio runtime keeps
//! the HTTP API, SIP over TCP, signals and the SMS and webhook senders.
//!
//! ```text
//!   tokio runtime                              engine thread ("voxpin-engine")
//!   ─────────────                              ───────────────────────────────
//!   API ── Command ─────────────(bounded)──┐   SIP UDP socket (epoll, same thread)
//!   SipTransport::next_event (TCP) ─ Event ┼─▶ engine.handle_*(now, ..)
//!   SMS results, SIGTERM/SIGHUP ─ Event ───┘   poll_output() until Timeout:
//!                                                RtpTransmit  → RTP socket (same thread)
//!                                                SipTransmit  → UDP: SIP socket (same thread)
//!   SipTransport::send (TCP) ◀── Transmit ──────  SipTransmit over TCP
//!   spawned SMS / webhook tasks ◀───────────────  SendSms, StatusCallback
//!                                                CallRecord   → records file
//!                                              wait: epoll far from the deadline,
//!                                              a precise sleep close to it
//! ```
//!
//! Senders on the runtime ring a [`mio::Waker`] after each message, so the
//! thread wakes at once when it is blocked in `epoll`; close to a pacing
//! tick it sleeps to the exact deadline and picks the input up right after.
//! Pacing does not share a thread with the HTTP API or the runtime's timer
//! wheel, and with `[rtp] realtime_priority` the thread runs under
//! SCHED_FIFO, as media threads of other telephony engines do. SIP over UDP
//! (what carriers use) is read and written on the engine thread too: a
//! request reaches the engine with no hop through the runtime, and a
//! real-time engine thread cannot starve its own signalling.
//!
//! SIGTERM drains: new calls get 503, live calls run until the drain deadline,
//! then the loop ends. SIGHUP reloads the dialplans; a bad set is refused
//! (logged) and the old one keeps serving.

mod engine_thread;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use mio::{Poll, Waker};
use tokio::signal::unix::{signal, SignalKind};
use voxpin_engine::{Command, Engine};
use voxpin_ivr::DialplanSet;
use voxpin_otp::OtpId;
use voxpin_sip::driver::SipTransport;

use self::engine_thread::{EngineThread, Event, Notifier, WAKER};
use crate::records::RecordWriter;
use crate::sms::SmsSender;
use crate::webhook::WebhookSender;

/// Timer slack of the engine thread (how late the kernel may wake it).
const TIMER_SLACK: Duration = Duration::from_micros(1);

/// Commands waiting for the engine thread before the API sees back-pressure.
const COMMAND_QUEUE: usize = 4096;

/// A cheap, cloneable way to reach the engine thread (the API's dialer).
#[derive(Debug, Clone)]
pub struct EngineHandle {
    commands: SyncSender<Command>,
    waker: Arc<Waker>,
    /// Cleared when the engine starts draining, so the API refuses new OTPs
    /// (503) instead of storing ones that could never be called.
    accepting: Arc<AtomicBool>,
    /// Alive while the engine thread (or its unstarted inbox) exists.
    engine_alive: std::sync::Weak<()>,
}

/// The engine thread's end of an [`EngineHandle`]: its `epoll` instance (the
/// handle's waker is registered on it) and the command queue. Give it to
/// [`Driver`].
#[derive(Debug)]
pub struct EngineInbox {
    poll: Poll,
    waker: Arc<Waker>,
    commands: Receiver<Command>,
    alive: Arc<()>,
}

impl EngineHandle {
    /// A handle and the inbox the engine thread reads.
    pub fn channel() -> std::io::Result<(Self, EngineInbox)> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (commands, rx) = std::sync::mpsc::sync_channel(COMMAND_QUEUE);
        let accepting = Arc::new(AtomicBool::new(true));
        let alive = Arc::new(());
        let handle = Self {
            commands,
            waker: Arc::clone(&waker),
            accepting,
            engine_alive: Arc::downgrade(&alive),
        };
        let inbox = EngineInbox {
            poll,
            waker,
            commands: rx,
            alive,
        };
        Ok((handle, inbox))
    }

    /// The flag the engine clears when it starts draining (give it to [`Driver`]).
    pub fn accepting(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.accepting)
    }

    /// Sends any command; `false` when the queue is full or the engine has
    /// ended.
    pub fn try_command(&self, command: Command) -> bool {
        let sent = self.commands.try_send(command).is_ok();
        if sent {
            let _ = self.waker.wake();
        }
        sent
    }
}

/// Loads the dialplan set from disk (SIGHUP calls it again).
pub type DialplanLoader = Box<dyn Fn() -> anyhow::Result<DialplanSet> + Send>;

/// Everything the engine's IO drives besides the engine.
pub struct Driver {
    /// The SIP sockets (its UDP socket moves to the engine thread).
    pub transport: SipTransport,
    /// The address RTP sockets bind to.
    pub rtp_address: IpAddr,
    /// SCHED_FIFO priority of the engine thread (0: normal priority).
    pub realtime_priority: u8,
    /// API commands and the engine thread's `epoll`.
    pub inbox: EngineInbox,
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

/// Runs the engine until SIGTERM's drain completes: starts the engine
/// thread, then serves the SIP transport and the signals for it.
pub async fn run(engine: Engine, driver: Driver) -> anyhow::Result<()> {
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let Driver {
        mut transport,
        rtp_address,
        realtime_priority,
        inbox,
        sms,
        webhooks,
        records,
        reload,
        catalogue,
        drain_deadline,
        accepting,
    } = driver;
    let (events_tx, events_rx) = std::sync::mpsc::channel();
    let notifier = Notifier {
        events: events_tx,
        waker: Arc::clone(&inbox.waker),
    };
    let sip_udp = mio::net::UdpSocket::from_std(transport.take_udp()?);
    let (sip_tx, mut sip_rx) = tokio::sync::mpsc::unbounded_channel();
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel();
    let thread = EngineThread {
        engine,
        poll: inbox.poll,
        commands: inbox.commands,
        events: events_rx,
        notifier: notifier.clone(),
        sip_udp,
        sip_out: sip_tx,
        runtime: tokio::runtime::Handle::current(),
        rtp_address,
        sms,
        webhooks,
        records,
        drain_deadline,
        accepting: Arc::clone(&accepting),
    };
    std::thread::Builder::new()
        .name("voxpin-engine".into())
        .spawn(move || {
            let _alive = inbox.alive;
            set_priority(realtime_priority);
            // The default 50 µs slack would be added to every pacing wake-up.
            if let Err(e) = voxpin_media::driver::set_timer_slack(TIMER_SLACK) {
                tracing::warn!(error = %e, "engine thread keeps the default timer slack");
            }
            let result = thread.run();
            let _ = done_tx.send(result);
        })?;
    let result = loop {
        tokio::select! {
            result = &mut done_rx => break result.unwrap_or_else(|_| Err(anyhow::anyhow!("the engine thread panicked"))),
            received = transport.next_event() => match received {
                Ok(event) => { notifier.send(Event::Sip(event)); }
                Err(e) => { notifier.send(Event::TransportFailed(e)); }
            },
            Some(t) = sip_rx.recv() => {
                let (transport_kind, destination) = (t.transport, t.destination);
                if let Err(e) = transport.send(t).await {
                    tracing::warn!(error = %e, %destination, "SIP send failed");
                    notifier.send(Event::SipSendFailed { transport: transport_kind, destination });
                }
            },
            _ = sigterm.recv() => { drain(&accepting, &notifier, "SIGTERM"); }
            _ = sigint.recv() => { drain(&accepting, &notifier, "SIGINT"); }
            _ = sighup.recv() => match reload() {
                Ok(set) => {
                    tracing::info!(applications = set.len(), "SIGHUP: dialplans reloaded");
                    let set = Arc::new(set);
                    catalogue.replace(Arc::clone(&set));
                    notifier.send(Event::Reload(set));
                }
                Err(e) => tracing::error!(error = %format!("{e:#}"), "SIGHUP: dialplans refused; the previous set keeps serving"),
            },
        }
    };
    // SIP the engine queued on its way out (BYEs, final responses).
    while let Ok(t) = sip_rx.try_recv() {
        let _ = transport.send(t).await;
    }
    result
}

fn drain(accepting: &AtomicBool, notifier: &Notifier, signal: &'static str) {
    // Refuse new OTPs at once, before the engine thread sees the event.
    accepting.store(false, Ordering::SeqCst);
    notifier.send(Event::Drain(signal));
}

/// Puts the calling (engine) thread under SCHED_FIFO when asked; on failure
/// it says why and carries on at normal priority.
fn set_priority(priority: u8) {
    if priority == 0 {
        return;
    }
    match voxpin_media::driver::set_realtime_priority(priority) {
        Ok(()) => tracing::info!(priority, "engine thread runs under SCHED_FIFO"),
        Err(e) => tracing::warn!(priority, error = %e, "engine thread stays at normal priority"),
    }
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
        self.accepting.load(Ordering::SeqCst) && self.engine_alive.strong_count() > 0
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
        let (handle, rx) = EngineHandle::channel().expect("epoll");
        assert!(handle.is_accepting());
        let flag = handle.accepting();
        flag.store(false, Ordering::SeqCst); // what `drain` does
        assert!(!handle.is_accepting());
        flag.store(true, Ordering::SeqCst);
        assert!(handle.is_accepting());
        drop(rx); // the engine thread has ended
        assert!(!handle.is_accepting());
    }

    #[test]
    fn a_command_wakes_the_engine_threads_epoll_and_waits_in_order() {
        let (handle, mut inbox) = EngineHandle::channel().expect("epoll");
        let (first, second) = (OtpId::random(), OtpId::random());
        assert!(handle.try_command(Command::Dial { otp: first }));
        assert!(handle.try_command(Command::Hangup { otp: second }));
        let mut events = mio::Events::with_capacity(4);
        // Returns at once: the waker was rung (the bound only guards a hang).
        inbox
            .poll
            .poll(&mut events, Some(Duration::from_secs(10)))
            .expect("poll");
        assert!(events.iter().any(|e| e.token() == WAKER));
        assert!(matches!(inbox.commands.try_recv(), Ok(Command::Dial { otp }) if otp == first));
        assert!(matches!(inbox.commands.try_recv(), Ok(Command::Hangup { otp }) if otp == second));
        assert!(inbox.commands.try_recv().is_err());
    }

    #[test]
    fn a_full_command_queue_refuses_instead_of_blocking_the_api() {
        let (handle, _inbox) = EngineHandle::channel().expect("epoll");
        for _ in 0..COMMAND_QUEUE {
            assert!(handle.try_command(Command::Dial {
                otp: OtpId::random()
            }));
        }
        assert!(!handle.try_command(Command::Dial {
            otp: OtpId::random()
        }));
    }
}
