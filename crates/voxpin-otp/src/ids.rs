//! Identifiers: [`OtpId`], [`Application`], [`PhoneNumber`] and its
//! [`CountryCode`]. Each is parsed once at the edge and trusted after.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The id of one OTP: a random (version 4) UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OtpId(uuid::Uuid);

impl OtpId {
    /// A fresh random id (UUID v4, from the operating system's CSPRNG).
    pub fn random() -> OtpId {
        OtpId(uuid::Uuid::new_v4())
    }

    /// Wraps an existing UUID (for a backend that stores ids).
    pub fn from_uuid(uuid: uuid::Uuid) -> OtpId {
        OtpId(uuid)
    }

    /// The UUID inside.
    pub fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }
}

impl fmt::Display for OtpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Why text is not an OTP id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OtpIdError {
    /// The text is not a UUID.
    #[error("an OTP id is a UUID such as 67e55044-10b1-426f-9247-bb680e5fe0c8")]
    NotUuid,
}

impl FromStr for OtpId {
    type Err = OtpIdError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::try_parse(text)
            .map(OtpId)
            .map_err(|_| OtpIdError::NotUuid)
    }
}

/// The name of an OTP application (one dialplan): 1 to 64 characters of
/// `A-Z a-z 0-9 - _ .`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Application(String);

impl Application {
    /// The longest name accepted.
    pub const MAX_LEN: usize = 64;

    /// Parses an application name.
    pub fn new(name: &str) -> Result<Application, ApplicationError> {
        let first = name.chars().next().ok_or(ApplicationError::Empty)?;
        if name.len() > Self::MAX_LEN {
            return Err(ApplicationError::TooLong { length: name.len() });
        }
        if !first.is_ascii_alphanumeric() {
            return Err(ApplicationError::BadStart);
        }
        if let Some(index) = name
            .chars()
            .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(ApplicationError::BadCharacter {
                position: index + 1,
            });
        }
        Ok(Application(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Application {
    type Err = ApplicationError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Application::new(text)
    }
}

impl TryFrom<String> for Application {
    type Error = ApplicationError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Application::new(&text)
    }
}

impl From<Application> for String {
    fn from(application: Application) -> String {
        application.0
    }
}

/// Why text is not an application name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplicationError {
    /// The name is empty.
    #[error("the application name is empty")]
    Empty,
    /// The name is longer than 64 characters.
    #[error("the application name has {length} characters; at most 64 are allowed")]
    TooLong {
        /// Its length in bytes.
        length: usize,
    },
    /// The name does not start with a letter or digit.
    #[error("the application name must start with a letter or digit")]
    BadStart,
    /// The name holds a character outside `A-Z a-z 0-9 - _ .`.
    #[error("the application name may contain only A-Z, a-z, 0-9, '-', '_' and '.' (character {position} is not allowed)")]
    BadCharacter {
        /// 1-based position of the first character not allowed.
        position: usize,
    },
}

/// A phone number in E.164 form: `+`, a country code, then the national
/// number; 7 to 15 digits in all, the first not `0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// The fewest digits accepted (a few small countries have 7 in all).
    pub const MIN_DIGITS: usize = 7;
    /// The most digits E.164 allows.
    pub const MAX_DIGITS: usize = 15;

    /// Parses `+` followed by 7 to 15 digits, the first of them 1-9.
    pub fn new(text: &str) -> Result<PhoneNumber, PhoneError> {
        let digits = match text.strip_prefix('+') {
            Some(digits) => digits,
            None if text.is_empty() => return Err(PhoneError::Empty),
            None => return Err(PhoneError::MissingPlus),
        };
        if let Some(index) = digits.chars().position(|c| !c.is_ascii_digit()) {
            return Err(PhoneError::NotDigit {
                position: index + 2,
            });
        }
        if digits.starts_with('0') {
            return Err(PhoneError::LeadingZero);
        }
        if digits.len() < Self::MIN_DIGITS {
            return Err(PhoneError::TooShort {
                digits: digits.len(),
            });
        }
        if digits.len() > Self::MAX_DIGITS {
            return Err(PhoneError::TooLong {
                digits: digits.len(),
            });
        }
        Ok(PhoneNumber(text.to_owned()))
    }

    /// The number with its leading `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits after the `+`.
    pub fn digits(&self) -> &str {
        self.0.get(1..).unwrap_or_default()
    }

    /// The ITU-T E.164 country calling code (1 to 3 digits).
    pub fn country_code(&self) -> CountryCode {
        CountryCode::of_digits(self.digits())
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        PhoneNumber::new(text)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        PhoneNumber::new(&text)
    }
}

impl From<PhoneNumber> for String {
    fn from(number: PhoneNumber) -> String {
        number.0
    }
}

