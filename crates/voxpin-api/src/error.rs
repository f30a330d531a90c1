//! API errors: `{"error": {"code": "...", "message": "..."}}` with the
//! matching HTTP status. Codes are stable snake_case words clients can match;
//! messages are for people and never contain a code, a key or a password.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable machine-readable code.
    pub code: &'static str,
    /// The explanation.
    pub message: String,
    /// `Retry-After` in seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Adds `Retry-After`, rounded up to whole seconds (at least 1).
    pub fn retry_after(mut self, wait: Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.retry_after = Some(secs.max(1));
        self
    }

    /// 400 `invalid_json`.
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_json", message)
    }

    /// 400 `invalid_query`.
    pub fn invalid_query(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_query", message)
    }

    /// 422 with a field-specific code.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 404 `not_found` for an OTP id.
    pub fn otp_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no OTP has this id")
    }

    /// 500 `store_error` (details go to the log, not the client).
    pub fn store(error: &dyn std::error::Error) -> Self {
        tracing::error!(%error, "OTP store failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "store_error",
            "the OTP store failed; retry later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up() {
        let e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "x")
            .retry_after(Duration::from_millis(1200));
        assert_eq!(e.retry_after, Some(2));
        let e = e.retry_after(Duration::ZERO);
        assert_eq!(e.retry_after, Some(1));
    }
}
