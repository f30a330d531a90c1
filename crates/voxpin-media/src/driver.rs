//! The RTP driver (feature `driver`): per-call UDP sockets from a port
//! range and one send thread per worker running a [`Pacer`].
//!
//! - [`PortAllocator`] hands out **even** ports of a configured range (RTP
//!   only; no RTCP socket is bound) and takes them back when the
//!   [`RtpSocket`] is dropped.
//! - [`MediaWorker`] owns a [`Pacer`] on a dedicated OS thread. The thread
//!   sleeps until the pacer's next tick (an absolute deadline: it sleeps for
//!   `deadline − now`, recomputed at every wake-up, so errors never
//!   accumulate), sends every due packet with the current time, then drains
//!   commands and received packets. A plain thread is used rather than a
//!   tokio task because tokio's timer rounds deadlines up to whole
//!   milliseconds, which alone would cost up to 1 ms of lateness.
//! - Receiving happens on the same thread: the sockets are registered
//!   (readable interest only) with one `mio` poller per worker, polled
//!   without blocking at every wake-up, so a datagram waits at most one tick
//!   (1 ms) before [`Pacer::handle_rtp`] sees it with its receive time.
//!   Symmetric RTP and strict source checks happen there. No task, channel
//!   or allocation per packet, in either direction. Events come out of an
//!   unbounded tokio channel (usable from async and blocking code).
//! - [`WorkerOptions`] sets the number of phases and, for operators who
//!   grant it, real-time scheduling of the send thread
//!   ([`set_realtime_priority`], see [`realtime`]).

#![allow(clippy::disallowed_methods)] // the driver is where the clock lives

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::pacer::{LatenessHistogram, Pacer, PacerError, SessionKey};
use crate::playlist::Playlist;
use crate::session::{MediaEvent, MediaSession};

mod clock;
pub mod realtime;
use clock::MonotonicClock;
pub use clock::{set_timer_slack, sleep_until};
pub use realtime::{set_realtime_priority, RealtimeError};

/// An inclusive range of UDP ports for RTP (only even ports are used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port (rounded up to even).
    pub first: u16,
    /// Last port.
    pub last: u16,
}

/// Hands out even ports of a range, round robin, skipping busy ones.
#[derive(Debug)]
pub struct PortAllocator {
    ip: IpAddr,
    range: PortRange,
    state: Mutex<AllocatorState>,
}

#[derive(Debug)]
struct AllocatorState {
    next: u16,
    in_use: HashSet<u16>,
}

impl PortAllocator {
    /// An allocator binding on `ip` within `range`.
    pub fn new(ip: IpAddr, range: PortRange) -> Arc<Self> {
        let first = range.first.saturating_add(range.first % 2);
        Arc::new(PortAllocator {
            ip,
            range: PortRange {
                first,
                last: range.last,
            },
            state: Mutex::new(AllocatorState {
                next: first,
                in_use: HashSet::new(),
            }),
        })
    }

    /// How many even ports the range holds.
    pub fn capacity(&self) -> usize {
        if self.range.last < self.range.first {
            return 0;
        }
        usize::from((self.range.last - self.range.first) / 2) + 1
    }

    /// Binds a socket on the next free even port. Fails with `AddrInUse`
    /// when every port of the range is taken.
    pub fn bind(self: &Arc<Self>) -> io::Result<RtpSocket> {
        let capacity = self.capacity();
        for _ in 0..capacity {
            let port = {
                let mut s = self.state.lock().map_err(|_| poisoned())?;
                let port = s.next;
                s.next = if port >= self.range.last.saturating_sub(1) {
                    self.range.first
                } else {
                    port + 2
                };
                if !s.in_use.insert(port) {
                    continue;
                }
                port
            };
            let lease = PortLease {
                port,
                allocator: Arc::clone(self),
            };
            if let Ok(socket) = UdpSocket::bind(SocketAddr::new(self.ip, port)) {
                socket.set_nonblocking(true)?;
                return Ok(RtpSocket { socket, lease });
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "no free even port in the RTP port range",
        ))
    }

    fn release(&self, port: u16) {
        if let Ok(mut s) = self.state.lock() {
            s.in_use.remove(&port);
        }
    }
}

fn poisoned() -> io::Error {
    io::Error::other("port allocator lock poisoned")
}

/// A port taken from the allocator, returned on drop.
#[derive(Debug)]
struct PortLease {
    port: u16,
    allocator: Arc<PortAllocator>,
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.allocator.release(self.port);
    }
}

/// A bound, non-blocking RTP socket; its port returns to the allocator on drop.
#[derive(Debug)]
pub struct RtpSocket {
    socket: UdpSocket,
    lease: PortLease,
}

