//! The SMS `http` driver and the status-callback sender talk to a real HTTP
//! receiver on loopback: failures are retried with back-off, the SMS carries
//! the code only on the wire, and every callback attempt carries a valid
//! Standard Webhooks signature with a stable `webhook-id`.

use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::any;
use axum::Router;
use voxpin::config::{Config, HttpClientConfig, MapEnvironment};
use voxpin::http_client::HttpClient;
use voxpin::sms::{SmsMessage, SmsSender};
use voxpin::webhook::{self, DeliveryOutcome, StatusEvent, WebhookSender};
use zeroize::Zeroizing;

#[derive(Debug, Clone)]
struct Seen {
    query: Option<String>,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Statuses to answer, in order; 200 once they run out.
    script: Arc<Mutex<Vec<u16>>>,
}

async fn record(
    State(r): State<Receiver>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    r.seen.lock().unwrap().push(Seen {
        query,
        headers,
        body,
    });
    let mut script = r.script.lock().unwrap();
    let code = if script.is_empty() {
        200
    } else {
        script.remove(0)
    };
    StatusCode::from_u16(code).unwrap()
}

/// Starts the receiver; returns its base URL.
async fn start(receiver: Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/{*path}", any(record))
        .with_state(receiver);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn config(text: &str) -> Config {
    Config::parse("test.toml", text, &MapEnvironment::default()).unwrap()
}

/// The client `voxpin run` builds from the `[http]` section.
fn client(http: &HttpClientConfig) -> HttpClient {
    HttpClient::new(http)
}

fn message() -> SmsMessage {
    SmsMessage {
        to: "+14155550100".into(),
        code: Zeroizing::new("481516".into()),
        template: None,
    }
}

#[tokio::test]
async fn kannel_style_sms_is_retried_until_accepted() {
    let receiver = Receiver::default();
    receiver.script.lock().unwrap().extend([503, 500]);
    let base = start(receiver.clone()).await;
    let c = config(&format!(
        "[sms]\ndriver = \"http\"\nmethod = \"GET\"\nfrom = \"Acme\"\nretries = 3\nretry_delay = \"1ms\"\n\
         url = \"{base}/cgi-bin/sendsms?username=u&password=p&from={{from}}&to={{to}}&text={{text}}\"\n"
    ));
    let result = SmsSender::new(c.sms, client(&c.http))
        .send(&message())
        .await;
    assert!(result.sent, "{result:?}");
    assert_eq!(result.attempts, 3);
    assert_eq!(result.status, Some(200));
    let seen = receiver.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[2].query.as_deref(),
        Some("username=u&password=p&from=Acme&to=%2B14155550100&text=Your%20code%20is%20481516")
    );
    assert!(
        !format!("{result:?}").contains("481516"),
        "the result never holds the code"
    );
}

#[tokio::test]
async fn json_sms_gives_up_after_its_retries() {
    let receiver = Receiver::default();
    receiver.script.lock().unwrap().extend([500, 500, 500]);
    let base = start(receiver.clone()).await;
    let c = config(&format!(
        "[sms]\ndriver = \"http\"\nbody_format = \"json\"\nretries = 2\nretry_delay = \"1ms\"\n\
         url = \"{base}/messages\"\nbody = '{{\"to\":\"{{to}}\",\"body\":\"{{text}}\"}}'\n\
         headers = {{ Authorization = \"Bearer gw\" }}\n"
    ));
    let result = SmsSender::new(c.sms, client(&c.http))
        .send(&message())
        .await;
    assert!(!result.sent);
    assert_eq!(result.attempts, 3);
    assert_eq!(result.status, Some(500));
    assert!(
        result.error.as_deref().unwrap().contains("500"),
        "{result:?}"
    );
    let seen = receiver.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0].body,
        r#"{"to":"+14155550100","body":"Your code is 481516"}"#
    );
    assert_eq!(seen[0].headers["authorization"], "Bearer gw");
    assert_eq!(seen[0].headers["content-type"], "application/json");
}

#[tokio::test]
async fn unreachable_gateway_is_a_failed_result() {
    let c = config(
        "[sms]\ndriver = \"http\"\nretries = 1\nretry_delay = \"1ms\"\nurl = \"http://127.0.0.1:9/send\"\n",
    );
    let result = SmsSender::new(c.sms, client(&c.http))
        .send(&message())
        .await;
    assert!(!result.sent);
    assert_eq!(result.attempts, 2);
    assert_eq!(result.status, None);
}

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test]
async fn status_callbacks_are_signed_and_retried() {
    let receiver = Receiver::default();
    receiver.script.lock().unwrap().extend([502]);
    let base = start(receiver.clone()).await;
    let c = config(&format!(
        "[webhooks]\nsecret = \"{SECRET}\"\nretries = 2\nretry_delay = \"1ms\"\n"
    ));
    let event = StatusEvent::new(
        time::macros::datetime!(2027-01-15 08:00:18 UTC),
        serde_json::json!({"id": "otp-1", "status": "delivered"}),
    );
    let outcome = WebhookSender::new(c.webhooks, client(&c.http))
        .deliver(&format!("{base}/hook"), "msg_otp-1_delivered", &event)
        .await;
    assert_eq!(
        outcome,
        DeliveryOutcome::Delivered {
            attempts: 2,
            status: 200
        }
    );
    let seen = receiver.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let key = webhook::decode_secret(SECRET).unwrap();
    for s in seen.iter() {
        let id = s.headers["webhook-id"].to_str().unwrap();
        assert_eq!(id, "msg_otp-1_delivered", "the id is stable across retries");
        let ts: i64 = s.headers["webhook-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let expected = webhook::sign(&key, id, ts, s.body.as_bytes());
        assert_eq!(s.headers["webhook-signature"], expected.as_str());
    }
    let body: serde_json::Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(body["type"], "otp.status");
    assert_eq!(body["timestamp"], "2027-01-15T08:00:18Z");
    assert_eq!(body["data"]["status"], "delivered");
}

#[tokio::test]
async fn callbacks_without_a_secret_are_not_sent() {
    let c = config("");
    let event = StatusEvent::new(time::OffsetDateTime::UNIX_EPOCH, serde_json::json!({}));
    let outcome = WebhookSender::new(c.webhooks, client(&c.http))
        .deliver("http://127.0.0.1:9/hook", "msg_1", &event)
        .await;
    assert_eq!(outcome, DeliveryOutcome::NotConfigured);
}
