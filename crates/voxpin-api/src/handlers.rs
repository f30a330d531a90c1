//! The `/v1/otp` handlers: create, show, cancel, verify.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use voxpin_otp::{
    Application, Code, CodeSource, CreateError, Mode, NewOtp, Otp, OtpId, OtpView, PhoneNumber,
    Status, VerifyError, VerifySource,
};

use crate::auth::KeyId;
use crate::engine::{ApplicationSpec, CodeRule};
use crate::error::ApiError;
use crate::idempotency::{self, Claim};
use crate::metric_names::VERIFICATIONS_TOTAL;
use crate::state::ApiState;

/// Longest accepted `status_callback` URL.
pub const MAX_CALLBACK_URL: usize = 2048;

/// The body of `POST /v1/otp`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    application: String,
    to: String,
    code: Option<String>,
    language: Option<String>,
    sms_after_call: Option<bool>,
    attributes: Option<BTreeMap<String, serde_json::Value>>,
    status_callback: Option<String>,
}

/// The body of `POST /v1/otp/{id}/verify`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    code: String,
}

/// An OTP as `GET` shows it: the store's record plus attempts left.
#[derive(Debug, Serialize)]
pub(crate) struct OtpBody<'a> {
    #[serde(flatten)]
    otp: &'a Otp,
    attempts_remaining: u32,
}

impl<'a> OtpBody<'a> {
    pub(crate) fn new(otp: &'a Otp) -> Self {
        Self {
            otp,
            attempts_remaining: otp.attempts_remaining(),
        }
    }
}

/// Reads a whole body, refusing more than `limit` bytes with 413.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

/// Parses a JSON body: 400 `invalid_json` for bad syntax, 400
/// `invalid_request` for the wrong shape (unknown or missing field, wrong type).
fn parse_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_json(
            "the request body is empty; send a JSON object",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                shape_message(&e),
            ),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::invalid_json(format!("the body is not valid JSON: {e}"))
            }
        }
    })
}

/// A message for a JSON shape error that never echoes a value (a code sent
/// as a number would otherwise appear in it); field names are kept.
fn shape_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with("unknown field") || text.starts_with("missing field") {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '`' => quoted = !quoted,
            _ if quoted => {}
            _ => out.push(c),
        }
    }
    out
}

/// `POST /v1/otp`.
pub(crate) async fn create(
    State(state): State<ApiState>,
    Extension(owner): Extension<KeyId>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_body(&headers, body, state.inner.settings.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let key =
        match headers.get("idempotency-key") {
            None => None,
            Some(v) => match v.to_str().ok().filter(|k| idempotency::valid_key(k)) {
                Some(k) => Some(k.to_owned()),
                None => return ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces",
                )
                .into_response(),
            },
        };
    let Some(key) = key else {
        return outcome(create_otp(&state, &bytes)).into_response();
    };
    let cache = &state.inner.idempotency;
    match cache.claim(&owner, &key, &bytes, state.inner.clock.now()) {
        Claim::Fresh => {}
        Claim::Replay(saved) => {
            let mut r = json_bytes(saved.status, saved.body);
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return r;
        }
        Claim::InFlight => {
            return ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still being processed; retry shortly",
            )
            .into_response()
        }
        Claim::Mismatch => {
            return ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request body",
            )
            .into_response()
        }
    }
    let (status, body, retry_after) = match create_otp(&state, &bytes) {
        Ok(view) => (StatusCode::CREATED, to_bytes(&view), None),
        Err(e) => (e.status, error_bytes(&e), e.retry_after),
    };
    cache.finish(&owner, &key, status, body.clone());
    let mut response = json_bytes(status, body);
    if let Some(secs) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    response
}

