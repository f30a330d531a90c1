//! The prompt library: spoken phrases encoded once per codec, shared by all calls.
//!
//! Prompts come from 16-bit PCM WAV files, one folder per language
//! (`prompts/en/0.wav`, `prompts/en/your-code-is.wav`, …); the prompt's name is
//! the file stem. 8 kHz mono is the native format. Stereo is mixed down to
//! mono (mean of the channels) and other sample rates are converted on load
//! (see [`resample`]); anything else (8/24/32-bit, float, G.711-in-WAV, more
//! than two channels, below 8 kHz, longer than [`MAX_PROMPT`]) is refused
//! with the file and the reason.
//!
//! Each prompt is padded with silence to whole 20 ms frames and encoded once
//! per [`Codec`] into one [`Bytes`] buffer. A playing call holds a cheap
//! clone of that buffer (a reference count) and a cursor, never a copy.

pub mod load;
pub mod resample;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Cursor;
use std::time::Duration;

use bytes::Bytes;

use crate::g711::Codec;

/// Samples per second of G.711.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples (and G.711 bytes) in one 20 ms frame.
pub const FRAME_SAMPLES: usize = 160;
/// The packetisation interval.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// The longest prompt accepted.
pub const MAX_PROMPT: Duration = Duration::from_secs(60);

/// The prompt names the voxpin flows use; a language pack should have all.
pub const STANDARD_PROMPTS: [&str; 19] = [
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "your-code-is",
    "i-repeat",
    "press-1-to-repeat",
    "press-any-key",
    "enter-your-code",
    "verified",
    "incorrect",
    "invalid-request",
    "goodbye",
];

/// A language pack's name: the folder name under `prompts/` (e.g. `en`, `pt-BR`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language(String);

