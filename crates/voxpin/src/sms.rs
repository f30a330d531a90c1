//! SMS after a call, through a driver.
//!
//! - `log` (the default) writes the message it would send to the log with the
//!   code masked, and reports it as sent;
//! - `http` renders a URL and an optional body from templates and sends them
//!   to an SMS gateway (Kannel's `sendsms`, or any JSON/form API) over
//!   `http://` or `https://`, retrying with exponential back-off on transport
//!   errors (TLS handshake failures included) and non-2xx answers.
//!
//! Templates may use `{to}`, `{code}`, `{from}` and `{text}` (the rendered
//! `[sms] text`). In the URL and in form bodies values are percent-encoded;
//! in JSON bodies they are JSON-string-escaped (write the quotes yourself:
//! `{"to": "{to}", "body": "{text}"}`).
//!
//! The [`SmsResult`] goes into the OTP's session record; it never holds the code.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::config::{BodyFormat, HttpMethod, SmsConfig, SmsDriverConfig, SmsHttpConfig};
use crate::http_client::{self, HttpClient, HttpRequest};

/// One SMS to send. `Debug` hides the code.
pub struct SmsMessage {
    /// The destination number (E.164).
    pub to: String,
    /// The code; wiped on drop.
    pub code: Zeroizing<String>,
    /// The application's own text template (its dialplan's `[sms] template`);
    /// `None` uses the `[sms] text` of the config.
    pub template: Option<String>,
}

impl std::fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsMessage")
            .field("to", &self.to)
            .field("code", &"<redacted>")
            .field("template", &self.template)
            .finish()
    }
}

/// How sending went, for the session record (never the code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SmsResult {
    /// `log` or `http`.
    pub driver: &'static str,
    /// Whether the gateway accepted the message.
    pub sent: bool,
    /// Attempts made.
    pub attempts: u32,
    /// The gateway's last HTTP status, if any answered.
    pub status: Option<u16>,
    /// The last failure (status or transport error), when not sent.
    pub error: Option<String>,
}

/// Sends SMS with the configured driver.
#[derive(Debug, Clone)]
pub struct SmsSender {
    config: SmsConfig,
    /// The shared outbound client (its TLS trust comes from `[http]`).
    client: HttpClient,
}

impl SmsSender {
    /// A sender for the `[sms]` section, sending through `client`.
    pub fn new(config: SmsConfig, client: HttpClient) -> Self {
        Self { config, client }
    }

    /// Sends `message`, with retries for the `http` driver.
    pub async fn send(&self, message: &SmsMessage) -> SmsResult {
        let result = match &self.config.driver {
            SmsDriverConfig::Log => {
                let masked = "*".repeat(message.code.chars().count());
                let text = render_text(
                    &self.config,
                    message.template.as_deref(),
                    &message.to,
                    &masked,
                );
                tracing::info!(to = %message.to, from = %self.config.from, %text, "sms (log driver): would send");
                SmsResult {
                    driver: "log",
                    sent: true,
                    attempts: 1,
                    status: None,
                    error: None,
                }
            }
            SmsDriverConfig::Http(http) => self.send_http(http, message).await,
        };
        crate::metrics::sms_result(if result.sent { "sent" } else { "failed" });
        result
    }

