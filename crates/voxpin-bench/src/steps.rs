//! The benchmark's steps: S1 set-up rate, S2 concurrency with media (and
//! the floor pump beside each S2 step), S3 DTMF input at load.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::harness::{created_id, sipp_stat, Harness, LATENESS};

/// voxpin's counter of RTP packets received.
const RECEIVED: &str = "voxpin_rtp_packets_received_total";
use crate::procs;
use crate::receiver::Receiver;
use crate::report::{fmt_opt, Row};
use crate::stats::{difference, histogram_count, histogram_quantile, parse_histogram, percentile};

/// Parameters of every step.
#[derive(Debug, Clone)]
pub struct Plan {
    /// S1 rates (calls/s).
    pub s1_rates: Vec<u32>,
    /// Seconds per S1 step.
    pub s1_seconds: u32,
    /// S2 call counts.
    pub s2_calls: Vec<u32>,
    /// Seconds S2 measures once every call is up.
    pub s2_window: u32,
    /// Calls/s used to bring S2 calls up.
    pub ramp: u32,
    /// Calls/s used to bring S3 calls up.
    pub s3_ramp: u32,
    /// Every n-th S2 call's audio goes to the bench's receiver.
    pub sample_every: usize,
    /// S3 calls when S2 did not run.
    pub s3_calls: u32,
    /// Whether to run the floor pump beside each S2 step.
    pub floor: bool,
}

/// Seconds since the Unix epoch of an RFC 3339 time.
fn epoch(text: &str) -> Option<f64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}

