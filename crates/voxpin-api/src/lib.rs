//! voxpin's HTTP API: an axum [`Router`] over the OTP store and the engine.
//!
//! The router knows the engine only through three small traits, so it is
//! tested without sockets or calls:
//!
//! - [`Dialer`]: "place the call of this OTP", "hang it up";
//! - [`Catalogue`]: the applications (mode, auto or manual code, policy,
//!   limits, languages), adapted from the dialplans and swapped on reload;
//! - [`Clock`]: the wall clock.
//!
//! Routes (JSON; `/v1` needs `Authorization: Bearer <key>`):
//!
//! | method | path | does |
//! |---|---|---|
//! | `POST` | `/v1/otp` | create an OTP and call (honours `Idempotency-Key`) |
//! | `GET` | `/v1/otp` | a page of OTPs (`application`, `to`, `status`, `since`, `until`, `limit`, `cursor`) |
//! | `GET` | `/v1/otp/{id}` | one OTP with its session record |
//! | `DELETE` | `/v1/otp/{id}` | cancel; a live call is hung up |
//! | `POST` | `/v1/otp/{id}/verify` | check a code typed into the app |
//! | `GET` | `/v1/usage` | counts by period, status and country code |
//! | `GET` | `/healthz` | liveness (no key) |
//! | `GET` | `/metrics` | Prometheus text (no key) |
//!
//! Errors are `{"error": {"code": "...", "message": "..."}}`; see [`ApiError`].
//!
//! ```
//! use std::sync::Arc;
//! use axum::body::Body;
//! use axum::http::Request;
//! use tower::ServiceExt;
//! use voxpin_api::*;
//! use voxpin_otp::{Application, CodeLength, MemoryStore, Mode, SecretKey};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let catalogue = StaticCatalogue::new().with(
//!     Application::new("login").unwrap(),
//!     ApplicationSpec::new(Mode::Read, CodeRule::Auto(CodeLength::DEFAULT)),
//! );
//! let key = ApiKey::new("an-example-key-0001".into()).unwrap();
//! let state = ApiState::new(
//!     Arc::new(MemoryStore::new(SecretKey::generate().unwrap())),
//!     Arc::new(catalogue),
//!     Arc::new(NoDialer),       // the engine: places the call
//!     Arc::new(SystemClock),
//!     KeySet::new(vec![key]),
//!     ApiSettings::default(),
//! );
//! let request = Request::post("/v1/otp")
//!     .header("authorization", "Bearer an-example-key-0001")
//!     .body(Body::from(r#"{"application": "login", "to": "+14155550100"}"#))
//!     .unwrap();
//! let response = router(state).oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 201);
//! # }
//! ```
//!
//! Serve it with `axum::serve(listener, router(state))`, and call
//! [`ApiState::purge`] about once a minute.

pub mod auth;
pub mod engine;
pub mod error;
mod handlers;
pub mod idempotency;
mod listing;
pub mod metric_names;
mod state;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use governor::clock::{Clock as _, DefaultClock};

pub use auth::{ApiKey, ApiKeyError, KeyId, KeySet};
pub use engine::{
    ApplicationSpec, Catalogue, Clock, CodeRule, Dialer, ManualClock, NoDialer, StaticCatalogue,
    SystemClock,
};
pub use error::ApiError;
pub use state::{ApiSettings, ApiState, MetricsRender};

/// The whole API.
pub fn router(state: ApiState) -> Router {
    let v1 = Router::new()
        .route("/v1/otp", post(handlers::create).get(listing::list))
        .route("/v1/otp/{id}", get(handlers::show).delete(handlers::cancel))
        .route("/v1/otp/{id}/verify", post(handlers::verify))
        .route("/v1/usage", get(listing::usage))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .merge(v1)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Bearer authentication, then the per-key rate limit.
async fn authenticate(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let key = match header {
        None => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing API key: send `Authorization: Bearer <key>`",
            )
            .into_response()
        }
        Some(value) => KeySet::bearer(value).and_then(|t| state.inner.keys.authenticate(t)),
    };
    let Some(key) = key else {
        tracing::debug!("API request with an unknown key");
        return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "unknown API key")
            .into_response();
    };
    if let Err(not_until) = state.inner.limiter.check_key(&key) {
        metrics::counter!(metric_names::RATE_LIMITED_TOTAL).increment(1);
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "more than {} requests per minute with this API key",
                state.inner.settings.rate_limit_per_minute
            ),
        )
        .retry_after(wait)
        .into_response();
    }
    request.extensions_mut().insert(key);
    next.run(request).await
}

async fn healthz() -> Response {
    Json(serde_json::json!({"status": "ok"})).into_response()
}

async fn metrics_text(State(state): State<ApiState>) -> Response {
    match &state.inner.metrics {
        Some(render) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            )],
            render(),
        )
            .into_response(),
        None => not_found().await,
    }
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept this method",
    )
    .into_response()
}
