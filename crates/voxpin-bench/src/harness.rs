//! One run's moving parts: the temporary directory, starting voxpin and the
//! SIPp carrier, scraping `/metrics`, and firing API requests at a fixed
//! rate from a small pool of keep-alive connections.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use serde_json::Value;

use crate::http::Client;
use crate::procs::Proc;
use crate::setup::{self, Ports, API_KEY};

/// Histogram of send-slot lateness voxpin exports on `/metrics`.
pub const LATENESS: &str = "voxpin_rtp_send_lateness_seconds";

/// Paths and ports shared by every step.
#[derive(Debug)]
pub struct Harness {
    /// The run's scratch directory (configs, logs, SIPp files).
    pub dir: PathBuf,
    /// Ports.
    pub ports: Ports,
    /// The voxpin binary.
    pub voxpin: PathBuf,
    /// The prompts directory.
    pub prompts: PathBuf,
    /// CPU clock ticks per second.
    pub ticks: f64,
    /// Real-time priority: voxpin's `[rtp] realtime_priority` and `chrt -f N`
    /// for the (single-threaded) floor pump, if set.
    pub rt: Option<u8>,
    /// voxpin's `[rtp] pacing_phases`, if set.
    pub pacing_phases: Option<u32>,
    /// S2's carrier echoes every RTP packet back (SIPp `-rtp_echo`).
    pub echo: bool,
    /// Next phone number suffix (numbers are never reused in a run).
    next_number: AtomicU64,
}

/// A started voxpin and its carrier.
#[derive(Debug)]
pub struct Stack {
    /// voxpin.
    pub voxpin: Proc,
    /// SIPp as the carrier.
    pub sipp: Proc,
    /// The step's directory.
    pub dir: PathBuf,
}

/// One API request fired by [`Harness::fire`].
#[derive(Debug, Clone)]
pub struct Fired {
    /// When it was written to the socket (wall clock).
    pub sent: SystemTime,
    /// The HTTP status (0: transport error).
    pub status: u16,
    /// The response body.
    pub body: String,
}

impl Harness {
    /// A harness writing under `dir`.
    pub fn new(dir: &Path, voxpin: PathBuf, prompts: PathBuf, ticks: f64) -> Self {
        Self {
            dir: dir.to_path_buf(),
            ports: Ports::default(),
            voxpin,
            prompts,
            ticks,
            rt: None,
            pacing_phases: None,
            echo: false,
            next_number: AtomicU64::new(0),
        }
    }

