//! A small HTTP/1.1 client for `voxpin send`, the SMS gateway driver and
//! status callbacks: one request per connection, hyper's HTTP/1 connection
//! over a tokio `TcpStream` (`http://`) or over rustls (`https://`), a
//! whole-request timeout and a cap on the response body.
//!
//! TLS uses rustls with the `ring` provider, offers ALPN `http/1.1`, sends the
//! URL's host as SNI and always verifies the server's certificate chain and
//! name. The trust roots are the system store (`/etc/ssl/certs` on Debian,
//! read once by [`HttpClient::new`]) plus the CA certificates of
//! `[http] ca_file`. The rustls configuration is built once and shared by
//! every clone of the [`HttpClient`].
//!
//! ```no_run
//! # async fn example() -> Result<(), voxpin::http_client::HttpError> {
//! use std::time::Duration;
//! use voxpin::config::HttpClientConfig;
//! use voxpin::http_client::{HttpClient, HttpRequest};
//!
//! let client = HttpClient::new(&HttpClientConfig::default());
//! let request = HttpRequest {
//!     method: http::Method::GET,
//!     url: "https://gateway.example/status".into(),
//!     headers: vec![],
//!     body: bytes::Bytes::new(),
//! };
//! let response = client.send(request, Duration::from_secs(5)).await?;
//! println!("{}", response.status);
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::HttpClientConfig;

/// Largest response body read (bigger ones fail with [`HttpError::Body`]).
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The only application protocol offered in the TLS handshake (ALPN).
const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// A request to send.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// An absolute `http://` or `https://` URL.
    pub url: String,
    /// Headers besides `Host` and `Content-Length`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body (may be empty).
    pub body: Bytes,
}