    async fn send_http(&self, http: &SmsHttpConfig, message: &SmsMessage) -> SmsResult {
        let request = match build_request(&self.config, http, message) {
            Ok(r) => r,
            Err(e) => {
                return SmsResult {
                    driver: "http",
                    sent: false,
                    attempts: 0,
                    status: None,
                    error: Some(e),
                }
            }
        };
        let total = http.retries.saturating_add(1);
        let mut status = None;
        let mut error = String::new();
        for attempt in 0..total {
            if attempt > 0 {
                tokio::time::sleep(http_client::backoff(http.retry_delay, attempt - 1)).await;
            }
            match self.client.send(request.clone(), http.timeout).await {
                Ok(r) if r.status.is_success() => {
                    return SmsResult {
                        driver: "http",
                        sent: true,
                        attempts: attempt + 1,
                        status: Some(r.status.as_u16()),
                        error: None,
                    }
                }
                Ok(r) => {
                    status = Some(r.status.as_u16());
                    error = format!("gateway answered HTTP {}", r.status.as_u16());
                }
                Err(e) => {
                    error = e.to_string();
                    if e.is_permanent() {
                        tracing::warn!(to = %message.to, attempts = attempt + 1, %error, "sms not sent; retrying cannot help");
                        return SmsResult {
                            driver: "http",
                            sent: false,
                            attempts: attempt + 1,
                            status,
                            error: Some(error),
                        };
                    }
                }
            }
            tracing::debug!(to = %message.to, attempt = attempt + 1, %error, "sms gateway attempt failed");
        }
        tracing::warn!(to = %message.to, attempts = total, %error, "sms not sent");
        SmsResult {
            driver: "http",
            sent: false,
            attempts: total,
            status,
            error: Some(error),
        }
    }
}

/// The message text — the application's template if it has one, else the
/// `[sms] text` — with `{to}`, `{code}` and `{from}` filled in (no escaping).
fn render_text(config: &SmsConfig, template: Option<&str>, to: &str, code: &str) -> String {
    fill(template.unwrap_or(&config.text), |name| match name {
        "to" => Some(to.to_owned()),
        "code" => Some(code.to_owned()),
        "from" => Some(config.from.clone()),
        _ => None,
    })
}

/// Builds the gateway request (URL and body with escaped values).
pub fn build_request(
    config: &SmsConfig,
    http: &SmsHttpConfig,
    message: &SmsMessage,
) -> Result<HttpRequest, String> {
    let text = Zeroizing::new(render_text(
        config,
        message.template.as_deref(),
        &message.to,
        &message.code,
    ));
    let value = |name: &str| -> Option<String> {
        match name {
            "to" => Some(message.to.clone()),
            "code" => Some(message.code.to_string()),
            "from" => Some(config.from.clone()),
            "text" => Some(text.to_string()),
            _ => None,
        }
    };
    let url = fill(&http.url, |n| value(n).map(|v| percent_encode(&v)));
    let mut headers = Vec::new();
    let body = match (http.method, &http.body) {
        (HttpMethod::Post, Some(template)) => {
            let (body, content_type) = match http.body_format {
                BodyFormat::Form => (
                    fill(template, |n| value(n).map(|v| percent_encode(&v))),
                    "application/x-www-form-urlencoded",
                ),
                BodyFormat::Json => (
                    fill(template, |n| value(n).map(|v| json_escape(&v))),
                    "application/json",
                ),
            };
            headers.push((
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            ));
            Bytes::from(body)
        }
        _ => Bytes::new(),
    };
    for (name, value) in &http.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("sms.headers: `{name}` is not a header name"))?;
        let value = HeaderValue::from_str(value.expose())
            .map_err(|_| format!("sms.headers: the value of `{name}` is not a header value"))?;
        headers.push((name, value));
    }
    Ok(HttpRequest {
        method: match http.method {
            HttpMethod::Get => Method::GET,
            HttpMethod::Post => Method::POST,
        },
        url,
        headers,
        body,
    })
}

