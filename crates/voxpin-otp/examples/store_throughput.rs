//! Measures the in-memory store: creations, verifications and lookups per
//! second, and resident memory per OTP record (Linux, from /proc).
//!
//! ```text
//! cargo run --release -p voxpin-otp --example store_throughput [records]
//! ```
// A benchmark measures real time: the sans-IO clock rule does not apply here.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use voxpin_otp::{
    Application, Code, CodeSource, EventKind, Keypress, MemoryStore, Mode, NewOtp, OtpId, OtpStore,
    PhoneNumber, SecretKey, VerifySource,
};

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn rate(n: usize, took: Duration) -> String {
    format!(
        "{:>10.0}/s  ({:.2} µs each)",
        n as f64 / took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / n as f64
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200_000);
    let store = Arc::new(MemoryStore::new(SecretKey::generate()?));
    let app = Application::new("login")?;
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let before = resident_bytes();

    let started = Instant::now();
    let mut ids: Vec<OtpId> = Vec::with_capacity(n);
    for i in 0..n {
        let to = PhoneNumber::new(&format!("+1415{:07}", i))?;
        let mut new = NewOtp::new(app.clone(), to, Mode::Read);
        new.code = CodeSource::Manual(Code::manual("123456")?);
        ids.push(store.create(now, new)?.id);
    }
    println!("create (manual code)      {}", rate(n, started.elapsed()));
    // A typical call's record: ~12 events.
    for id in &ids {
        store.record_event(
            id,
            now,
            EventKind::DialAttempt {
                trunk: "carrier".into(),
                attempt: 1,
            },
        )?;
        store.record_event(id, now, EventKind::SipResponse { status: 180 })?;
        store.record_event(id, now, EventKind::Ringing)?;
        store.record_event(id, now, EventKind::Answered)?;
        store.record_event(id, now, EventKind::prompt_played("your-code-is"))?;
        store.record_event(id, now, EventKind::CodePlayed { count: 1 })?;
        store.record_event(id, now, EventKind::prompt_played("press-1-to-repeat"))?;
        store.record_event(id, now, EventKind::Keypress(Keypress::menu('1', "repeat")))?;
        store.record_event(id, now, EventKind::CodePlayed { count: 2 })?;
        store.record_event(id, now, EventKind::prompt_played("goodbye"))?;
    }
    if let (Some(b), Some(a)) = (before, resident_bytes()) {
        println!(
            "resident memory per record (12 events) ≈ {} bytes",
            a.saturating_sub(b) / n as u64
        );
    }

    let started = Instant::now();
    let mut generated = 0;
    for i in 0..n / 10 {
        let to = PhoneNumber::new(&format!("+4420{:08}", i))?;
        store.create(now, NewOtp::new(app.clone(), to, Mode::Read))?;
        generated += 1;
    }
    println!(
        "create (OS CSPRNG code)   {}",
        rate(generated, started.elapsed())
    );

    let started = Instant::now();
    for id in &ids {
        store.verify(id, "000000", now, VerifySource::Call)?;
    }
    println!("verify, wrong (1 thread)  {}", rate(n, started.elapsed()));

    let threads = thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(2);
    let ids = Arc::new(ids);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, ids) = (Arc::clone(&store), Arc::clone(&ids));
            thread::spawn(move || {
                for id in ids.iter().skip(t).step_by(threads) {
                    let _ = store.verify(id, "123456", now, VerifySource::Call);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "verify thread panicked")?;
    }
    println!(
        "verify, right ({threads} threads) {}",
        rate(n, started.elapsed())
    );

    let started = Instant::now();
    for i in 0..n {
        let to = PhoneNumber::new(&format!("+1415{:07}", i))?;
        store.find_live(&app, &to, now)?;
    }
    println!("find_live                 {}", rate(n, started.elapsed()));

    let started = Instant::now();
    let expired = store.purge_expired(now + Duration::from_secs(601))?;
    println!(
        "sweep of {} records       {:?} ({expired} expired)",
        store.len(),
        started.elapsed()
    );
    Ok(())
}
