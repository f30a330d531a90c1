//! `voxpin-bench`: voxpin's capacity benchmark on loopback, SIPp as the
//! carrier. See `docs/performance.md` for what each step measures.
//!
//! ```text
//! cargo build --release -p voxpin -p voxpin-bench
//! cargo run --release -p voxpin-bench -- --steps s1,s2,s3,floor --quick
//! # draw the PNG again from a finished run's CSV, running nothing:
//! cargo run --release -p voxpin-bench -- --plot-from voxpin-bench.csv --png run.png
//! ```
//!
//! It builds nothing and installs nothing: it needs `sipp` on PATH and the
//! release `voxpin` binary (by default next to its own executable). Every
//! loop is bounded in count and time; every child process is killed when
//! the bench exits. Ports: 35060–35202 and 40000–59998 on 127.0.0.1.

mod control;
mod harness;
mod http;
mod plot;
mod procs;
mod pump;
mod receiver;
mod report;
mod setup;
mod stats;
mod steps;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::harness::Harness;
use crate::report::Row;
use crate::steps::Plan;

/// voxpin's capacity benchmark against SIPp on loopback.
#[derive(Debug, Parser)]
#[command(name = "voxpin-bench", version, about)]
struct Cli {
    /// Steps to run, comma-separated: s1, s2, s3, floor (floor runs beside each S2 step).
    #[arg(long, value_delimiter = ',', default_value = "s1,s2,s3,floor")]
    steps: Vec<String>,
    /// Short steps (a few seconds each) and smaller call counts.
    #[arg(long)]
    quick: bool,
    /// The release voxpin binary (default: `voxpin` next to this executable).
    #[arg(long)]
    voxpin: Option<PathBuf>,
    /// The prompts directory voxpin loads.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../prompts"))]
    prompts: PathBuf,
    /// Where to write the CSV.
    #[arg(long, default_value = "voxpin-bench.csv")]
    csv: PathBuf,
    /// Where to write the PNG plot of the S2 steps, lateness and CPU against
    /// the number of calls (default: the CSV's path with `.png`, so
    /// voxpin-bench.png; not written when no S2 step ran).
    #[arg(long)]
    png: Option<PathBuf>,
    /// Run nothing: read a CSV that an earlier run wrote and draw its PNG
    /// (to `--png`, default FILE.png).
    #[arg(long, value_name = "FILE.csv")]
    plot_from: Option<PathBuf>,
    /// S1 rates in calls/s (default 50,100,200,300,500,700).
    #[arg(long, value_delimiter = ',')]
    s1_rates: Option<Vec<u32>>,
    /// Seconds per S1 step (default 20; --quick 5).
    #[arg(long)]
    s1_seconds: Option<u32>,
    /// S2 call counts (default 500,1000,2000,3000,4000; --quick 250,500,1000).
    #[arg(long, value_delimiter = ',')]
    s2_calls: Option<Vec<u32>>,
    /// Seconds S2 measures once all calls are up (default 20; --quick 6).
    #[arg(long)]
    s2_window: Option<u32>,
    /// Calls/s that bring S2 calls up. Fast enough that the oldest S2 call
    /// is still inside its 30 s life when the window closes.
    #[arg(long, default_value_t = 1000)]
    ramp: u32,
    /// Calls/s that bring S3 calls up (default: `--ramp`, so all S3 calls
    /// are up at once). SIPp starts a thread per call to play its DTMF pcap,
    /// and at 1,000 new calls/s its main loop can stall for 0.5 s and more
    /// (its watchdog says so); the S3 row's `sipp_failed` counts the calls
    /// SIPp aborted. A lower rate spares SIPp but holds fewer calls at once.
    #[arg(long)]
    s3_ramp: Option<u32>,
    /// Every n-th S2 call sends its audio to the bench's receiver.
    #[arg(long, default_value_t = 50)]
    sample_every: usize,
    /// S3 calls when S2 does not run (else half the largest S2 count with no failed call).
    #[arg(long)]
    s3_calls: Option<u32>,
    /// Real-time priority N: voxpin's engine thread under SCHED_FIFO
    /// (`[rtp] realtime_priority = N`) and the floor pump under `chrt -f N`.
    #[arg(long)]
    rt: Option<u8>,
    /// S2's SIPp carrier echoes every RTP packet back (SIPp `-rtp_echo`), so
    /// voxpin receives as many packets as it sends, as on a real call. The
    /// floor pump does not receive: read `ratio` as send-only then.
    #[arg(long)]
    carrier_echo: bool,
    /// voxpin's `[rtp] pacing_phases` (send slots per 20 ms; default: voxpin's).
    #[arg(long)]
    pacing_phases: Option<u32>,
    /// Keep the scratch directory (configs, logs, SIPp traces) and print it.
    #[arg(long)]
    keep: bool,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// The floor pump (started by the bench itself).
    #[command(hide = true)]
    Pump {
        /// Sockets (one per simulated call).
        #[arg(long)]
        sockets: usize,
        /// How long to measure (after a warm-up of `pump::WARMUP`).
        #[arg(long)]
        seconds: u64,
        /// Destination port on 127.0.0.1.
        #[arg(long)]
        port: u16,
    },
}

