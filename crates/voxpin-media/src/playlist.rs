//! What a call should hear: prompts, silences and the code's digits, paced.
//!
//! A [`Playlist`] names prompts; [`crate::MediaSession::play`] resolves them
//! against the prompt library once and then plays frame by frame. Every item
//! carries an [`ItemTag`] chosen by the caller, returned in
//! [`crate::MediaEvent::ItemFinished`] when the item's last frame is sent.
//! Durations are rounded up to whole 20 ms frames.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use zeroize::Zeroizing;

use crate::g711::Codec;
use crate::prompt::{Language, PromptLibrary, FRAME_DURATION};

/// The caller's label for a playlist item, echoed when the item finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemTag(pub u32);

/// The digits of a one-time code (`0`–`9`). A secret: `Debug` shows only the
/// length, and the text is wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeDigits(Zeroizing<String>);

impl CodeDigits {
    /// Accepts 1–32 ASCII digits. The error never repeats the input.
    pub fn new(digits: &str) -> Result<Self, PlaylistError> {
        if digits.is_empty() || digits.len() > 32 {
            return Err(PlaylistError::CodeLength { len: digits.len() });
        }
        if let Some(position) = digits.bytes().position(|b| !b.is_ascii_digit()) {
            return Err(PlaylistError::CodeNotDigits { position });
        }
        Ok(CodeDigits(Zeroizing::new(digits.to_owned())))
    }

    /// Number of digits.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a code has at least one digit.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn chars(&self) -> impl Iterator<Item = char> + '_ {
        self.0.chars()
    }
}

impl fmt::Debug for CodeDigits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodeDigits({} digits)", self.0.len())
    }
}

/// How a code is read out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pacing {
    /// Silence between two digits of one group.
    pub digit_gap: Duration,
    /// Group sizes, in order (e.g. `[3, 3]` reads 481 516). Digits past the
    /// last group run on with `digit_gap`. Empty: no grouping.
    pub group_sizes: Vec<usize>,
    /// Silence between groups (instead of `digit_gap`).
    pub group_gap: Duration,
    /// Silence after the last digit.
    pub final_pause: Duration,
}

impl Default for Pacing {
    /// 400 ms between digits, no groups, 800 ms group gap, 600 ms final pause.
    fn default() -> Self {
        Pacing {
            digit_gap: Duration::from_millis(400),
            group_sizes: Vec::new(),
            group_gap: Duration::from_millis(800),
            final_pause: Duration::from_millis(600),
        }
    }
}

/// One thing to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayItem {
    /// A prompt by name (the file stem, e.g. `your-code-is`).
    Prompt(String),
    /// Silence, rounded up to whole 20 ms frames.
    Silence(Duration),
    /// The code, digit prompt by digit prompt, with pacing silences.
    Code {
        /// The digits (secret).
        digits: CodeDigits,
        /// Gaps and grouping.
        pacing: Pacing,
    },
}

/// Prompts, silences and codes in one language, each with a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playlist {
    language: Language,
    items: Vec<(ItemTag, PlayItem)>,
}

impl Playlist {
    /// An empty playlist in `language`.
    pub fn new(language: Language) -> Self {
        Playlist {
            language,
            items: Vec::new(),
        }
    }

    /// Appends an item.
    pub fn push(&mut self, tag: ItemTag, item: PlayItem) -> &mut Self {
        self.items.push((tag, item));
        self
    }

    /// Appends an item (builder style).
    pub fn with(mut self, tag: ItemTag, item: PlayItem) -> Self {
        self.items.push((tag, item));
        self
    }

    /// The language of its prompts.
    pub fn language(&self) -> &Language {
        &self.language
    }

    /// The items in order.
    pub fn items(&self) -> &[(ItemTag, PlayItem)] {
        &self.items
    }
}

