//! One send loop for every call of a worker.
//!
//! The [`Pacer`] owns many [`MediaSession`]s and produces all their packets
//! from a single loop. Time is divided into ticks of `20 ms / phases`
//! (1 ms by default); each session is placed on the least loaded phase and
//! its send clock aligned to that phase's tick grid, so packets of thousands
//! of calls are spread evenly over the 20 ms period instead of leaving in one
//! burst. Each poll visits only the sessions of due ticks; every deadline is
//! absolute (`t0 + k·20 ms` per session), so nothing drifts.
//!
//! After a stall longer than a whole period the pacer visits each phase once
//! (sessions then skip their missed slots themselves) rather than replaying
//! every missed tick. The lateness of each packet (`now − deadline`, with
//! `now` as given to [`Pacer::poll_transmit`]) is recorded in a
//! [`LatenessHistogram`]. No allocation happens per packet: the packet is
//! written into one buffer owned by the pacer.
//!
//! ```text
//!  tick:    0    1    2   …   19 | 20   21  …        (1 ms each)
//!  phase:   0    1    2   …   19 |  0    1  …
//!  bucket:  A,E  B    C,F …   D  | A,E  B  …   sessions on that phase
//! ```

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::playlist::{Playlist, PlaylistError};
use crate::prompt::FRAME_DURATION;
use crate::session::{nanos_saturating, MediaEvent, MediaSession, PACKET_LEN};

/// The caller's identifier of a session inside a [`Pacer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey(pub u64);

/// Why a pacer operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacerError {
    /// A session with this key is already present.
    #[error("session {0:?} already exists")]
    DuplicateKey(SessionKey),
    /// No session with this key.
    #[error("session {0:?} not found")]
    UnknownKey(SessionKey),
    /// The playlist could not be resolved.
    #[error(transparent)]
    Playlist(#[from] PlaylistError),
}

/// One packet to send, borrowed from the pacer's buffer.
#[derive(Debug)]
pub struct PacerTransmit<'a> {
    /// Which session produced it (choose the socket by this).
    pub key: SessionKey,
    /// Where to send it.
    pub destination: SocketAddr,
    /// The RTP packet.
    pub packet: &'a [u8],
    /// How late it is relative to its slot.
    pub lateness: Duration,
}

#[derive(Debug)]
struct Entry {
    key: SessionKey,
    session: MediaSession,
    phase: usize,
    position: usize,
}

/// Every session of one worker on one absolute-deadline send loop.
#[derive(Debug)]
pub struct Pacer {
    epoch: Instant,
    tick: Duration,
    tick_nanos: u64,
    phases: usize,
    slab: Vec<Option<Entry>>,
    free: Vec<usize>,
    index: HashMap<SessionKey, usize>,
    buckets: Vec<Vec<usize>>,
    next_tick: u64,
    cursor: usize,
    buffer: [u8; PACKET_LEN],
    lateness: LatenessHistogram,
    events: VecDeque<(SessionKey, MediaEvent)>,
}

impl Pacer {
    /// A pacer whose tick grid starts at `now`, with 20 phases (1 ms ticks).
    pub fn new(now: Instant) -> Self {
        Self::with_phases(now, 20)
    }

    /// A pacer with `phases` ticks per 20 ms (1 to 20 000; 1 puts every
    /// session on the same instant).
    pub fn with_phases(now: Instant, phases: u32) -> Self {
        let phases = phases.clamp(1, 20_000);
        Pacer {
            epoch: now,
            tick: FRAME_DURATION / phases,
            tick_nanos: nanos_saturating(FRAME_DURATION / phases).max(1),
            phases: phases as usize,
            slab: Vec::new(),
            free: Vec::new(),
            index: HashMap::new(),
            buckets: vec![Vec::new(); phases as usize],
            next_tick: 0,
            cursor: 0,
            buffer: [0; PACKET_LEN],
            lateness: LatenessHistogram::new(),
            events: VecDeque::new(),
        }
    }