impl Language {
    /// A language name: 1–32 ASCII letters, digits, `-` or `_`.
    pub fn new(name: &str) -> Result<Self, PromptError> {
        if is_valid_label(name) {
            Ok(Language(name.to_owned()))
        } else {
            Err(PromptError::InvalidLanguage {
                language: name.to_owned(),
            })
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_valid_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a prompt could not be loaded. `file` reads `<language>/<name>.wav`
/// (or the full path for file-system errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromptError {
    /// The language name has characters other than letters, digits, `-`, `_`.
    #[error("prompt language {language:?} is not a valid name (letters, digits, '-', '_')")]
    InvalidLanguage {
        /// The name given.
        language: String,
    },
    /// The prompt name has characters other than letters, digits, `-`, `_`.
    #[error("prompt {file}: {name:?} is not a valid prompt name (letters, digits, '-', '_')")]
    InvalidName {
        /// The file.
        file: String,
        /// The name given.
        name: String,
    },
    /// The bytes are not a WAV file `hound` can read.
    #[error("prompt {file}: not a readable PCM WAV file: {source}")]
    Wav {
        /// The file.
        file: String,
        /// What the WAV reader said.
        #[source]
        source: hound::Error,
    },
    /// Not 16-bit integer PCM.
    #[error("prompt {file}: {bits}-bit {format} samples; only 16-bit integer PCM is supported")]
    UnsupportedSampleFormat {
        /// The file.
        file: String,
        /// Bits per sample in the file.
        bits: u16,
        /// `integer` or `float`.
        format: &'static str,
    },
    /// More than two channels.
    #[error("prompt {file}: {channels} channels; only mono or stereo is supported")]
    UnsupportedChannels {
        /// The file.
        file: String,
        /// Channels in the file.
        channels: u16,
    },
    /// A sample rate below 8 kHz or above 192 kHz.
    #[error("prompt {file}: sample rate {rate} Hz; supported are 8000 to 192000 Hz")]
    UnsupportedSampleRate {
        /// The file.
        file: String,
        /// The rate in the file.
        rate: u32,
    },
    /// No samples.
    #[error("prompt {file}: contains no audio")]
    Empty {
        /// The file.
        file: String,
    },
    /// Longer than [`MAX_PROMPT`].
    #[error("prompt {file}: {seconds:.1} s long; the limit is 60 s")]
    TooLong {
        /// The file.
        file: String,
        /// Its length.
        seconds: f64,
    },
    /// Two prompts with the same language and name.
    #[error("prompt {file}: added twice")]
    Duplicate {
        /// The file.
        file: String,
    },
    /// A language pack lacks a prompt the flows need.
    #[error("prompt {file}: missing from the language pack")]
    Missing {
        /// The file that should exist.
        file: String,
    },
    /// Reading the prompt folder failed.
    #[error("prompt folder {path}: {source}")]
    Io {
        /// The path read.
        path: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
}

/// One prompt, encoded for every codec.
#[derive(Clone)]
pub struct Prompt {
    name: String,
    frames: usize,
    pcmu: Bytes,
    pcma: Bytes,
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt")
            .field("name", &self.name)
            .field("frames", &self.frames)
            .finish()
    }
}

impl Prompt {
    /// Builds a prompt from 8 kHz mono samples (padded to whole frames).
    pub fn from_samples(name: &str, samples: &[i16]) -> Self {
        let frames = samples.len().div_ceil(FRAME_SAMPLES);
        let mut padded = samples.to_vec();
        padded.resize(frames * FRAME_SAMPLES, 0);
        let encode = |codec: Codec| {
            let mut out = Vec::with_capacity(padded.len());
            codec.encode(&padded, &mut out);
            Bytes::from(out)
        };
        Prompt {
            name: name.to_owned(),
            frames,
            pcmu: encode(Codec::Pcmu),
            pcma: encode(Codec::Pcma),
        }
    }

    /// The prompt's name (the file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of 20 ms frames.
    pub fn frame_count(&self) -> usize {
        self.frames
    }

    /// Playing time.
    pub fn duration(&self) -> Duration {
        FRAME_DURATION * u32::try_from(self.frames).unwrap_or(u32::MAX)
    }

    /// The whole prompt in one codec: `frame_count() * 160` bytes, shared.
    pub fn encoded(&self, codec: Codec) -> &Bytes {
        match codec {
            Codec::Pcmu => &self.pcmu,
            Codec::Pcma => &self.pcma,
        }
    }

    /// Frame `index` in `codec`, as a shared slice (no copy).
    pub fn frame(&self, codec: Codec, index: usize) -> Option<Bytes> {
        let start = index.checked_mul(FRAME_SAMPLES)?;
        let end = start.checked_add(FRAME_SAMPLES)?;
        let all = self.encoded(codec);
        (end <= all.len()).then(|| all.slice(start..end))
    }
}

/// Every prompt of every language, encoded once. Cheap to share behind an `Arc`.
#[derive(Debug, Clone, Default)]
pub struct PromptLibrary {
    languages: BTreeMap<Language, BTreeMap<String, Prompt>>,
}

impl PromptLibrary {
    /// Starts building a library from WAV bytes.
    pub fn builder() -> PromptLibraryBuilder {
        PromptLibraryBuilder::default()
    }

    /// Builds a library from `(language, name, wav bytes)` triples, failing
    /// on the first bad file.
    pub fn from_wavs<'a>(
        wavs: impl IntoIterator<Item = (&'a str, &'a str, &'a [u8])>,
    ) -> Result<PromptLibrary, PromptError> {
        let mut builder = PromptLibrary::builder();
        for (language, name, bytes) in wavs {
            builder.add_wav(language, name, bytes)?;
        }
        Ok(builder.build())
    }

    /// The prompt `name` of `language`, if present.
    pub fn prompt(&self, language: &Language, name: &str) -> Option<&Prompt> {
        self.languages.get(language)?.get(name)
    }

    /// Whether `language` has a prompt called `name`.
    pub fn contains(&self, language: &Language, name: &str) -> bool {
        self.prompt(language, name).is_some()
    }

    /// The languages present, sorted.
    pub fn languages(&self) -> impl Iterator<Item = &Language> {
        self.languages.keys()
    }

    /// The prompt names of `language`, sorted.
    pub fn names<'a>(&'a self, language: &Language) -> impl Iterator<Item = &'a str> + 'a {
        self.languages
            .get(language)
            .into_iter()
            .flat_map(|m| m.keys().map(String::as_str))
    }

    /// Checks that `language` has every name in [`STANDARD_PROMPTS`].
    pub fn check_standard(&self, language: &Language) -> Result<(), PromptError> {
        match STANDARD_PROMPTS
            .iter()
            .find(|name| !self.contains(language, name))
        {
            Some(name) => Err(PromptError::Missing {
                file: format!("{language}/{name}.wav"),
            }),
            None => Ok(()),
        }
    }

    /// Total encoded bytes held (both codecs).
    pub fn encoded_bytes(&self) -> usize {
        self.languages
            .values()
            .flat_map(|m| m.values())
            .map(|p| p.pcmu.len() + p.pcma.len())
            .sum()
    }
}

/// Collects prompts; [`PromptLibraryBuilder::build`] freezes them.
#[derive(Debug, Default)]
pub struct PromptLibraryBuilder {
    library: PromptLibrary,
}

impl PromptLibraryBuilder {
    /// Decodes, converts and encodes one WAV file's bytes as prompt `name` of `language`.
    pub fn add_wav(
        &mut self,
        language: &str,
        name: &str,
        wav: &[u8],
    ) -> Result<&mut Self, PromptError> {
        let language = Language::new(language)?;
        let file = format!("{language}/{name}.wav");
        if !is_valid_label(name) {
            return Err(PromptError::InvalidName {
                file,
                name: name.to_owned(),
            });
        }
        if self.library.contains(&language, name) {
            return Err(PromptError::Duplicate { file });
        }
        let samples = read_wav(&file, wav)?;
        self.insert(language, Prompt::from_samples(name, &samples));
        Ok(self)
    }

