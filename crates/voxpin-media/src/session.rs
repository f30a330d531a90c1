//! One call's media: paced playout out, strict RTP and DTMF in.
//!
//! # Sending
//!
//! The send clock is absolute: packet slot `k` is due at `t0 + k·20 ms` and
//! carries timestamp `ts0 + k·160`; nothing is ever scheduled from "now".
//! [`MediaSession::poll_transmit`] produces the packet of the latest due slot.
//! After a stall (the caller came late by more than a frame) the missed
//! slots are skipped, not sent in a burst: their frames are dropped as if
//! lost, the sequence number stays contiguous, the timestamp jumps to the
//! slot's, and the marker bit flags the discontinuity. Between playlists the
//! session sends silence (unless [`SessionConfig::send_when_idle`] is off, in
//! which case it is quiet and restarts on the slot grid with a marker).
//!
//! # Receiving
//!
//! Strict RTP: with `symmetric` off and a negotiated `remote`, only packets
//! from that address count. With `symmetric` on (or no remote), the source is
//! learned once, at call start, from [`SessionConfig::learn_packets`]
//! in-sequence packets of one address and SSRC, then locked
//! ([`MediaEvent::SourceLocked`]) and used as the destination. Everything
//! from elsewhere is dropped and counted. Accepted packets pass RFC 3550
//! sequence validation ([`crate::sequence`]) and then feed the RFC 4733
//! receiver (telephone-event payload type from SDP) or, for audio when
//! [`SessionConfig::inband_dtmf`] is on and no telephone-event was
//! negotiated, the in-band detector.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngCore;

use crate::dtmf::{DtmfReceiver, TelephoneEvent};
use crate::g711::Codec;
use crate::inband::InbandDetector;
use crate::playlist::{self, ItemTag, Playlist, PlaylistError, Segment};
use crate::prompt::{PromptLibrary, FRAME_DURATION, FRAME_SAMPLES};
use crate::rtp::{RtpHeader, RtpPacket, Ssrc, HEADER_LEN};
use crate::sequence::SequenceValidator;

/// Bytes a buffer passed to [`MediaSession::poll_transmit`] needs.
pub const PACKET_LEN: usize = HEADER_LEN + FRAME_SAMPLES;

/// How many concurrent far-end SSRCs are validated (audio, DTMF, a restart).
const TRACKED_SOURCES: usize = 4;

/// Parameters of one call's media, mostly from SDP.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The negotiated audio codec.
    pub codec: Codec,
    /// Its payload type (normally the static 0 or 8).
    pub payload_type: u8,
    /// The negotiated telephone-event payload type, if any (never assumed 101).
    pub telephone_event: Option<u8>,
    /// The far end's RTP address from SDP, if known.
    pub remote: Option<SocketAddr>,
    /// Learn and lock the far end's source from its packets (symmetric RTP).
    pub symmetric: bool,
    /// In-sequence packets from one source needed to lock it.
    pub learn_packets: u8,
    /// No accepted RTP for this long raises [`MediaEvent::Inactive`].
    pub inactivity_timeout: Duration,
    /// Run the in-band (Goertzel) DTMF detector on received audio. It runs
    /// only when no telephone-event payload type was negotiated: a peer that
    /// negotiates RFC 4733 sends digits that way, and listening to both
    /// would report a digit twice when a gateway sends both.
    pub inband_dtmf: bool,
    /// Send silence frames when no playlist is playing.
    pub send_when_idle: bool,
    /// The shared prompt library.
    pub prompts: Arc<PromptLibrary>,
}

impl SessionConfig {
    /// Defaults for `codec`: static payload type, no telephone-event, no
    /// remote, symmetric RTP learning 3 packets, 30 s inactivity, in-band
    /// detection on (it only runs without telephone-event), silence when idle.
    pub fn new(codec: Codec, prompts: Arc<PromptLibrary>) -> Self {
        SessionConfig {
            codec,
            payload_type: codec.static_payload_type(),
            telephone_event: None,
            remote: None,
            symmetric: true,
            learn_packets: 3,
            inactivity_timeout: Duration::from_secs(30),
            inband_dtmf: true,
            send_when_idle: true,
            prompts,
        }
    }
}