/// A received response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL is not an absolute `http://` or `https://` `host[:port]/path` URL
    /// (shown with its query redacted).
    #[error("not an http:// or https:// URL: {0}")]
    Url(String),
    /// The TCP connection failed.
    #[error("cannot connect to {authority}: {source}")]
    Connect {
        /// host:port.
        authority: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The TLS handshake failed: the server's certificate was refused (unknown
    /// CA, wrong name, expired) or the server does not speak TLS.
    #[error("TLS handshake with {host} failed: {reason}")]
    Tls {
        /// The host the URL names (the name the certificate must match).
        host: String,
        /// Why, in words (`certificate is signed by an unknown CA ...`).
        reason: String,
        /// The server's certificate (or the host's name) was refused: the
        /// same request will be refused again until someone fixes it.
        certificate_refused: bool,
    },
    /// The HTTP exchange failed (bad response, connection closed).
    #[error("HTTP exchange failed: {0}")]
    Exchange(#[from] hyper::Error),
    /// The request could not be built (bad header).
    #[error("cannot build the request: {0}")]
    Build(#[from] http::Error),
    /// The response body was too large or broke off.
    #[error("cannot read the response body (limit {MAX_RESPONSE_BYTES} bytes)")]
    Body,
    /// No response within the timeout.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

/// The outbound HTTP client. Cheap to clone: clones share one rustls
/// configuration (trust roots, ALPN, `ring` provider), built once at startup.
#[derive(Clone)]
pub struct HttpClient {
    tls: TlsConnector,
    /// Trusted CA certificates, for `Debug` and startup logs.
    roots: usize,
}

impl HttpClient {
    /// A client trusting the system store and the CA certificates of
    /// `[http] ca_file`. Reads the system store now (it is not re-read); a
    /// store that cannot be read is logged, and only `https://` requests
    /// suffer from it.
    pub fn new(config: &HttpClientConfig) -> Self {
        let mut roots = RootCertStore::empty();
        let system = rustls_native_certs::load_native_certs();
        for error in &system.errors {
            tracing::warn!(%error, "cannot read part of the system CA store");
        }
        let (added, ignored) = roots.add_parsable_certificates(system.certs);
        if ignored > 0 {
            tracing::debug!(
                ignored,
                "unparsable certificates in the system CA store skipped"
            );
        }
        // `[http] ca_file` was parsed when the configuration was resolved.
        let (extra, _) = roots.add_parsable_certificates(config.extra_roots.iter().cloned());
        if added + extra == 0 {
            tracing::warn!(
                "no trusted CA certificates (the system store is empty and [http] ca_file is not set): \
                 every https:// request will fail; install ca-certificates or set [http] ca_file"
            );
        } else {
            tracing::debug!(system = added, ca_file = extra, "https trust roots loaded");
        }
        Self::with_roots(roots)
    }

    /// A client trusting exactly `roots` (no system store).
    pub fn with_roots(roots: RootCertStore) -> Self {
        let count = roots.len();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            // Invariant: ring's default provider has TLS 1.2 and 1.3 suites and
            // key exchange groups, the only things this call checks.
            .expect("the ring provider supports the default TLS versions");
        let mut tls = builder.with_root_certificates(roots).with_no_client_auth();
        tls.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
        Self {
            tls: TlsConnector::from(Arc::new(tls)),
            roots: count,
        }
    }

    /// Sends `request` and reads the whole response, all within `timeout`
    /// (connection, TLS handshake and body included).
    pub async fn send(
        &self,
        request: HttpRequest,
        timeout: Duration,
    ) -> Result<HttpResponse, HttpError> {
        match tokio::time::timeout(timeout, self.exchange(request)).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::Timeout(timeout)),
        }
    }

    async fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let bad_url = || HttpError::Url(redact_query(&request.url));
        let uri: Uri = request.url.parse().map_err(|_| bad_url())?;
        let (tls, default_port) = match uri.scheme_str() {
            Some("http") => (false, 80),
            Some("https") => (true, 443),
            _ => return Err(bad_url()),
        };
        let host = uri.host().ok_or_else(bad_url)?;
        let port = uri.port_u16().unwrap_or(default_port);
        let bare_host = host.trim_start_matches('[').trim_end_matches(']');
        let authority = format!("{host}:{port}");
        // The Host header as curl writes it: the port only when not the default.
        let host_header = if port == default_port {
            host.to_owned()
        } else {
            authority.clone()
        };
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let stream = TcpStream::connect((bare_host, port))
            .await
            .map_err(|source| HttpError::Connect {
                authority: authority.clone(),
                source,
            })?;
        if !tls {
            return exchange_over(stream, request, &path, host_header).await;
        }
        let tls_error = |reason: String, certificate_refused: bool| HttpError::Tls {
            host: host.to_owned(),
            reason,
            certificate_refused,
        };
        let server_name = ServerName::try_from(bare_host.to_owned())
            .map_err(|_| tls_error("the host is not a valid TLS server name".to_owned(), true))?;
        let stream = self
            .tls
            .connect(server_name, stream)
            .await
            .map_err(|e| tls_error(handshake_reason(&e), is_certificate_refusal(&e)))?;
        exchange_over(stream, request, &path, host_header).await
    }
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("trusted_cas", &self.roots)
            .finish_non_exhaustive()
    }
}

