//! A created OTP answers 201 without its code, is handed to the engine to
//! dial, shows its status and session record, and can be canceled (which
//! hangs up its call).

mod support;

use support::*;
use voxpin_otp::{EventKind, OtpId, OtpStore, Status};

#[tokio::test]
async fn create_then_show_then_cancel() {
    let h = Harness::new();
    let reply = h
        .send(
            "POST",
            "/v1/otp",
            r#"{"application":"login","to":"+14155550100","language":"fr","attributes":{"user":42},"status_callback":"http://127.0.0.1:9/cb"}"#,
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.id();
    assert_eq!(reply.json["application"], "login");
    assert_eq!(reply.json["to"], "+14155550100");
    assert_eq!(reply.json["mode"], "read");
    assert_eq!(reply.json["status"], "queued");
    assert_eq!(reply.json["created_at"], "2027-01-15T08:00:00Z");
    assert_eq!(reply.json["expires_at"], "2027-01-15T08:10:00Z");
    assert!(
        reply.json.get("code").is_none(),
        "never the code: {}",
        reply.text
    );
    let otp_id: OtpId = id.parse().unwrap();
    assert_eq!(h.dialer.calls(), vec![Call::Dial(otp_id)]);

    // the engine records progress; GET shows it
    h.store
        .set_status(&otp_id, start(), Status::Ringing)
        .unwrap();
    h.store
        .record_event(&otp_id, start(), EventKind::Ringing)
        .unwrap();
    let shown = h.send("GET", &format!("/v1/otp/{id}"), "").await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.json["status"], "ringing");
    assert_eq!(shown.json["language"], "fr");
    assert_eq!(shown.json["attributes"]["user"], 42);
    assert_eq!(shown.json["attempts_remaining"], 5);
    assert_eq!(shown.json["events"][0]["type"], "ringing");
    assert!(
        !shown.text.contains("\"code\""),
        "never the code: {}",
        shown.text
    );

    let canceled = h.send("DELETE", &format!("/v1/otp/{id}"), "").await;
    assert_eq!(canceled.status, 200, "{}", canceled.text);
    assert_eq!(canceled.json["status"], "canceled");
    assert_eq!(
        h.dialer.calls(),
        vec![
            Call::Dial(otp_id),
            Call::HangUp(otp_id),
            Call::Status(otp_id, Status::Canceled)
        ]
    );
    h.send("DELETE", &format!("/v1/otp/{id}"), "")
        .await
        .assert_error(409, "otp_final");
    h.send("DELETE", &format!("/v1/otp/{}", OtpId::random()), "")
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn health_and_metrics_need_no_key() {
    let h = Harness::new();
    let health = h.send_with("GET", "/healthz", "", &[]).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json["status"], "ok");
    let metrics = h.send_with("GET", "/metrics", "", &[]).await;
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.text, "voxpin_test_total 1\n");
}
