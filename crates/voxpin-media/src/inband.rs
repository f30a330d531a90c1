//! In-band DTMF: a Goertzel detector on decoded 8 kHz audio.
//!
//! Audio is cut into blocks of [`BLOCK`] samples (12.75 ms). In each block
//! the power at the four row (697–941 Hz) and four column (1209–1633 Hz)
//! frequencies is measured. A block is a *hit* for a digit when:
//!
//! - the strongest row and column each carry at least [`MIN_TONE_POWER`];
//! - twist is within limits: the column tone at most 8 dB weaker (normal
//!   twist) or 4 dB stronger (reverse twist) than the row tone;
//! - each is 8 dB above the other tones of its group;
//! - the two tones hold at least 60 % of the block's energy (speech and
//!   noise spread energy, a DTMF pair concentrates it);
//! - each tone is nearer its nominal frequency than 5 % off in either
//!   direction (two more Goertzel probes), which places the
//!   accept/reject boundary at about 2.5 %: within ±1.5 % detects, beyond
//!   ±3.5 % is rejected.
//!
//! Two hits in a row begin a digit, two misses in a row end it (so a tone
//! of 40 ms, which always spans two whole blocks, is detected, and a pause of
//! 40 ms separates two digits). The digit is reported when it ends, with its
//! duration.

use std::collections::VecDeque;
use std::f32::consts::PI;
use std::time::Duration;

use crate::prompt::SAMPLE_RATE;

/// Samples per analysis block (as in Asterisk: 102 at 8 kHz, 12.75 ms).
pub const BLOCK: usize = 102;
/// Minimum power of each tone, in squared 16-bit sample units (amplitude ≈ 300).
pub const MIN_TONE_POWER: f32 = 45_000.0;

const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];
/// 8 dB.
const NORMAL_TWIST: f32 = 6.31;
/// 4 dB.
const REVERSE_TWIST: f32 = 2.51;
/// 8 dB.
const RELATIVE_PEAK: f32 = 6.31;
const TO_TOTAL_ENERGY: f32 = 0.6;
const PROBE_OFFSET: f32 = 0.05;
const HITS_TO_BEGIN: u32 = 2;
const MISSES_TO_END: u32 = 2;

/// A digit heard in the audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InbandDigit {
    /// `0-9 * # A-D`.
    pub digit: char,
    /// Length of the tone (in whole blocks).
    pub duration: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No digit; maybe a candidate with consecutive hits.
    Idle { candidate: Option<(char, u32)> },
    /// A digit is sounding.
    Active {
        digit: char,
        blocks: u32,
        misses: u32,
    },
}

/// Streaming DTMF tone detector (rules in the module docs).
#[derive(Debug, Clone)]
pub struct InbandDetector {
    block: [f32; BLOCK],
    filled: usize,
    state: State,
    digits: VecDeque<InbandDigit>,
}

impl Default for InbandDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDetector {
    /// A detector with nothing heard.
    pub fn new() -> Self {
        InbandDetector {
            block: [0.0; BLOCK],
            filled: 0,
            state: State::Idle { candidate: None },
            digits: VecDeque::new(),
        }
    }

    /// Feeds decoded 8 kHz samples, any amount.
    pub fn handle_samples(&mut self, samples: &[i16]) {
        for &s in samples {
            if let Some(slot) = self.block.get_mut(self.filled) {
                *slot = f32::from(s);
            }
            self.filled += 1;
            if self.filled == BLOCK {
                self.filled = 0;
                let hit = analyse(&self.block);
                self.step(hit);
            }
        }
    }

    /// The next digit heard. Call after [`Self::handle_samples`].
    pub fn poll_digit(&mut self) -> Option<InbandDigit> {
        self.digits.pop_front()
    }