    /// Adds a session; its first packet goes at the first tick of the least
    /// loaded phase at or after `now`.
    pub fn insert(
        &mut self,
        now: Instant,
        key: SessionKey,
        mut session: MediaSession,
    ) -> Result<(), PacerError> {
        if self.index.contains_key(&key) {
            return Err(PacerError::DuplicateKey(key));
        }
        let phase = (0..self.phases)
            .min_by_key(|&p| self.buckets[p].len())
            .unwrap_or(0);
        session.align_clock(self.first_tick_of_phase(now, phase));
        let position = self.buckets[phase].len();
        let entry = Entry {
            key,
            session,
            phase,
            position,
        };
        let slot = match self.free.pop() {
            Some(i) => {
                self.slab[i] = Some(entry);
                i
            }
            None => {
                self.slab.push(Some(entry));
                self.slab.len() - 1
            }
        };
        self.buckets[phase].push(slot);
        self.index.insert(key, slot);
        Ok(())
    }

    /// Removes a session and returns it (its pending events are dropped).
    pub fn remove(&mut self, key: SessionKey) -> Option<MediaSession> {
        let slot = self.index.remove(&key)?;
        let entry = self.slab.get_mut(slot)?.take()?;
        self.free.push(slot);
        self.unlink(entry.phase, entry.position);
        self.events.retain(|(k, _)| *k != key);
        Some(entry.session)
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are no sessions.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// A session, for reading counters or changing its remote address.
    pub fn session(&self, key: SessionKey) -> Option<&MediaSession> {
        let slot = *self.index.get(&key)?;
        self.slab.get(slot)?.as_ref().map(|e| &e.session)
    }

    /// A session, mutably. Events it raises through direct calls are drained
    /// with its own `poll_event`; prefer the pacer's `play`/`stop`/`handle_rtp`.
    pub fn session_mut(&mut self, key: SessionKey) -> Option<&mut MediaSession> {
        let slot = *self.index.get(&key)?;
        self.slab.get_mut(slot)?.as_mut().map(|e| &mut e.session)
    }

    /// Starts a playlist on a session.
    pub fn play(
        &mut self,
        now: Instant,
        key: SessionKey,
        playlist: &Playlist,
    ) -> Result<(), PacerError> {
        let session = self.session_mut(key).ok_or(PacerError::UnknownKey(key))?;
        session.play(now, playlist)?;
        self.drain(key);
        Ok(())
    }

    /// Stops a session's playout.
    pub fn stop(&mut self, now: Instant, key: SessionKey) -> Result<(), PacerError> {
        self.session_mut(key)
            .ok_or(PacerError::UnknownKey(key))?
            .stop(now);
        Ok(())
    }

    /// Feeds a datagram received on `key`'s socket at `now`.
    pub fn handle_rtp(
        &mut self,
        now: Instant,
        key: SessionKey,
        source: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), PacerError> {
        self.session_mut(key)
            .ok_or(PacerError::UnknownKey(key))?
            .handle_rtp(now, source, datagram);
        self.drain(key);
        Ok(())
    }

    /// The next event of any session. Drain after every call.
    pub fn poll_event(&mut self) -> Option<(SessionKey, MediaEvent)> {
        self.events.pop_front()
    }

    /// The next tick with work (`None` when there are no sessions).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.index.is_empty() {
            return None;
        }
        Some(self.tick_time(self.next_tick))
    }

    /// The next packet due at `now`, from any session. Call repeatedly until
    /// `None`, passing a fresh `now` each time so lateness is measured at
    /// the moment of sending. Sessions also run their timers (inactivity,
    /// DTMF) when visited.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<PacerTransmit<'_>> {
        loop {
            if self.index.is_empty() || now < self.tick_time(self.next_tick) {
                return None;
            }
            let now_tick = self.tick_at(now);
            let phases = self.phases as u64;
            if now_tick >= self.next_tick + phases {
                // Stalled for a whole period: visit each phase once.
                self.next_tick = now_tick + 1 - phases;
                self.cursor = 0;
            }
            let phase = (self.next_tick % phases) as usize;
            while let Some(&slot) = self.buckets[phase].get(self.cursor) {
                self.cursor += 1;
                let Some(Some(entry)) = self.slab.get_mut(slot) else {
                    continue;
                };
                entry.session.handle_timeout(now);
                let transmit = entry.session.poll_transmit(now, &mut self.buffer);
                let key = entry.key;
                while let Some(ev) = entry.session.poll_event() {
                    self.events.push_back((key, ev));
                }
                if let Some(tx) = transmit {
                    let lateness = now.saturating_duration_since(tx.deadline);
                    self.lateness.record(lateness);
                    return Some(PacerTransmit {
                        key,
                        destination: tx.destination,
                        packet: self.buffer.get(..tx.len).unwrap_or(&[]),
                        lateness,
                    });
                }
            }
            self.next_tick += 1;
            self.cursor = 0;
        }
    }

    /// Send-slot lateness of every packet so far.
    pub fn lateness(&self) -> &LatenessHistogram {
        &self.lateness
    }

    /// Mutable lateness histogram (e.g. to reset it between measurements).
    pub fn lateness_mut(&mut self) -> &mut LatenessHistogram {
        &mut self.lateness
    }

    fn drain(&mut self, key: SessionKey) {
        let Some(&slot) = self.index.get(&key) else {
            return;
        };
        if let Some(Some(entry)) = self.slab.get_mut(slot) {
            while let Some(ev) = entry.session.poll_event() {
                self.events.push_back((key, ev));
            }
        }
    }

    fn unlink(&mut self, phase: usize, position: usize) {
        let current = (self.next_tick % self.phases as u64) as usize;
        let bucket = &mut self.buckets[phase];
        if phase == current && position < self.cursor {
            // Keep the visited prefix [0, cursor) contiguous.
            let last_visited = self.cursor - 1;
            bucket.swap(position, last_visited);
            let end = bucket.len() - 1;
            bucket.swap(last_visited, end);
            bucket.pop();
            self.cursor -= 1;
            for p in [position, last_visited] {
                if let Some(&slot) = self.buckets[phase].get(p) {
                    if let Some(Some(e)) = self.slab.get_mut(slot) {
                        e.position = p;
                    }
                }
            }
        } else {
            bucket.swap_remove(position);
            if let Some(&slot) = bucket.get(position) {
                if let Some(Some(e)) = self.slab.get_mut(slot) {
                    e.position = position;
                }
            }
        }
    }

    fn tick_time(&self, tick: u64) -> Instant {
        self.epoch + Duration::from_nanos(tick.saturating_mul(self.tick_nanos))
    }

    fn tick_at(&self, now: Instant) -> u64 {
        nanos_saturating(now.saturating_duration_since(self.epoch)) / self.tick_nanos
    }

    fn first_tick_of_phase(&self, now: Instant, phase: usize) -> Instant {
        let phases = self.phases as u64;
        let since = now.saturating_duration_since(self.epoch).as_nanos();
        let tick_nanos = self.tick.as_nanos().max(1);
        let first = u64::try_from(since.div_ceil(tick_nanos)).unwrap_or(u64::MAX);
        let offset = (phase as u64 + phases - first % phases) % phases;
        self.tick_time(first + offset)
    }
}

