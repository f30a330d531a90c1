//! `voxpin send`: a small client of `POST /v1/otp`.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};

use crate::cli::SendArgs;
use crate::config::HttpClientConfig;
use crate::http_client::{HttpClient, HttpRequest};

/// The request `voxpin send` makes.
pub fn request(args: &SendArgs) -> Result<HttpRequest, String> {
    let mut body = serde_json::json!({ "application": args.app, "to": args.to });
    if let Some(code) = &args.code {
        body["code"] = code.as_str().into();
    }
    if let Some(language) = &args.language {
        body["language"] = language.as_str().into();
    }
    if args.sms_after_call {
        body["sms_after_call"] = true.into();
    }
    let auth = HeaderValue::from_str(&format!("Bearer {}", args.key))
        .map_err(|_| "the API key is not a valid header value".to_owned())?;
    let mut headers = vec![
        (http::header::AUTHORIZATION, auth),
        (
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
    ];
    if let Some(key) = &args.idempotency_key {
        let value = HeaderValue::from_str(key)
            .map_err(|_| "the idempotency key is not a valid header value".to_owned())?;
        headers.push((HeaderName::from_static("idempotency-key"), value));
    }
    Ok(HttpRequest {
        method: Method::POST,
        url: format!("{}/v1/otp", args.api.trim_end_matches('/')),
        headers,
        body: Bytes::from(body.to_string()),
    })
}

/// The client's trust: the system store plus `--ca-file`, read and checked
/// now; the error names the file and why it was refused.
pub fn client_config(args: &SendArgs) -> Result<HttpClientConfig, String> {
    let Some(path) = &args.ca_file else {
        return Ok(HttpClientConfig::default());
    };
    let extra_roots = crate::http_client::ca_file_roots(path, std::fs::read_to_string(path))
        .map_err(|reason| format!("--ca-file {reason}"))?;
    Ok(HttpClientConfig {
        ca_file: Some(path.clone()),
        extra_roots,
    })
}

/// Runs `voxpin send`: prints the API's JSON answer; exit 0 on 2xx.
pub fn main(args: SendArgs) -> ExitCode {
    let (request, trust) = match request(&args).and_then(|r| Ok((r, client_config(&args)?))) {
        Ok(both) => both,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `--api https://...` is verified against the system store and `--ca-file`.
    let client = HttpClient::new(&trust);
    match runtime.block_on(client.send(request, Duration::from_secs(10))) {
        Ok(response) => {
            let text = String::from_utf8_lossy(&response.body);
            let pretty = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| text.into_owned());
            if response.status.is_success() {
                println!("{pretty}");
                ExitCode::SUCCESS
            } else {
                eprintln!("HTTP {}\n{pretty}", response.status.as_u16());
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_has_auth_and_body() {
        let args = SendArgs {
            app: "login".into(),
            to: "+14155550100".into(),
            code: Some("4815".into()),
            language: None,
            sms_after_call: true,
            api: "http://127.0.0.1:8080/".into(),
            key: "k-000000000000000".into(),
            idempotency_key: Some("abc".into()),
            ca_file: None,
        };
        let r = request(&args).unwrap();
        assert_eq!(r.url, "http://127.0.0.1:8080/v1/otp");
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"application": "login", "to": "+14155550100", "code": "4815", "sms_after_call": true})
        );
        assert!(r
            .headers
            .iter()
            .any(|(n, v)| n == "authorization" && v == "Bearer k-000000000000000"));
        assert!(r
            .headers
            .iter()
            .any(|(n, v)| n == "idempotency-key" && v == "abc"));
    }

    fn args_with_ca(ca_file: Option<std::path::PathBuf>) -> SendArgs {
        SendArgs {
            app: "login".into(),
            to: "+14155550100".into(),
            code: None,
            language: None,
            sms_after_call: false,
            api: "https://api.example".into(),
            key: "k".into(),
            idempotency_key: None,
            ca_file,
        }
    }

    #[test]
    fn a_ca_file_is_trusted_and_a_bad_one_is_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        assert!(client_config(&args_with_ca(None))
            .unwrap()
            .extra_roots
            .is_empty());

        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, ca.pem()).unwrap();
        let trust = client_config(&args_with_ca(Some(good.clone()))).unwrap();
        assert_eq!(trust.extra_roots.len(), 1);
        assert_eq!(trust.ca_file, Some(good));

        let missing = dir.path().join("missing.pem");
        let e = client_config(&args_with_ca(Some(missing))).unwrap_err();
        assert!(
            e.starts_with("--ca-file cannot read `") && e.contains("missing.pem"),
            "{e}"
        );

        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let e = client_config(&args_with_ca(Some(junk))).unwrap_err();
        assert!(
            e.starts_with("--ca-file `") && e.contains("junk.pem`: "),
            "{e}"
        );
    }
}