fn wall(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The time of the first event of `kind` (and, for `sip_response`, `status`).
fn event_at(otp: &Value, kind: &str, status: Option<u64>) -> Option<f64> {
    otp.get("events")?.as_array()?.iter().find_map(|e| {
        let matches = e.get("type")?.as_str()? == kind
            && status.is_none_or(|s| e.get("status").and_then(Value::as_u64) == Some(s));
        if matches {
            epoch(e.get("at")?.as_str()?)
        } else {
            None
        }
    })
}

/// S1: OTP calls at rising rates against a carrier that answers at once; the
/// `short` dialplan hangs up after about 1.6 s. Stops after the first step
/// with a failed call. Returns the highest rate with none.
pub fn s1(h: &Harness, plan: &Plan, rows: &mut Vec<Row>) -> anyhow::Result<Option<u32>> {
    let max_rate = plan.s1_rates.iter().copied().max().unwrap_or(100);
    let stack = h.start("s1", max_rate * 10 + 1000, 0, None, false)?;
    let mut best = None;
    for &rate in &plan.s1_rates {
        let count = (rate * plan.s1_seconds) as usize;
        eprintln!("S1: {count} calls at {rate}/s ...");
        let cpu0 = stack.voxpin.cpu_seconds(h.ticks)?;
        let sipp_cpu0 = stack.sipp.cpu_seconds(h.ticks)?;
        let sipp_failed0 = sipp_stat(&stack.dir, "FailedCall(C)").unwrap_or(0.0);
        let t0 = Instant::now();
        let fired = h.fire(h.otp_requests("short", count, None), f64::from(rate), 16);
        let send_span = t0.elapsed().as_secs_f64();
        let cpu1 = stack.voxpin.cpu_seconds(h.ticks)?;
        let sipp_cpu1 = stack.sipp.cpu_seconds(h.ticks)?;
        let (left, _) = h.wait_active(Duration::from_secs(30), |n| n == 0.0);
        std::thread::sleep(Duration::from_millis(1500));
        let sipp_failed = sipp_stat(&stack.dir, "FailedCall(C)").unwrap_or(0.0) - sipp_failed0;
        let ids: Vec<Option<String>> = fired.iter().map(created_id).collect();
        let http_failed = ids.iter().filter(|i| i.is_none()).count();
        let present: Vec<String> = ids.iter().flatten().cloned().collect();
        let otps = h.fetch_otps(&present);
        let (mut to_invite, mut to_answer) = (Vec::new(), Vec::new());
        let mut unanswered = 0;
        let sent_of: Vec<f64> = fired
            .iter()
            .zip(&ids)
            .filter(|(_, id)| id.is_some())
            .map(|(f, _)| wall(f.sent))
            .collect();
        for (otp, sent) in otps.iter().zip(&sent_of) {
            let dial = event_at(otp, "dial_attempt", None);
            let ok = event_at(otp, "sip_response", Some(200));
            if event_at(otp, "answered", None).is_none() {
                unanswered += 1;
            }
            if let Some(d) = dial {
                to_invite.push(d - sent);
                if let Some(a) = ok {
                    to_answer.push(a - d);
                }
            }
        }
        let failed = http_failed + unanswered;
        let mut row = Row::new("S1", format!("rate={rate}"));
        row.set("calls", count);
        row.set("failed", failed);
        row.set("http_failed", http_failed);
        row.set("unanswered", unanswered);
        row.set("sipp_failed", sipp_failed);
        row.set("achieved_cps", format!("{:.1}", count as f64 / send_span));
        row.set_ms("trigger_to_invite_p50_ms", percentile(&mut to_invite, 0.5));
        row.set_ms("trigger_to_invite_p99_ms", percentile(&mut to_invite, 0.99));
        row.set_ms("invite_to_200_p50_ms", percentile(&mut to_answer, 0.5));
        row.set_ms("invite_to_200_p99_ms", percentile(&mut to_answer, 0.99));
        row.set(
            "voxpin_cpu_pct",
            format!("{:.1}", 100.0 * (cpu1 - cpu0) / send_span),
        );
        row.set(
            "sipp_cpu_pct",
            format!("{:.1}", 100.0 * (sipp_cpu1 - sipp_cpu0) / send_span),
        );
        row.set("calls_left_after_30s", left);
        eprintln!("{row:?}");
        rows.push(row);
        if failed > 0 || sipp_failed > 0.0 {
            break;
        }
        best = Some(rate);
    }
    Ok(best)
}

/// What S2 found.
#[derive(Debug, Clone, Copy, Default)]
pub struct S2Result {
    /// The largest call count with no failed call and p99 lateness ≤ 1 ms.
    pub met_target: Option<u32>,
    /// The largest call count with no failed call (S3 runs at half of it).
    pub held: Option<u32>,
}

/// S2 (and the floor beside it): `n` long calls playing prompts, measured
/// for a window once all are up.
pub fn s2(h: &Harness, plan: &Plan, rows: &mut Vec<Row>) -> anyhow::Result<S2Result> {
    let mut best = S2Result::default();
    let receiver = Receiver::start(h.ports.receiver)?;
    for &n in &plan.s2_calls {
        eprintln!("S2: {n} calls ...");
        receiver.reset();
        let stack = h.start(&format!("s2-{n}"), n + 100, plan.sample_every, None, h.echo)?;
        std::thread::sleep(Duration::from_secs(1));
        let idle_rss = stack.voxpin.rss_kib()?;
        let fired = h.fire(
            h.otp_requests("hold", n as usize, None),
            f64::from(plan.ramp),
            8,
        );
        let http_failed = fired.iter().filter(|f| f.status != 201).count();
        let (up, _) = h.wait_active(Duration::from_secs(30), |a| a >= f64::from(n));
        std::thread::sleep(Duration::from_secs(2));
        let before_text = h.metrics()?;
        let before = parse_histogram(&before_text, LATENESS);
        let received0 = crate::stats::parse_sum(&before_text, RECEIVED, "");
        let cpu0 = stack.voxpin.cpu_seconds(h.ticks)?;
        let sipp_cpu0 = stack.sipp.cpu_seconds(h.ticks)?;
        let _ = receiver.take();
        let control = crate::control::Control::start(h.rt);
        let steal0 = crate::procs::steal_and_total_ticks();
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_secs(u64::from(plan.s2_window)));
        let span = t0.elapsed().as_secs_f64();
        let mut control = control.stop();
        let steal = match (steal0, crate::procs::steal_and_total_ticks()) {
            (Some((s0, t0)), Some((s1, t1))) if t1 > t0 => {
                Some(100.0 * (s1 - s0) as f64 / (t1 - t0) as f64)
            }
            _ => None,
        };
        let cpu1 = stack.voxpin.cpu_seconds(h.ticks)?;
        let sipp_cpu1 = stack.sipp.cpu_seconds(h.ticks)?;
        let mut gaps = receiver.take();
        let after_text = h.metrics()?;
        let after = parse_histogram(&after_text, LATENESS);
        let active = crate::stats::parse_sum(&after_text, "voxpin_active_calls", "");
        let rss = stack.voxpin.rss_kib()?;
        let lateness = difference(&before, &after);
        let packets = histogram_count(&lateness);
        let received = crate::stats::parse_sum(&after_text, RECEIVED, "") - received0;
        let failed = http_failed + (f64::from(n) - active).max(0.0) as usize;
        let p99 = histogram_quantile(&lateness, 0.99);
        let mut row = Row::new("S2", format!("calls={n}"));
        row.set("calls", n);
        row.set("up_before_window", up);
        row.set("failed", failed);
        let cpu = cpu1 - cpu0;
        row.set("voxpin_cpu_pct", format!("{:.1}", 100.0 * cpu / span));
        row.set(
            "sipp_cpu_pct",
            format!("{:.1}", 100.0 * (sipp_cpu1 - sipp_cpu0) / span),
        );
        row.set("rss_idle_kib", idle_rss);
        row.set("rss_kib", rss);
        row.set(
            "rss_per_call_kib",
            format!("{:.1}", rss.saturating_sub(idle_rss) as f64 / f64::from(n)),
        );
        row.set("packets_per_s", format!("{:.0}", packets as f64 / span));
        row.set("rx_packets_per_s", format!("{:.0}", received / span));
        let per_packet = (packets > 0).then(|| cpu / packets as f64);
        row.set("cpu_us_per_packet", fmt_opt(per_packet.map(|c| c * 1e6), 2));
        // Sent plus received: with --carrier-echo voxpin receives as much.
        let handled = packets as f64 + received.max(0.0);
        let per_handled = (handled > 0.0).then(|| cpu / handled);
        row.set(
            "cpu_us_per_packet_handled",
            fmt_opt(per_handled.map(|c| c * 1e6), 2),
        );
        row.set_ms("lateness_p50_ms", histogram_quantile(&lateness, 0.5));
        row.set_ms("lateness_p99_ms", p99);
        row.set_ms("lateness_p999_ms", histogram_quantile(&lateness, 0.999));
        row.set_ms("lateness_max_ms", histogram_quantile(&lateness, 1.0));
        row.set("rx_streams", gaps.streams);
        row.set("rx_packets", gaps.packets);
        row.set_ms("rx_gap_p50_ms", percentile(&mut gaps.gaps, 0.5));
        row.set_ms("rx_gap_p99_ms", percentile(&mut gaps.gaps, 0.99));
        row.set_ms("rx_gap_p999_ms", percentile(&mut gaps.gaps, 0.999));
        row.set_ms("rx_gap_max_ms", percentile(&mut gaps.gaps, 1.0));
        let over = gaps.gaps.iter().filter(|g| **g > 0.030).count();
        row.set("rx_gaps_over_30ms", over);
        row.set_ms("control_p99_ms", percentile(&mut control, 0.99));
        row.set_ms("control_max_ms", percentile(&mut control, 1.0));
        row.set("steal_pct", fmt_opt(steal, 1));
        eprintln!("{row:?}");
        rows.push(row);
        drop(stack);
        if plan.floor {
            rows.push(floor(h, n, plan.s2_window, per_packet)?);
        }
        let p99_ok = p99.is_some_and(|p| p <= 0.001);
        if failed == 0 {
            best.held = Some(n);
            if p99_ok {
                best.met_target = Some(n);
            }
        }
        // Stop early when a step fails badly: more than 1 % lost, or p99 > 10 ms.
        if failed * 100 > n as usize || p99.is_none_or(|p| p > 0.010) {
            break;
        }
    }
    Ok(best)
}

