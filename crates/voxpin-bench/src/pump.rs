//! The floor: a bare UDP pump with voxpin's socket pattern and packet size
//! (one socket per call, a 12-byte RTP header and 160 bytes of PCMU every
//! 20 ms per socket, spread over 1 ms ticks, absolute deadlines), and no SIP,
//! no IVR, no engine. Runs as its own process (`voxpin-bench pump`) so its
//! CPU time is read from `/proc` exactly as voxpin's is. It measures a
//! window after a warm-up itself: the packets the kernel accepted in it (not
//! the packets it meant to send) and its own `/proc/self/stat` CPU time, and
//! prints them as one [`Window`] line that the bench reads back.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// The size voxpin sends: RTP header + 20 ms of G.711.
pub const PACKET_LEN: usize = 12 + 160;

/// Pumping before the measured window (sockets bound, caches warm).
pub const WARMUP: Duration = Duration::from_secs(1);

/// What the pump measured between the end of its warm-up and its end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Packets the kernel accepted.
    pub sent: u64,
    /// Sends the kernel refused.
    pub errors: u64,
    /// The pump's CPU time (user + system), seconds.
    pub cpu_s: f64,
    /// Wall time, seconds.
    pub wall_s: f64,
}

impl Window {
    /// The line the pump prints.
    pub fn to_line(self) -> String {
        format!(
            "window sent={} errors={} cpu_s={:.4} wall_s={:.4}",
            self.sent, self.errors, self.cpu_s, self.wall_s
        )
    }

    /// Finds and parses the window line in the pump's output.
    pub fn from_output(text: &str) -> Option<Window> {
        let line = text.lines().rev().find(|l| l.starts_with("window "))?;
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        };
        Some(Window {
            sent: field("sent")?.parse().ok()?,
            errors: field("errors")?.parse().ok()?,
            cpu_s: field("cpu_s")?.parse().ok()?,
            wall_s: field("wall_s")?.parse().ok()?,
        })
    }
}

/// Sends from `sockets` sockets to `destination` at 50 packets/s each for
/// `warmup + seconds`; measures the last `seconds`.
pub fn run(
    sockets: usize,
    destination: SocketAddr,
    warmup: Duration,
    seconds: u64,
) -> anyhow::Result<Window> {
    const PHASES: usize = 20;
    let tick = Duration::from_millis(1);
    let mut phases: Vec<Vec<(UdpSocket, u16)>> = (0..PHASES).map(|_| Vec::new()).collect();
    for i in 0..sockets {
        let s = UdpSocket::bind(("127.0.0.1", 0))?;
        s.set_nonblocking(true)?;
        if let Some(p) = phases.get_mut(i % PHASES) {
            p.push((s, 0));
        }
    }
    let mut packet = [0u8; PACKET_LEN];
    packet[0] = 0x80;
    let ticks = crate::procs::clock_ticks();
    let me = std::process::id();
    let start = Instant::now();
    let window_start = start + warmup;
    let end = window_start + Duration::from_secs(seconds);
    let mut sent = 0u64;
    let mut errors = 0u64;
    let mut at_window: Option<(u64, u64, f64, Instant)> = None;
    let mut k: u64 = 0;
    loop {
        let deadline = start + tick * u32::try_from(k).unwrap_or(u32::MAX);
        if deadline >= end {
            break;
        }
        if at_window.is_none() && deadline >= window_start {
            let cpu = crate::procs::cpu_seconds(me, ticks)?;
            at_window = Some((sent, errors, cpu, Instant::now()));
        }
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
        let phase = (k % PHASES as u64) as usize;
        if let Some(group) = phases.get_mut(phase) {
            for (socket, seq) in group.iter_mut() {
                *seq = seq.wrapping_add(1);
                packet[2..4].copy_from_slice(&seq.to_be_bytes());
                packet[4..8].copy_from_slice(&(u32::from(*seq) * 160).to_be_bytes());
                if socket.send_to(&packet, destination).is_ok() {
                    sent += 1;
                } else {
                    errors += 1;
                }
            }
        }
        k += 1;
    }
    let cpu = crate::procs::cpu_seconds(me, ticks)?;
    let (sent0, errors0, cpu0, t0) = at_window.unwrap_or((0, 0, cpu, Instant::now()));
    Ok(Window {
        sent: sent - sent0,
        errors: errors - errors0,
        cpu_s: cpu - cpu0,
        wall_s: t0.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_line_round_trips_and_is_found_among_other_output() {
        let w = Window {
            sent: 1_999_950,
            errors: 3,
            cpu_s: 3.5125,
            wall_s: 20.0004,
        };
        let text = format!("starting\n{}\n", w.to_line());
        assert_eq!(Window::from_output(&text), Some(w));
        assert_eq!(Window::from_output("window sent=1 errors=x"), None);
        assert_eq!(Window::from_output("nothing here"), None);
    }

    #[test]
    fn a_short_pump_counts_what_it_sent_in_its_window() {
        // A sink that reads nothing: sends to a bound local socket succeed.
        let sink = UdpSocket::bind(("127.0.0.1", 0)).expect("bind");
        let w = run(
            4,
            sink.local_addr().expect("bound"),
            Duration::from_millis(100),
            1,
        )
        .expect("pump");
        // 4 sockets x 50 packets/s x 1 s: the window is counted in ticks
        // (it never skips one), so the count is exact even on a slow host.
        assert_eq!(w.sent, 200, "{w:?}");
        assert_eq!(w.errors, 0);
        assert!(w.wall_s > 0.0 && w.cpu_s >= 0.0, "{w:?}");
    }
}