impl RtpSocket {
    /// The local address (put it in SDP).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The local port.
    pub fn port(&self) -> u16 {
        self.lease.port
    }
}

/// Counters and lateness of one worker.
#[derive(Debug, Clone, Default)]
pub struct WorkerReport {
    /// Lateness of every packet sent.
    pub lateness: LatenessHistogram,
    /// How late the thread woke for each tick it slept until (what the
    /// machine adds before any packet is built: compare with `lateness`).
    pub wakeup_lateness: LatenessHistogram,
    /// Packets handed to the kernel.
    pub packets_sent: u64,
    /// Packets the kernel refused (buffer full or unreachable).
    pub send_errors: u64,
    /// Datagrams received and fed to sessions.
    pub packets_received: u64,
    /// Sessions present.
    pub sessions: usize,
}

enum Command {
    Insert(SessionKey, Box<MediaSession>, RtpSocket),
    Remove(SessionKey),
    Play(SessionKey, Box<Playlist>),
    Stop(SessionKey),
    SetRemote(SessionKey, SocketAddr),
    Report(Sender<WorkerReport>),
    ResetLateness,
    Shutdown,
}

/// A pacer on its own thread, sending and receiving for all its sessions.
#[derive(Debug)]
pub struct MediaWorker {
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

/// Why a worker command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The worker thread has stopped.
    #[error("media worker has stopped")]
    Stopped,
    /// A socket operation failed.
    #[error("media socket: {0}")]
    Io(#[from] io::Error),
    /// The send thread could not get the real-time priority asked for in
    /// [`WorkerOptions::realtime_priority`]; the worker did not start.
    #[error("media worker: {0}")]
    Realtime(#[from] RealtimeError),
}

/// How a [`MediaWorker`]'s send thread runs.
///
/// ```
/// use std::time::Duration;
/// use voxpin_media::driver::WorkerOptions;
/// let options = WorkerOptions::default().with_realtime_priority(10);
/// assert_eq!(options.phases, 20);
/// assert_eq!(options.timer_slack, Some(Duration::from_micros(1)));
/// assert_eq!(options.spin, Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerOptions {
    /// Ticks per 20 ms frame (default 20, i.e. 1 ms ticks). More phases
    /// spread packets finer (less lateness) at the cost of more wake-ups.
    pub phases: u32,
    /// `SCHED_FIFO` priority of the send thread (1–99), or `None` (the
    /// default) to leave it at normal priority. If the process may not use
    /// it, [`MediaWorker::spawn_with`] fails with
    /// [`WorkerError::Realtime`] rather than run silently without it.
    pub realtime_priority: Option<u8>,
    /// Timer slack of the send thread (Linux `PR_SET_TIMERSLACK`): how much
    /// later than asked the kernel may fire its wake-up timer to batch it
    /// with others. Default 1 µs (the kernel's default for normal threads
    /// is 50 µs; real-time threads get none). `None` keeps the kernel's.
    pub timer_slack: Option<Duration>,
    /// Wake this long before each tick and busy-wait the rest (default
    /// zero: no spinning). Costs that much CPU per tick; keeps the CPU from
    /// going idle just before the tick, whose exit can be slow on VMs.
    pub spin: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            phases: 20,
            realtime_priority: None,
            timer_slack: Some(Duration::from_micros(1)),
            spin: Duration::ZERO,
        }
    }
}

impl WorkerOptions {
    /// These options with `phases` ticks per 20 ms.
    pub fn with_phases(mut self, phases: u32) -> Self {
        self.phases = phases;
        self
    }

    /// These options with a timer slack of `slack` (`None`: the kernel's).
    pub fn with_timer_slack(mut self, slack: Option<Duration>) -> Self {
        self.timer_slack = slack;
        self
    }

    /// These options spinning for `spin` before each tick.
    pub fn with_spin(mut self, spin: Duration) -> Self {
        self.spin = spin;
        self
    }

    /// These options with the send thread under `SCHED_FIFO` at `priority`.
    pub fn with_realtime_priority(mut self, priority: u8) -> Self {
        self.realtime_priority = Some(priority);
        self
    }
}

impl MediaWorker {
    /// Starts a worker thread called `name` with 20 phases (1 ms ticks);
    /// events arrive on the returned receiver.
    pub fn spawn(
        name: &str,
    ) -> io::Result<(MediaWorker, UnboundedReceiver<(SessionKey, MediaEvent)>)> {
        Self::spawn_with_phases(name, 20)
    }

    /// Starts a worker whose pacer has `phases` ticks per 20 ms. More phases
    /// spread packets finer (less lateness) at the cost of more wake-ups.
    pub fn spawn_with_phases(
        name: &str,
        phases: u32,
    ) -> io::Result<(MediaWorker, UnboundedReceiver<(SessionKey, MediaEvent)>)> {
        Self::spawn_with(name, WorkerOptions::default().with_phases(phases)).map_err(|e| match e {
            WorkerError::Io(e) => e,
            other => io::Error::other(other),
        })
    }