/// The floor: the pump with `calls` sockets for `seconds`, compared with
/// voxpin's CPU per packet at the same call count.
pub fn floor(
    h: &Harness,
    calls: u32,
    seconds: u32,
    voxpin_per_packet: Option<f64>,
) -> anyhow::Result<Row> {
    eprintln!("floor: pump with {calls} sockets ...");
    let exe = std::env::current_exe()?;
    let dir = h.dir.join(format!("floor-{calls}"));
    std::fs::create_dir_all(&dir)?;
    let args: Vec<String> = [
        "pump".to_owned(),
        "--sockets".into(),
        calls.to_string(),
        "--seconds".into(),
        seconds.to_string(),
        "--port".into(),
        h.ports.sink.to_string(),
    ]
    .to_vec();
    let mut pump = h.start_maybe_rt("pump", &exe, &args, &dir)?;
    let within = crate::pump::WARMUP + Duration::from_secs(u64::from(seconds) + 10);
    if pump.wait_exit(within) != Some(0) {
        bail!(
            "the floor pump did not finish cleanly (see {})",
            dir.display()
        );
    }
    let output = std::fs::read_to_string(dir.join("pump.log"))?;
    let window = crate::pump::Window::from_output(&output)
        .with_context(|| format!("no window line in {}", dir.join("pump.log").display()))?;
    if window.sent == 0 || window.wall_s <= 0.0 {
        bail!("the floor pump sent nothing: {}", window.to_line());
    }
    // What the kernel accepted in the window, not what was meant to be sent.
    let per_packet = window.cpu_s / window.sent as f64;
    let mut row = Row::new("floor", format!("calls={calls}"));
    row.set("pump_packets", window.sent);
    row.set("pump_send_errors", window.errors);
    row.set(
        "pump_cpu_pct",
        format!("{:.1}", 100.0 * window.cpu_s / window.wall_s),
    );
    row.set("pump_us_per_packet", format!("{:.2}", per_packet * 1e6));
    row.set(
        "voxpin_us_per_packet",
        fmt_opt(voxpin_per_packet.map(|v| v * 1e6), 2),
    );
    row.set(
        "ratio",
        fmt_opt(voxpin_per_packet.map(|v| v / per_packet), 2),
    );
    eprintln!("{row:?}");
    Ok(row)
}