/// One request and its response over an open connection (plain or TLS).
async fn exchange_over<S>(
    io: S,
    request: HttpRequest,
    path: &str,
    host_header: String,
) -> Result<HttpResponse, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    let driver = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "HTTP client connection ended with an error");
        }
    });
    let mut builder = http::Request::builder()
        .method(request.method)
        .uri(path)
        .header(http::header::HOST, host_header);
    for (name, value) in request.headers {
        builder = builder.header(name, value);
    }
    let outgoing = builder.body(Full::new(request.body))?;
    let response = sender.send_request(outgoing).await?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|_| HttpError::Body)?
        .to_bytes();
    driver.abort();
    Ok(HttpResponse {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// Why a TLS handshake failed, in words an operator can act on.
/// Whether a failed handshake refused the server's certificate (a verdict
/// that retrying cannot change), as opposed to a broken connection.
fn is_certificate_refusal(error: &std::io::Error) -> bool {
    matches!(
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidCertificate(_))
    )
}

impl HttpError {
    /// Whether sending the same request again cannot succeed: a bad URL or
    /// request, or a refused certificate. Retry loops stop on these.
    pub fn is_permanent(&self) -> bool {
        match self {
            HttpError::Url(_) | HttpError::Build(_) => true,
            HttpError::Tls {
                certificate_refused,
                ..
            } => *certificate_refused,
            _ => false,
        }
    }
}

fn handshake_reason(error: &std::io::Error) -> String {
    let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        // Not a TLS verdict: the connection broke during the handshake.
        return format!("connection lost during the handshake: {error}");
    };
    let rustls::Error::InvalidCertificate(certificate) = tls else {
        return match tls {
            rustls::Error::InvalidMessage(_) => {
                format!("the server does not speak TLS on this port ({tls})")
            }
            other => other.to_string(),
        };
    };
    // rustls words the `...Context` variants well and the bare ones as `Debug`.
    match certificate {
        CertificateError::UnknownIssuer => {
            "certificate is signed by an unknown CA (trusted: the system store and [http] ca_file)"
                .to_owned()
        }
        CertificateError::NotValidForName => {
            "name mismatch: the certificate is for another host".to_owned()
        }
        CertificateError::NotValidForNameContext { .. } => format!("name mismatch: {certificate}"),
        CertificateError::Expired => "certificate expired".to_owned(),
        CertificateError::ExpiredContext { .. } => certificate.to_string(),
        other => format!("certificate refused: {other}"),
    }
}

/// The CA certificates of the bundle file `path`, from what reading it gave
/// (`[http] ca_file`, `voxpin send --ca-file`). The error names the file and
/// why; a binary DER file gets the command that converts it.
pub fn ca_file_roots(
    path: &std::path::Path,
    read: std::io::Result<String>,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = read.map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::InvalidData {
            "not a PEM text file (a binary DER certificate? convert it with \
             `openssl x509 -inform der -in ca.der -out ca.pem`)"
                .to_owned()
        } else {
            e.to_string()
        };
        format!("cannot read `{}`: {why}", path.display())
    })?;
    parse_ca_bundle(&text).map_err(|reason| format!("`{}`: {reason}", path.display()))
}

/// The CA certificates of a PEM bundle (`[http] ca_file`): every
/// `CERTIFICATE` block, each one usable as a trust anchor. Other blocks
/// (keys, CRLs) are skipped; a bundle without certificates is an error.
pub fn parse_ca_bundle(text: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(text.as_bytes()) {
        let der = item.map_err(|e| match e {
            pem::Error::MissingSectionEnd { .. } => {
                "a PEM section has no -----END ...----- line".to_owned()
            }
            other => format!("not valid PEM: {other}"),
        })?;
        // Parse each one now, as rustls will, so a broken bundle stops startup.
        RootCertStore::empty().add(der.clone()).map_err(|e| {
            format!(
                "certificate {} of the bundle is not a usable CA certificate: {e}",
                certs.len() + 1
            )
        })?;
        certs.push(der);
    }
    if certs.is_empty() {
        return Err(
            "no PEM certificate in it (expected -----BEGIN CERTIFICATE----- blocks)".into(),
        );
    }
    Ok(certs)
}

/// The URL without its query and user info (either may carry gateway
/// credentials or codes): what errors and logs show.
pub fn redact_query(url: &str) -> String {
    let base = match url.split_once('?') {
        Some((base, _)) => format!("{base}?<redacted>"),
        None => url.to_owned(),
    };
    redact_userinfo(&base)
}

/// The URL without the `user:password@` of its authority, if any.
fn redact_userinfo(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = url.get(start..).unwrap_or_default();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or_default();
    match authority.rfind('@') {
        Some(at) => format!(
            "{}<redacted>@{}",
            url.get(..start).unwrap_or_default(),
            rest.get(at + 1..).unwrap_or_default()
        ),
        None => url.to_owned(),
    }
}

