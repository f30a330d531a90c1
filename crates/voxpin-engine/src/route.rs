//! Phone numbers as they arrive in SIP user parts, and the called number of
//! an inbound INVITE.
//!
//! Carriers write the same number in different ways (`+14155550100`,
//! `14155550100`, `+1-415-555-0100`, `+14155550100;npdi`). Routing and the
//! callback lookup compare numbers in one canonical form: `+` and digits.

/// Longest E.164 number (ITU-T E.164: 15 digits).
const MAX_DIGITS: usize = 15;

/// The canonical form (`+` followed by 1–15 digits) of a SIP user part, or
/// `None` when it is not a phone number (letters, empty, too long).
///
/// Parameters after `;` are dropped, visual separators (`-`, `.`, `(`, `)`,
/// space) ignored; a number without `+` is taken as already international.
pub fn canonical_number(user: &str) -> Option<String> {
    let number = user.split(';').next().unwrap_or_default().trim();
    let digits_part = number.strip_prefix('+').unwrap_or(number);
    let mut out = String::with_capacity(MAX_DIGITS + 1);
    out.push('+');
    for c in digits_part.chars() {
        match c {
            '0'..='9' => out.push(c),
            '-' | '.' | '(' | ')' | ' ' => {}
            _ => return None,
        }
    }
    let digits = out.len() - 1;
    (1..=MAX_DIGITS).contains(&digits).then_some(out)
}

/// The number an inbound call is for: the Request-URI user when it is a
/// phone number, else the To user.
pub fn called_number(request_uri_user: Option<&str>, to_user: Option<&str>) -> Option<String> {
    request_uri_user
        .and_then(canonical_number)
        .or_else(|| to_user.and_then(canonical_number))
}

/// Whether two written numbers are the same number.
pub fn same_number(a: &str, b: &str) -> bool {
    match (canonical_number(a), canonical_number(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        for (given, want) in [
            ("+14155550100", Some("+14155550100")),
            ("14155550100", Some("+14155550100")),
            ("+1-415-555-0100", Some("+14155550100")),
            ("+1 (415) 555.0100", Some("+14155550100")),
            ("+14155550100;npdi;rn=+1415", Some("+14155550100")),
            ("alice", None),
            ("", None),
            ("+", None),
            ("+1234567890123456", None),
            ("+44 20 7946 0958", Some("+442079460958")),
        ] {
            assert_eq!(canonical_number(given).as_deref(), want, "{given:?}");
        }
    }

    #[test]
    fn called_number_prefers_request_uri_then_to() {
        assert_eq!(
            called_number(Some("+15550001"), Some("+15550002")).as_deref(),
            Some("+15550001")
        );
        assert_eq!(
            called_number(Some("voxpin"), Some("15550002")).as_deref(),
            Some("+15550002")
        );
        assert_eq!(called_number(None, None), None);
        assert!(same_number("+1 555 0001", "15550001"));
        assert!(!same_number("+15550001", "+15550002"));
        assert!(!same_number("x", "x"));
    }
}
