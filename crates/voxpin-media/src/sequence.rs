//! RFC 3550 Appendix A.1 sequence-number validation, per SSRC.
//!
//! A new source is on probation until [`MIN_SEQUENTIAL`] packets arrive in
//! sequence (the first is not delivered); afterwards a jump of more than
//! [`MAX_DROPOUT`] ahead, or more than [`MAX_MISORDER`] behind, is refused
//! unless the very next packet confirms the new numbering (a restarted
//! sender). Duplicates and small reorderings are accepted: RFC 4733 end
//! packets are duplicates by design.

use crate::rtp::Ssrc;

/// Packets in sequence before a new source is valid.
pub const MIN_SEQUENTIAL: u8 = 2;
/// Largest forward jump accepted as loss.
pub const MAX_DROPOUT: u16 = 3000;
/// Largest backward step accepted as reordering.
pub const MAX_MISORDER: u16 = 100;

/// Validation state of one source.
#[derive(Debug, Clone, Copy)]
pub struct SequenceValidator {
    ssrc: Ssrc,
    max_seq: u16,
    cycles: u32,
    /// `bad_seq` of the RFC; `None` is its `RTP_SEQ_MOD + 1`.
    bad_seq: Option<u16>,
    probation: u8,
    received: u64,
}

impl SequenceValidator {
    /// A source first seen with sequence number `seq` (on probation).
    pub fn new(ssrc: Ssrc, seq: u16) -> Self {
        SequenceValidator {
            ssrc,
            max_seq: seq.wrapping_sub(1),
            cycles: 0,
            bad_seq: None,
            probation: MIN_SEQUENTIAL,
            received: 0,
        }
    }

    /// The source this validates.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// Packets accepted so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The extended highest sequence number (cycles in the high bits).
    pub fn extended_max(&self) -> u64 {
        (u64::from(self.cycles) << 16) | u64::from(self.max_seq)
    }

    fn restart(&mut self, seq: u16) {
        self.max_seq = seq;
        self.bad_seq = None;
        self.cycles = 0;
        self.received = 0;
    }

    /// Whether the packet numbered `seq` is valid (Appendix A.1 `update_seq`).
    pub fn update(&mut self, seq: u16) -> bool {
        let delta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.restart(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        }
        if delta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(1);
            }
            self.max_seq = seq;
        } else if delta <= u16::MAX - MAX_MISORDER {
            if self.bad_seq == Some(seq) {
                // Two sequential packets: the sender restarted its numbering.
                self.restart(seq);
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
                return false;
            }
        }
        // else: duplicate or reordered, accepted.
        self.received += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probation_then_wrap_duplicates_and_jumps() {
        let mut v = SequenceValidator::new(Ssrc(1), 65534);
        assert!(!v.update(65534), "first packet is on probation");
        assert!(v.update(65535));
        assert!(v.update(0), "wrap");
        assert_eq!(v.extended_max(), 1 << 16);
        assert!(v.update(0), "duplicate accepted");
        assert!(v.update(1));
        assert!(!v.update(20_000), "a wild jump is refused");
        assert!(v.update(20_001), "... unless the next packet confirms it");
        assert!(v.update(19_950), "small reordering accepted");
    }

    #[test]
    fn broken_probation_restarts() {
        let mut v = SequenceValidator::new(Ssrc(1), 10);
        assert!(!v.update(10));
        assert!(!v.update(50));
        assert!(v.update(51));
    }
}
