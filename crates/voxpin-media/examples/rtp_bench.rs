//! RTP playout benchmark: N concurrent calls streaming prompts through real
//! UDP sockets on loopback, paced by the media workers.
//!
//! For each N it prints send-slot lateness (p50/p99/p99.9/max), CPU µs per
//! packet of the send threads (from `/proc/self/task/*/stat`), the same for
//! a bare UDP pump sending as many packets from the same number of sockets
//! without pacing, resident memory per call, and a control: the wake-up
//! lateness of an idle thread sleeping to 1 ms deadlines during the same
//! window (what the machine adds before any work is done). The wake
//! columns show how late the send threads themselves woke for their ticks.
//!
//! ```text
//! cargo run --release -p voxpin-media --features driver --example rtp_bench -- \
//!     [--seconds 10] [--calls 500,1000,2000,4000] [--workers 2] [--phases 20] \
//!     [--rt 10] [--spin-us 300] [--slack-ns 1000]
//! ```
//!
//! `--rt N` puts the send threads (only them) under `SCHED_FIFO` priority N,
//! as `WorkerOptions::realtime_priority` does in production; the control
//! thread stays at normal priority, so its column keeps showing what the
//! machine adds. `--spin-us` and `--slack-ns` set `WorkerOptions::spin`
//! and `WorkerOptions::timer_slack` (0: the kernel's default slack).
//!
//! Two pumps give the floor of the CPU cost: a bare pump sending the same
//! packets from as many sockets in a tight loop, and a paced pump that
//! sleeps to the same tick grid and sends the same packets per tick, with
//! no session work (the difference to the workers is what our code costs).
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use voxpin_media::driver::{
    set_realtime_priority, MediaWorker, PortAllocator, PortRange, WorkerOptions,
};
use voxpin_media::*;

struct Args {
    seconds: u64,
    calls: Vec<usize>,
    workers: usize,
    phases: u32,
    rt: Option<u8>,
    slack_ns: u64,
    spin_us: u64,
}

fn args() -> Result<Args> {
    let mut a = Args {
        seconds: 10,
        calls: vec![500, 1000, 2000, 4000],
        workers: cpus(),
        phases: 20,
        rt: None,
        slack_ns: 1000,
        spin_us: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().context("flag without value")?;
        match flag.as_str() {
            "--seconds" => a.seconds = value.parse()?,
            "--calls" => a.calls = value.split(',').map(str::parse).collect::<Result<_, _>>()?,
            "--workers" => a.workers = value.parse()?,
            "--phases" => a.phases = value.parse()?,
            "--rt" => a.rt = Some(value.parse()?),
            "--slack-ns" => a.slack_ns = value.parse()?,
            "--spin-us" => a.spin_us = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// (utime + stime) in clock ticks of a `stat` file's contents.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU ticks of all threads whose name starts with `prefix`.
fn threads_cpu(prefix: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            if !comm.trim().starts_with(prefix) {
                return None;
            }
            cpu_ticks(&std::fs::read_to_string(task.path().join("stat")).ok()?)
        })
        .sum()
}

/// Clock ticks the hypervisor took from this machine's CPUs (the `steal`
/// column of `/proc/stat`, summed over all CPUs).
fn steal_ticks() -> u64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("cpu "))?;
            // cpu user nice system idle iowait irq softirq steal ...
            line.split_whitespace().nth(8)?.parse().ok()
        })
        .unwrap_or(0)
}