fn outcome(result: Result<OtpView, ApiError>) -> Response {
    match result {
        Ok(view) => (StatusCode::CREATED, Json(view)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn to_bytes<T: Serialize>(value: &T) -> Bytes {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .unwrap_or_default()
}

fn error_bytes(e: &ApiError) -> Bytes {
    to_bytes(&serde_json::json!({"error": {"code": e.code, "message": e.message}}))
}

fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Validates the request, stores the OTP and asks the engine to call.
/// Nothing is stored unless every check passed.
fn create_otp(state: &ApiState, bytes: &[u8]) -> Result<OtpView, ApiError> {
    let req: CreateRequest = parse_json(bytes)?;
    let application = Application::new(&req.application)
        .map_err(|e| ApiError::unprocessable("invalid_application", e.to_string()))?;
    let spec = state
        .inner
        .catalogue
        .application(&application)
        .ok_or_else(|| {
            ApiError::unprocessable(
                "unknown_application",
                format!("no application is named `{application}`"),
            )
        })?;
    let to = PhoneNumber::new(&req.to)
        .map_err(|e| ApiError::unprocessable("invalid_phone_number", e.to_string()))?;
    let code = code_source(&application, &spec, req.code.as_deref())?;
    let language = language(&spec, req.language)?;
    if let Some(url) = &req.status_callback {
        check_callback_url(url)?;
    }
    let new = NewOtp {
        application,
        to,
        mode: spec.mode,
        code,
        policy: spec.policy.clone(),
        limits: spec.limits.clone(),
        language,
        attributes: req.attributes.unwrap_or_default(),
        status_callback: req.status_callback,
        sms_after_call: req.sms_after_call.unwrap_or(spec.sms_after_call),
    };
    if !state.inner.dialer.is_accepting() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "voxpin is not taking new calls right now (shutting down or at capacity)",
        )
        .retry_after(std::time::Duration::from_secs(5)));
    }
    let view = state
        .inner
        .store
        .create(state.inner.clock.now(), new)
        .map_err(create_error)?;
    for old in &view.replaced {
        state.inner.dialer.hang_up(*old);
    }
    state.inner.dialer.dial(view.id);
    metrics::counter!(crate::metric_names::OTPS_CREATED_TOTAL, "mode" => mode_label(view.mode))
        .increment(1);
    tracing::info!(otp = %view.id, application = %view.application, "OTP created");
    Ok(view)
}

fn mode_label(mode: Mode) -> &'static str {
    match mode {
        Mode::Read => "read",
        _ => "input",
    }
}

fn code_source(
    application: &Application,
    spec: &ApplicationSpec,
    code: Option<&str>,
) -> Result<CodeSource, ApiError> {
    match (spec.code, code) {
        (CodeRule::Auto(length), None) => Ok(CodeSource::Generate(length)),
        (CodeRule::Auto(_), Some(_)) => Err(ApiError::unprocessable(
            "code_not_allowed",
            format!("application `{application}` generates its codes; do not send `code`"),
        )),
        (CodeRule::Manual(_), None) => Err(ApiError::unprocessable(
            "code_required",
            format!("application `{application}` uses codes given by the client; send `code`"),
        )),
        (CodeRule::Manual(length), Some(text)) => {
            let code = match length {
                Some(length) => Code::manual_with_length(text, length),
                None => Code::manual(text),
            };
            code.map(CodeSource::Manual)
                .map_err(|e| ApiError::unprocessable("invalid_code", e.to_string()))
        }
    }
}

fn language(spec: &ApplicationSpec, asked: Option<String>) -> Result<String, ApiError> {
    let Some(lang) = asked else {
        return Ok(spec
            .languages
            .first()
            .cloned()
            .unwrap_or_else(|| "en".into()));
    };
    let well_formed = (2..=16).contains(&lang.len())
        && lang
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(ApiError::unprocessable(
            "invalid_language",
            "language must be a tag such as `en` or `pt-BR`",
        ));
    }
    if !spec.languages.is_empty() && !spec.languages.contains(&lang) {
        return Err(ApiError::unprocessable(
            "unsupported_language",
            format!(
                "language `{lang}` is not offered by this application (offered: {})",
                spec.languages.join(", ")
            ),
        ));
    }
    Ok(lang)
}

/// Status callbacks are absolute `http://` or `https://` URLs with a host and
/// no user info.
fn check_callback_url(url: &str) -> Result<(), ApiError> {
    const EXPECTED: &str = "status_callback must be an absolute http:// or https:// URL";
    let bad = |why: &str| ApiError::unprocessable("invalid_status_callback", why.to_owned());
    if url.len() > MAX_CALLBACK_URL {
        return Err(bad("status_callback is longer than 2048 characters"));
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad(EXPECTED))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty()
        || host.contains('@')
        || !url.bytes().all(|b| b.is_ascii_graphic())
        || url.parse::<axum::http::Uri>().is_err()
    {
        return Err(bad(&format!("{EXPECTED} with a host")));
    }
    Ok(())
}

fn create_error(e: CreateError) -> ApiError {
    match e {
        CreateError::RateLimited { retry_after, .. } => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "send_limit_reached",
            e.to_string(),
        )
        .retry_after(retry_after),
        CreateError::TooManyCalls { .. } => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_calls",
            e.to_string(),
        )
        .retry_after(std::time::Duration::from_secs(5)),
        CreateError::BadTtl | CreateError::NoAttempts => {
            tracing::error!(error = %e, "application policy refused by the store");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "application_misconfigured",
                format!("the application's policy is not usable: {e}"),
            )
        }
        other => ApiError::store(&other),
    }
}

