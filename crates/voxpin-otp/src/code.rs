//! One-time codes: generation from the OS CSPRNG, manual codes, and the keyed
//! hash the store keeps instead of the plaintext.
//!
//! A [`Code`] is a secret. It wipes its memory when dropped, prints as
//! `Code(******)` whatever its length, and has no `Display`, `Serialize` or
//! `PartialEq`: the only way to read it is [`Code::expose`], meant for the
//! moment it is spoken or sent.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::TryRngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// How many digits a code has: 4 to 10, 6 by default.
///
/// NIST SP 800-63B asks for at least 20 bits, which 6 digits give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct CodeLength(u8);

impl CodeLength {
    /// The shortest code accepted.
    pub const MIN: u8 = 4;
    /// The longest code accepted.
    pub const MAX: u8 = 10;
    /// The default length (6 digits).
    pub const DEFAULT: CodeLength = CodeLength(6);

    /// A length between [`CodeLength::MIN`] and [`CodeLength::MAX`].
    pub fn new(digits: u8) -> Result<Self, CodeError> {
        if digits < Self::MIN {
            Err(CodeError::TooShort {
                length: usize::from(digits),
            })
        } else if digits > Self::MAX {
            Err(CodeError::TooLong {
                length: usize::from(digits),
            })
        } else {
            Ok(Self(digits))
        }
    }

    /// The number of digits.
    pub fn digits(self) -> u8 {
        self.0
    }
}

impl Default for CodeLength {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u8> for CodeLength {
    type Error = CodeError;
    fn try_from(digits: u8) -> Result<Self, CodeError> {
        Self::new(digits)
    }
}

impl From<CodeLength> for u8 {
    fn from(length: CodeLength) -> u8 {
        length.0
    }
}

/// Why a code could not be made. Never contains the code itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// The code is empty.
    #[error("the code is empty")]
    Empty,
    /// The code holds something other than the digits 0-9.
    #[error("the code must contain only the digits 0-9 (character {position} is not a digit)")]
    NotDigits {
        /// 1-based position of the first character that is not a digit.
        position: usize,
    },
    /// The code is shorter than 4 digits.
    #[error(
        "the code has {length} digits; at least {} are required",
        CodeLength::MIN
    )]
    TooShort {
        /// Its length in digits.
        length: usize,
    },
    /// The code is longer than 10 digits.
    #[error(
        "the code has {length} digits; at most {} are allowed",
        CodeLength::MAX
    )]
    TooLong {
        /// Its length in digits.
        length: usize,
    },
    /// The code's length differs from the application's code length.
    #[error("the code has {length} digits; this application uses {expected}")]
    WrongLength {
        /// Its length in digits.
        length: usize,
        /// The application's code length.
        expected: u8,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Randomness,
}

/// A one-time code: 4 to 10 decimal digits, wiped from memory on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Code {
    digits: String,
}

impl Code {
    /// A fresh code of `length` digits from the operating system's CSPRNG.
    pub fn generate(length: CodeLength) -> Result<Code, CodeError> {
        Self::generate_from(&mut OsRng, length)
    }

    /// A fresh code drawn from `rng`, which must be a cryptographic RNG.
    ///
    /// Production code uses [`Code::generate`]; this exists for seeded tests.
    /// Digits are uniform: bytes of 250 and above are rejected, the rest
    /// taken modulo 10.
    pub fn generate_from<R>(rng: &mut R, length: CodeLength) -> Result<Code, CodeError>
    where
        R: rand::TryCryptoRng + ?Sized,
    {
        let wanted = usize::from(length.digits());
        let mut digits = String::with_capacity(usize::from(CodeLength::MAX));
        let mut buffer = Zeroizing::new([0u8; 16]);
        while digits.len() < wanted {
            rng.try_fill_bytes(buffer.as_mut())
                .map_err(|_| CodeError::Randomness)?;
            for &byte in buffer.iter() {
                if digits.len() == wanted {
                    break;
                }
                if byte < 250 {
                    digits.push(char::from(b'0' + byte % 10));
                }
            }
        }
        Ok(Code { digits })
    }

    /// A code given by the caller: digits only, 4 to 10 of them.
    pub fn manual(text: &str) -> Result<Code, CodeError> {
        if text.is_empty() {
            return Err(CodeError::Empty);
        }
        if let Some(index) = text.chars().position(|c| !c.is_ascii_digit()) {
            return Err(CodeError::NotDigits {
                position: index + 1,
            });
        }
        // Only ASCII digits from here on, so bytes == characters.
        CodeLength::new(u8::try_from(text.len()).unwrap_or(u8::MAX)).map_err(|_| {
            if text.len() < usize::from(CodeLength::MIN) {
                CodeError::TooShort { length: text.len() }
            } else {
                CodeError::TooLong { length: text.len() }
            }
        })?;
        Ok(Code {
            digits: text.to_owned(),
        })
    }

    /// A code given by the caller that must have exactly `length` digits.
    pub fn manual_with_length(text: &str, length: CodeLength) -> Result<Code, CodeError> {
        let code = Self::manual(text)?;
        if code.len() != usize::from(length.digits()) {
            return Err(CodeError::WrongLength {
                length: code.len(),
                expected: length.digits(),
            });
        }
        Ok(code)
    }

    /// The digits, for speaking them or sending them by SMS, and nothing else.
    ///
    /// Do not log, store or format the result.
    pub fn expose(&self) -> &str {
        &self.digits
    }