/// Replaces `{name}` with `value(name)`; unknown names stay as written.
fn fill(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].contains('{') => {
                // `{` of literal text (JSON): keep it, look again from the next one.
                out.push('{');
                rest = after;
            }
            Some(close) => {
                let name = &after[..close];
                match value(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The inside of a JSON string literal for `value`.
fn json_escape(value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_owned()).to_string();
    quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, MapEnvironment};

    fn sms_config(extra: &str) -> SmsConfig {
        let text = format!("[sms]\nfrom = \"Acme\"\ntext = \"Your code is {{code}}\"\n{extra}");
        Config::parse("t.toml", &text, &MapEnvironment::default())
            .unwrap()
            .sms
    }

    fn message() -> SmsMessage {
        SmsMessage {
            to: "+14155550100".into(),
            code: Zeroizing::new("481516".into()),
            template: None,
        }
    }

    #[test]
    fn the_application_template_replaces_the_config_text() {
        let config = sms_config(
            "driver = \"http\"\nmethod = \"GET\"\nurl = \"http://127.0.0.1:13013/send?text={text}\"\n",
        );
        let SmsDriverConfig::Http(http) = &config.driver else {
            panic!("http driver")
        };
        let mut m = message();
        m.template = Some("Acme login: {code}".into());
        let r = build_request(&config, http, &m).unwrap();
        assert!(
            r.url.ends_with("text=Acme%20login%3A%20481516"),
            "{}",
            r.url
        );
    }

    #[test]
    fn kannel_get_url_is_percent_encoded() {
        let config = sms_config(
            "driver = \"http\"\nmethod = \"GET\"\nurl = \"http://127.0.0.1:13013/cgi-bin/sendsms?username=u&password=p&from={from}&to={to}&text={text}\"\n",
        );
        let SmsDriverConfig::Http(http) = &config.driver else {
            panic!("http driver")
        };
        let r = build_request(&config, http, &message()).unwrap();
        assert_eq!(r.method, Method::GET);
        assert_eq!(
            r.url,
            "http://127.0.0.1:13013/cgi-bin/sendsms?username=u&password=p&from=Acme&to=%2B14155550100&text=Your%20code%20is%20481516"
        );
        assert!(r.body.is_empty());
    }

    #[test]
    fn json_body_is_escaped() {
        let config = sms_config(
            "driver = \"http\"\nbody_format = \"json\"\nurl = \"http://127.0.0.1:9/send\"\nbody = '{\"to\":\"{to}\",\"text\":\"{text}\",\"x\":\"{unknown}\"}'\nheaders = { Authorization = \"Bearer t\" }\n",
        );
        let SmsDriverConfig::Http(http) = &config.driver else {
            panic!("http driver")
        };
        let r = build_request(&config, http, &message()).unwrap();
        assert_eq!(
            &r.body[..],
            br#"{"to":"+14155550100","text":"Your code is 481516","x":"{unknown}"}"#
        );
        assert!(r
            .headers
            .iter()
            .any(|(n, v)| n == "authorization" && v == "Bearer t"));
        assert!(r
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "application/json"));
        assert!(
            !format!("{http:?}").contains("Bearer t"),
            "header values are secret"
        );
    }

    #[test]
    fn fill_handles_odd_templates() {
        let v = |n: &str| (n == "a").then(|| "1".to_owned());
        assert_eq!(fill("{a}{b}{", v), "1{b}{");
        assert_eq!(fill("x}{a}", v), "x}1");
        assert_eq!(fill("{{a}}", v), "{1}");
        assert_eq!(json_escape("a\"b\n"), "a\\\"b\\n");
    }

    #[test]
    fn debug_hides_the_code() {
        assert!(!format!("{:?}", message()).contains("481516"));
    }

    #[tokio::test]
    async fn log_driver_reports_sent() {
        let client = HttpClient::with_roots(rustls::RootCertStore::empty());
        let sender = SmsSender::new(sms_config(""), client);
        let result = sender.send(&message()).await;
        assert!(result.sent);
        assert_eq!(result.driver, "log");
    }

    proptest::proptest! {
        #[test]
        fn fill_never_panics_and_keeps_plain_text(template in "\\PC{0,80}") {
            let out = fill(&template, |n| (n == "code").then(|| "1".to_owned()));
            if !template.contains('{') {
                proptest::prop_assert_eq!(out, template);
            }
        }

        #[test]
        fn percent_encoding_is_url_safe(value in "\\PC{0,40}") {
            let encoded = percent_encode(&value);
            proptest::prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
        }
    }
}
