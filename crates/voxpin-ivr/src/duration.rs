//! Humane durations (`"500ms"`, `"3s"`, `"10m"`, `"1h30m"`) and rates (`"3/1h"`).

use std::fmt;
use std::time::Duration;

/// Why a duration or rate text was refused; shown inside a [`crate::DialplanError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DurationProblem {
    /// The text is empty.
    Empty,
    /// A number has no unit after it (`"10"`).
    MissingUnit,
    /// A unit is not one of `ms`, `s`, `m`, `h`.
    UnknownUnit,
    /// A unit has no number before it (`"s"`).
    MissingNumber,
    /// The value does not fit.
    TooLarge,
    /// A rate is not written `count/window` (`"3/1h"`).
    NotARate,
}

impl fmt::Display for DurationProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "it is empty",
            Self::MissingUnit => "a number has no unit; units are ms, s, m, h",
            Self::UnknownUnit => "unknown unit; units are ms, s, m, h",
            Self::MissingNumber => "a unit has no number before it",
            Self::TooLarge => "it is too large",
            Self::NotARate => "write a rate as count/window, e.g. \"3/1h\"",
        })
    }
}

/// Parses a humane duration: one or more `<integer><unit>` parts, units
/// `ms`, `s`, `m`, `h`, spaces allowed between parts (`"500ms"`, `"3s"`, `"10m"`, `"1h30m"`).
pub fn parse_duration(text: &str) -> Result<Duration, DurationProblem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationProblem::Empty);
    }
    let bytes = text.as_bytes();
    let mut total_ms: u64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(if bytes[i].is_ascii_alphabetic() {
                DurationProblem::MissingNumber
            } else {
                DurationProblem::UnknownUnit
            });
        }
        let number: u64 = text[start..i]
            .parse()
            .map_err(|_| DurationProblem::TooLarge)?;
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let factor = match &text[unit_start..i] {
            "" => return Err(DurationProblem::MissingUnit),
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(DurationProblem::UnknownUnit),
        };
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let part = number
            .checked_mul(factor)
            .ok_or(DurationProblem::TooLarge)?;
        total_ms = total_ms
            .checked_add(part)
            .ok_or(DurationProblem::TooLarge)?;
    }
    Ok(Duration::from_millis(total_ms))
}

/// A count per time window, written `"3/1h"` (or `"3/h"`, meaning one hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// How many events the window allows.
    pub count: u32,
    /// The length of the window.
    pub per: Duration,
}

impl Rate {
    /// Parses `"count/window"`, e.g. `"3/1h"`, `"1/3s"`, `"100/m"`.
    pub fn parse(text: &str) -> Result<Rate, DurationProblem> {
        let (count, window) = text
            .trim()
            .split_once('/')
            .ok_or(DurationProblem::NotARate)?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| DurationProblem::NotARate)?;
        let window = window.trim();
        let window = if window.starts_with(|c: char| c.is_ascii_digit()) {
            window.to_owned()
        } else {
            format!("1{window}")
        };
        let per = parse_duration(&window)?;
        Ok(Rate { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}ms", self.count, self.per.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humane_durations_parse() {
        let ok = [
            ("500ms", 500),
            ("3s", 3_000),
            ("10m", 600_000),
            ("1h", 3_600_000),
            ("1h30m", 5_400_000),
            ("0s", 0),
            (" 2s ", 2_000),
            ("10 s", 10_000),
            ("1h 30m", 5_400_000),
        ];
        for (text, ms) in ok {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_durations_say_why() {
        let bad = [
            ("", DurationProblem::Empty),
            ("10", DurationProblem::MissingUnit),
            ("10 x", DurationProblem::UnknownUnit),
            ("3 days", DurationProblem::UnknownUnit),
            ("3d", DurationProblem::UnknownUnit),
            ("s", DurationProblem::MissingNumber),
            ("-3s", DurationProblem::UnknownUnit),
            ("99999999999999999999s", DurationProblem::TooLarge),
            ("9999999999999999h", DurationProblem::TooLarge),
        ];
        for (text, problem) in bad {
            assert_eq!(parse_duration(text), Err(problem), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_says_why(text in "\\PC{0,40}") {
            let _ = parse_duration(&text);
            let _ = Rate::parse(&text);
        }

        #[test]
        fn written_durations_read_back(h in 0u64..48, m in 0u64..60, s in 0u64..60, ms in 0u64..1000) {
            let text = format!("{h}h{m}m {s}s{ms}ms");
            let expected = Duration::from_millis(((h * 60 + m) * 60 + s) * 1000 + ms);
            proptest::prop_assert_eq!(parse_duration(&text), Ok(expected));
        }

        #[test]
        fn written_rates_read_back(count in 0u32..10_000, secs in 1u64..100_000) {
            let rate = Rate::parse(&format!("{count}/{secs}s"));
            proptest::prop_assert_eq!(rate, Ok(Rate { count, per: Duration::from_secs(secs) }));
        }
    }

    #[test]
    fn rates_parse() {
        assert_eq!(
            Rate::parse("3/1h"),
            Ok(Rate {
                count: 3,
                per: Duration::from_secs(3600)
            })
        );
        assert_eq!(
            Rate::parse("1/3s"),
            Ok(Rate {
                count: 1,
                per: Duration::from_secs(3)
            })
        );
        assert_eq!(
            Rate::parse("100/m"),
            Ok(Rate {
                count: 100,
                per: Duration::from_secs(60)
            })
        );
        assert_eq!(Rate::parse("3 per hour"), Err(DurationProblem::NotARate));
        assert_eq!(Rate::parse("x/1h"), Err(DurationProblem::NotARate));
        assert_eq!(Rate::parse("3/1d"), Err(DurationProblem::UnknownUnit));
    }
}
