//! Status callbacks, signed as Standard Webhooks.
//!
//! Each OTP status change with a `status_callback` URL (`http://` or
//! `https://`) is POSTed as JSON with
//! three headers: `webhook-id` (stable across retries), `webhook-timestamp`
//! (Unix seconds of this attempt) and `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
//! base64-decoded part of the `whsec_…` secret). A failure (no response, or a
//! status other than 2xx) is retried with exponential back-off; each attempt
//! gets a fresh timestamp and signature, as the spec asks.
//!
//! ```
//! let secret = voxpin::webhook::decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
//! let signature = voxpin::webhook::sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
//! assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderName, HeaderValue, Method};
use serde::Serialize;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::config::WebhookConfig;
use crate::http_client::{self, HttpClient, HttpRequest};

/// Decodes a `whsec_<base64>` (or bare base64) signing secret; at least 16 bytes.
pub fn decode_secret(text: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let b64 = text.strip_prefix("whsec_").unwrap_or(text);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "not a whsec_ secret: the part after `whsec_` must be base64".to_owned())?;
    if bytes.len() < 16 {
        return Err(format!(
            "the secret decodes to {} bytes; at least 16 are needed",
            bytes.len()
        ));
    }
    Ok(Zeroizing::new(bytes))
}

/// The `webhook-signature` value for one attempt.
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    )
}

/// The JSON envelope of a status callback (Standard Webhooks payload shape).
#[derive(Debug, Clone, Serialize)]
pub struct StatusEvent {
    /// Always `otp.status`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When the status changed (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: time::OffsetDateTime,
    /// The OTP as the API shows it (never the code).
    pub data: serde_json::Value,
}

impl StatusEvent {
    /// An `otp.status` event carrying `data`.
    pub fn new(timestamp: time::OffsetDateTime, data: serde_json::Value) -> Self {
        Self {
            kind: "otp.status",
            timestamp,
            data,
        }
    }
}

/// How one delivery ended, for the session record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// A 2xx arrived.
    Delivered {
        /// Attempts used (1 = first try).
        attempts: u32,
        /// The receiver's status code.
        status: u16,
    },
    /// Every attempt failed.
    Failed {
        /// Attempts used.
        attempts: u32,
        /// The last failure (status code or transport error), no secrets.
        last_error: String,
    },
    /// No signing secret is configured, so nothing was sent.
    NotConfigured,
}

/// Sends signed status callbacks with retries.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    config: WebhookConfig,
    /// The shared outbound client (its TLS trust comes from `[http]`).
    client: HttpClient,
}

impl WebhookSender {
    /// A sender using the `[webhooks]` settings, sending through `client`.
    pub fn new(config: WebhookConfig, client: HttpClient) -> Self {
        Self { config, client }
    }

    /// Delivers `event` to `url`, retrying with back-off. `webhook_id` must be
    /// unique per event and is kept across retries.
    pub async fn deliver(
        &self,
        url: &str,
        webhook_id: &str,
        event: &StatusEvent,
    ) -> DeliveryOutcome {
        let Some(secret) = &self.config.secret else {
            tracing::warn!("status callback not sent: [webhooks] secret is not configured");
            return DeliveryOutcome::NotConfigured;
        };
        let Ok(key) = decode_secret(secret.expose()) else {
            // Config resolution already decoded this secret once.
            return DeliveryOutcome::NotConfigured;
        };
        let body = match serde_json::to_vec(event) {
            Ok(b) => Bytes::from(b),
            Err(e) => {
                return DeliveryOutcome::Failed {
                    attempts: 0,
                    last_error: format!("cannot encode the event: {e}"),
                }
            }
        };
        let mut last_error = String::new();
        let total = self.config.retries.saturating_add(1);
        for attempt in 0..total {
            if attempt > 0 {
                tokio::time::sleep(http_client::backoff(self.config.retry_delay, attempt - 1))
                    .await;
            }
            let timestamp = unix_seconds(SystemTime::now());
            let request = signed_request(url, webhook_id, timestamp, &key, body.clone());
            match self.client.send(request, self.config.timeout).await {
                Ok(r) if r.status.is_success() => {
                    crate::metrics::webhook_result("delivered");
                    return DeliveryOutcome::Delivered {
                        attempts: attempt + 1,
                        status: r.status.as_u16(),
                    };
                }
                Ok(r) => last_error = format!("HTTP {}", r.status.as_u16()),
                Err(e) => {
                    last_error = e.to_string();
                    if e.is_permanent() {
                        crate::metrics::webhook_result("failed");
                        tracing::warn!(webhook_id, attempts = attempt + 1, error = %last_error, "status callback gave up; retrying cannot help");
                        return DeliveryOutcome::Failed {
                            attempts: attempt + 1,
                            last_error,
                        };
                    }
                }
            }
            tracing::debug!(webhook_id, attempt = attempt + 1, error = %last_error, "status callback failed");
        }
        crate::metrics::webhook_result("failed");
        tracing::warn!(webhook_id, attempts = total, error = %last_error, "status callback gave up");
        DeliveryOutcome::Failed {
            attempts: total,
            last_error,
        }
    }
}

/// The request of one attempt: JSON body and the three Standard Webhooks headers.
pub fn signed_request(url: &str, id: &str, timestamp: i64, key: &[u8], body: Bytes) -> HttpRequest {
    let signature = sign(key, id, timestamp, &body);
    let mut headers = vec![(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )];
    let values = [
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ];
    for (name, value) in values {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.push((HeaderName::from_static(name), v));
        }
    }
    HttpRequest {
        method: Method::POST,
        url: url.to_owned(),
        headers,
        body,
    }
}

fn unix_seconds(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
        .try_into()
        .unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        let key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // one byte of the body changed → another signature
        assert_ne!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232315}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn bad_secrets_are_refused() {
        assert!(decode_secret("whsec_!!!").is_err());
        assert!(
            decode_secret("whsec_c2hvcnQ=").is_err(),
            "5 bytes is too short"
        );
    }

    #[test]
    fn request_carries_the_three_headers() {
        let key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let r = signed_request(
            "http://127.0.0.1:9/h",
            "msg_1",
            42,
            &key,
            Bytes::from_static(b"{}"),
        );
        let names: Vec<_> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "content-type",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature"
            ]
        );
        assert_eq!(r.headers[2].1, "42");
        assert_eq!(r.headers[3].1, sign(&key, "msg_1", 42, b"{}").as_str());
    }
}