/// Why a code or playlist is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlaylistError {
    /// The code is empty or longer than 32 digits.
    #[error("a code must have 1 to 32 digits, not {len}")]
    CodeLength {
        /// Its length.
        len: usize,
    },
    /// The code has a character other than `0`–`9` (not repeated here: secret).
    #[error("the code has a character other than 0-9 at position {position}")]
    CodeNotDigits {
        /// Zero-based byte position.
        position: usize,
    },
    /// A prompt is not in the library for the playlist's language.
    #[error("prompt {language}/{name}.wav is not in the prompt library")]
    UnknownPrompt {
        /// The playlist's language.
        language: Language,
        /// The prompt name (for code digits: the digit prompt; the digit is
        /// not named to keep the code secret).
        name: String,
    },
}

/// A resolved stretch of playout.
#[derive(Clone)]
pub(crate) enum Segment {
    /// Encoded frames shared with the library.
    Audio(Bytes),
    /// `n` frames of silence.
    Silence(usize),
    /// The item with this tag has finished.
    Finished(ItemTag),
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never shows which audio: code digits are secret.
        match self {
            Segment::Audio(b) => write!(f, "Audio({} bytes)", b.len()),
            Segment::Silence(n) => write!(f, "Silence({n})"),
            Segment::Finished(t) => write!(f, "Finished({})", t.0),
        }
    }
}

/// Frames needed for `d`, rounded up.
pub(crate) fn frames_for(d: Duration) -> usize {
    let frame = FRAME_DURATION.as_nanos();
    usize::try_from(d.as_nanos().div_ceil(frame)).unwrap_or(usize::MAX)
}

/// Resolves `playlist` into segments for `codec`.
pub(crate) fn resolve(
    playlist: &Playlist,
    library: &PromptLibrary,
    codec: Codec,
) -> Result<Vec<Segment>, PlaylistError> {
    let language = &playlist.language;
    let audio = |name: &str, shown: &str| {
        library
            .prompt(language, name)
            .map(|p| Segment::Audio(p.encoded(codec).clone()))
            .ok_or_else(|| PlaylistError::UnknownPrompt {
                language: language.clone(),
                name: shown.to_owned(),
            })
    };
    let mut out = Vec::new();
    let silence = |out: &mut Vec<Segment>, d: Duration| {
        let n = frames_for(d);
        if n > 0 {
            out.push(Segment::Silence(n));
        }
    };
    for (tag, item) in &playlist.items {
        match item {
            PlayItem::Prompt(name) => out.push(audio(name, name)?),
            PlayItem::Silence(d) => silence(&mut out, *d),
            PlayItem::Code { digits, pacing } => {
                let mut boundaries = pacing.group_sizes.iter().scan(0usize, |acc, size| {
                    *acc += size;
                    Some(*acc)
                });
                let mut next_boundary = boundaries.next();
                for (i, digit) in digits.chars().enumerate() {
                    let mut name = [0u8; 4];
                    out.push(audio(digit.encode_utf8(&mut name), "<digit>")?);
                    let spoken = i + 1;
                    if spoken == digits.len() {
                        silence(&mut out, pacing.final_pause);
                    } else if next_boundary == Some(spoken) {
                        silence(&mut out, pacing.group_gap);
                        next_boundary = boundaries.next();
                    } else {
                        silence(&mut out, pacing.digit_gap);
                    }
                }
            }
        }
        out.push(Segment::Finished(*tag));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_digits_are_secret() {
        let c = CodeDigits::new("481516").unwrap();
        assert_eq!(format!("{c:?}"), "CodeDigits(6 digits)");
        let e = CodeDigits::new("48x516").unwrap_err();
        assert!(!e.to_string().contains('x'));
        assert_eq!(e, PlaylistError::CodeNotDigits { position: 2 });
        assert_eq!(
            CodeDigits::new(""),
            Err(PlaylistError::CodeLength { len: 0 })
        );
        let item = PlayItem::Code {
            digits: c,
            pacing: Pacing::default(),
        };
        assert!(!format!("{item:?}").contains("481"));
    }

    #[test]
    fn frames_round_up() {
        assert_eq!(frames_for(Duration::ZERO), 0);
        assert_eq!(frames_for(Duration::from_millis(1)), 1);
        assert_eq!(frames_for(Duration::from_millis(20)), 1);
        assert_eq!(frames_for(Duration::from_millis(21)), 2);
    }
}
