//! Digest challenges from any server are parsed without panicking, and every
//! challenge we can parse yields an Authorization value whose parameters parse
//! back as a well-formed parameter list (quoted strings escaped correctly).

use proptest::prelude::*;
use voxpin_sip::auth::{self, Challenge, Credentials};

proptest! {
    #[test]
    fn parse_never_panics(value in "\\PC{0,200}") {
        let _ = Challenge::parse(&value);
    }

    #[test]
    fn parse_never_panics_on_digest_like_input(
        params in proptest::collection::vec(("[a-zA-Z]{1,8}", "[ -~]{0,20}", any::<bool>()), 0..8)
    ) {
        let mut value = String::from("Digest ");
        for (name, v, quoted) in &params {
            if *quoted {
                value.push_str(&format!("{name}=\"{v}\", "));
            } else {
                value.push_str(&format!("{name}={v}, "));
            }
        }
        let _ = Challenge::parse(&value);
    }

    #[test]
    fn any_realm_and_nonce_round_trip_through_the_response(
        realm in "[ -~]{0,30}", nonce in "[ -~]{1,30}", user in "[ -~]{1,20}",
        sha in any::<bool>(), qop in any::<bool>(),
    ) {
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut value = format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm={}",
            quote(&realm), quote(&nonce), if sha { "SHA-256" } else { "MD5" });
        if qop {
            value.push_str(", qop=\"auth\"");
        }
        let ch = Challenge::parse(&value).expect("well-formed challenge parses");
        prop_assert_eq!(&ch.realm, &realm);
        prop_assert_eq!(&ch.nonce, &nonce);
        let creds = Credentials { username: user, password: "pw".into(), realm: None };
        let header = auth::authorization_for(&ch, &creds, "INVITE", "sip:a@b", "cn", 1)
            .expect("answerable");
        // The Authorization value uses the same grammar: parse it as a challenge.
        let echoed = Challenge::parse(&header).expect("our Authorization value parses");
        prop_assert_eq!(echoed.realm, realm);
        prop_assert_eq!(echoed.nonce, nonce);
        prop_assert_eq!(echoed.qop_auth, qop);
    }
}
