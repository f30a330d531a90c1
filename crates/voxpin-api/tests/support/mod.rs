//! A test harness: the router over a memory store, a fixed catalogue, a
//! recording dialer and a manual clock; requests go through `oneshot`.

#![allow(dead_code)]

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use voxpin_api::*;
use voxpin_otp::{
    Application, CodeLength, ListFilter, MemoryStore, Mode, OtpId, OtpStore, PageRequest,
    SecretKey, Status,
};

pub const KEY: &str = "test-api-key-000001";
pub const OTHER_KEY: &str = "test-api-key-000002";

/// What the dialer was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Dial(OtpId),
    HangUp(OtpId),
    Status(OtpId, Status),
}

#[derive(Debug, Default)]
pub struct RecordingDialer(pub Mutex<Vec<Call>>);

impl RecordingDialer {
    pub fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().clone()
    }
}

impl Dialer for RecordingDialer {
    fn dial(&self, id: OtpId) {
        self.0.lock().unwrap().push(Call::Dial(id));
    }
    fn hang_up(&self, id: OtpId) {
        self.0.lock().unwrap().push(Call::HangUp(id));
    }
    fn status_changed(&self, id: OtpId, status: Status) {
        self.0.lock().unwrap().push(Call::Status(id, status));
    }
}

pub struct Harness {
    pub state: ApiState,
    pub store: Arc<MemoryStore>,
    pub dialer: Arc<RecordingDialer>,
    pub clock: ManualClock,
}

pub fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

pub fn catalogue() -> StaticCatalogue {
    StaticCatalogue::new()
        .with(
            Application::new("login").unwrap(),
            ApplicationSpec::new(Mode::Read, CodeRule::Auto(CodeLength::DEFAULT))
                .with_languages(&["en", "fr"]),
        )
        .with(
            Application::new("manual").unwrap(),
            ApplicationSpec::new(
                Mode::Input,
                CodeRule::Manual(Some(CodeLength::new(6).unwrap())),
            ),
        )
}

impl Harness {
    pub fn new() -> Self {
        Self::with_settings(ApiSettings::default())
    }

    pub fn with_rate_limit(per_minute: u32) -> Self {
        Self::with_settings(ApiSettings::new(
            16 * 1024,
            NonZeroU32::new(per_minute).unwrap(),
        ))
    }

    pub fn with_settings(settings: ApiSettings) -> Self {
        Self::with_dialer(settings, Arc::new(RecordingDialer::default()))
    }

    pub fn with_dialer(settings: ApiSettings, dialer: Arc<RecordingDialer>) -> Self {
        Self::build(settings, dialer.clone(), dialer)
    }

    pub fn build(
        settings: ApiSettings,
        dialer: Arc<dyn Dialer>,
        recorder: Arc<RecordingDialer>,
    ) -> Self {
        let store = Arc::new(MemoryStore::new(SecretKey::from_bytes([7; 32])));
        let clock = ManualClock::new(start());
        let keys = KeySet::new(vec![
            ApiKey::new(KEY.into()).unwrap(),
            ApiKey::new(OTHER_KEY.into()).unwrap(),
        ]);
        let state = ApiState::new(
            store.clone(),
            Arc::new(catalogue()),
            dialer,
            Arc::new(clock.clone()),
            keys,
            settings,
        )
        .with_metrics(Arc::new(|| "voxpin_test_total 1\n".to_owned()));
        Self {
            state,
            store,
            dialer: recorder,
            clock,
        }
    }

    /// Sends a request with the test key; returns status, headers and JSON body.
    pub async fn send(&self, method: &str, uri: &str, body: &str) -> Reply {
        self.send_with(
            method,
            uri,
            body,
            &[("authorization", &format!("Bearer {KEY}"))],
        )
        .await
    }

    pub async fn send_with(
        &self,
        method: &str,
        uri: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::from(body.to_owned())).unwrap();
        let response = router(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        Reply {
            status,
            headers,
            json,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// OTPs in the store.
    pub fn stored(&self) -> usize {
        self.store
            .list(
                &ListFilter::default(),
                &PageRequest {
                    limit: Some(100),
                    cursor: None,
                },
            )
            .unwrap()
            .items
            .len()
    }

    pub fn create_login(&self) -> impl std::future::Future<Output = Reply> + '_ {
        self.send(
            "POST",
            "/v1/otp",
            r#"{"application":"login","to":"+14155550100"}"#,
        )
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub json: serde_json::Value,
    pub text: String,
}

impl Reply {
    /// Asserts an error reply and returns its message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.json["error"]["code"], code, "{}", self.text);
        let message = self.json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            !message.is_empty(),
            "an error needs a message: {}",
            self.text
        );
        message
    }

    pub fn id(&self) -> String {
        self.json["id"].as_str().expect("an id").to_owned()
    }
}
