//! The floor: a bare UDP pump with voxpin's socket pattern and packet size
//! (one socket per call, a 12-byte RTP header and 160 bytes of PCMU every
//! 20 ms per socket, spread over 1 ms ticks, absolute deadlines), and no SIP,
//! no IVR, no engine. Runs as its own process (`voxpin-bench pump`) so its
//! CPU time is read from `/proc` exactly as voxpin's is.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// The size voxpin sends: RTP header + 20 ms of G.711.
pub const PACKET_LEN: usize = 12 + 160;

/// Sends from `sockets` sockets to `destination` at 50 packets/s each for
/// `seconds`; returns the packets sent.
pub fn run(sockets: usize, destination: SocketAddr, seconds: u64) -> anyhow::Result<u64> {
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
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut sent = 0u64;
    let mut k: u64 = 0;
    loop {
        let deadline = start + tick * u32::try_from(k).unwrap_or(u32::MAX);
        if deadline >= end {
            break;
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
                }
            }
        }
        k += 1;
    }
    Ok(sent)
}