/// Log-linear histogram of durations with about 3 % resolution (exact below
/// 64 µs), up to about 9.5 hours. Fixed size: recording never allocates.
#[derive(Clone)]
pub struct LatenessHistogram {
    counts: Box<[u64; BUCKETS]>,
    count: u64,
    sum_micros: u128,
    max: Duration,
}

const SUB: u64 = 32;
const EXACT: u64 = 64;
const OCTAVES: u64 = 30;
const BUCKETS: usize = (EXACT + OCTAVES * SUB) as usize;

impl std::fmt::Debug for LatenessHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatenessHistogram")
            .field("count", &self.count)
            .field("p50", &self.quantile(0.5))
            .field("p99", &self.quantile(0.99))
            .field("max", &self.max)
            .finish()
    }
}

impl Default for LatenessHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatenessHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        LatenessHistogram {
            counts: Box::new([0; BUCKETS]),
            count: 0,
            sum_micros: 0,
            max: Duration::ZERO,
        }
    }

    fn bucket(micros: u64) -> usize {
        if micros < EXACT {
            return micros as usize;
        }
        let exp = 63 - u64::from(micros.leading_zeros()); // >= 6
        let shift = exp - 5;
        let octave = (exp - 6).min(OCTAVES - 1);
        let mantissa = if exp - 6 >= OCTAVES {
            SUB - 1
        } else {
            (micros >> shift) - SUB
        };
        (EXACT + octave * SUB + mantissa) as usize
    }

    fn upper_bound(index: usize) -> u64 {
        let index = index as u64;
        if index < EXACT {
            return index;
        }
        let octave = (index - EXACT) / SUB;
        let mantissa = (index - EXACT) % SUB;
        let shift = octave + 1;
        ((SUB + mantissa + 1) << shift) - 1
    }

    /// Records one value.
    pub fn record(&mut self, value: Duration) {
        let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        if let Some(c) = self.counts.get_mut(Self::bucket(micros)) {
            *c += 1;
        }
        self.count += 1;
        self.sum_micros += u128::from(micros);
        self.max = self.max.max(value);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The largest value recorded.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The mean value.
    pub fn mean(&self) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let micros = self.sum_micros / u128::from(self.count);
        Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// The value below which a fraction `q` (0.0–1.0) of records fall
    /// (upper edge of its bucket, never above the maximum).
    pub fn quantile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let target = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                return Duration::from_micros(Self::upper_bound(i)).min(self.max);
            }
        }
        self.max
    }

    /// Adds another histogram's records (e.g. several workers).
    pub fn merge(&mut self, other: &LatenessHistogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.sum_micros += other.sum_micros;
        self.max = self.max.max(other.max);
    }

    /// Forgets everything.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Cumulative counts at each bucket's upper edge, for Prometheus-style
    /// export: `(upper_edge, count_at_or_below)` for non-empty buckets.
    pub fn cumulative(&self) -> impl Iterator<Item = (Duration, u64)> + '_ {
        let mut seen = 0;
        self.counts.iter().enumerate().filter_map(move |(i, c)| {
            seen += c;
            (*c > 0).then(|| (Duration::from_micros(Self::upper_bound(i)), seen))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_tight() {
        for v in [
            0u64,
            1,
            63,
            64,
            65,
            100,
            999,
            1000,
            1500,
            20_000,
            1_000_000,
            u64::MAX / 2,
        ] {
            let b = LatenessHistogram::bucket(v);
            assert!(b < BUCKETS);
            let hi = LatenessHistogram::upper_bound(b);
            if v < 1 << 35 {
                assert!(hi >= v, "{v} -> {b} -> {hi}");
                assert!(hi as f64 <= v as f64 * 1.04 + 1.0, "{v} -> {hi}");
            }
        }
        let mut h = LatenessHistogram::new();
        for us in 1..=1000 {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.count(), 1000);
        let p50 = h.quantile(0.5).as_micros();
        assert!((500..=520).contains(&p50), "{p50}");
        let p99 = h.quantile(0.99).as_micros();
        assert!((990..=1000).contains(&p99), "{p99}");
        assert_eq!(h.quantile(1.0), Duration::from_micros(1000));
        assert_eq!(h.max(), Duration::from_micros(1000));
    }
}
