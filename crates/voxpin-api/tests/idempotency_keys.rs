//! `Idempotency-Key` on `POST /v1/otp`: a repeat with the same body gets the
//! saved response and places no second call; another body gets 422; a repeat
//! while the first is still running gets 409; keys belong to one API key and
//! are forgotten after 24 hours.

mod support;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::*;
use voxpin_api::{ApiSettings, Dialer};
use voxpin_otp::OtpId;

const BODY: &str = r#"{"application":"login","to":"+14155550100"}"#;

fn with_key(key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("Bearer {KEY}")),
        ("idempotency-key", key.to_owned()),
    ]
}

async fn post(h: &Harness, body: &str, key: &str) -> Reply {
    let headers = with_key(key);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    h.send_with("POST", "/v1/otp", body, &headers).await
}

#[tokio::test]
async fn same_key_same_body_replays_without_a_second_call() {
    let h = Harness::new();
    let first = post(&h, BODY, "order-1").await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = post(&h, BODY, "order-1").await;
    assert_eq!(again.status, 201);
    assert_eq!(again.json, first.json);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(h.stored(), 1);
    assert_eq!(h.dialer.calls().len(), 1, "one call only");
    // without the key, the same body is a new OTP
    let fresh = h.create_login().await;
    assert_ne!(fresh.id(), first.id());
}

#[tokio::test]
async fn same_key_other_body_is_422() {
    let h = Harness::new();
    assert_eq!(post(&h, BODY, "order-2").await.status, 201);
    let other = post(
        &h,
        r#"{"application":"login","to":"+14155550199"}"#,
        "order-2",
    )
    .await;
    other.assert_error(422, "idempotency_key_reused");
    assert_eq!(h.stored(), 1);
}

#[tokio::test]
async fn saved_errors_replay_and_keys_expire_after_a_day() {
    let h = Harness::new();
    let bad = r#"{"application":"nosuch","to":"+14155550100"}"#;
    post(&h, bad, "order-3")
        .await
        .assert_error(422, "unknown_application");
    let replay = post(&h, bad, "order-3").await;
    replay.assert_error(422, "unknown_application");
    assert_eq!(replay.headers["idempotent-replayed"], "true");

    let first = post(&h, BODY, "order-4").await;
    h.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(h.state.purge(), 2);
    let later = post(&h, BODY, "order-4").await;
    assert_eq!(later.status, 201);
    assert_ne!(later.id(), first.id(), "after 24 h the key is new again");
}

#[tokio::test]
async fn keys_are_per_api_key_and_checked() {
    let h = Harness::new();
    assert_eq!(post(&h, BODY, "order-5").await.status, 201);
    let other = h
        .send_with(
            "POST",
            "/v1/otp",
            r#"{"application":"login","to":"+14155550199"}"#,
            &[
                ("authorization", &format!("Bearer {OTHER_KEY}")),
                ("idempotency-key", "order-5"),
            ],
        )
        .await;
    assert_eq!(other.status, 201, "another API key has its own keys");
    post(&h, BODY, "has space")
        .await
        .assert_error(400, "invalid_idempotency_key");
}

/// Blocks inside `dial` until released, so a second request can arrive while
/// the first is in flight.
struct BlockingDialer {
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl Dialer for BlockingDialer {
    fn dial(&self, _id: OtpId) {
        self.entered.lock().unwrap().send(()).unwrap();
        self.release.lock().unwrap().recv().unwrap();
    }
    fn hang_up(&self, _id: OtpId) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_key_while_in_flight_is_409() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let dialer = Arc::new(BlockingDialer {
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
    });
    let h = Arc::new(Harness::build(
        ApiSettings::default(),
        dialer,
        Arc::new(RecordingDialer::default()),
    ));
    let first = {
        let h = h.clone();
        tokio::spawn(async move { post(&h, BODY, "order-6").await })
    };
    tokio::task::spawn_blocking(move || entered_rx.recv_timeout(Duration::from_secs(10)))
        .await
        .unwrap()
        .expect("the first request reached dial");
    post(&h, BODY, "order-6")
        .await
        .assert_error(409, "idempotency_in_progress");
    release_tx.send(()).unwrap();
    let first = first.await.unwrap();
    assert_eq!(first.status, 201, "{}", first.text);
    let replay = post(&h, BODY, "order-6").await;
    assert_eq!(replay.json, first.json);
    assert_eq!(h.stored(), 1);
}