/// Where a digit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigitSource {
    /// RFC 4733 telephone-event packets.
    Rfc4733,
    /// Tones in the audio.
    InBand,
}

/// Something the owner of a session should know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// The last frame of the item with this tag was sent.
    ItemFinished(ItemTag),
    /// The last frame of the playlist was sent.
    PlaylistFinished,
    /// A keypress.
    Digit {
        /// `0-9 * # A-D`.
        digit: char,
        /// How it was signalled.
        source: DigitSource,
        /// How long it lasted.
        duration: Duration,
    },
    /// No accepted RTP for `inactivity_timeout` (raised once per silence).
    Inactive,
    /// The far end's source was learned and locked.
    SourceLocked(SocketAddr),
}

/// Packet counts of one session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaCounters {
    /// RTP packets produced.
    pub packets_sent: u64,
    /// Send slots skipped after a stall.
    pub slots_skipped: u64,
    /// Send slots with no destination known yet.
    pub slots_without_destination: u64,
    /// Datagrams handed to [`MediaSession::handle_rtp`].
    pub packets_received: u64,
    /// Dropped: not RTP, or a bad telephone-event payload.
    pub dropped_malformed: u64,
    /// Dropped: from a source other than the negotiated or locked one.
    pub dropped_wrong_source: u64,
    /// Dropped: received while the source was still being learned.
    pub dropped_learning: u64,
    /// Dropped: RFC 3550 sequence validation refused it.
    pub dropped_sequence: u64,
    /// Accepted but of a payload type neither audio nor telephone-event.
    pub ignored_payload_type: u64,
}

/// A packet [`MediaSession::poll_transmit`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: SocketAddr,
    /// Its length at the start of the buffer.
    pub len: usize,
    /// The slot's deadline (`now − deadline` is the send lateness).
    pub deadline: Instant,
}

#[derive(Debug, Clone, Copy)]
enum SourceState {
    /// Only the negotiated address counts.
    Fixed(SocketAddr),
    /// Learning: the candidate and its in-sequence count.
    Learning(Option<Candidate>),
    /// Learned and locked.
    Locked(SocketAddr),
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    address: SocketAddr,
    ssrc: Ssrc,
    last_seq: u16,
    count: u8,
}

/// One call's RTP media. Sans-IO: feed it datagrams and time, drain it.
#[derive(Debug)]
pub struct MediaSession {
    config: SessionConfig,
    ssrc: Ssrc,
    next_seq: u16,
    ts0: u32,
    t0: Instant,
    next_slot: u64,
    marker_pending: bool,
    /// Quiet since this slot (only with `send_when_idle` off).
    quiet: bool,
    segments: VecDeque<Segment>,
    /// Frame index within the front segment.
    cursor: usize,
    playing: bool,
    source: SourceState,
    destination: Option<SocketAddr>,
    validators: [Option<SequenceValidator>; TRACKED_SOURCES],
    next_validator: usize,
    dtmf: DtmfReceiver,
    inband: Option<InbandDetector>,
    decoded: Vec<i16>,
    last_received: Instant,
    inactive_reported: bool,
    events: VecDeque<MediaEvent>,
    counters: MediaCounters,
}

