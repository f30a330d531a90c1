//! A small HTTP/1.1 client (plain `http://` only) for `voxpin send`, the SMS
//! gateway driver and status callbacks: one request per connection, hyper's
//! HTTP/1 connection over a tokio `TcpStream`, a whole-request timeout and a
//! cap on the response body.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Largest response body read (bigger ones fail with [`HttpError::Body`]).
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A request to send.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// An absolute `http://` URL.
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
    /// The URL is not an absolute `http://host[:port]/path` URL.
    #[error("not an http:// URL: {0}")]
    Url(String),
    /// The TCP connection failed.
    #[error("cannot connect to {authority}: {source}")]
    Connect {
        /// host:port.
        authority: String,
        /// The OS error.
        source: std::io::Error,
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

/// Sends `request` and reads the whole response, all within `timeout`.
pub async fn send(request: HttpRequest, timeout: Duration) -> Result<HttpResponse, HttpError> {
    match tokio::time::timeout(timeout, exchange(request)).await {
        Ok(result) => result,
        Err(_) => Err(HttpError::Timeout(timeout)),
    }
}

async fn exchange(request: HttpRequest) -> Result<HttpResponse, HttpError> {
    let uri: Uri = request
        .url
        .parse()
        .map_err(|_| HttpError::Url(redact_query(&request.url)))?;
    if uri.scheme_str() != Some("http") {
        return Err(HttpError::Url(redact_query(&request.url)));
    }
    let host = uri
        .host()
        .ok_or_else(|| HttpError::Url(redact_query(&request.url)))?;
    let port = uri.port_u16().unwrap_or(80);
    let host_for_connect = host.trim_start_matches('[').trim_end_matches(']');
    let authority = format!("{host}:{port}");
    let stream = TcpStream::connect((host_for_connect, port))
        .await
        .map_err(|source| HttpError::Connect {
            authority: authority.clone(),
            source,
        })?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "HTTP client connection ended with an error");
        }
    });
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut builder = http::Request::builder()
        .method(request.method)
        .uri(path)
        .header(http::header::HOST, authority);
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

/// The URL without its query (query strings may carry gateway credentials or codes).
pub fn redact_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?<redacted>"),
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

    #[tokio::test]
    async fn https_is_refused_with_a_precise_error() {
        let request = HttpRequest {
            method: Method::GET,
            url: "https://example.invalid/".into(),
            headers: vec![],
            body: Bytes::new(),
        };
        let err = send(request, Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(err, HttpError::Url(_)), "{err}");
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
        let response = send(request, Duration::from_secs(5)).await.unwrap();
        assert_eq!(response.status, StatusCode::ACCEPTED);
        assert_eq!(&response.body[..], b"ok");
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /hook?x=1 HTTP/1.1\r\n"), "{seen}");
        assert!(seen.contains("x-test: yes"), "{seen}");
        assert!(seen.contains(&format!("host: 127.0.0.1:{port}")), "{seen}");
    }
}
