//! Every metric voxpin exports, named once.
//!
//! Prometheus conventions: counters end in `_total`, times are `_seconds`,
//! labels are small closed sets (direction, result, method, status class,
//! trunk name); phone numbers, codes and OTP ids never become labels.
//! [`install`] sets the global recorder and returns the handle `GET /metrics`
//! renders; before it, the macros are no-ops (tests need not install it).

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use voxpin_media::LatenessHistogram;

pub use voxpin_api::metric_names::{OTPS_CREATED_TOTAL, RATE_LIMITED_TOTAL, VERIFICATIONS_TOTAL};

/// Calls ended, by `direction` (`inbound`|`outbound`) and `result` (the CDR
/// disposition in lower case: `answered`, `no_answer`, `busy`, `failed`, `congestion`).
pub const CALLS_TOTAL: &str = "voxpin_calls_total";
/// Calls in progress now, by `direction`.
pub const ACTIVE_CALLS: &str = "voxpin_active_calls";
/// INVITE sent to answer (outbound) or INVITE received to answer (inbound), by `direction`.
pub const CALL_SETUP_SECONDS: &str = "voxpin_call_setup_seconds";
/// SIP requests, by `direction` (`in`|`out`) and `method`.
pub const SIP_REQUESTS_TOTAL: &str = "voxpin_sip_requests_total";
/// SIP responses, by `direction` (`in`|`out`) and `class` (`1xx` … `6xx`).
pub const SIP_RESPONSES_TOTAL: &str = "voxpin_sip_responses_total";
/// SIP transactions that timed out (Timer B, F or H), by `kind`.
pub const SIP_TRANSACTION_TIMEOUTS_TOTAL: &str = "voxpin_sip_transaction_timeouts_total";
/// SIP messages dropped as malformed.
pub const SIP_MALFORMED_TOTAL: &str = "voxpin_sip_malformed_total";
/// SIP datagrams not sent because the UDP socket's buffer was full
/// (retransmissions recover them).
pub const SIP_DATAGRAMS_DROPPED_TOTAL: &str = "voxpin_sip_datagrams_dropped_total";
/// DTMF digits received, by `method` (`rfc4733`|`inband`|`info`).
pub const DTMF_DIGITS_TOTAL: &str = "voxpin_dtmf_digits_total";
/// RTP packets sent.
pub const RTP_PACKETS_SENT_TOTAL: &str = "voxpin_rtp_packets_sent_total";
/// RTP packets received.
pub const RTP_PACKETS_RECEIVED_TOTAL: &str = "voxpin_rtp_packets_received_total";
/// RTP packets dropped, by `reason` (`malformed`, `source`, `late`).
pub const RTP_PACKETS_DROPPED_TOTAL: &str = "voxpin_rtp_packets_dropped_total";
/// SMS after call, by `result` (`sent`|`failed`).
pub const SMS_TOTAL: &str = "voxpin_sms_total";
/// Status callbacks, by `result` (`delivered`|`failed`).
pub const WEBHOOKS_TOTAL: &str = "voxpin_webhooks_total";
/// Inbound requests refused because the caller was unknown, by `reason`
/// (`acl`: source not in any trunk's inbound_acl; `no_otp`: no code for the caller).
pub const REJECTED_CALLERS_TOTAL: &str = "voxpin_rejected_callers_total";

/// RTP send-slot lateness (a histogram: how long after its 20 ms slot each
/// packet was produced), published by the engine loop about once a second.
pub const RTP_SEND_LATENESS_SECONDS: &str = "voxpin_rtp_send_lateness_seconds";

/// How often the engine loop copies its lateness histogram for `/metrics`.
pub const LATENESS_PUBLISH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The last published copy of the pacer's lateness histogram. The pacer
/// records every packet in its own fixed-size histogram (no locking per
/// packet); the engine loop copies it here once a second.
static LATENESS: std::sync::LazyLock<std::sync::Mutex<LatenessHistogram>> =
    std::sync::LazyLock::new(|| std::sync::Mutex::new(LatenessHistogram::new()));

/// Publishes a copy of `histogram` for [`render_lateness`].
pub fn publish_lateness(histogram: &LatenessHistogram) {
    match LATENESS.lock() {
        Ok(mut h) => h.clone_from(histogram),
        Err(poisoned) => poisoned.into_inner().clone_from(histogram),
    }
}

/// The published lateness as a Prometheus histogram: one cumulative
/// `_bucket` per non-empty native bucket (about 3 % wide), `+Inf`, `_sum`
/// and `_count`. Scrapes can be subtracted edge by edge.
pub fn render_lateness() -> String {
    let h = match LATENESS.lock() {
        Ok(h) => h.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    lateness_text(&h)
}

fn lateness_text(h: &LatenessHistogram) -> String {
    use std::fmt::Write as _;
    let name = RTP_SEND_LATENESS_SECONDS;
    let mut out = format!("# HELP {name} RTP send-slot lateness\n# TYPE {name} histogram\n");
    for (edge, count) in h.cumulative() {
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"{}\"}} {count}",
            edge.as_secs_f64()
        );
    }
    let count = h.count();
    let sum = h.mean().as_secs_f64() * count as f64;
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "{name}_sum {sum}");
    let _ = writeln!(out, "{name}_count {count}");
    out
}