/// S3: `calls` input-mode calls at the S3 ramp rate; SIPp keys each call's
/// code as RFC 4733 events; counts OTPs that end `verified`, and the calls
/// SIPp itself failed (e.g. aborted when its own stall let an INVITE
/// retransmission arrive after its 200 OK).
pub fn s3(h: &Harness, plan: &Plan, calls: u32, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    const CODE: &str = "4827";
    eprintln!("S3: {calls} keyed calls ...");
    let pcap =
        crate::setup::dtmf_pcap(CODE, Duration::from_millis(600), Duration::from_millis(120));
    let stack = h.start("s3", calls + 100, 0, Some(&pcap), false)?;
    let cpu0 = stack.voxpin.cpu_seconds(h.ticks)?;
    let t0 = Instant::now();
    let fired = h.fire(
        h.otp_requests("keyed", calls as usize, Some(CODE)),
        f64::from(plan.s3_ramp),
        8,
    );
    let (left, peak) = h.wait_active(Duration::from_secs(60), |a| a == 0.0);
    let span = t0.elapsed().as_secs_f64();
    let cpu1 = stack.voxpin.cpu_seconds(h.ticks)?;
    let ids: Vec<String> = fired.iter().filter_map(created_id).collect();
    let otps = h.fetch_otps(&ids);
    let mut by_status = std::collections::BTreeMap::<String, usize>::new();
    for o in &otps {
        let s = o.get("status").and_then(Value::as_str).unwrap_or("?");
        *by_status.entry(s.to_owned()).or_default() += 1;
    }
    let verified = by_status.get("verified").copied().unwrap_or(0);
    let mut row = Row::new("S3", format!("calls={calls}"));
    row.set("calls", calls);
    row.set("created", ids.len());
    row.set("verified", verified);
    row.set(
        "verified_pct",
        format!("{:.2}", 100.0 * verified as f64 / f64::from(calls.max(1))),
    );
    row.set("ramp_per_s", plan.s3_ramp);
    row.set("peak_active", peak);
    row.set("left_after_wait", left);
    row.set(
        "sipp_failed",
        sipp_stat(&stack.dir, "FailedCall(C)").unwrap_or(0.0),
    );
    let statuses: Vec<String> = by_status.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    row.set("statuses", statuses.join(" "));
    row.set(
        "voxpin_cpu_pct",
        format!("{:.1}", 100.0 * (cpu1 - cpu0) / span),
    );
    eprintln!("{row:?}");
    rows.push(row);
    Ok(())
}

/// Meta lines: machine, versions.
pub fn machine(voxpin: &Path) -> Vec<(String, String)> {
    let nproc = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    vec![
        ("nproc".into(), nproc.to_string()),
        ("kernel".into(), kernel.trim().to_owned()),
        ("cpu".into(), cpu),
        (
            "voxpin".into(),
            procs::version_of(&voxpin.display().to_string(), &["--version"]),
        ),
        ("sipp".into(), procs::version_of("sipp", &["-v"])),
    ]
}
