//! DTMF carried in SIP INFO bodies.
//!
//! Two body formats are in use: `application/dtmf-relay` (Cisco's, the most
//! common on trunks)
//!
//! ```text
//! Signal=5
//! Duration=160
//! ```
//!
//! and `application/dtmf` (a bare digit, sometimes followed by a newline).
//! [`parse`] understands both; digits come out as `char` in
//! `0-9 * # A-D`, the shape all voxpin crates share. Event code 10 and 11
//! (RFC 4733 numbering) are accepted for `*` and `#`.

use std::time::Duration;

/// The content type of a Cisco-style `Signal=`/`Duration=` body.
pub const DTMF_RELAY: &str = "application/dtmf-relay";
/// The content type of a bare-digit body.
pub const DTMF: &str = "application/dtmf";

/// The duration reported when a body gives none: 100 ms, a typical key press.
pub const DEFAULT_DURATION: Duration = Duration::from_millis(100);

/// The longest duration accepted from a body; longer values are clamped.
pub const MAX_DURATION: Duration = Duration::from_secs(10);

/// A key press read from an INFO body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfInfo {
    /// The key: `'0'..='9'`, `'*'`, `'#'`, `'A'..='D'`.
    pub digit: char,
    /// How long the key was held, as reported by the sender.
    pub duration: Duration,
}

/// Whether `content_type` (a Content-Type header value, parameters allowed)
/// names one of the DTMF INFO formats.
pub fn is_dtmf_content_type(content_type: &str) -> bool {
    let media = media_type(content_type);
    media.eq_ignore_ascii_case(DTMF_RELAY) || media.eq_ignore_ascii_case(DTMF)
}

/// Reads the key press in an INFO body of type `content_type`; `None` when
/// the type is not a DTMF format or the body holds no valid key.
pub fn parse(content_type: &str, body: &[u8]) -> Option<DtmfInfo> {
    let text = std::str::from_utf8(body).ok()?;
    let media = media_type(content_type);
    if media.eq_ignore_ascii_case(DTMF_RELAY) {
        parse_relay(text)
    } else if media.eq_ignore_ascii_case(DTMF) {
        let digit = digit_from(text.trim())?;
        Some(DtmfInfo {
            digit,
            duration: DEFAULT_DURATION,
        })
    } else {
        None
    }
}

fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

fn parse_relay(text: &str) -> Option<DtmfInfo> {
    let mut digit = None;
    let mut duration = DEFAULT_DURATION;
    for line in text.lines() {
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "signal" => digit = digit_from(value),
            "duration" => {
                if let Ok(ms) = value.parse::<u64>() {
                    duration = Duration::from_millis(ms).min(MAX_DURATION);
                }
            }
            _ => {}
        }
    }
    Some(DtmfInfo {
        digit: digit?,
        duration,
    })
}

fn digit_from(value: &str) -> Option<char> {
    match value {
        "10" => return Some('*'),
        "11" => return Some('#'),
        _ => {}
    }
    let mut chars = value.chars();
    let c = chars.next()?.to_ascii_uppercase();
    if chars.next().is_some() {
        return None;
    }
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dtmf_relay_with_duration() {
        let info = parse(DTMF_RELAY, b"Signal=5\r\nDuration=160\r\n").unwrap();
        assert_eq!(info.digit, '5');
        assert_eq!(info.duration, Duration::from_millis(160));
    }

    #[test]
    fn reads_star_pound_and_letters_in_either_spelling() {
        assert_eq!(parse(DTMF_RELAY, b"Signal=*\r\n").unwrap().digit, '*');
        assert_eq!(parse(DTMF_RELAY, b"Signal=11\n").unwrap().digit, '#');
        assert_eq!(parse(DTMF_RELAY, b"signal = a\n").unwrap().digit, 'A');
        assert_eq!(
            parse("application/dtmf; charset=x", b"#\r\n")
                .unwrap()
                .digit,
            '#'
        );
    }

    #[test]
    fn rejects_garbage_and_other_types() {
        assert_eq!(parse(DTMF_RELAY, b"Signal=12\r\n"), None);
        assert_eq!(parse(DTMF_RELAY, b"Duration=100\r\n"), None);
        assert_eq!(parse(DTMF, b"E"), None);
        assert_eq!(parse(DTMF, b"\xff"), None);
        assert_eq!(parse("text/plain", b"1"), None);
    }

    #[test]
    fn clamps_absurd_durations() {
        let info = parse(DTMF_RELAY, b"Signal=1\nDuration=99999999\n").unwrap();
        assert_eq!(info.duration, MAX_DURATION);
    }

    #[test]
    fn recognises_content_types_case_insensitively() {
        assert!(is_dtmf_content_type("Application/DTMF-Relay"));
        assert!(is_dtmf_content_type("application/dtmf"));
        assert!(!is_dtmf_content_type("application/sdp"));
    }
}
