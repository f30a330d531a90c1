//! `POST /v1/otp/{id}/verify` for read mode: the right code verifies, a wrong
//! one uses an attempt, the last wrong one fails the OTP, and a closed OTP
//! refuses further checks. Checks are spaced by the policy's interval.

mod support;

use std::time::Duration;

use support::*;
use voxpin_otp::{OtpId, Status};

async fn manual_otp(h: &Harness, code: &str) -> String {
    let body = format!(r#"{{"application":"manual","to":"+14155550100","code":"{code}"}}"#);
    let reply = h.send("POST", "/v1/otp", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.json["mode"], "input");
    reply.id()
}

async fn verify(h: &Harness, id: &str, code: &str) -> Reply {
    h.clock.advance(Duration::from_secs(3));
    h.send(
        "POST",
        &format!("/v1/otp/{id}/verify"),
        &format!(r#"{{"code":"{code}"}}"#),
    )
    .await
}

#[tokio::test]
async fn right_code_verifies_once() {
    let h = Harness::new();
    let id = manual_otp(&h, "481516").await;
    let wrong = verify(&h, &id, "000000").await;
    assert_eq!(wrong.status, 200, "{}", wrong.text);
    assert_eq!(wrong.json["valid"], false);
    assert_eq!(wrong.json["attempts_remaining"], 4);
    let right = verify(&h, &id, "481516").await;
    assert_eq!(right.json["valid"], true);
    assert_eq!(right.json["status"], "verified");
    let otp_id: OtpId = id.parse().unwrap();
    assert!(h
        .dialer
        .calls()
        .contains(&Call::Status(otp_id, Status::Verified)));
    verify(&h, &id, "481516")
        .await
        .assert_error(409, "otp_closed");
    let shown = h.send("GET", &format!("/v1/otp/{id}"), "").await;
    assert_eq!(shown.json["status"], "verified");
    assert!(
        !shown.text.contains("481516"),
        "the record never holds the code"
    );
}

#[tokio::test]
async fn attempts_run_out_and_the_otp_fails() {
    let h = Harness::new();
    let id = manual_otp(&h, "481516").await;
    for left in (0..5).rev() {
        let r = verify(&h, &id, "111111").await;
        assert_eq!(r.json["valid"], false, "{}", r.text);
        assert_eq!(r.json["attempts_remaining"], left);
    }
    let shown = h.send("GET", &format!("/v1/otp/{id}"), "").await;
    assert_eq!(shown.json["status"], "failed");
    let late = verify(&h, &id, "481516").await;
    let m = late.assert_error(409, "otp_closed");
    assert!(m.contains("failed"), "{m}");
}

#[tokio::test]
async fn checks_too_close_together_are_429() {
    let h = Harness::new();
    let id = manual_otp(&h, "481516").await;
    verify(&h, &id, "000000").await;
    let soon = h
        .send(
            "POST",
            &format!("/v1/otp/{id}/verify"),
            r#"{"code":"481516"}"#,
        )
        .await;
    soon.assert_error(429, "verify_too_soon");
    assert!(soon.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn bad_verify_requests() {
    let h = Harness::new();
    let id = manual_otp(&h, "481516").await;
    verify(&h, &id, "48a516")
        .await
        .assert_error(422, "invalid_code");
    verify(&h, &OtpId::random().to_string(), "481516")
        .await
        .assert_error(404, "not_found");
    h.send("POST", &format!("/v1/otp/{id}/verify"), "{")
        .await
        .assert_error(400, "invalid_json");
    let r = verify(&h, &id, "481516").await;
    assert_eq!(
        r.json["valid"], true,
        "bad requests used no attempt: {}",
        r.text
    );
    assert_eq!(r.json["attempts_remaining"], 4);
}

#[tokio::test]
async fn expired_otps_cannot_be_verified() {
    let h = Harness::new();
    let id = manual_otp(&h, "481516").await;
    h.clock.advance(Duration::from_secs(11 * 60));
    verify(&h, &id, "481516")
        .await
        .assert_error(409, "otp_closed");
}