    /// Adds a prompt from 8 kHz mono samples (for generated audio and tests).
    pub fn add_samples(
        &mut self,
        language: &str,
        name: &str,
        samples: &[i16],
    ) -> Result<&mut Self, PromptError> {
        let language = Language::new(language)?;
        let file = format!("{language}/{name}.wav");
        if !is_valid_label(name) {
            return Err(PromptError::InvalidName {
                file,
                name: name.to_owned(),
            });
        }
        if samples.is_empty() {
            return Err(PromptError::Empty { file });
        }
        if self.library.contains(&language, name) {
            return Err(PromptError::Duplicate { file });
        }
        self.insert(language, Prompt::from_samples(name, samples));
        Ok(self)
    }

    fn insert(&mut self, language: Language, prompt: Prompt) {
        self.library
            .languages
            .entry(language)
            .or_default()
            .insert(prompt.name.clone(), prompt);
    }

    /// The finished library.
    pub fn build(self) -> PromptLibrary {
        self.library
    }
}

/// Reads WAV bytes into 8 kHz mono samples.
fn read_wav(file: &str, wav: &[u8]) -> Result<Vec<i16>, PromptError> {
    let wav_error = |source| PromptError::Wav {
        file: file.to_owned(),
        source,
    };
    let reader = hound::WavReader::new(Cursor::new(wav)).map_err(wav_error)?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(PromptError::UnsupportedSampleFormat {
            file: file.to_owned(),
            bits: spec.bits_per_sample,
            format: match spec.sample_format {
                hound::SampleFormat::Int => "integer",
                hound::SampleFormat::Float => "float",
            },
        });
    }
    if !(1..=2).contains(&spec.channels) {
        return Err(PromptError::UnsupportedChannels {
            file: file.to_owned(),
            channels: spec.channels,
        });
    }
    if !(SAMPLE_RATE..=192_000).contains(&spec.sample_rate) {
        return Err(PromptError::UnsupportedSampleRate {
            file: file.to_owned(),
            rate: spec.sample_rate,
        });
    }
    let frames = u64::from(reader.duration());
    let seconds = frames as f64 / f64::from(spec.sample_rate);
    if seconds > MAX_PROMPT.as_secs_f64() {
        return Err(PromptError::TooLong {
            file: file.to_owned(),
            seconds,
        });
    }
    let interleaved = reader
        .into_samples::<i16>()
        .collect::<Result<Vec<i16>, _>>()
        .map_err(wav_error)?;
    let mono: Vec<i16> = if spec.channels == 2 {
        interleaved
            .chunks_exact(2)
            .map(|lr| match lr {
                [l, r] => ((i32::from(*l) + i32::from(*r)) / 2) as i16,
                _ => 0,
            })
            .collect()
    } else {
        interleaved
    };
    if mono.is_empty() {
        return Err(PromptError::Empty {
            file: file.to_owned(),
        });
    }
    Ok(resample::to_8khz(&mono, spec.sample_rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn wav_bytes(rate: u32, channels: u16, bits: u16, samples: &[i32]) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        };
        let mut cursor = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
        for &s in samples {
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        cursor.into_inner()
    }

    #[test]
    fn native_wav_is_padded_and_encoded_once_per_codec() {
        let samples: Vec<i32> = (0..170).map(|i| i * 10).collect();
        let mut b = PromptLibrary::builder();
        b.add_wav("en", "x", &wav_bytes(8000, 1, 16, &samples))
            .unwrap();
        let lib = b.build();
        let p = lib.prompt(&Language::new("en").unwrap(), "x").unwrap();
        assert_eq!(p.frame_count(), 2);
        assert_eq!(p.duration(), Duration::from_millis(40));
        assert_eq!(p.encoded(Codec::Pcmu).len(), 320);
        assert_eq!(p.encoded(Codec::Pcmu)[1], Codec::Pcmu.encode_sample(10));
        assert_eq!(p.encoded(Codec::Pcma)[319], Codec::Pcma.silence_byte());
        let f = p.frame(Codec::Pcma, 1).unwrap();
        assert_eq!(f.len(), 160);
        // A frame is a view into the shared buffer, not a copy.
        assert_eq!(f.as_ptr(), p.encoded(Codec::Pcma)[160..].as_ptr());
        assert!(p.frame(Codec::Pcma, 2).is_none());
        assert!(lib.check_standard(&Language::new("en").unwrap()).is_err());
    }

    #[test]
    fn from_wavs_builds_or_names_the_bad_file() {
        let good = wav_bytes(8000, 1, 16, &[1, 2, 3]);
        let lib =
            PromptLibrary::from_wavs([("en", "a", &good[..]), ("de", "a", &good[..])]).unwrap();
        assert_eq!(lib.languages().count(), 2);
        let e =
            PromptLibrary::from_wavs([("en", "a", &good[..]), ("en", "b", &b"x"[..])]).unwrap_err();
        assert!(e.to_string().starts_with("prompt en/b.wav"), "{e}");
    }

    #[test]
    fn stereo_is_mixed_down() {
        let samples = [100, 300, -100, -300];
        let mut b = PromptLibrary::builder();
        b.add_wav("en", "s", &wav_bytes(8000, 2, 16, &samples))
            .unwrap();
        let lib = b.build();
        let p = lib.prompt(&Language::new("en").unwrap(), "s").unwrap();
        assert_eq!(p.encoded(Codec::Pcmu)[0], Codec::Pcmu.encode_sample(200));
        assert_eq!(p.encoded(Codec::Pcmu)[1], Codec::Pcmu.encode_sample(-200));
    }

    #[test]
    fn refusals_name_the_file_and_the_reason() {
        let mut b = PromptLibrary::builder();
        let e = b
            .add_wav("en", "a", &wav_bytes(8000, 1, 8, &[1, 2]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "prompt en/a.wav: 8-bit integer samples; only 16-bit integer PCM is supported"
        );
        let e = b
            .add_wav("en", "b", &wav_bytes(8000, 3, 16, &[1, 2, 3]))
            .unwrap_err();
        assert!(
            e.to_string().starts_with("prompt en/b.wav: 3 channels"),
            "{e}"
        );
        let e = b
            .add_wav("en", "c", &wav_bytes(4000, 1, 16, &[1, 2]))
            .unwrap_err();
        assert!(e.to_string().contains("sample rate 4000 Hz"), "{e}");
        let e = b.add_wav("en", "d", b"RIFF junk").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("prompt en/d.wav: not a readable PCM WAV"),
            "{e}"
        );
        let e = b
            .add_wav("en", "e", &wav_bytes(8000, 1, 16, &[]))
            .unwrap_err();
        assert_eq!(e.to_string(), "prompt en/e.wav: contains no audio");
        let e = b
            .add_wav("e n", "f", &wav_bytes(8000, 1, 16, &[1]))
            .unwrap_err();
        assert!(matches!(e, PromptError::InvalidLanguage { .. }));
        let e = b
            .add_wav("en", "../x", &wav_bytes(8000, 1, 16, &[1]))
            .unwrap_err();
        assert!(matches!(e, PromptError::InvalidName { .. }));
        b.add_wav("en", "g", &wav_bytes(8000, 1, 16, &[1])).unwrap();
        let e = b
            .add_wav("en", "g", &wav_bytes(8000, 1, 16, &[1]))
            .unwrap_err();
        assert_eq!(e.to_string(), "prompt en/g.wav: added twice");
    }
}