    /// Starts a worker thread called `name` with `options`. Returns once the
    /// thread runs with the scheduling asked for; fails with
    /// [`WorkerError::Realtime`] if it could not get it.
    pub fn spawn_with(
        name: &str,
        options: WorkerOptions,
    ) -> Result<(MediaWorker, UnboundedReceiver<(SessionKey, MediaEvent)>), WorkerError> {
        let (commands, command_rx) = mpsc::channel();
        let (event_tx, event_rx) = unbounded_channel();
        let (started_tx, started_rx) = mpsc::sync_channel(1);
        let poll = Poll::new()?;
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let started = match options.realtime_priority {
                    Some(priority) => set_realtime_priority(priority),
                    None => Ok(()),
                };
                if let Some(slack) = options.timer_slack {
                    // A failure only costs precision: log it, run anyway.
                    if let Err(e) = set_timer_slack(slack) {
                        tracing::warn!(error = %e, "cannot set the media thread's timer slack");
                    }
                }
                let ok = started.is_ok();
                let _ = started_tx.send(started);
                if ok {
                    run(poll, options, command_rx, event_tx);
                }
            })?;
        match started_rx.recv() {
            Ok(Ok(())) => Ok((
                MediaWorker {
                    commands,
                    thread: Some(thread),
                },
                event_rx,
            )),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(WorkerError::Realtime(e))
            }
            Err(_) => {
                let _ = thread.join();
                Err(WorkerError::Stopped)
            }
        }
    }

    fn send(&self, c: Command) -> Result<(), WorkerError> {
        self.commands.send(c).map_err(|_| WorkerError::Stopped)
    }

    /// Adds a session with its socket; packets start on the next free phase.
    pub fn insert(
        &self,
        key: SessionKey,
        session: MediaSession,
        socket: RtpSocket,
    ) -> Result<(), WorkerError> {
        self.send(Command::Insert(key, Box::new(session), socket))
    }

    /// Removes a session, closing its socket.
    pub fn remove(&self, key: SessionKey) -> Result<(), WorkerError> {
        self.send(Command::Remove(key))
    }

    /// Starts a playlist.
    pub fn play(&self, key: SessionKey, playlist: Playlist) -> Result<(), WorkerError> {
        self.send(Command::Play(key, Box::new(playlist)))
    }

    /// Stops playout.
    pub fn stop(&self, key: SessionKey) -> Result<(), WorkerError> {
        self.send(Command::Stop(key))
    }

    /// Sets a session's negotiated remote address.
    pub fn set_remote(&self, key: SessionKey, remote: SocketAddr) -> Result<(), WorkerError> {
        self.send(Command::SetRemote(key, remote))
    }

    /// Forgets the lateness recorded so far (e.g. after a warm-up).
    pub fn reset_lateness(&self) -> Result<(), WorkerError> {
        self.send(Command::ResetLateness)
    }

    /// A snapshot of counters and lateness (blocks until the worker answers).
    pub fn report(&self) -> Result<WorkerReport, WorkerError> {
        let (tx, rx) = mpsc::channel();
        self.send(Command::Report(tx))?;
        rx.recv().map_err(|_| WorkerError::Stopped)
    }

    /// Stops the thread and closes every socket.
    pub fn shutdown(mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MediaWorker {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
    }
}

struct Call {
    socket: mio::net::UdpSocket,
    _lease: PortLease,
}

/// The worker's sockets by session key, looked up once per packet. Keys
/// are chosen by the engine, not by the network, so a multiplicative hash
/// is enough and saves SipHash's cost on the hot path.
type Calls = HashMap<SessionKey, Call, BuildHasherDefault<KeyHasher>>;

/// Fibonacci hashing of a `u64` key (other inputs fold bytes in first).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = (self.0 ^ key).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// The longest the thread sleeps with no session (to pick up commands).
const IDLE_WAIT: Duration = Duration::from_millis(5);

fn token(key: SessionKey) -> Token {
    // Keys are caller-chosen u64; on 32-bit targets distinct keys could
    // share a token, which only costs a spurious read attempt.
    Token(key.0 as usize)
}