    /// The API's address.
    pub fn api(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports.api))
    }

    /// A fresh phone number.
    pub fn number(&self) -> String {
        let n = self.next_number.fetch_add(1, Ordering::Relaxed);
        format!("+1415{:07}", n % 10_000_000)
    }

    /// Starts voxpin and SIPp for step `name` in a fresh sub-directory.
    /// `sample_every`: every n-th call's SDP names the bench receiver (0: none).
    /// `pcap`: DTMF SIPp plays into each call.
    pub fn start(
        &self,
        name: &str,
        max_calls: u32,
        sample_every: usize,
        pcap: Option<&[u8]>,
        echo: bool,
    ) -> anyhow::Result<Stack> {
        let dir = self.dir.join(name);
        std::fs::create_dir_all(dir.join("dialplans"))?;
        std::fs::create_dir_all(dir.join("records"))?;
        for (file, text) in setup::dialplans() {
            std::fs::write(dir.join("dialplans").join(file), text)?;
        }
        std::fs::write(
            dir.join("voxpin.toml"),
            setup::config(
                self.ports,
                &self.prompts,
                max_calls,
                self.rt,
                self.pacing_phases,
            ),
        )?;
        let pcap_path = match pcap {
            Some(bytes) => {
                let p = dir.join("code.pcap");
                std::fs::write(&p, bytes)?;
                Some(p)
            }
            None => None,
        };
        std::fs::write(
            dir.join("carrier.xml"),
            setup::uas_scenario(pcap_path.as_deref()),
        )?;
        std::fs::write(
            dir.join("ports.csv"),
            setup::injection(
                max_calls as usize + 10,
                sample_every,
                self.ports.receiver,
                // Echoed calls send their audio to SIPp's media port.
                if echo {
                    self.ports.sipp_media
                } else {
                    self.ports.sink
                },
            ),
        )?;
        let run_args = ["run".into(), "--config".into(), "voxpin.toml".into()];
        // With `rt`, voxpin puts only its engine thread under SCHED_FIFO
        // (`[rtp] realtime_priority`); the API and SIP runtime stay normal.
        let mut voxpin = Proc::start("voxpin", &self.voxpin, &run_args, &dir)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut client = Client::new(self.api(), API_KEY);
        loop {
            voxpin
                .ensure_running()
                .with_context(|| log_tail(&dir.join("voxpin.log")))?;
            if let Ok((200, _)) = client.request("GET", "/healthz", None) {
                break;
            }
            if Instant::now() > deadline {
                bail!("voxpin did not answer /healthz within 20 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let p = self.ports;
        let mut args: Vec<String> = [
            "-sf",
            "carrier.xml",
            "-i",
            "127.0.0.1",
            "-p",
            &p.sipp.to_string(),
            "-mp",
            &p.sipp_media.to_string(),
            "-inf",
            "ports.csv",
            "-l",
            "15000",
            "-nostdin",
            "-trace_err",
            "-trace_stat",
            "-fd",
            "1",
            "-stf",
            "sipp-stats.csv",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        if echo {
            args.push("-rtp_echo".into());
        }
        let mut sipp = Proc::start("sipp", Path::new("sipp"), &args, &dir)?;
        std::thread::sleep(Duration::from_millis(500));
        sipp.ensure_running()
            .with_context(|| log_tail(&dir.join("sipp.log")))?;
        Ok(Stack { voxpin, sipp, dir })
    }

    /// Starts `program` under `chrt -f N` when real-time priority was asked for.
    pub fn start_maybe_rt(
        &self,
        name: &str,
        program: &Path,
        args: &[String],
        dir: &Path,
    ) -> anyhow::Result<Proc> {
        match self.rt {
            Some(priority) => {
                let mut all = vec![
                    "-f".to_owned(),
                    priority.to_string(),
                    program.display().to_string(),
                ];
                all.extend_from_slice(args);
                Proc::start(name, Path::new("chrt"), &all, dir)
            }
            None => Proc::start(name, program, args, dir),
        }
    }

    /// The `/metrics` text.
    pub fn metrics(&self) -> anyhow::Result<String> {
        let (status, body) = Client::new(self.api(), API_KEY).request("GET", "/metrics", None)?;
        if status != 200 {
            bail!("GET /metrics: {status}");
        }
        Ok(body)
    }

    /// Calls in progress, from `/metrics`.
    pub fn active_calls(&self) -> anyhow::Result<f64> {
        Ok(crate::stats::parse_sum(
            &self.metrics()?,
            "voxpin_active_calls",
            "",
        ))
    }

    /// Waits (bounded by `within`) until `pred(active calls)` holds; the
    /// last value seen and the largest.
    pub fn wait_active(&self, within: Duration, pred: impl Fn(f64) -> bool) -> (f64, f64) {
        let deadline = Instant::now() + within;
        let (mut last, mut peak) = (0.0, 0.0f64);
        loop {
            if let Ok(n) = self.active_calls() {
                last = n;
                peak = peak.max(n);
                if pred(n) {
                    break;
                }
            }
            if Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        (last, peak)
    }

    /// Sends `requests` (method, path, body) at `rate` per second on
    /// absolute deadlines, over `workers` connections; results in order.
    pub fn fire(
        &self,
        requests: Vec<(String, String, Option<String>)>,
        rate: f64,
        workers: usize,
    ) -> Vec<Fired> {
        let total = requests.len();
        let results: Arc<Mutex<Vec<Option<Fired>>>> = Arc::new(Mutex::new(vec![None; total]));
        let (tx, rx) = mpsc::channel::<(usize, (String, String, Option<String>))>();
        let rx = Arc::new(Mutex::new(rx));
        let mut handles = Vec::new();
        for _ in 0..workers.max(1) {
            let rx = Arc::clone(&rx);
            let results = Arc::clone(&results);
            let mut client = Client::new(self.api(), API_KEY);
            handles.push(std::thread::spawn(move || loop {
                let job = match rx.lock() {
                    Ok(r) => r.recv(),
                    Err(_) => break,
                };
                let Ok((i, (method, path, body))) = job else {
                    break;
                };
                let sent = SystemTime::now();
                let (status, body) = client
                    .request(&method, &path, body.as_deref())
                    .unwrap_or_else(|e| (0, e.to_string()));
                if let Ok(mut r) = results.lock() {
                    if let Some(slot) = r.get_mut(i) {
                        *slot = Some(Fired { sent, status, body });
                    }
                }
            }));
        }
        let start = Instant::now();
        let interval = if rate > 0.0 {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::ZERO
        };
        for (i, req) in requests.into_iter().enumerate() {
            let due = start + interval.mul_f64(i as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if tx.send((i, req)).is_err() {
                break;
            }
        }
        drop(tx);
        for h in handles {
            let _ = h.join();
        }
        let results = match Arc::try_unwrap(results) {
            Ok(m) => m.into_inner().unwrap_or_default(),
            Err(shared) => shared.lock().map(|r| r.clone()).unwrap_or_default(),
        };
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or(Fired {
                    sent: SystemTime::UNIX_EPOCH,
                    status: 0,
                    body: "not sent".into(),
                })
            })
            .collect()
    }

    /// `POST /v1/otp` bodies for `count` calls of `application`.
    pub fn otp_requests(
        &self,
        application: &str,
        count: usize,
        code: Option<&str>,
    ) -> Vec<(String, String, Option<String>)> {
        (0..count)
            .map(|_| {
                let mut body = serde_json::json!({
                    "application": application,
                    "to": self.number(),
                });
                if let Some(c) = code {
                    body["code"] = Value::String(c.to_owned());
                }
                ("POST".into(), "/v1/otp".into(), Some(body.to_string()))
            })
            .collect()
    }

    /// Fetches every OTP in `ids` (workers in parallel, no pacing).
    pub fn fetch_otps(&self, ids: &[String]) -> Vec<Value> {
        let requests = ids
            .iter()
            .map(|id| ("GET".to_owned(), format!("/v1/otp/{id}"), None))
            .collect();
        self.fire(requests, 0.0, 4)
            .into_iter()
            .map(|f| serde_json::from_str(&f.body).unwrap_or(Value::Null))
            .collect()
    }
}

/// The `id` of a `201` OTP creation, if it was one.
pub fn created_id(f: &Fired) -> Option<String> {
    if f.status != 201 {
        return None;
    }
    let v: Value = serde_json::from_str(&f.body).ok()?;
    v.get("id")?.as_str().map(str::to_owned)
}

/// The last lines of a log file, for error messages.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(20);
    format!("{}:\n{}", path.display(), lines[from..].join("\n"))
}

/// A SIPp statistics column's value on the last line of its `-stf` CSV.
pub fn sipp_stat(dir: &Path, column: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("sipp-stats.csv")).ok()?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next()?.split(';').collect();
    let index = header.iter().position(|h| *h == column)?;
    let last = lines.next_back()?;
    last.split(';').nth(index)?.trim().parse().ok()
}
