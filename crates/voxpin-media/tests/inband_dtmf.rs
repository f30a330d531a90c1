//! In-band DTMF: tones are detected from 40 ms with 40 ms pauses, within
//! ±1.5 % of nominal frequency, with normal twist up to 8 dB and reverse
//! twist up to 4 dB, through G.711 and in white noise; tones off by 3.5 %,
//! excessive twist, speech (our own prompts) and noise alone are rejected.
//! Tones made by an independent generator (SoX) are detected too.

mod common;

use std::time::Duration;

use common::*;
use rand::Rng;
use voxpin_media::inband::{frequencies, tone, InbandDetector};
use voxpin_media::*;

const TAU: f32 = std::f32::consts::TAU;

/// A dual tone with separate row/column amplitudes and a relative frequency error.
fn dual(digit: char, ms: usize, low_amp: f32, high_amp: f32, error: f32) -> Vec<f32> {
    let (low, high) = frequencies(digit).unwrap();
    let (low, high) = (low * (1.0 + error), high * (1.0 + error));
    (0..ms * 8)
        .map(|n| {
            let t = n as f32 / 8000.0;
            low_amp * (TAU * low * t).sin() + high_amp * (TAU * high * t).sin()
        })
        .collect()
}

fn silence(ms: usize) -> Vec<f32> {
    vec![0.0; ms * 8]
}

