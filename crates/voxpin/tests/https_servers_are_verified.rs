//! The outbound HTTP client speaks https to a real TLS server on loopback
//! (rustls, a certificate issued at test time by a throwaway CA): a request
//! reaches the server when `[http] ca_file` trusts that CA, with SNI and ALPN
//! `http/1.1`; the same server is refused with a TLS error naming the host and
//! the reason when the CA is not trusted, when the certificate names another
//! host and when it has expired. An SMS gateway behind that CA is reached
//! through the configuration alone.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use voxpin::config::{Config, MapEnvironment};
use voxpin::http_client::{HttpClient, HttpError, HttpRequest};
use voxpin::sms::{SmsMessage, SmsSender};
use zeroize::Zeroizing;

/// Every wait in this file is bounded by this.
const WAIT: Duration = Duration::from_secs(10);

/// A throwaway CA and a server certificate it signed.
struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

/// A CA, and a server certificate for `names` valid until `not_after`.
fn pki(names: &[&str], not_after: time::OffsetDateTime) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    params.not_after = not_after;
    let cert = params.signed_by(&key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone(), ca.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    server.alpn_protocols = vec![b"http/1.1".to_vec(), b"h2".to_vec()];
    Pki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

fn valid_for_a_year() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::days(365)
}

/// What the TLS server saw of one connection.
#[derive(Debug)]
struct Seen {
    sni: Option<String>,
    alpn: Option<Vec<u8>>,
    request: String,
}

/// Accepts one TLS connection, reads one request (headers and a
/// `Content-Length` body) and answers `202 ok`. Returns the port and the
/// handshake's and request's outcome.
async fn serve_once(pki: &Pki) -> (u16, tokio::task::JoinHandle<Result<Seen, std::io::Error>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(Arc::clone(&pki.server));
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut tls = acceptor.accept(tcp).await?;
        let (_, session) = tls.get_ref();
        let sni = session.server_name().map(str::to_owned);
        let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !complete(&seen) {
            let n = tls.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        tls.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok")
            .await?;
        tls.shutdown().await?;
        Ok(Seen {
            sni,
            alpn,
            request: String::from_utf8_lossy(&seen).into_owned(),
        })
    });
    (port, task)
}

/// Whether `bytes` hold a whole request (headers, then `Content-Length` bytes).
fn complete(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    body.len() >= length
}

/// The client `[http] ca_file` gives: the system store plus the PEM at `ca.pem`.
fn client_trusting(ca_pem: &str) -> HttpClient {
    HttpClient::new(&config_trusting(ca_pem, "").http)
}

fn config_trusting(ca_pem: &str, extra: &str) -> Config {
    let mut env = MapEnvironment::default();
    env.files.insert("ca.pem".into(), ca_pem.to_owned());
    let text = format!("[http]\nca_file = \"ca.pem\"\n{extra}");
    Config::parse("voxpin.toml", &text, &env).unwrap()
}

/// What the server of [`serve_once`] saw (bounded by [`WAIT`]).
async fn served(server: tokio::task::JoinHandle<Result<Seen, std::io::Error>>) -> Seen {
    tokio::time::timeout(WAIT, server)
        .await
        .expect("the server finishes in time")
        .expect("the server task")
        .expect("the server's exchange")
}

fn post(url: String) -> HttpRequest {
    HttpRequest {
        method: Method::POST,
        url,
        headers: vec![],
        body: Bytes::from_static(b"hello"),
    }
}

#[tokio::test]
async fn a_trusted_server_gets_the_request_with_sni_and_alpn() {
    let pki = pki(&["localhost", "127.0.0.1"], valid_for_a_year());
    let (port, server) = serve_once(&pki).await;
    let response = client_trusting(&pki.ca_pem)
        .send(post(format!("https://localhost:{port}/hook?k=v")), WAIT)
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::ACCEPTED);
    assert_eq!(&response.body[..], b"ok");
    let seen = served(server).await;
    assert_eq!(seen.sni.as_deref(), Some("localhost"));
    assert_eq!(seen.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert!(
        seen.request.starts_with("POST /hook?k=v HTTP/1.1\r\n"),
        "{seen:?}"
    );
    assert!(
        seen.request.contains(&format!("host: localhost:{port}")),
        "{seen:?}"
    );
    assert!(seen.request.ends_with("hello"), "{seen:?}");
}

#[tokio::test]
async fn an_ip_address_url_is_checked_against_the_ip_in_the_certificate() {
    let pki = pki(&["localhost", "127.0.0.1"], valid_for_a_year());
    let (port, server) = serve_once(&pki).await;
    let response = client_trusting(&pki.ca_pem)
        .send(post(format!("https://127.0.0.1:{port}/")), WAIT)
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::ACCEPTED);
    let seen = served(server).await;
    assert_eq!(seen.sni, None, "no SNI is sent for an IP address");
}

