//! The ear of a sample of calls: a UDP socket that some calls' SDP names,
//! timing the gap between consecutive packets of each stream (source).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the receiver saw since the last [`Receiver::take`].
#[derive(Debug, Default, Clone)]
pub struct Gaps {
    /// Packets received.
    pub packets: u64,
    /// Distinct sources (streams).
    pub streams: usize,
    /// Inter-arrival gaps in seconds.
    pub gaps: Vec<f64>,
}

#[derive(Debug, Default)]
struct State {
    last: HashMap<SocketAddr, Instant>,
    seen: Gaps,
}

/// A running receiver; stops when dropped.
#[derive(Debug)]
pub struct Receiver {
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Binds `127.0.0.1:port` and starts timing arrivals.
    pub fn start(port: u16) -> anyhow::Result<Self> {
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )?;
        socket.set_recv_buffer_size(4 << 20)?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        // The previous step's SIPp may still be exiting, or another program
        // may hold the port for a moment (it lies in the ephemeral range).
        let mut tries = 0;
        while let Err(e) = socket.bind(&address.into()) {
            tries += 1;
            if tries >= 50 {
                anyhow::bail!("cannot bind the receiver on {address} (retried 10 s): {e}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let socket: UdpSocket = socket.into();
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&state), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !sp.load(Ordering::Relaxed) {
                let Ok((_, source)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let now = Instant::now();
                let Ok(mut s) = st.lock() else { break };
                s.seen.packets += 1;
                if let Some(prev) = s.last.insert(source, now) {
                    let gap = now.saturating_duration_since(prev).as_secs_f64();
                    s.seen.gaps.push(gap);
                }
            }
        });
        Ok(Self {
            state,
            stop,
            thread: Some(thread),
        })
    }

    /// What was seen since the last call; starts a new window (streams
    /// keep their last arrival so the first gap of the window is real).
    pub fn take(&self) -> Gaps {
        let Ok(mut s) = self.state.lock() else {
            return Gaps::default();
        };
        let mut seen = std::mem::take(&mut s.seen);
        seen.streams = s.last.len();
        seen
    }

    /// Forgets every stream (between steps).
    pub fn reset(&self) {
        if let Ok(mut s) = self.state.lock() {
            *s = State::default();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