impl MediaSession {
    /// A session whose send clock starts at `now`; SSRC, first sequence
    /// number and first timestamp come from `rng`.
    pub fn new(now: Instant, config: SessionConfig, rng: &mut impl RngCore) -> Self {
        let source = match (config.symmetric, config.remote) {
            (false, Some(remote)) => SourceState::Fixed(remote),
            _ => SourceState::Learning(None),
        };
        let inband =
            (config.inband_dtmf && config.telephone_event.is_none()).then(InbandDetector::new);
        MediaSession {
            ssrc: Ssrc(rng.next_u32()),
            next_seq: (rng.next_u32() & 0xFFFF) as u16,
            ts0: rng.next_u32(),
            t0: now,
            next_slot: 0,
            marker_pending: true,
            quiet: !config.send_when_idle,
            segments: VecDeque::new(),
            cursor: 0,
            playing: false,
            source,
            destination: config.remote,
            validators: [None; TRACKED_SOURCES],
            next_validator: 0,
            dtmf: DtmfReceiver::new(),
            inband,
            decoded: Vec::with_capacity(FRAME_SAMPLES * 2),
            last_received: now,
            inactive_reported: false,
            events: VecDeque::new(),
            counters: MediaCounters::default(),
            config,
        }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Where packets go: the locked source, else the negotiated remote.
    pub fn destination(&self) -> Option<SocketAddr> {
        self.destination
    }

    /// Packet counts so far.
    pub fn counters(&self) -> &MediaCounters {
        &self.counters
    }

    /// Whether a playlist is playing.
    pub fn is_playing(&self) -> bool {
        self.playing
    }

    /// Sets the negotiated remote address (e.g. from a late SDP answer).
    /// Without symmetric RTP it becomes the only accepted source.
    pub fn set_remote(&mut self, remote: SocketAddr) {
        self.config.remote = Some(remote);
        if !self.config.symmetric {
            self.source = SourceState::Fixed(remote);
        }
        if !matches!(self.source, SourceState::Locked(_)) {
            self.destination = Some(remote);
        }
    }

    /// Moves the send clock so slot 0 is at `t0` (used by the [`crate::Pacer`]
    /// to place the session on its tick grid). Only before the first packet.
    pub(crate) fn align_clock(&mut self, t0: Instant) {
        if self.counters.packets_sent == 0 && self.counters.slots_skipped == 0 {
            self.t0 = t0;
            self.next_slot = 0;
        }
    }

    /// Replaces whatever is playing with `playlist`, from the next slot.
    /// Fails, playing nothing new, if a prompt is missing.
    pub fn play(&mut self, now: Instant, playlist: &Playlist) -> Result<(), PlaylistError> {
        let segments = playlist::resolve(playlist, &self.config.prompts, self.config.codec)?;
        self.segments = segments.into();
        self.cursor = 0;
        self.playing = true;
        if self.quiet {
            self.quiet = false;
            self.next_slot = self.next_slot.max(self.slot_at_or_after(now));
            self.marker_pending = true;
        }
        Ok(())
    }

    /// Stops playout at once (no events for the unplayed items).
    pub fn stop(&mut self, now: Instant) {
        self.segments.clear();
        self.cursor = 0;
        self.playing = false;
        if !self.config.send_when_idle {
            self.quiet = true;
        }
        let _ = now;
    }

    /// The next instant a `poll_transmit` or `handle_timeout` has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let send = (!self.quiet).then(|| self.slot_deadline(self.next_slot));
        let inactive =
            (!self.inactive_reported).then(|| self.last_received + self.config.inactivity_timeout);
        [send, inactive, self.dtmf.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Raises [`MediaEvent::Inactive`] and reports stale DTMF events.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.inactive_reported
            && now.saturating_duration_since(self.last_received) >= self.config.inactivity_timeout
        {
            self.inactive_reported = true;
            self.events.push_back(MediaEvent::Inactive);
        }
        self.dtmf.handle_timeout(now);
        self.drain_dtmf();
    }

    /// The deadline of the next packet, if the session is sending.
    pub fn next_send_deadline(&self) -> Option<Instant> {
        (!self.quiet).then(|| self.slot_deadline(self.next_slot))
    }

    /// Writes the packet of the latest due slot into `out` (at least
    /// [`PACKET_LEN`] bytes). Call when `now` reaches the send deadline; it
    /// returns `None` when no slot is due, when nothing is to be sent, or
    /// when no destination is known yet. Never allocates.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut [u8]) -> Option<Transmit> {
        if self.quiet || now < self.slot_deadline(self.next_slot) {
            return None;
        }
        let due = self.slot_at_or_before(now);
        if due > self.next_slot {
            let missed = due - self.next_slot;
            self.counters.slots_skipped += missed;
            for _ in 0..missed {
                self.advance_frame(None);
            }
            self.next_slot = due;
            self.marker_pending = true;
        }
        let slot = self.next_slot;
        self.next_slot += 1;
        let deadline = self.slot_deadline(slot);
        let Some(destination) = self.destination else {
            self.counters.slots_without_destination += 1;
            self.advance_frame(None);
            return None;
        };
        let payload_len = FRAME_SAMPLES;
        let body = out.get_mut(HEADER_LEN..HEADER_LEN + payload_len)?;
        let was_playing = self.playing;
        self.advance_frame(Some(body));
        if !was_playing && !self.config.send_when_idle {
            self.quiet = true;
            return None;
        }
        let header = RtpHeader {
            payload_type: self.config.payload_type,
            marker: std::mem::take(&mut self.marker_pending),
            sequence: self.next_seq,
            // Timestamps wrap modulo 2^32 by design.
            timestamp: self
                .ts0
                .wrapping_add((slot as u32).wrapping_mul(FRAME_SAMPLES as u32)),
            ssrc: self.ssrc,
        };
        header.write_header(out)?;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.counters.packets_sent += 1;
        if !self.playing && !self.config.send_when_idle {
            self.quiet = true;
        }
        Some(Transmit {
            destination,
            len: HEADER_LEN + payload_len,
            deadline,
        })
    }

