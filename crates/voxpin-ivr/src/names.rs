//! Names that cross the crate boundary: prompts, states, applications, numbers.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

/// The prompts every voxpin prompt library ships (`prompts/<language>/<name>.wav`).
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

macro_rules! shared_name {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Wraps a name (not checked here; dialplan loading checks names).
            pub fn new(name: &str) -> Self {
                Self(Arc::from(name))
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }
    };
}

shared_name!(
    /// A prompt, named by its file stem under `prompts/<language>/` (`"your-code-is"`, `"7"`).
    PromptName
);
shared_name!(
    /// A state of a flow (`"menu"`, `"goodbye"`), as written in the dialplan.
    StateName
);

/// The prompt names a dialplan may use: what the prompt library holds.
///
/// Dialplan loading refuses any `play` of a prompt not in this set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptSet(BTreeSet<String>);

impl PromptSet {
    /// A set from the names the prompt library loaded.
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(names.into_iter().map(Into::into).collect())
    }

    /// The [`STANDARD_PROMPTS`].
    pub fn standard() -> Self {
        Self::new(STANDARD_PROMPTS)
    }

    /// Whether `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    /// The names, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// A phone number in E.164 form (`+` and 8 to 15 digits), e.g. an application's DID.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses `+` followed by 8 to 15 digits, the first not `0`.
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.strip_prefix('+')?;
        let ok = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        ok.then(|| Self(text.to_owned()))
    }

    /// The number as text, with its `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `name` is a valid application or state name: 1 to 64 of `a-z`, `0-9`, `-`, `_`,
/// starting with a letter or digit.
pub(crate) fn is_valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_e164() {
        assert!(PhoneNumber::parse("+15551230000").is_some());
        assert!(PhoneNumber::parse("15551230000").is_none());
        assert!(PhoneNumber::parse("+0555123000").is_none());
        assert!(PhoneNumber::parse("+1555").is_none());
        assert!(PhoneNumber::parse("+1555123000012345").is_none());
        assert!(PhoneNumber::parse("+1555-123-0000").is_none());
    }

    #[test]
    fn names() {
        assert!(is_valid_name("login"));
        assert!(is_valid_name("sign-up_2"));
        assert!(!is_valid_name("Login"));
        assert!(!is_valid_name("-x"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("a b"));
    }

    #[test]
    fn standard_prompts_are_known() {
        let set = PromptSet::standard();
        assert!(set.contains("press-any-key"));
        assert!(!set.contains("press-2"));
        assert_eq!(set.iter().count(), 19);
    }
}
