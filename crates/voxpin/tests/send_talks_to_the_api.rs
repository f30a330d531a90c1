//! `voxpin send` is a working client of the HTTP API: against a real
//! listener on loopback it creates an OTP (exit 0, JSON on stdout), and a
//! refused request exits non-zero with the API's error on stderr.

use std::process::Command;
use std::sync::Arc;

use voxpin_api::{
    router, ApiKey, ApiSettings, ApiState, ApplicationSpec, CodeRule, KeySet, NoDialer,
    StaticCatalogue, SystemClock,
};
use voxpin_otp::{Application, CodeLength, MemoryStore, Mode, SecretKey};

const KEY: &str = "send-test-key-00001";

async fn start_api() -> String {
    let catalogue = StaticCatalogue::new().with(
        Application::new("signup").unwrap(),
        ApplicationSpec::new(
            Mode::Input,
            CodeRule::Manual(Some(CodeLength::new(6).unwrap())),
        ),
    );
    let state = ApiState::new(
        Arc::new(MemoryStore::new(SecretKey::from_bytes([3; 32]))),
        Arc::new(catalogue),
        Arc::new(NoDialer),
        Arc::new(SystemClock),
        KeySet::new(vec![ApiKey::new(KEY.into()).unwrap()]),
        ApiSettings::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    format!("http://{addr}")
}

async fn send(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_voxpin"))
            .arg("send")
            .args(args)
            .env_remove("VOXPIN_API_KEY")
            .env_remove("VOXPIN_API_URL")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn args(api: &str, extra: &[&str]) -> Vec<String> {
    [
        "--api",
        api,
        "--key",
        KEY,
        "--app",
        "signup",
        "--to",
        "+14155550100",
    ]
    .iter()
    .chain(extra)
    .map(|s| (*s).to_owned())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_creates_an_otp() {
    let api = start_api().await;
    let out = send(args(
        &api,
        &["--code", "481516", "--idempotency-key", "cli-1"],
    ))
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(body["application"], "signup");
    assert_eq!(body["status"], "queued");
    assert!(!stdout.contains("481516"), "the code is never echoed");
    // the same idempotency key gives the same OTP
    let again = send(args(
        &api,
        &["--code", "481516", "--idempotency-key", "cli-1"],
    ))
    .await;
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["id"], body["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_exit_non_zero() {
    let api = start_api().await;
    let out = send(args(&api, &[])).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HTTP 422") && stderr.contains("code_required"),
        "{stderr}"
    );
    let mut wrong_key = args(&api, &["--code", "481516"]);
    wrong_key[3] = "not-the-right-key-0".into();
    let out = send(wrong_key).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unauthorized"));
}

#[tokio::test]
async fn no_server_is_a_clear_error() {
    let out = send(args("http://127.0.0.1:9", &["--code", "481516"])).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot connect to 127.0.0.1:9"), "{stderr}");
}