fn to_i16(x: &[f32]) -> Vec<i16> {
    x.iter()
        .map(|v| v.clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn detect(samples: &[i16]) -> String {
    let mut d = InbandDetector::new();
    d.handle_samples(samples);
    d.handle_samples(&[0; 800]);
    let mut out = String::new();
    while let Some(x) = d.poll_digit() {
        out.push(x.digit);
    }
    out
}

fn with_noise(x: &mut [f32], rms: f32, seed: u64) {
    let mut r = rng(seed);
    // Sum of uniforms: roughly Gaussian, unit variance per 12 uniforms.
    for v in x.iter_mut() {
        let g: f32 = (0..12).map(|_| r.random::<f32>()).sum::<f32>() - 6.0;
        *v += g * rms;
    }
}

#[test]
fn forty_ms_tones_with_forty_ms_pauses_all_detected() {
    let code = "1234567890*#ABCD";
    let mut x = silence(100);
    for d in code.chars() {
        x.extend(dual(d, 40, 5000.0, 5000.0, 0.0));
        x.extend(silence(40));
    }
    assert_eq!(detect(&to_i16(&x)), code);
}

#[test]
fn frequency_tolerance_detects_within_1_5_percent_and_rejects_beyond_3_5() {
    for d in "159#".chars() {
        for err in [-0.015, 0.015] {
            let x = dual(d, 60, 5000.0, 5000.0, err);
            assert_eq!(detect(&to_i16(&x)), d.to_string(), "{d} at {err}");
        }
        for err in [-0.035, 0.035, -0.05, 0.05] {
            let x = dual(d, 60, 5000.0, 5000.0, err);
            assert_eq!(detect(&to_i16(&x)), "", "{d} at {err} must be rejected");
        }
    }
}

#[test]
fn twist_limits() {
    let db = |x: f32| 10f32.powf(x / 20.0);
    // Normal twist: column weaker than row by up to 8 dB.
    let x = dual('5', 60, 8000.0, 8000.0 / db(7.5), 0.0);
    assert_eq!(detect(&to_i16(&x)), "5");
    let x = dual('5', 60, 8000.0, 8000.0 / db(10.0), 0.0);
    assert_eq!(detect(&to_i16(&x)), "", "10 dB normal twist");
    // Reverse twist: column stronger by up to 4 dB.
    let x = dual('5', 60, 5000.0, 5000.0 * db(3.5), 0.0);
    assert_eq!(detect(&to_i16(&x)), "5");
    let x = dual('5', 60, 5000.0, 5000.0 * db(6.0), 0.0);
    assert_eq!(detect(&to_i16(&x)), "", "6 dB reverse twist");
}

#[test]
fn tones_in_noise_through_g711_are_detected_and_noise_alone_is_not() {
    for (seed, codec) in [(11, Codec::Pcmu), (12, Codec::Pcma)] {
        let code = "8675309";
        let mut x = silence(60);
        for d in code.chars() {
            x.extend(dual(d, 50, 3000.0, 3000.0, 0.0));
            x.extend(silence(50));
        }
        // About 17 dB signal-to-noise per tone.
        with_noise(&mut x, 300.0, seed);
        let coded: Vec<i16> = to_i16(&x)
            .iter()
            .map(|&s| codec.decode_sample(codec.encode_sample(s)))
            .collect();
        assert_eq!(detect(&coded), code, "{codec:?}");
    }
    let mut noise = silence(5000);
    with_noise(&mut noise, 3000.0, 13);
    assert_eq!(detect(&to_i16(&noise)), "");
}

#[test]
fn the_shipped_prompts_do_not_talk_off() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
    let lib = PromptLibrary::load_dir(&root).unwrap();
    let mut total = 0;
    for language in lib.languages() {
        let mut all = Vec::new();
        for name in lib.names(language) {
            let p = lib.prompt(language, name).unwrap();
            Codec::Pcmu.decode(p.encoded(Codec::Pcmu), &mut all);
        }
        total += all.len();
        assert_eq!(detect(&all), "", "talk-off in {language}");
        // Louder (+6 dB) speech must not trigger either.
        let loud: Vec<i16> = all.iter().map(|&s| s.saturating_mul(2)).collect();
        assert_eq!(detect(&loud), "", "talk-off in {language} at +6 dB");
    }
    assert!(total > 8000 * 10, "at least 10 s of speech tested");
}

#[test]
fn voiced_speech_like_harmonics_do_not_talk_off() {
    // A gliding voice: fundamental 90–300 Hz, 30 harmonics with a falling
    // spectrum and two moving formant peaks, for 20 seconds.
    let mut r = rng(15);
    let mut x = Vec::new();
    let mut phase = 0.0f32;
    for n in 0..8000 * 20 {
        let t = n as f32 / 8000.0;
        let f0 = 195.0 + 105.0 * (TAU * 0.7 * t).sin();
        phase += TAU * f0 / 8000.0;
        let f1 = 700.0 + 300.0 * (TAU * 1.3 * t).sin();
        let f2 = 1400.0 + 500.0 * (TAU * 0.9 * t).cos();
        let mut v = 0.0;
        for h in 1..=30 {
            let fh = f0 * h as f32;
            let formant =
                (-((fh - f1) / 200.0).powi(2)).exp() + (-((fh - f2) / 250.0).powi(2)).exp();
            v += (0.2 / h as f32 + formant) * (phase * h as f32).sin();
        }
        x.push(v * 4000.0 + (r.random::<f32>() - 0.5) * 200.0);
    }
    assert_eq!(detect(&to_i16(&x)), "");
}

#[test]
fn a_session_hears_in_band_digits_in_its_audio() {
    let t = epoch();
    let peer = addr("192.0.2.1:4000");
    let mut c = SessionConfig::new(Codec::Pcma, synthetic_library());
    c.symmetric = false;
    c.remote = Some(peer);
    c.inband_dtmf = true;
    let mut s = MediaSession::new(t, c, &mut rng(14));
    let mut pcm = vec![0i16; 800];
    for d in "42".chars() {
        pcm.extend(tone(d, 480, 4000.0).unwrap());
        pcm.extend([0i16; 480]);
    }
    let mut heard = Vec::new();
    for (i, frame) in pcm.chunks(160).enumerate() {
        let mut payload = Vec::new();
        Codec::Pcma.encode(frame, &mut payload);
        let now = t + Duration::from_millis(20 * i as u64);
        s.handle_rtp(
            now,
            peer,
            &rtp(8, false, i as u16, 160 * i as u32, 3, &payload),
        );
        while let Some(ev) = s.poll_event() {
            if let MediaEvent::Digit {
                digit,
                source,
                duration,
            } = ev
            {
                assert_eq!(source, DigitSource::InBand);
                assert!(duration >= Duration::from_millis(50), "{duration:?}");
                heard.push(digit);
            }
        }
    }
    assert_eq!(heard, vec!['4', '2']);
}

/// `tests/data/dtmf_sox_15900.wav` comes from an independent generator
/// (SoX 14.4.2): digits 1 5 9 0 0, 45 ms tones at −12 dB with 45 ms gaps,
/// mixed with pink noise at −35 dB:
///
/// ```sh
/// sox -n -r 8000 -c 1 -b 16 -e signed-integer t1.wav \
///     synth 0.045 sine 697 synth 0.045 sine mix 1209 gain -12   # and so on
/// sox -n -r 8000 -c 1 -b 16 -e signed-integer gap.wav trim 0 0.045
/// sox gap.wav t1.wav gap.wav t5.wav gap.wav t9.wav gap.wav t0.wav gap.wav t0.wav gap.wav tones.wav
/// sox -n -r 8000 -c 1 -b 16 -e signed-integer noise.wav synth 0.495 pinknoise gain -35
/// sox -m tones.wav noise.wav dtmf_sox_15900.wav
/// ```
#[test]
fn tones_from_an_independent_generator_are_detected() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dtmf_sox_15900.wav");
    let samples: Vec<i16> = hound::WavReader::open(path)
        .unwrap()
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(samples.len(), 3960);
    assert_eq!(detect(&samples), "15900");
}

#[test]
fn tones_are_ignored_when_telephone_event_was_negotiated() {
    // Gateways that send both would otherwise report every digit twice.
    let t = epoch();
    let peer = addr("192.0.2.1:4000");
    let mut c = SessionConfig::new(Codec::Pcmu, synthetic_library());
    c.symmetric = false;
    c.remote = Some(peer);
    c.telephone_event = Some(101);
    let mut s = MediaSession::new(t, c, &mut rng(16));
    let mut pcm = tone('7', 800, 4000.0).unwrap();
    pcm.extend([0i16; 800]);
    for (i, frame) in pcm.chunks(160).enumerate() {
        let mut payload = Vec::new();
        Codec::Pcmu.encode(frame, &mut payload);
        s.handle_rtp(
            t,
            peer,
            &rtp(0, false, i as u16, 160 * i as u32, 3, &payload),
        );
    }
    assert_eq!(s.poll_event(), None);
    assert_eq!(s.counters().packets_received, 10);
}