/// Installs the Prometheus recorder and describes every metric.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new().install_recorder()?;
    describe();
    Ok(handle)
}

/// Registers help text and units (called by [`install`]).
pub fn describe() {
    describe_counter!(CALLS_TOTAL, "Calls ended, by direction and result");
    describe_gauge!(ACTIVE_CALLS, "Calls in progress, by direction");
    describe_histogram!(
        CALL_SETUP_SECONDS,
        Unit::Seconds,
        "Time from INVITE to answer"
    );
    describe_counter!(SIP_REQUESTS_TOTAL, "SIP requests, by direction and method");
    describe_counter!(SIP_RESPONSES_TOTAL, "SIP responses, by direction and class");
    describe_counter!(
        SIP_TRANSACTION_TIMEOUTS_TOTAL,
        "SIP transactions that timed out"
    );
    describe_counter!(SIP_MALFORMED_TOTAL, "SIP messages dropped as malformed");
    describe_counter!(
        SIP_DATAGRAMS_DROPPED_TOTAL,
        "SIP datagrams not sent: UDP socket buffer full"
    );
    describe_counter!(DTMF_DIGITS_TOTAL, "DTMF digits received, by method");
    describe_counter!(RTP_PACKETS_SENT_TOTAL, "RTP packets sent");
    describe_counter!(RTP_PACKETS_RECEIVED_TOTAL, "RTP packets received");
    describe_counter!(RTP_PACKETS_DROPPED_TOTAL, "RTP packets dropped, by reason");
    describe_counter!(SMS_TOTAL, "SMS after call, by result");
    describe_counter!(WEBHOOKS_TOTAL, "Status callbacks, by result");
    describe_counter!(
        REJECTED_CALLERS_TOTAL,
        "Inbound requests refused for an unknown caller, by reason"
    );
    describe_counter!(OTPS_CREATED_TOTAL, "OTPs created through the API, by mode");
    describe_counter!(VERIFICATIONS_TOTAL, "Code verifications, by result");
    describe_counter!(RATE_LIMITED_TOTAL, "API requests refused by the rate limit");
}

/// Counts one SMS result (`sent` | `failed`).
pub fn sms_result(result: &'static str) {
    counter!(SMS_TOTAL, "result" => result).increment(1);
}

/// Counts one status-callback result (`delivered` | `failed`).
pub fn webhook_result(result: &'static str) {
    counter!(WEBHOOKS_TOTAL, "result" => result).increment(1);
}

/// Sets the active-call gauge of one direction.
pub fn active_calls(direction: &'static str, count: usize) {
    // Call counts are far below 2^52, so the conversion is exact.
    gauge!(ACTIVE_CALLS, "direction" => direction).set(count as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        let counters = [
            CALLS_TOTAL,
            SIP_REQUESTS_TOTAL,
            SIP_RESPONSES_TOTAL,
            SIP_TRANSACTION_TIMEOUTS_TOTAL,
            SIP_MALFORMED_TOTAL,
            SIP_DATAGRAMS_DROPPED_TOTAL,
            DTMF_DIGITS_TOTAL,
            RTP_PACKETS_SENT_TOTAL,
            RTP_PACKETS_RECEIVED_TOTAL,
            RTP_PACKETS_DROPPED_TOTAL,
            SMS_TOTAL,
            WEBHOOKS_TOTAL,
            REJECTED_CALLERS_TOTAL,
            OTPS_CREATED_TOTAL,
            VERIFICATIONS_TOTAL,
            RATE_LIMITED_TOTAL,
        ];
        for name in counters {
            assert!(
                name.starts_with("voxpin_") && name.ends_with("_total"),
                "{name}"
            );
        }
        assert!(CALL_SETUP_SECONDS.ends_with("_seconds"));
    }

    #[test]
    fn lateness_renders_as_a_cumulative_histogram() {
        let mut h = LatenessHistogram::new();
        for us in [10, 10, 500] {
            h.record(std::time::Duration::from_micros(us));
        }
        let text = lateness_text(&h);
        assert!(
            text.contains("voxpin_rtp_send_lateness_seconds_bucket{le=\"0.00001\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("voxpin_rtp_send_lateness_seconds_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("voxpin_rtp_send_lateness_seconds_count 3\n"),
            "{text}"
        );
    }

    #[test]
    fn rendered_output_has_the_described_metrics() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe();
            sms_result("sent");
            active_calls("outbound", 3);
        });
        let text = handle.render();
        assert!(
            text.contains("voxpin_sms_total{result=\"sent\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("voxpin_active_calls{direction=\"outbound\"} 3"),
            "{text}"
        );
    }
}