fn process_cpu() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| cpu_ticks(&s))
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string(Path::new("/proc/self/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn playlist() -> Result<Playlist> {
    let en = Language::new("en")?;
    let pacing = Pacing {
        group_sizes: vec![3, 3],
        ..Pacing::default()
    };
    let code = || -> Result<PlayItem> {
        Ok(PlayItem::Code {
            digits: CodeDigits::new("481516")?,
            pacing: pacing.clone(),
        })
    };
    Ok(Playlist::new(en)
        .with(ItemTag(1), PlayItem::Prompt("your-code-is".into()))
        .with(ItemTag(2), code()?)
        .with(ItemTag(3), PlayItem::Prompt("i-repeat".into()))
        .with(ItemTag(4), code()?)
        .with(ItemTag(5), PlayItem::Prompt("press-1-to-repeat".into())))
}

struct Step {
    calls: usize,
    p50: Duration,
    p99: Duration,
    p999: Duration,
    max: Duration,
    packets: u64,
    expected: u64,
    errors: u64,
    cpu_us_per_packet: f64,
    process_cpu_us_per_packet: f64,
    pump_us_per_packet: f64,
    paced_pump_us_per_packet: f64,
    kib_per_call: f64,
    wakeup_p99: Duration,
    wakeup_max: Duration,
    control_p99: Duration,
    control_max: Duration,
    steal_percent: f64,
}

fn run_step(calls: usize, a: &Args, prompts: &Arc<PromptLibrary>, hz: f64) -> Result<Step> {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    // Destinations: a few sockets nobody reads (the kernel drops overflow).
    let sinks: Vec<UdpSocket> = (0..16)
        .map(|_| UdpSocket::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    let sink_addrs: Vec<SocketAddr> = sinks
        .iter()
        .map(|s| s.local_addr())
        .collect::<Result<_, _>>()?;
    let ports = PortAllocator::new(
        ip,
        PortRange {
            first: 30_000,
            last: 30_000 + 2 * calls as u16 + 200,
        },
    );
    let list = playlist()?;
    let rss_before = rss_kib();
    let mut workers = Vec::new();
    for w in 0..a.workers {
        // Events are not needed here; the receiver is dropped.
        let slack = (a.slack_ns > 0).then(|| Duration::from_nanos(a.slack_ns));
        let mut options = WorkerOptions::default()
            .with_phases(a.phases)
            .with_timer_slack(slack)
            .with_spin(Duration::from_micros(a.spin_us));
        if let Some(priority) = a.rt {
            options = options.with_realtime_priority(priority);
        }
        let (worker, _events) = MediaWorker::spawn_with(&format!("rtp-worker-{w}"), options)?;
        workers.push(worker);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(calls as u64);
    for i in 0..calls {
        let socket = ports.bind()?;
        let mut config = SessionConfig::new(Codec::Pcmu, Arc::clone(prompts));
        config.remote = Some(sink_addrs[i % sink_addrs.len()]);
        config.symmetric = false;
        config.inband_dtmf = false;
        config.telephone_event = Some(101);
        config.inactivity_timeout = Duration::from_secs(3600);
        let session = MediaSession::new(Instant::now(), config, &mut rng);
        let key = SessionKey(i as u64);
        let worker = &workers[i % workers.len()];
        worker.insert(key, session, socket)?;
        worker.play(key, list.clone())?;
    }
    for w in &workers {
        w.report()?; // every insert processed
    }
    // Warm up one second, then measure.
    std::thread::sleep(Duration::from_secs(1));
    let rss_after = rss_kib();
    for w in &workers {
        w.reset_lateness()?;
    }
    // Control: a thread doing nothing but sleeping to 1 ms absolute
    // deadlines, to show the wake-up latency the machine itself adds.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let control = {
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("control-sleeper".into())
            .spawn(move || {
                let mut h = LatenessHistogram::new();
                let mut deadline = Instant::now();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    deadline += Duration::from_millis(1);
                    let now = Instant::now();
                    if let Some(wait) = deadline.checked_duration_since(now) {
                        std::thread::sleep(wait);
                    }
                    h.record(Instant::now().saturating_duration_since(deadline));
                }
                h
            })?
    };
    // The window runs from the workers' first answers to their last ones
    // (under starvation they answer late; packets, CPU and the expected
    // count all use the same window).
    let sent_before: u64 = workers
        .iter()
        .map(|w| w.report().map(|r| r.packets_sent))
        .sum::<Result<_, _>>()?;
    let started = Instant::now();
    let cpu0 = threads_cpu("rtp-worker");
    let steal0 = steal_ticks();
    let proc0 = process_cpu();
    std::thread::sleep(Duration::from_secs(a.seconds));
    let mut lateness = LatenessHistogram::new();
    let mut wakeup = LatenessHistogram::new();
    let mut sent_after = 0;
    let mut errors = 0;
    for w in &workers {
        let r = w.report()?;
        lateness.merge(&r.lateness);
        wakeup.merge(&r.wakeup_lateness);
        sent_after += r.packets_sent;
        errors += r.send_errors;
    }
    let elapsed = started.elapsed();
    let cpu1 = threads_cpu("rtp-worker");
    let steal1 = steal_ticks();
    let proc1 = process_cpu();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let control = control
        .join()
        .map_err(|_| anyhow::anyhow!("control thread panicked"))?;
    for w in workers {
        w.shutdown();
    }
    let packets = sent_after - sent_before;
    let per_packet = |ticks: u64| ticks as f64 / hz * 1e6 / packets.max(1) as f64;

    let pump_us_per_packet = pump(calls, a, &sink_addrs, None, hz)?;
    let paced_pump_us_per_packet = pump(calls, a, &sink_addrs, Some(a.phases), hz)?;
    drop(sinks);

    Ok(Step {
        calls,
        p50: lateness.quantile(0.5),
        p99: lateness.quantile(0.99),
        p999: lateness.quantile(0.999),
        max: lateness.max(),
        packets,
        expected: (calls as f64 * elapsed.as_secs_f64() * 50.0) as u64,
        errors,
        cpu_us_per_packet: per_packet(cpu1 - cpu0),
        process_cpu_us_per_packet: per_packet(proc1 - proc0),
        pump_us_per_packet,
        paced_pump_us_per_packet,
        kib_per_call: rss_after.saturating_sub(rss_before) as f64 / calls as f64,
        wakeup_p99: wakeup.quantile(0.99),
        wakeup_max: wakeup.max(),
        control_p99: control.quantile(0.99),
        control_max: control.max(),
        steal_percent: (steal1 - steal0) as f64 / hz * 100.0
            / (elapsed.as_secs_f64() * cpus() as f64),
    })
}

/// CPU µs per packet of a bare UDP pump: 172-byte datagrams from `calls`
/// sockets (split over as many threads as there are workers, so both sides
/// pay the same cross-CPU costs of sending to the shared sinks at once) to
/// the same sinks, with no session work at all. Unpaced, it sends 2 s of
/// the calls' packets in a tight loop; paced with `phases`, each thread
/// sleeps to the same tick grid as a worker and sends the same share of
/// packets per tick, for 3 s (same priority as the workers).
fn pump(calls: usize, a: &Args, sinks: &[SocketAddr], phases: Option<u32>, hz: f64) -> Result<f64> {
    let threads = a.workers.max(1);
    let per_thread = calls.div_ceil(threads);
    let seconds = if phases.is_some() { 3 } else { 2 };
    let per_thread_packets = per_thread * 50 * seconds;
    let handles = (0..threads)
        .map(|t| {
            let sockets: Vec<UdpSocket> = (0..per_thread)
                .map(|_| UdpSocket::bind("127.0.0.1:0"))
                .collect::<Result<_, _>>()?;
            let sinks = sinks.to_vec();
            let rt = a.rt;
            Ok(std::thread::Builder::new()
                .name(format!("bare-pump-{t}"))
                .spawn(move || {
                    let packet = [0x80u8; 172];
                    let send = |i: usize| {
                        let socket = &sockets[i % sockets.len()];
                        let _ = socket.send_to(&packet, sinks[i % sinks.len()]);
                    };
                    match phases {
                        None => (0..per_thread_packets).for_each(send),
                        Some(phases) => {
                            if let Some(priority) = rt {
                                let _ = set_realtime_priority(priority);
                            }
                            let phases = phases.max(1) as usize;
                            let tick = Duration::from_millis(20) / phases as u32;
                            let mut deadline = Instant::now();
                            let mut next = 0;
                            for k in 0.. {
                                // Tick k sends the sockets of phase k % phases.
                                let mut i = k % phases;
                                while i < per_thread && next < per_thread_packets {
                                    send(i);
                                    next += 1;
                                    i += phases;
                                }
                                if next >= per_thread_packets {
                                    break;
                                }
                                deadline += tick;
                                let now = Instant::now();
                                std::thread::sleep(deadline.saturating_duration_since(now));
                            }
                        }
                    }
                    std::fs::read_to_string("/proc/thread-self/stat")
                        .ok()
                        .and_then(|s| cpu_ticks(&s))
                        .unwrap_or(0)
                })?)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut ticks = 0;
    for h in handles {
        ticks += h
            .join()
            .map_err(|_| anyhow::anyhow!("pump thread panicked"))?;
    }
    Ok(ticks as f64 / hz * 1e6 / (per_thread_packets * threads) as f64)
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn main() -> Result<()> {
    let a = args()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
    let prompts = Arc::new(PromptLibrary::load_dir(&root)?);
    let hz = clock_ticks_per_second();
    println!(
        "rtp_bench: {} s per step, {} send worker(s) with {} phases at {}, spin {} µs, {} CPU(s), 20 ms G.711 packets of 172 bytes",
        a.seconds,
        a.workers,
        a.phases,
        a.rt.map_or("normal priority".to_owned(), |p| format!("SCHED_FIFO {p}")),
        a.spin_us,
        cpus()
    );
    println!(
        "{:>6} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>7} {:>9} {:>9} {:>9} {:>10} {:>9} {:>11} {:>11} {:>11} {:>11} {:>7}",
        "calls",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "packets",
        "expected",
        "errors",
        "cpu us/p",
        "proc us/p",
        "pump us/p",
        "paced us/p",
        "KiB/call",
        "wake p99 ms",
        "wake max ms",
        "ctl p99 ms",
        "ctl max ms",
        "steal %"
    );
    for &calls in &a.calls {
        let s = run_step(calls, &a, &prompts, hz)?;
        println!(
            "{:>6} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>10.2} {:>9.1} {:>11} {:>11} {:>11} {:>11} {:>7.1}",
            s.calls,
            ms(s.p50),
            ms(s.p99),
            ms(s.p999),
            ms(s.max),
            s.packets,
            s.expected,
            s.errors,
            s.cpu_us_per_packet,
            s.process_cpu_us_per_packet,
            s.pump_us_per_packet,
            s.paced_pump_us_per_packet,
            s.kib_per_call,
            ms(s.wakeup_p99),
            ms(s.wakeup_max),
            ms(s.control_p99),
            ms(s.control_max),
            s.steal_percent
        );
    }
    Ok(())
}