fn otp_id(text: &str) -> Result<OtpId, ApiError> {
    text.parse().map_err(|_| ApiError::otp_not_found())
}

/// `GET /v1/otp/{id}`.
pub(crate) async fn show(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = otp_id(&id)?;
    let otp = state
        .inner
        .store
        .get(&id)
        .map_err(|e| ApiError::store(&e))?
        .ok_or_else(ApiError::otp_not_found)?;
    Ok(Json(OtpBody::new(&otp)).into_response())
}

/// `DELETE /v1/otp/{id}`.
pub(crate) async fn cancel(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = otp_id(&id)?;
    let now = state.inner.clock.now();
    let otp = state.inner.store.cancel(&id, now).map_err(|e| match e {
        voxpin_otp::CancelError::NotFound => ApiError::otp_not_found(),
        voxpin_otp::CancelError::Final { status } => ApiError::new(
            StatusCode::CONFLICT,
            "otp_final",
            format!("the OTP is already {status} and cannot be canceled"),
        ),
        other => ApiError::store(&other),
    })?;
    state.inner.dialer.hang_up(id);
    state.inner.dialer.status_changed(id, Status::Canceled);
    tracing::info!(otp = %id, "OTP canceled");
    Ok(Json(OtpBody::new(&otp)).into_response())
}

/// `POST /v1/otp/{id}/verify`.
pub(crate) async fn verify(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, state.inner.settings.max_body_bytes).await?;
    let id = otp_id(&id)?;
    let req: VerifyRequest = parse_json(&bytes)?;
    let code = req.code.trim();
    if code.is_empty() || code.len() > 10 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::unprocessable(
            "invalid_code",
            "code must be 1 to 10 digits",
        ));
    }
    let now = state.inner.clock.now();
    let outcome = state
        .inner
        .store
        .verify(&id, code, now, VerifySource::Api)
        .map_err(|e| match e {
            VerifyError::NotFound => ApiError::otp_not_found(),
            VerifyError::Closed { .. } => {
                metrics::counter!(VERIFICATIONS_TOTAL, "result" => "closed").increment(1);
                ApiError::new(StatusCode::CONFLICT, "otp_closed", e.to_string())
            }
            VerifyError::RateLimited { retry_after } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "verify_too_soon",
                e.to_string(),
            )
            .retry_after(retry_after),
            other => ApiError::store(&other),
        })?;
    let result = match (outcome.valid, outcome.status) {
        (true, _) => "valid",
        (false, Status::Failed) => "exhausted",
        (false, _) => "invalid",
    };
    metrics::counter!(VERIFICATIONS_TOTAL, "result" => result).increment(1);
    if matches!(outcome.status, Status::Verified | Status::Failed) {
        state.inner.dialer.status_changed(id, outcome.status);
    }
    tracing::info!(otp = %id, result, "OTP verification");
    Ok(Json(outcome).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_urls() {
        for good in [
            "http://127.0.0.1:9000/hook?x=1",
            "https://hooks.example.com/voxpin",
            "https://[::1]:8443/h",
        ] {
            assert!(check_callback_url(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://h/",
            "http://",
            "http:///path",
            "http://user@h/",
            "http://h/ space",
            "https://",
            "https://user:pw@h/",
            "HTTPS//h/",
        ] {
            let e = check_callback_url(bad).unwrap_err();
            assert_eq!(e.code, "invalid_status_callback", "{bad}");
        }
    }

    #[test]
    fn json_errors_are_classified() {
        assert_eq!(
            parse_json::<VerifyRequest>(b"{").unwrap_err().code,
            "invalid_json"
        );
        assert_eq!(
            parse_json::<VerifyRequest>(b"  ").unwrap_err().code,
            "invalid_json"
        );
        let e = parse_json::<VerifyRequest>(br#"{"code": 1}"#).unwrap_err();
        assert_eq!(e.code, "invalid_request");
        let e = parse_json::<VerifyRequest>(br#"{"code": "1", "x": 2}"#).unwrap_err();
        assert!(e.message.contains("unknown field `x`"), "{}", e.message);
        let e = parse_json::<VerifyRequest>(br#"{"code": 481516}"#).unwrap_err();
        assert!(!e.message.contains("481516"), "{}", e.message);
    }
}