    /// Takes the next event. Drain after every `handle_*`, `play` and `poll_transmit`.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// Feeds one received datagram from `source`, received at `now`.
    pub fn handle_rtp(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) {
        self.counters.packets_received += 1;
        let Ok(packet) = RtpPacket::parse(datagram) else {
            self.counters.dropped_malformed += 1;
            return;
        };
        if !self.accept_source(source, &packet) {
            return;
        }
        if !self.validate_sequence(&packet) {
            self.counters.dropped_sequence += 1;
            return;
        }
        self.last_received = now;
        self.inactive_reported = false;
        if Some(packet.payload_type) == self.config.telephone_event {
            match TelephoneEvent::parse(packet.payload) {
                Ok(ev) => {
                    self.dtmf
                        .handle_event(now, packet.ssrc, packet.timestamp, ev);
                    self.drain_dtmf();
                }
                Err(_) => self.counters.dropped_malformed += 1,
            }
        } else if packet.payload_type == self.config.payload_type {
            self.handle_inband(packet.payload);
        } else {
            self.counters.ignored_payload_type += 1;
        }
    }

    /// Decodes audio and runs the in-band detector, when enabled.
    fn handle_inband(&mut self, payload: &[u8]) {
        let Some(detector) = self.inband.as_mut() else {
            return;
        };
        self.decoded.clear();
        self.config.codec.decode(payload, &mut self.decoded);
        detector.handle_samples(&self.decoded);
        while let Some(d) = detector.poll_digit() {
            self.events.push_back(MediaEvent::Digit {
                digit: d.digit,
                source: DigitSource::InBand,
                duration: d.duration,
            });
        }
    }

    fn drain_dtmf(&mut self) {
        while let Some(d) = self.dtmf.poll_digit() {
            self.events.push_back(MediaEvent::Digit {
                digit: d.digit,
                source: DigitSource::Rfc4733,
                duration: d.duration,
            });
        }
    }

    fn accept_source(&mut self, source: SocketAddr, packet: &RtpPacket<'_>) -> bool {
        match &mut self.source {
            SourceState::Fixed(addr) | SourceState::Locked(addr) => {
                if *addr == source {
                    true
                } else {
                    self.counters.dropped_wrong_source += 1;
                    false
                }
            }
            SourceState::Learning(candidate) => {
                let count = match candidate {
                    Some(c)
                        if c.address == source
                            && c.ssrc == packet.ssrc
                            && packet.sequence == c.last_seq.wrapping_add(1) =>
                    {
                        c.count + 1
                    }
                    _ => 1,
                };
                *candidate = Some(Candidate {
                    address: source,
                    ssrc: packet.ssrc,
                    last_seq: packet.sequence,
                    count,
                });
                if count >= self.config.learn_packets.max(1) {
                    self.source = SourceState::Locked(source);
                    self.destination = Some(source);
                    // The learned stream's numbering is already proven.
                    let mut v =
                        SequenceValidator::new(packet.ssrc, packet.sequence.wrapping_sub(1));
                    v.update(packet.sequence.wrapping_sub(1));
                    self.validators = [None; TRACKED_SOURCES];
                    self.validators[0] = Some(v);
                    self.next_validator = 1;
                    self.events.push_back(MediaEvent::SourceLocked(source));
                    true
                } else {
                    self.counters.dropped_learning += 1;
                    false
                }
            }
        }
    }