/// Why text is not an E.164 phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// The number is empty.
    #[error("the phone number is empty")]
    Empty,
    /// The number does not start with `+`.
    #[error("the phone number must be in E.164 form, starting with '+' and the country code (e.g. +14155550100)")]
    MissingPlus,
    /// Something other than a digit follows the `+`.
    #[error("the phone number may contain only digits after the '+' (character {position} is not a digit)")]
    NotDigit {
        /// 1-based position of the first character that is not a digit.
        position: usize,
    },
    /// The country code starts with 0.
    #[error("the phone number must start with a country code, which never begins with 0")]
    LeadingZero,
    /// Fewer than 7 digits.
    #[error("the phone number has {digits} digits; E.164 numbers have at least 7")]
    TooShort {
        /// How many digits it has.
        digits: usize,
    },
    /// More than 15 digits.
    #[error("the phone number has {digits} digits; E.164 allows at most 15")]
    TooLong {
        /// How many digits it has.
        digits: usize,
    },
}

/// An E.164 country calling code such as `1`, `44` or `351`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(u16);

/// The two-digit country codes; every other code that does not start with
/// 1 or 7 has three digits (ITU-T E.164 assignment list).
const TWO_DIGIT_CODES: [u16; 44] = [
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56,
    57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
];

impl CountryCode {
    /// The country code at the start of E.164 `digits` (without the `+`).
    fn of_digits(digits: &str) -> CountryCode {
        let prefix = |n: usize| -> u16 {
            digits
                .get(..n)
                .and_then(|p| p.parse().ok())
                .unwrap_or_default()
        };
        match digits.as_bytes().first() {
            Some(b'1') => CountryCode(1),
            Some(b'7') => CountryCode(7),
            _ if TWO_DIGIT_CODES.contains(&prefix(2)) => CountryCode(prefix(2)),
            _ => CountryCode(prefix(3)),
        }
    }

    /// The code as a number (`44` for the United Kingdom).
    pub fn value(self) -> u16 {
        self.0
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for CountryCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map(CountryCode)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_parse_strictly() {
        assert_eq!(PhoneNumber::new(""), Err(PhoneError::Empty));
        assert_eq!(
            PhoneNumber::new("14155550100"),
            Err(PhoneError::MissingPlus)
        );
        assert_eq!(
            PhoneNumber::new("+1 415 555"),
            Err(PhoneError::NotDigit { position: 3 })
        );
        assert_eq!(
            PhoneNumber::new("+0441234567"),
            Err(PhoneError::LeadingZero)
        );
        assert_eq!(
            PhoneNumber::new("+123456"),
            Err(PhoneError::TooShort { digits: 6 })
        );
        assert_eq!(
            PhoneNumber::new("+1234567890123456"),
            Err(PhoneError::TooLong { digits: 16 })
        );
        assert_eq!(
            PhoneNumber::new("+").unwrap_err(),
            PhoneError::TooShort { digits: 0 }
        );
        let n = PhoneNumber::new("+14155550100").unwrap();
        assert_eq!(n.as_str(), "+14155550100");
        assert_eq!(n.digits(), "14155550100");
    }

    #[test]
    fn country_codes() {
        let cc = |s: &str| PhoneNumber::new(s).unwrap().country_code().value();
        assert_eq!(cc("+14155550100"), 1);
        assert_eq!(cc("+74951234567"), 7);
        assert_eq!(cc("+447911123456"), 44);
        assert_eq!(cc("+4915112345678"), 49);
        assert_eq!(cc("+351912345678"), 351);
        assert_eq!(cc("+2901234"), 290);
        assert_eq!(cc("+971501234567"), 971);
        assert_eq!(cc("+8613800138000"), 86);
        assert_eq!(cc("+85291234567"), 852);
        assert_eq!(
            serde_json::to_string(&PhoneNumber::new("+447911123456").unwrap().country_code())
                .unwrap(),
            "\"44\""
        );
    }

    #[test]
    fn application_names() {
        assert_eq!(Application::new(""), Err(ApplicationError::Empty));
        assert_eq!(Application::new("-x"), Err(ApplicationError::BadStart));
        assert_eq!(
            Application::new("log in"),
            Err(ApplicationError::BadCharacter { position: 4 })
        );
        assert!(matches!(
            Application::new(&"a".repeat(65)),
            Err(ApplicationError::TooLong { length: 65 })
        ));
        assert_eq!(
            Application::new("login_v2.eu-1").unwrap().as_str(),
            "login_v2.eu-1"
        );
    }

    #[test]
    fn otp_ids_round_trip() {
        let id = OtpId::random();
        assert_eq!(id.to_string().parse::<OtpId>(), Ok(id));
        assert_eq!("nope".parse::<OtpId>(), Err(OtpIdError::NotUuid));
        assert_eq!(id.as_uuid().get_version_num(), 4);
    }

    proptest::proptest! {
        #[test]
        fn phone_parser_never_panics(text in "\\PC{0,20}") {
            let _ = PhoneNumber::new(&text);
        }

        #[test]
        fn valid_numbers_round_trip(digits in "[1-9][0-9]{6,14}") {
            let text = format!("+{digits}");
            let n = PhoneNumber::new(&text).unwrap();
            proptest::prop_assert_eq!(n.as_str(), text.as_str());
            let cc = n.country_code().to_string();
            proptest::prop_assert!(digits.starts_with(&cc));
            proptest::prop_assert!((1..=3).contains(&cc.len()));
        }

        #[test]
        fn application_parser_never_panics(text in "\\PC{0,80}") {
            let _ = Application::new(&text);
        }
    }
}
