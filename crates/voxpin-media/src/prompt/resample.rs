//! Sample-rate conversion of prompts to 8 kHz, done once at load.
//!
//! Method: when the source rate is above 8 kHz the signal is first low-pass
//! filtered at 3.6 kHz (a 63-tap Hamming-windowed sinc FIR at the source rate,
//! unity gain at DC), then read at 8 kHz positions by linear interpolation
//! between neighbouring source samples. This is plenty for telephone-band
//! speech; for the best quality, convert files offline (`sox in.wav -r 8000
//! -c 1 -b 16 out.wav`) and ship them at 8 kHz.

use super::SAMPLE_RATE;

const CUTOFF_HZ: f64 = 3600.0;
const TAPS: usize = 63;

/// Converts mono samples at `rate` to 8 kHz (identity at 8 kHz).
pub fn to_8khz(samples: &[i16], rate: u32) -> Vec<i16> {
    if rate == SAMPLE_RATE || samples.is_empty() {
        return samples.to_vec();
    }
    let filtered = if rate > SAMPLE_RATE {
        low_pass(samples, f64::from(rate))
    } else {
        samples.iter().map(|&s| f64::from(s)).collect()
    };
    let step = f64::from(rate) / f64::from(SAMPLE_RATE);
    let out_len = ((samples.len() as f64) / step).floor() as usize;
    let last = filtered.len() - 1;
    (0..out_len.max(1))
        .map(|i| {
            let pos = i as f64 * step;
            let j = (pos.floor() as usize).min(last);
            let frac = pos - j as f64;
            let a = filtered[j];
            let b = filtered[(j + 1).min(last)];
            clamp(a + (b - a) * frac)
        })
        .collect()
}

fn low_pass(samples: &[i16], rate: f64) -> Vec<f64> {
    let fc = CUTOFF_HZ / rate;
    let mid = (TAPS / 2) as f64;
    let mut taps: Vec<f64> = (0..TAPS)
        .map(|n| {
            let x = n as f64 - mid;
            let sinc = if x == 0.0 {
                2.0 * fc
            } else {
                (2.0 * std::f64::consts::PI * fc * x).sin() / (std::f64::consts::PI * x)
            };
            let window =
                0.54 - 0.46 * (2.0 * std::f64::consts::PI * n as f64 / (TAPS - 1) as f64).cos();
            sinc * window
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    taps.iter_mut().for_each(|t| *t /= sum);
    let half = TAPS / 2;
    (0..samples.len())
        .map(|i| {
            taps.iter()
                .enumerate()
                .filter_map(|(k, t)| {
                    let idx = (i + k).checked_sub(half)?;
                    samples.get(idx).map(|&s| f64::from(s) * t)
                })
                .sum()
        })
        .collect()
}

fn clamp(x: f64) -> i16 {
    x.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin())
                    as i16
            })
            .collect()
    }

    fn rms(x: &[i16]) -> f64 {
        (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn passband_kept_and_alias_band_removed() {
        let speech = to_8khz(&tone(48_000, 1000.0, 48_000), 48_000);
        assert_eq!(speech.len(), 8000);
        let r = rms(&speech[100..7900]);
        assert!((r - 8000.0 / 2f64.sqrt()).abs() < 300.0, "passband rms {r}");
        // 7 kHz would alias to 1 kHz without the filter.
        let high = to_8khz(&tone(48_000, 7000.0, 48_000), 48_000);
        assert!(
            rms(&high[100..7900]) < 150.0,
            "alias rms {}",
            rms(&high[100..7900])
        );
    }

    #[test]
    fn identity_at_8khz() {
        let x = tone(8000, 500.0, 100);
        assert_eq!(to_8khz(&x, 8000), x);
    }
}