/// The back-off before retry `n` (0-based): `first * 2^n`, capped at 5 minutes.
pub fn backoff(first: Duration, n: u32) -> Duration {
    first
        .saturating_mul(2u32.saturating_pow(n.min(16)))
        .min(Duration::from_secs(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let first = Duration::from_secs(1);
        assert_eq!(backoff(first, 0), Duration::from_secs(1));
        assert_eq!(backoff(first, 3), Duration::from_secs(8));
        assert_eq!(backoff(first, 40), Duration::from_secs(300));
    }

    #[test]
    fn query_strings_are_redacted() {
        assert_eq!(
            redact_query("http://h/s?password=x&text=123456"),
            "http://h/s?<redacted>"
        );
        assert_eq!(redact_query("http://h/s"), "http://h/s");
    }

    #[test]
    fn user_info_is_redacted_too() {
        assert_eq!(
            redact_query("https://voxpin:s3cret@gw.example:8443/send?text=1"),
            "https://<redacted>@gw.example:8443/send?<redacted>"
        );
        assert_eq!(redact_query("http://u:p@h"), "http://<redacted>@h");
        // An `@` in the path or query is not user info.
        assert_eq!(redact_query("http://h/a@b"), "http://h/a@b");
        assert_eq!(redact_query("http://h?to=a@b"), "http://h?<redacted>");
        assert_eq!(redact_query("not a url @ all"), "<redacted>@ all");
    }

    fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: Method::GET,
            url: url.into(),
            headers: vec![],
            body: Bytes::new(),
        }
    }

    fn client() -> HttpClient {
        HttpClient::with_roots(RootCertStore::empty())
    }

    #[tokio::test]
    async fn https_is_accepted_and_other_schemes_are_refused() {
        // Port 9 (discard) is closed on loopback: an https URL gets as far as
        // connecting, so the scheme was accepted.
        let err = client()
            .send(get("https://127.0.0.1:9/"), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Connect { .. }), "{err}");
        assert!(!err.is_permanent(), "a refused connect may succeed later");
        for url in ["ftp://h/x?secret=1", "h/x", "https:///x"] {
            let err = client()
                .send(get(url), Duration::from_secs(5))
                .await
                .unwrap_err();
            assert!(matches!(err, HttpError::Url(_)), "{url}: {err}");
            assert!(err.is_permanent(), "{url}: {err}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }

    #[tokio::test]
    async fn a_plain_http_server_on_an_https_url_is_a_tls_error() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = s
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        });
        let err = client()
            .send(
                get(&format!("https://localhost:{port}/")),
                Duration::from_secs(5),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                HttpError::Tls {
                    certificate_refused: false,
                    ..
                }
            ),
            "{err}"
        );
        // Not a certificate verdict (a proxy or a restart may fix it): retried.
        assert!(!err.is_permanent(), "{err}");
        assert!(err.to_string().contains("localhost"), "{err}");
        server.await.unwrap();
    }

    #[test]
    fn ca_bundles_need_a_parsable_certificate() {
        assert!(parse_ca_bundle("")
            .unwrap_err()
            .contains("no PEM certificate"));
        let key_only = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(parse_ca_bundle(key_only)
            .unwrap_err()
            .contains("no PEM certificate"));
        let unterminated = "-----BEGIN CERTIFICATE-----\nAAAA\n";
        assert!(
            parse_ca_bundle(unterminated).unwrap_err().contains("END"),
            "{:?}",
            parse_ca_bundle(unterminated)
        );
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = parse_ca_bundle(garbage).unwrap_err();
        assert!(err.contains("certificate 1 of the bundle"), "{err}");
    }

    #[tokio::test]
    async fn round_trip_against_a_local_server() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut seen = Vec::new();
            while !seen.ends_with(b"hello") {
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "client closed early");
                seen.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok")
                .await
                .unwrap();
            String::from_utf8(seen).unwrap()
        });
        let request = HttpRequest {
            method: Method::POST,
            url: format!("http://127.0.0.1:{port}/hook?x=1"),
            headers: vec![(
                HeaderName::from_static("x-test"),
                HeaderValue::from_static("yes"),
            )],
            body: Bytes::from_static(b"hello"),
        };
        let response = client()
            .send(request, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(response.status, StatusCode::ACCEPTED);
        assert_eq!(&response.body[..], b"ok");
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /hook?x=1 HTTP/1.1\r\n"), "{seen}");
        assert!(seen.contains("x-test: yes"), "{seen}");
        assert!(seen.contains(&format!("host: 127.0.0.1:{port}")), "{seen}");
    }
}