/// Sends to a server of `pki` at `host` with `client`; returns the TLS error.
async fn refused(pki: &Pki, client: &HttpClient, host: &str) -> (String, String) {
    let (port, server) = serve_once(pki).await;
    let err = client
        .send(post(format!("https://{host}:{port}/p?token=s3cret")), WAIT)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("s3cret"), "no query in errors: {text}");
    assert!(
        err.is_permanent(),
        "a refused certificate is not retried: {text}"
    );
    let HttpError::Tls {
        host: named,
        reason,
        certificate_refused,
    } = err
    else {
        panic!("expected a TLS error, got {text}")
    };
    assert!(certificate_refused, "{text}");
    // The server's side of the refused handshake ends too (no hang).
    let server_side = tokio::time::timeout(WAIT, server).await.unwrap().unwrap();
    assert!(server_side.is_err(), "the server saw no request");
    (named, reason)
}

#[tokio::test]
async fn an_unknown_ca_is_refused() {
    let pki = pki(&["localhost"], valid_for_a_year());
    // The system store only: the test CA is in no store.
    let client = HttpClient::new(
        &Config::parse("t.toml", "", &MapEnvironment::default())
            .unwrap()
            .http,
    );
    let (host, reason) = refused(&pki, &client, "localhost").await;
    assert_eq!(host, "localhost");
    assert!(reason.contains("unknown CA"), "{reason}");
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let pki = pki(&["gateway.example"], valid_for_a_year());
    let client = client_trusting(&pki.ca_pem);
    let (host, reason) = refused(&pki, &client, "localhost").await;
    assert_eq!(host, "localhost");
    assert!(reason.contains("name mismatch"), "{reason}");
    assert!(reason.contains("gateway.example"), "{reason}");
}

#[tokio::test]
async fn an_expired_certificate_is_refused() {
    let yesterday = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let pki = pki(&["localhost"], yesterday);
    let client = client_trusting(&pki.ca_pem);
    let (_, reason) = refused(&pki, &client, "localhost").await;
    assert!(reason.contains("expired"), "{reason}");
}

#[tokio::test]
async fn a_gateway_with_an_untrusted_certificate_is_tried_once_not_retried() {
    let pki = pki(&["localhost"], valid_for_a_year());
    // One connection only: a retry would find the port closed and end with
    // a connect error instead of the certificate's verdict.
    let (port, server) = serve_once(&pki).await;
    let config = Config::parse(
        "voxpin.toml",
        &format!(
            "[sms]\ndriver = \"http\"\nretries = 3\nretry_delay = \"10ms\"\n\
             url = \"https://localhost:{port}/send?text={{text}}\"\n"
        ),
        &MapEnvironment::default(),
    )
    .unwrap();
    let sender = SmsSender::new(config.sms, HttpClient::new(&config.http));
    let message = SmsMessage {
        to: "+14155550100".into(),
        code: Zeroizing::new("481516".into()),
        template: None,
    };
    let result = sender.send(&message).await;
    assert!(!result.sent, "{result:?}");
    assert_eq!(result.attempts, 1, "{result:?}");
    let error = result.error.unwrap_or_default();
    assert!(error.contains("unknown CA"), "{error}");
    assert!(!error.contains("481516"), "{error}");
    let server_side = tokio::time::timeout(WAIT, server).await.unwrap().unwrap();
    assert!(server_side.is_err(), "the server saw no request");
}

#[tokio::test]
async fn an_sms_gateway_behind_a_private_ca_is_reached_through_the_config() {
    let pki = pki(&["localhost"], valid_for_a_year());
    let (port, server) = serve_once(&pki).await;
    let config = config_trusting(
        &pki.ca_pem,
        &format!(
            "[sms]\ndriver = \"http\"\nretries = 0\nbody_format = \"json\"\n\
             url = \"https://localhost:{port}/messages\"\nbody = '{{\"to\":\"{{to}}\",\"body\":\"{{text}}\"}}'\n"
        ),
    );
    let sender = SmsSender::new(config.sms, HttpClient::new(&config.http));
    let message = SmsMessage {
        to: "+14155550100".into(),
        code: Zeroizing::new("481516".into()),
        template: None,
    };
    let result = sender.send(&message).await;
    assert!(result.sent, "{result:?}");
    assert_eq!(result.status, Some(202));
    let seen = served(server).await;
    assert!(
        seen.request
            .ends_with(r#"{"to":"+14155550100","body":"Your code is 481516"}"#),
        "{seen:?}"
    );
}