    /// The number of digits.
    pub fn len(&self) -> usize {
        self.digits.len()
    }

    /// Always false: a code has at least 4 digits.
    pub fn is_empty(&self) -> bool {
        self.digits.is_empty()
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(******)")
    }
}

/// The per-store secret key of the code hash (32 bytes, wiped on drop).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<SecretKey, CodeError> {
        let mut key = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut key)
            .map_err(|_| CodeError::Randomness)?;
        Ok(SecretKey(key))
    }

    /// A key given by the operator (for example shared by several nodes).
    pub fn from_bytes(bytes: [u8; 32]) -> SecretKey {
        SecretKey(bytes)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(********)")
    }
}

/// The keyed hash of a code: what the store keeps to verify against.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CodeHash([u8; 32]);

impl fmt::Debug for CodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeHash(********)")
    }
}

/// HMAC-SHA256 of codes under a [`SecretKey`], bound to the OTP's id so a
/// hash cannot be moved from one OTP to another.
#[derive(Debug, Clone)]
pub struct CodeHasher {
    key: SecretKey,
}

impl CodeHasher {
    /// A hasher under `key`.
    pub fn new(key: SecretKey) -> CodeHasher {
        CodeHasher { key }
    }

    /// The hash of `digits` for the OTP whose id bytes are `context`.
    pub fn hash(&self, context: &[u8], digits: &[u8]) -> CodeHash {
        // Invariant: HMAC accepts keys of any length, so this never fails.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key.0)
            .expect("HMAC takes keys of any length");
        // Length-prefix the context so (context, digits) pairs never collide.
        mac.update(
            &u64::try_from(context.len())
                .unwrap_or(u64::MAX)
                .to_be_bytes(),
        );
        mac.update(context);
        mac.update(digits);
        CodeHash(mac.finalize().into_bytes().into())
    }

    /// Whether `candidate` hashes to `expected`, compared in constant time.
    pub fn matches(&self, context: &[u8], candidate: &[u8], expected: &CodeHash) -> bool {
        let actual = self.hash(context, candidate);
        actual.0.ct_eq(&expected.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn generated_codes_have_the_requested_length_and_only_digits() {
        for n in CodeLength::MIN..=CodeLength::MAX {
            let code = Code::generate(CodeLength::new(n).unwrap()).unwrap();
            assert_eq!(code.len(), usize::from(n));
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn generated_digits_are_roughly_uniform() {
        let seed = 0x5eed_u64;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let mut counts = [0u32; 10];
        for _ in 0..2_000 {
            let code = Code::generate_from(&mut rng, CodeLength::new(10).unwrap()).unwrap();
            for b in code.expose().bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        // 20,000 digits: each expected 2,000; allow 10 %.
        for (digit, &count) in counts.iter().enumerate() {
            assert!(
                (1_800..=2_200).contains(&count),
                "seed {seed}: digit {digit} drawn {count} times"
            );
        }
    }

    #[test]
    fn manual_codes_are_checked() {
        assert_eq!(Code::manual("").unwrap_err(), CodeError::Empty);
        assert_eq!(
            Code::manual("12a4").unwrap_err(),
            CodeError::NotDigits { position: 3 }
        );
        assert_eq!(
            Code::manual("١٢٣٤").unwrap_err(),
            CodeError::NotDigits { position: 1 }
        );
        assert_eq!(
            Code::manual("123").unwrap_err(),
            CodeError::TooShort { length: 3 }
        );
        assert_eq!(
            Code::manual("12345678901").unwrap_err(),
            CodeError::TooLong { length: 11 }
        );
        assert_eq!(Code::manual("0042").unwrap().expose(), "0042");
        assert_eq!(
            Code::manual_with_length("1234", CodeLength::DEFAULT).unwrap_err(),
            CodeError::WrongLength {
                length: 4,
                expected: 6
            }
        );
    }

    #[test]
    fn debug_never_shows_digits() {
        let code = Code::manual("987654").unwrap();
        assert_eq!(format!("{code:?}"), "Code(******)");
        assert_eq!(
            format!("{:?}", Code::manual("1234").unwrap()),
            "Code(******)"
        );
        let key = SecretKey::from_bytes([7; 32]);
        assert!(!format!("{key:?}").contains('7'));
    }

    proptest::proptest! {
        #[test]
        fn manual_parser_never_panics(text in "\\PC{0,16}") {
            if let Ok(code) = Code::manual(&text) {
                proptest::prop_assert_eq!(code.expose(), text.as_str());
            }
        }

        #[test]
        fn manual_accepts_every_code_of_4_to_10_digits(text in "[0-9]{4,10}") {
            proptest::prop_assert!(Code::manual(&text).is_ok());
        }
    }

    #[test]
    fn hashes_depend_on_key_context_and_digits() {
        let a = CodeHasher::new(SecretKey::from_bytes([1; 32]));
        let b = CodeHasher::new(SecretKey::from_bytes([2; 32]));
        let h = a.hash(b"id-1", b"123456");
        assert!(a.matches(b"id-1", b"123456", &h));
        assert!(!a.matches(b"id-1", b"123457", &h));
        assert!(!a.matches(b"id-2", b"123456", &h));
        assert!(!b.matches(b"id-1", b"123456", &h));
        assert!(!a.matches(b"id-11", b"23456", &h));
    }
}