    fn validate_sequence(&mut self, packet: &RtpPacket<'_>) -> bool {
        if let Some(v) = self
            .validators
            .iter_mut()
            .flatten()
            .find(|v| v.ssrc() == packet.ssrc)
        {
            return v.update(packet.sequence);
        }
        let mut v = SequenceValidator::new(packet.ssrc, packet.sequence);
        let ok = v.update(packet.sequence);
        self.validators[self.next_validator] = Some(v);
        self.next_validator = (self.next_validator + 1) % TRACKED_SOURCES;
        ok
    }

    /// Moves playout one frame on, writing it to `out` when given (silence
    /// when idle), and queues the events of items that ended.
    fn advance_frame(&mut self, out: Option<&mut [u8]>) {
        let silence = self.config.codec.silence_byte();
        let mut out = out;
        loop {
            match self.segments.front() {
                None => {
                    if let Some(o) = out.take() {
                        o.fill(silence);
                    }
                    return;
                }
                Some(Segment::Finished(tag)) => {
                    let tag = *tag;
                    self.segments.pop_front();
                    self.events.push_back(MediaEvent::ItemFinished(tag));
                    self.finish_if_empty();
                }
                Some(Segment::Audio(bytes)) => {
                    let start = self.cursor * FRAME_SAMPLES;
                    let frame = bytes.get(start..start + FRAME_SAMPLES);
                    match frame {
                        Some(frame) => {
                            if let Some(o) = out.take() {
                                o.copy_from_slice(frame);
                            }
                            self.cursor += 1;
                            if self.cursor * FRAME_SAMPLES >= bytes.len() {
                                self.next_segment();
                            }
                            return;
                        }
                        None => self.next_segment(),
                    }
                }
                Some(Segment::Silence(n)) => {
                    if self.cursor < *n {
                        if let Some(o) = out.take() {
                            o.fill(silence);
                        }
                        self.cursor += 1;
                        if self.cursor >= *n {
                            self.next_segment();
                        }
                        return;
                    }
                    self.next_segment();
                }
            }
        }
    }

    /// Pops the finished front segment and any item-finished markers behind it.
    fn next_segment(&mut self) {
        self.segments.pop_front();
        self.cursor = 0;
        while let Some(Segment::Finished(tag)) = self.segments.front() {
            let tag = *tag;
            self.segments.pop_front();
            self.events.push_back(MediaEvent::ItemFinished(tag));
        }
        self.finish_if_empty();
    }

    fn finish_if_empty(&mut self) {
        if self.playing && self.segments.is_empty() {
            self.playing = false;
            self.events.push_back(MediaEvent::PlaylistFinished);
        }
    }

    fn slot_deadline(&self, slot: u64) -> Instant {
        self.t0 + Duration::from_nanos(slot.saturating_mul(FRAME_NANOS))
    }

    fn slot_at_or_before(&self, now: Instant) -> u64 {
        nanos_saturating(now.saturating_duration_since(self.t0)) / FRAME_NANOS
    }

    fn slot_at_or_after(&self, now: Instant) -> u64 {
        nanos_saturating(now.saturating_duration_since(self.t0)).div_ceil(FRAME_NANOS)
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX` (584 years): 64-bit
/// arithmetic on the per-packet path instead of 128-bit division.
pub(crate) fn nanos_saturating(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

const FRAME_NANOS: u64 = FRAME_DURATION.as_nanos() as u64;