fn run(
    mut poll: Poll,
    options: WorkerOptions,
    commands: Receiver<Command>,
    events: UnboundedSender<(SessionKey, MediaEvent)>,
) {
    let clock = MonotonicClock::new();
    let mut pacer = Pacer::with_phases(Instant::now(), options.phases);
    let mut calls = Calls::default();
    let mut readable = Events::with_capacity(1024);
    let mut buf = [0u8; 2048];
    let mut report = WorkerReport::default();
    loop {
        // Send everything due, each packet stamped with the time it leaves.
        while let Some(tx) = pacer.poll_transmit(Instant::now()) {
            match calls.get(&tx.key) {
                Some(call) => match call.socket.send_to(tx.packet, tx.destination) {
                    Ok(_) => report.packets_sent += 1,
                    Err(_) => report.send_errors += 1,
                },
                None => report.send_errors += 1,
            }
        }
        loop {
            match commands.try_recv() {
                Ok(Command::Shutdown) | Err(TryRecvError::Disconnected) => return,
                Ok(c) => handle_command(c, &mut pacer, &mut calls, &poll, &mut report),
                Err(TryRecvError::Empty) => break,
            }
        }
        if poll.poll(&mut readable, Some(Duration::ZERO)).is_ok() {
            for ev in readable.iter() {
                let key = SessionKey(ev.token().0 as u64);
                let Some(call) = calls.get(&key) else {
                    continue;
                };
                // Edge-triggered: read until the socket is empty.
                loop {
                    match call.socket.recv_from(&mut buf) {
                        Ok((n, source)) => {
                            report.packets_received += 1;
                            let at = Instant::now();
                            let data = buf.get(..n).unwrap_or(&[]);
                            let _ = pacer.handle_rtp(at, key, source, data);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        // ICMP errors and the like: nothing more to read now.
                        Err(_) => break,
                    }
                }
            }
        }
        while let Some(ev) = pacer.poll_event() {
            let _ = events.send(ev);
        }
        let now = Instant::now();
        match pacer.poll_timeout() {
            Some(tick) if tick <= now + IDLE_WAIT => {
                if tick > now {
                    let early = tick.checked_sub(options.spin).unwrap_or(tick);
                    if early > now {
                        clock.sleep_until(early);
                    }
                    while Instant::now() < tick {
                        std::hint::spin_loop();
                    }
                    let woke = Instant::now();
                    report
                        .wakeup_lateness
                        .record(woke.saturating_duration_since(tick));
                }
            }
            _ => clock.sleep_until(now + IDLE_WAIT),
        }
    }
}

fn handle_command(
    command: Command,
    pacer: &mut Pacer,
    calls: &mut Calls,
    poll: &Poll,
    report: &mut WorkerReport,
) {
    let now = Instant::now();
    let result: Result<(), PacerError> = match command {
        Command::Insert(key, session, port) => {
            let RtpSocket { socket, lease } = port;
            let mut socket = mio::net::UdpSocket::from_std(socket);
            match poll
                .registry()
                .register(&mut socket, token(key), Interest::READABLE)
            {
                Ok(()) => {
                    let r = pacer.insert(now, key, *session);
                    if r.is_ok() {
                        calls.insert(
                            key,
                            Call {
                                socket,
                                _lease: lease,
                            },
                        );
                    }
                    r
                }
                Err(e) => {
                    tracing::warn!(?key, error = %e, "cannot register RTP socket");
                    Ok(())
                }
            }
        }
        Command::Remove(key) => {
            pacer.remove(key);
            if let Some(mut call) = calls.remove(&key) {
                let _ = poll.registry().deregister(&mut call.socket);
            }
            Ok(())
        }
        Command::Play(key, playlist) => pacer.play(now, key, &playlist),
        Command::Stop(key) => pacer.stop(now, key),
        Command::SetRemote(key, remote) => {
            if let Some(s) = pacer.session_mut(key) {
                s.set_remote(remote);
            }
            Ok(())
        }
        Command::Report(reply) => {
            let mut r = report.clone();
            r.lateness = pacer.lateness().clone();
            r.sessions = pacer.len();
            let _ = reply.send(r);
            Ok(())
        }
        Command::ResetLateness => {
            pacer.lateness_mut().reset();
            report.wakeup_lateness.reset();
            Ok(())
        }
        Command::Shutdown => Ok(()),
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "media command failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn ports_are_even_unique_and_returned() {
        let alloc = PortAllocator::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            PortRange {
                first: 38_101,
                last: 38_106,
            },
        );
        assert_eq!(alloc.capacity(), 3);
        let a = alloc.bind().unwrap();
        let b = alloc.bind().unwrap();
        let c = alloc.bind().unwrap();
        let mut ports = vec![a.port(), b.port(), c.port()];
        ports.sort();
        assert_eq!(ports, vec![38_102, 38_104, 38_106]);
        assert_eq!(alloc.bind().unwrap_err().kind(), io::ErrorKind::AddrInUse);
        let freed = b.port();
        drop(b);
        assert_eq!(alloc.bind().unwrap().port(), freed);
    }
}