/// On SIGINT or SIGTERM, kills every child (voxpin, SIPp, the pump) by its
/// id and exits 130: destructors do not run on a signal.
fn stop_children_on_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut int, mut term) = runtime.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    std::thread::spawn(move || {
        runtime.block_on(async {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        });
        eprintln!("interrupted: stopping voxpin, SIPp and the pump");
        procs::kill_all_children();
        std::process::exit(130);
    });
    Ok(())
}

/// Draws the PNG of `rows` to `path`. `Ok(false)`: no S2 rows, nothing written.
fn write_png(meta: &[(String, String)], rows: &[Row], path: &Path) -> anyhow::Result<bool> {
    match plot::render_png(meta, rows, plot::WIDTH, plot::HEIGHT) {
        Ok(png) => {
            std::fs::write(path, png).with_context(|| format!("write {}", path.display()))?;
            Ok(true)
        }
        Err(plot::PlotError::NoS2Rows) => Ok(false),
        Err(e) => Err(e).context("draw the PNG"),
    }
}

/// `--plot-from`: the PNG of a CSV that an earlier run wrote.
fn plot_from(csv: &Path, png: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(csv).with_context(|| format!("read {}", csv.display()))?;
    let report = report::from_csv(&text)
        .with_context(|| format!("{} is not a voxpin-bench CSV", csv.display()))?;
    if !write_png(&report.meta, &report.rows, png)? {
        bail!("{} has no S2 rows: no PNG to draw", csv.display());
    }
    println!("PNG: {}", png.display());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Sub::Pump {
        sockets,
        seconds,
        port,
    }) = cli.command
    {
        let window = pump::run(
            sockets,
            ([127, 0, 0, 1], port).into(),
            pump::WARMUP,
            seconds,
        )?;
        println!("{}", window.to_line());
        return Ok(());
    }
    if let Some(csv) = &cli.plot_from {
        let png = cli.png.clone().unwrap_or_else(|| csv.with_extension("png"));
        return plot_from(csv, &png);
    }
    procs::require_sipp()?;
    stop_children_on_signal()?;
    let voxpin = match &cli.voxpin {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("the executable has a directory")?
            .join("voxpin"),
    };
    if !voxpin.is_file() {
        bail!(
            "no voxpin binary at {}: build it first with `cargo build --release -p voxpin` \
             (or pass --voxpin PATH)",
            voxpin.display()
        );
    }
    let prompts = cli
        .prompts
        .canonicalize()
        .with_context(|| format!("prompts directory {}", cli.prompts.display()))?;
    let q = cli.quick;
    let plan = Plan {
        s1_rates: cli
            .s1_rates
            .clone()
            .unwrap_or_else(|| vec![50, 100, 200, 300, 500, 700]),
        s1_seconds: cli.s1_seconds.unwrap_or(if q { 5 } else { 20 }),
        s2_calls: cli.s2_calls.clone().unwrap_or_else(|| {
            if q {
                vec![250, 500, 1000]
            } else {
                vec![500, 1000, 2000, 3000, 4000]
            }
        }),
        s2_window: cli.s2_window.unwrap_or(if q { 6 } else { 20 }),
        ramp: cli.ramp.max(1),
        s3_ramp: cli.s3_ramp.unwrap_or(cli.ramp).max(1),
        sample_every: cli.sample_every,
        s3_calls: cli.s3_calls.unwrap_or(if q { 100 } else { 500 }),
        floor: cli.steps.iter().any(|s| s == "floor"),
    };
    let scratch = tempfile::Builder::new().prefix("voxpin-bench-").tempdir()?;
    let mut h = Harness::new(
        scratch.path(),
        voxpin.clone(),
        prompts,
        procs::clock_ticks(),
    );
    h.rt = cli.rt;
    h.pacing_phases = cli.pacing_phases;
    h.echo = cli.carrier_echo;
    let mut meta = steps::machine(&voxpin);
    meta.push((
        "command".into(),
        std::env::args().collect::<Vec<_>>().join(" "),
    ));
    meta.push(("plan".into(), format!("{plan:?}")));
    meta.push(("realtime_priority".into(), format!("{:?}", cli.rt)));
    meta.push(("pacing_phases".into(), format!("{:?}", cli.pacing_phases)));
    meta.push(("carrier_echo".into(), cli.carrier_echo.to_string()));
    let mut rows: Vec<Row> = Vec::new();
    let has = |s: &str| cli.steps.iter().any(|x| x == s);
    let result = (|| -> anyhow::Result<()> {
        if has("s1") {
            let best = steps::s1(&h, &plan, &mut rows)?;
            meta.push(("s1_best_rate_with_0_failed".into(), format!("{best:?}")));
        }
        let mut s2_best = None;
        if has("s2") {
            let found = steps::s2(&h, &plan, &mut rows)?;
            meta.push((
                "s2_calls_with_p99_le_1ms_and_0_failed".into(),
                format!("{:?}", found.met_target),
            ));
            meta.push(("s2_calls_with_0_failed".into(), format!("{:?}", found.held)));
            s2_best = found.held;
        } else if has("floor") {
            for &n in &plan.s2_calls {
                rows.push(steps::floor(&h, n, plan.s2_window, None)?);
            }
        }
        if has("s3") {
            let calls = s2_best.map_or(plan.s3_calls, |b| (b / 2).max(1));
            steps::s3(&h, &plan, calls, &mut rows)?;
        }
        Ok(())
    })();
    let csv = report::to_csv(&meta, &rows);
    std::fs::write(&cli.csv, &csv).with_context(|| format!("write {}", cli.csv.display()))?;
    for (k, v) in &meta {
        println!("{k}: {v}");
    }
    println!();
    print!("{}", report::to_table(&rows));
    println!("CSV: {}", cli.csv.display());
    let png_path = cli
        .png
        .clone()
        .unwrap_or_else(|| cli.csv.with_extension("png"));
    let png = write_png(&meta, &rows, &png_path);
    match &png {
        Ok(true) => println!("PNG: {}", png_path.display()),
        Ok(false) => println!("PNG: not written (no S2 rows to plot)"),
        // Returned below when the run itself succeeded.
        Err(e) if result.is_err() => eprintln!("PNG: not written: {e:#}"),
        Err(_) => {}
    }
    if cli.keep {
        println!("scratch kept: {}", scratch.keep().display());
    }
    // A failed run's own error first; the PNG's when the run succeeded.
    result.and(png.map(|_| ()).context("PNG not written"))
}
