//! Every malformed or unacceptable request gets a precise JSON error with the
//! right status and code, and leaves nothing behind: no OTP stored, no call
//! placed.

mod support;

use support::*;

async fn refused(h: &Harness, body: &str, status: u16, code: &str) -> String {
    let reply = h.send("POST", "/v1/otp", body).await;
    let message = reply.assert_error(status, code);
    assert_eq!(h.stored(), 0, "nothing may be stored after {code}");
    assert!(
        h.dialer.calls().is_empty(),
        "no call may be placed after {code}"
    );
    message
}

#[tokio::test]
async fn malformed_json() {
    let h = Harness::new();
    let m = refused(
        &h,
        r#"{"application": "login", "to": "+1415"#,
        400,
        "invalid_json",
    )
    .await;
    assert!(m.contains("not valid JSON"), "{m}");
    refused(&h, "", 400, "invalid_json").await;
    refused(&h, "[1, 2]", 400, "invalid_request").await;
}

#[tokio::test]
async fn wrong_shape() {
    let h = Harness::new();
    let m = refused(
        &h,
        r#"{"application":"login","to":"+14155550100","colour":"red"}"#,
        400,
        "invalid_request",
    )
    .await;
    assert!(m.contains("unknown field `colour`"), "{m}");
    let m = refused(&h, r#"{"application":"login"}"#, 400, "invalid_request").await;
    assert!(m.contains("missing field `to`"), "{m}");
    let m = refused(
        &h,
        r#"{"application":"manual","to":"+14155550100","code":481516}"#,
        400,
        "invalid_request",
    )
    .await;
    assert!(!m.contains("481516"), "a code must not be echoed: {m}");
}

#[tokio::test]
async fn unknown_application() {
    let h = Harness::new();
    let m = refused(
        &h,
        r#"{"application":"nosuch","to":"+14155550100"}"#,
        422,
        "unknown_application",
    )
    .await;
    assert!(m.contains("nosuch"), "{m}");
    refused(
        &h,
        r#"{"application":"bad name!","to":"+14155550100"}"#,
        422,
        "invalid_application",
    )
    .await;
}

#[tokio::test]
async fn manual_application_without_code() {
    let h = Harness::new();
    let m = refused(
        &h,
        r#"{"application":"manual","to":"+14155550100"}"#,
        422,
        "code_required",
    )
    .await;
    assert!(m.contains("manual"), "{m}");
}

#[tokio::test]
async fn manual_application_with_a_bad_code() {
    let h = Harness::new();
    let m = refused(
        &h,
        r#"{"application":"manual","to":"+14155550100","code":"12345"}"#,
        422,
        "invalid_code",
    )
    .await;
    assert!(m.contains("6"), "{m}");
    assert!(!m.contains("12345"), "a code must not be echoed: {m}");
    refused(
        &h,
        r#"{"application":"manual","to":"+14155550100","code":"12a456"}"#,
        422,
        "invalid_code",
    )
    .await;
}

#[tokio::test]
async fn auto_application_with_code() {
    let h = Harness::new();
    refused(
        &h,
        r#"{"application":"login","to":"+14155550100","code":"123456"}"#,
        422,
        "code_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn invalid_phone_numbers() {
    let h = Harness::new();
    for to in [
        "4155550100",
        "+1415555010a",
        "+0123456789",
        "+1234",
        "",
        "+1234567890123456",
    ] {
        let body = format!(r#"{{"application":"login","to":"{to}"}}"#);
        refused(&h, &body, 422, "invalid_phone_number").await;
    }
}

#[tokio::test]
async fn bad_language_and_callback() {
    let h = Harness::new();
    refused(
        &h,
        r#"{"application":"login","to":"+14155550100","language":"de"}"#,
        422,
        "unsupported_language",
    )
    .await;
    refused(
        &h,
        r#"{"application":"login","to":"+14155550100","language":"e"}"#,
        422,
        "invalid_language",
    )
    .await;
    let m = refused(
        &h,
        r#"{"application":"login","to":"+14155550100","status_callback":"ftp://x/"}"#,
        422,
        "invalid_status_callback",
    )
    .await;
    assert!(m.contains("absolute http:// or https:// URL"), "{m}");
    refused(
        &h,
        r#"{"application":"login","to":"+14155550100","status_callback":"https://user@x/"}"#,
        422,
        "invalid_status_callback",
    )
    .await;
}

#[tokio::test]
async fn unknown_or_missing_api_key() {
    let h = Harness::new();
    let body = r#"{"application":"login","to":"+14155550100"}"#;
    let reply = h
        .send_with(
            "POST",
            "/v1/otp",
            body,
            &[("authorization", "Bearer not-a-known-key-00")],
        )
        .await;
    let m = reply.assert_error(401, "unauthorized");
    assert!(m.contains("unknown API key"), "{m}");
    assert!(
        !reply.text.contains("not-a-known-key"),
        "the key must not be echoed"
    );
    assert_eq!(reply.headers["www-authenticate"], "Bearer");
    let reply = h.send_with("POST", "/v1/otp", body, &[]).await;
    let m = reply.assert_error(401, "unauthorized");
    assert!(m.contains("Authorization: Bearer"), "{m}");
    let reply = h
        .send_with(
            "GET",
            "/v1/otp",
            "",
            &[("authorization", &format!("Basic {KEY}"))],
        )
        .await;
    reply.assert_error(401, "unauthorized");
    assert_eq!(h.stored(), 0);
    assert!(h.dialer.calls().is_empty());
}

#[tokio::test]
async fn oversized_body() {
    let h = Harness::new();
    let padding = "x".repeat(20_000);
    let body = format!(
        r#"{{"application":"login","to":"+14155550100","attributes":{{"p":"{padding}"}}}}"#
    );
    let m = refused(&h, &body, 413, "body_too_large").await;
    assert!(m.contains("16384"), "{m}");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let h = Harness::new();
    h.send("GET", "/v2/nothing", "")
        .await
        .assert_error(404, "not_found");
    h.send("PUT", "/v1/otp", "")
        .await
        .assert_error(405, "method_not_allowed");
    h.send("GET", "/v1/otp/not-an-id", "")
        .await
        .assert_error(404, "not_found");
    h.send("GET", "/v1/otp?colour=red", "")
        .await
        .assert_error(400, "invalid_query");
    h.send("GET", "/v1/otp?limit=0", "")
        .await
        .assert_error(400, "invalid_query");
    h.send("GET", "/v1/otp?status=lost", "")
        .await
        .assert_error(400, "invalid_query");
    h.send("GET", "/v1/otp?since=yesterday", "")
        .await
        .assert_error(400, "invalid_query");
    h.send("GET", "/v1/otp?cursor=zz", "")
        .await
        .assert_error(400, "invalid_query");
    h.send("GET", "/v1/usage?granularity=week", "")
        .await
        .assert_error(400, "invalid_query");
}

#[tokio::test]
async fn rate_limit_per_key() {
    let h = Harness::with_rate_limit(2);
    assert_eq!(h.send("GET", "/v1/otp", "").await.status, 200);
    assert_eq!(h.send("GET", "/v1/otp", "").await.status, 200);
    let reply = h.send("GET", "/v1/otp", "").await;
    reply.assert_error(429, "rate_limited");
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "retry-after {retry}");
    // another key has its own budget
    let other = h
        .send_with(
            "GET",
            "/v1/otp",
            "",
            &[("authorization", &format!("Bearer {OTHER_KEY}"))],
        )
        .await;
    assert_eq!(other.status, 200);
}

/// An engine that is draining takes no new calls.
struct Draining;

impl voxpin_api::Dialer for Draining {
    fn dial(&self, _id: voxpin_otp::OtpId) {
        panic!("no call may be placed while draining");
    }
    fn hang_up(&self, _id: voxpin_otp::OtpId) {}
    fn is_accepting(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn a_draining_engine_refuses_new_otps() {
    let h = Harness::build(
        voxpin_api::ApiSettings::default(),
        std::sync::Arc::new(Draining),
        std::sync::Arc::new(RecordingDialer::default()),
    );
    let reply = h.create_login().await;
    reply.assert_error(503, "unavailable");
    assert!(reply.headers.contains_key("retry-after"));
    assert_eq!(h.stored(), 0);
    // validation still comes first
    refused(
        &h,
        r#"{"application":"nosuch","to":"+14155550100"}"#,
        422,
        "unknown_application",
    )
    .await;
}