    fn step(&mut self, hit: Option<char>) {
        self.state = match (self.state, hit) {
            (State::Idle { candidate }, Some(d)) => {
                let hits = match candidate {
                    Some((c, n)) if c == d => n + 1,
                    _ => 1,
                };
                if hits >= HITS_TO_BEGIN {
                    State::Active {
                        digit: d,
                        blocks: hits,
                        misses: 0,
                    }
                } else {
                    State::Idle {
                        candidate: Some((d, hits)),
                    }
                }
            }
            (State::Idle { .. }, None) => State::Idle { candidate: None },
            (State::Active { digit, blocks, .. }, Some(d)) if d == digit => State::Active {
                digit,
                blocks: blocks + 1,
                misses: 0,
            },
            (
                State::Active {
                    digit,
                    blocks,
                    misses,
                },
                other,
            ) => {
                if misses + 1 >= MISSES_TO_END {
                    let samples = u64::from(blocks) * BLOCK as u64;
                    self.digits.push_back(InbandDigit {
                        digit,
                        duration: Duration::from_micros(
                            samples * 1_000_000 / u64::from(SAMPLE_RATE),
                        ),
                    });
                    State::Idle {
                        candidate: other.map(|d| (d, 1)),
                    }
                } else {
                    State::Active {
                        digit,
                        blocks,
                        misses: misses + 1,
                    }
                }
            }
        };
    }
}

/// Mean power of `freq` in `block` (A²/2 for a sine of amplitude A at `freq`).
fn goertzel(block: &[f32; BLOCK], freq: f32) -> f32 {
    let coeff = 2.0 * (2.0 * PI * freq / SAMPLE_RATE as f32).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in block {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power / (BLOCK * BLOCK) as f32
}

fn strongest(powers: &[f32; 4]) -> (usize, f32, f32) {
    let mut best = 0;
    for i in 1..4 {
        if powers[i] > powers[best] {
            best = i;
        }
    }
    let others = powers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != best)
        .map(|(_, p)| *p)
        .fold(0.0f32, f32::max);
    (best, powers[best], others)
}

fn near_nominal(block: &[f32; BLOCK], freq: f32, power: f32) -> bool {
    power >= goertzel(block, freq * (1.0 + PROBE_OFFSET))
        && power >= goertzel(block, freq * (1.0 - PROBE_OFFSET))
}

/// The digit this block carries, if it passes every test.
fn analyse(block: &[f32; BLOCK]) -> Option<char> {
    let total = block.iter().map(|x| x * x).sum::<f32>() / BLOCK as f32;
    if total < 2.0 * MIN_TONE_POWER {
        return None;
    }
    let rows = ROWS.map(|f| goertzel(block, f));
    let cols = COLS.map(|f| goertzel(block, f));
    let (r, row, row_others) = strongest(&rows);
    let (c, col, col_others) = strongest(&cols);
    let passes = row >= MIN_TONE_POWER
        && col >= MIN_TONE_POWER
        && row <= col * NORMAL_TWIST
        && col <= row * REVERSE_TWIST
        && row >= row_others * RELATIVE_PEAK
        && col >= col_others * RELATIVE_PEAK
        && row + col >= TO_TOTAL_ENERGY * total
        && near_nominal(block, ROWS[r], row)
        && near_nominal(block, COLS[c], col);
    passes.then(|| KEYS[r][c])
}

/// The row and column frequencies of a DTMF character.
pub fn frequencies(digit: char) -> Option<(f32, f32)> {
    KEYS.iter().enumerate().find_map(|(r, row)| {
        row.iter()
            .position(|&k| k == digit)
            .map(|c| (ROWS[r], COLS[c]))
    })
}

/// A DTMF tone of `samples` samples at 8 kHz, each component with peak
/// `amplitude` (e.g. 6000 ≈ −13 dBm0 per tone). `None` for a non-DTMF char.
pub fn tone(digit: char, samples: usize, amplitude: f32) -> Option<Vec<i16>> {
    let (low, high) = frequencies(digit)?;
    Some(
        (0..samples)
            .map(|n| {
                let t = n as f32 / SAMPLE_RATE as f32;
                let v = amplitude * ((2.0 * PI * low * t).sin() + (2.0 * PI * high * t).sin());
                v.clamp(-32768.0, 32767.0) as i16
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_cover_all_sixteen_keys() {
        let all = "0123456789*#ABCD";
        for d in all.chars() {
            assert!(frequencies(d).is_some());
        }
        assert_eq!(frequencies('5'), Some((770.0, 1336.0)));
        assert_eq!(frequencies('x'), None);
    }

    #[test]
    fn each_key_detected() {
        for d in "0123456789*#ABCD".chars() {
            let mut det = InbandDetector::new();
            det.handle_samples(&tone(d, 800, 6000.0).unwrap());
            det.handle_samples(&[0; 800]);
            let got = det.poll_digit().map(|x| x.digit);
            assert_eq!(got, Some(d));
            assert_eq!(det.poll_digit(), None);
        }
    }
}
