//! Many verifications of one OTP at once (std threads, no runtime): the
//! attempt counter is read and bumped under one lock, so exactly one right
//! code succeeds and the counts are exact.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::*;
use voxpin_otp::{MemoryStore, OtpId, OtpStore, Status, VerifyError, VerifyOutcome, VerifySource};

const THREADS: usize = 100;

fn race(
    store: &Arc<MemoryStore>,
    id: OtpId,
    candidate: impl Fn(usize) -> String,
    source: VerifySource,
) -> Vec<Result<VerifyOutcome, VerifyError>> {
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let (store, barrier, code) = (Arc::clone(store), Arc::clone(&barrier), candidate(i));
            thread::spawn(move || {
                barrier.wait();
                store.verify(&id, &code, t(10), source)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn a_hundred_right_codes_at_once_verify_exactly_once() {
    let store = Arc::new(store());
    let mut new = manual("+14155550100", "123456");
    new.policy.verify_interval = Duration::ZERO;
    let id = store.create(t(0), new).unwrap().id;
    let results = race(&store, id, |_| "123456".into(), VerifySource::Call);
    let successes = results
        .iter()
        .filter(|r| matches!(r, Ok(o) if o.valid))
        .count();
    let closed = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(VerifyError::Closed {
                    status: Status::Verified
                })
            )
        })
        .count();
    assert_eq!((successes, closed), (1, THREADS - 1));
    let otp = store.get(&id).unwrap().unwrap();
    assert_eq!(otp.attempts_used, 1);
    assert_eq!(otp.status, Status::Verified);
    assert_eq!(otp.events.len(), 1);
}

#[test]
fn with_the_api_rate_limit_one_attempt_counts_and_the_others_wait() {
    let store = Arc::new(store());
    let id = store
        .create(t(0), manual("+14155550100", "123456"))
        .unwrap()
        .id;
    let results = race(&store, id, |_| "000000".into(), VerifySource::Api);
    let counted = results
        .iter()
        .filter(|r| matches!(r, Ok(o) if !o.valid))
        .count();
    let limited = results
        .iter()
        .filter(|r| {
            matches!(r, Err(VerifyError::RateLimited { retry_after })
                if *retry_after == Duration::from_secs(3))
        })
        .count();
    assert_eq!((counted, limited), (1, THREADS - 1));
    let otp = store.get(&id).unwrap().unwrap();
    assert_eq!((otp.attempts_used, otp.status), (1, Status::Queued));
}

#[test]
fn a_hundred_wrong_codes_at_once_use_exactly_the_attempts() {
    let store = Arc::new(store());
    let mut new = manual("+14155550100", "123456");
    new.policy.verify_interval = Duration::ZERO;
    let id = store.create(t(0), new).unwrap().id;
    let results = race(
        &store,
        id,
        |i| format!("{:06}", 200_000 + i),
        VerifySource::Call,
    );
    let counted = results
        .iter()
        .filter(|r| matches!(r, Ok(o) if !o.valid))
        .count();
    let closed = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(VerifyError::Closed {
                    status: Status::Failed
                })
            )
        })
        .count();
    assert_eq!((counted, closed), (5, THREADS - 5));
    let mut remaining: Vec<u32> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|o| o.attempts_remaining))
        .collect();
    remaining.sort_unstable();
    assert_eq!(
        remaining,
        vec![0, 1, 2, 3, 4],
        "each attempt saw its own count"
    );
    let otp = store.get(&id).unwrap().unwrap();
    assert_eq!((otp.attempts_used, otp.status), (5, Status::Failed));
}

#[test]
fn right_and_wrong_codes_racing_give_at_most_one_success() {
    let store = Arc::new(store());
    let mut new = manual("+14155550100", "123456");
    new.policy.verify_interval = Duration::ZERO;
    new.policy.max_attempts = 1_000;
    let id = store.create(t(0), new).unwrap().id;
    let results = race(
        &store,
        id,
        |i| {
            if i % 2 == 0 {
                "123456".into()
            } else {
                "654321".into()
            }
        },
        VerifySource::Call,
    );
    let successes = results
        .iter()
        .filter(|r| matches!(r, Ok(o) if o.valid))
        .count();
    let counted = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(successes, 1);
    let otp = store.get(&id).unwrap().unwrap();
    assert_eq!(otp.attempts_used as usize, counted);
    assert_eq!(otp.status, Status::Verified);
}

#[test]
fn many_otps_created_and_verified_in_parallel_stay_consistent() {
    let store = Arc::new(store());
    let handles: Vec<_> = (0..8u64)
        .map(|worker| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                for i in 0..200u64 {
                    let to = format!("+1415555{:04}", worker * 1000 + i);
                    let mut new = manual(&to, "123456");
                    new.limits.max_concurrent_calls = Some(10_000);
                    let id = store.create(t(i), new).unwrap().id;
                    store
                        .verify(&id, "123456", t(i + 1), VerifySource::Call)
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.len(), 1600);
    assert_eq!(store.calls_in_progress(&app("login")), 0);
}
