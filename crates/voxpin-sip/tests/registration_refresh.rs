//! A REGISTER client keeps a trunk binding alive: it answers the
//! registrar's digest challenge, reports the granted lifetime, refreshes
//! before expiry, backs off after failures (403, no response) and removes
//! the binding with `Expires: 0` when asked.

mod support;

use std::time::Duration;

use support::{reply, Scripted};
use voxpin_sip::auth::Credentials;
use voxpin_sip::msg::{HeaderName, Method, NameAddr, Request, Uri};
use voxpin_sip::{Event, Registration, RegistrationState, Transport};

const CHALLENGE: &str = "Digest realm=\"carrier.example\", nonce=\"abc123\", algorithm=MD5";

fn registration(s: &Scripted) -> Registration {
    Registration {
        registrar: Uri::parse("sip:carrier.example").unwrap(),
        destination: s.peer,
        transport: Transport::Udp,
        aor: NameAddr::parse("<sip:1234@carrier.example>").unwrap(),
        credentials: Some(Credentials {
            username: "1234".to_owned(),
            password: "pw".to_owned(),
            realm: None,
        }),
        expires: Duration::from_secs(300),
    }
}

fn one_register(s: &mut Scripted) -> Request {
    let mut sent = s.sent_requests();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let request = sent.remove(0);
    assert_eq!(request.method, Method::Register);
    request
}

fn states(s: &mut Scripted) -> Vec<RegistrationState> {
    s.drain_events()
        .iter()
        .filter_map(|e| match e {
            Event::Registration { state, .. } => Some(state.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn registers_with_digest_and_refreshes_before_expiry() {
    let mut s = Scripted::new(51);
    let id = s.endpoint.register(s.now, registration(&s));
    let first = one_register(&mut s);
    assert_eq!(first.headers.get(&HeaderName::Expires), Some("300"));
    assert!(first.headers.contact().is_some());
    s.deliver(&reply(
        &first,
        401,
        "Unauthorized",
        Some("r"),
        &[(HeaderName::WwwAuthenticate, CHALLENGE)],
    ));
    let second = one_register(&mut s);
    assert_eq!(second.headers.cseq().unwrap().seq, 2);
    assert_eq!(
        second.headers.call_id().unwrap(),
        first.headers.call_id().unwrap()
    );
    let auth = second.headers.get(&HeaderName::Authorization).unwrap();
    assert!(auth.contains("uri=\"sip:carrier.example\""), "{auth}");
    s.deliver(&reply(
        &second,
        200,
        "OK",
        Some("r"),
        &[(
            HeaderName::Contact,
            "<sip:voxpin@192.0.2.1:5060>;expires=120",
        )],
    ));
    assert_eq!(
        states(&mut s),
        [RegistrationState::Registered {
            expires: Duration::from_secs(120)
        }]
    );
    s.advance(Duration::from_secs(59));
    assert!(s.sent_requests().is_empty());
    s.advance(Duration::from_secs(1));
    let refresh = one_register(&mut s);
    assert_eq!(refresh.headers.cseq().unwrap().seq, 3);
    let _ = id;
}

#[test]
fn failures_back_off_and_retry() {
    let mut s = Scripted::new(52);
    s.endpoint.register(s.now, registration(&s));
    let first = one_register(&mut s);
    s.deliver(&reply(&first, 403, "Forbidden", Some("r"), &[]));
    assert_eq!(
        states(&mut s),
        [RegistrationState::Failed {
            status: Some(403),
            retry_in: Duration::from_secs(10)
        }]
    );
    s.advance(Duration::from_secs(9));
    assert!(s.sent_requests().is_empty());
    s.advance(Duration::from_secs(1));
    one_register(&mut s);
    // No answer at all: Timer F, then a longer back-off.
    s.advance(Duration::from_secs(32));
    s.sent_requests(); // retransmissions
    let last = states(&mut s).pop().unwrap();
    assert_eq!(
        last,
        RegistrationState::Failed {
            status: None,
            retry_in: Duration::from_secs(20)
        }
    );
}

#[test]
fn interval_too_brief_raises_the_lifetime() {
    let mut s = Scripted::new(53);
    s.endpoint.register(s.now, registration(&s));
    let first = one_register(&mut s);
    let min_expires = HeaderName::Other("Min-Expires".to_owned());
    s.deliver(&reply(
        &first,
        423,
        "Interval Too Brief",
        Some("r"),
        &[(min_expires, "600")],
    ));
    let second = one_register(&mut s);
    assert_eq!(second.headers.get(&HeaderName::Expires), Some("600"));
}

#[test]
fn unregister_sends_expires_zero() {
    let mut s = Scripted::new(54);
    let id = s.endpoint.register(s.now, registration(&s));
    let first = one_register(&mut s);
    s.deliver(&reply(
        &first,
        200,
        "OK",
        Some("r"),
        &[(HeaderName::Expires, "300")],
    ));
    s.endpoint.unregister(s.now, id);
    let removal = one_register(&mut s);
    assert_eq!(removal.headers.get(&HeaderName::Expires), Some("0"));
    s.deliver(&reply(&removal, 200, "OK", Some("r"), &[]));
    assert_eq!(
        states(&mut s),
        [
            RegistrationState::Registered {
                expires: Duration::from_secs(300)
            },
            RegistrationState::Unregistered
        ]
    );
    s.advance(Duration::from_secs(3600));
    assert!(s.sent_requests().is_empty(), "no refresh after unregister");
}

#[test]
fn absurd_expiry_from_the_registrar_is_clamped() {
    let mut s = Scripted::new(55);
    s.endpoint.register(s.now, registration(&s));
    let first = one_register(&mut s);
    s.deliver(&reply(
        &first,
        200,
        "OK",
        Some("r"),
        &[(HeaderName::Expires, "18446744073709551615")],
    ));
    assert_eq!(
        states(&mut s),
        [RegistrationState::Registered {
            expires: Duration::from_secs(24 * 3600)
        }]
    );
    s.advance(Duration::from_secs(24 * 3600 - 60));
    assert_eq!(one_register(&mut s).headers.cseq().unwrap().seq, 2);
}

#[test]
fn wrong_credentials_do_not_cause_a_register_storm() {
    let mut s = Scripted::new(56);
    let mut reg = registration(&s);
    if let Some(creds) = reg.credentials.as_mut() {
        creds.realm = Some("another-realm".to_owned()); // cannot answer
    }
    s.endpoint.register(s.now, reg);
    for expected_cseq in [1, 2] {
        let request = one_register(&mut s);
        assert_eq!(request.headers.cseq().unwrap().seq, expected_cseq);
        s.deliver(&reply(
            &request,
            401,
            "Unauthorized",
            Some("r"),
            &[(HeaderName::WwwAuthenticate, CHALLENGE)],
        ));
    }
    assert!(
        s.sent_requests().is_empty(),
        "one retry per attempt, then back off"
    );
    assert!(matches!(
        states(&mut s).last(),
        Some(RegistrationState::Failed {
            status: Some(401),
            ..
        })
    ));
}
