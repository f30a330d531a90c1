//! Real-time scheduling of the send threads: out-of-range priorities are
//! refused before the thread is touched; a valid one is either applied
//! (the thread is then `SCHED_FIFO` at that priority and keeps running) or
//! refused as not permitted (the thread is then unchanged), depending on
//! the rights the test runs with; a thread that drops `CAP_SYS_NICE` (and
//! has no `RLIMIT_RTPRIO`) gets the not-permitted error naming the remedy.
//! The same holds for a worker's option.
//! A worker that spins before its ticks still sends one unbroken stream
//! and reports how late it woke.
#![cfg(all(feature = "driver", target_os = "linux"))]

mod common;

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

use common::*;
use voxpin_media::driver::{
    set_realtime_priority, MediaWorker, PortAllocator, PortRange, RealtimeError, WorkerError,
    WorkerOptions,
};
use voxpin_media::rtp::RtpPacket;
use voxpin_media::*;

const SCHED_OTHER: u32 = 0;
const SCHED_FIFO: u32 = 1;

/// (policy, rt_priority) of the calling thread, from `/proc/thread-self/stat`.
fn scheduling() -> (u32, u32) {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("procfs");
    let after = stat.rsplit_once(')').expect("comm ends with ')'").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 40 (rt_priority) and 41 (policy), 1-based, counted from pid;
    // `after` starts at field 3.
    let rt_priority = fields[40 - 3].parse().expect("rt_priority");
    let policy = fields[41 - 3].parse().expect("policy");
    (policy, rt_priority)
}

/// Runs `f` on a fresh thread, so the test harness's threads stay normal.
fn on_new_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().expect("thread ran")
}

#[test]
fn priorities_outside_1_to_99_are_refused_without_touching_the_thread() {
    for priority in [0u8, 100, 255] {
        let (result, before, after) = on_new_thread(move || {
            let before = scheduling();
            let result = set_realtime_priority(priority);
            (result, before, scheduling())
        });
        assert!(
            matches!(result, Err(RealtimeError::OutOfRange(p)) if p == priority),
            "priority {priority}: {result:?}"
        );
        assert_eq!(before, (SCHED_OTHER, 0));
        assert_eq!(after, before, "priority {priority} changed the thread");
    }
}

#[test]
fn a_valid_priority_is_applied_or_refused_as_not_permitted() {
    let (result, after, work) = on_new_thread(|| {
        let result = set_realtime_priority(3);
        let after = scheduling();
        // The thread still runs normally afterwards.
        let work: u64 = (1..=1000u64).sum();
        (result, after, work)
    });
    match result {
        Ok(()) => assert_eq!(after, (SCHED_FIFO, 3)),
        Err(RealtimeError::NotPermitted { priority: 3 }) => assert_eq!(after, (SCHED_OTHER, 0)),
        Err(other) => panic!("unexpected error: {other}"),
    }
    assert_eq!(work, 500_500);
}

#[test]
fn without_the_right_the_refusal_names_it_and_leaves_the_thread_alone() {
    use rustix::process::{getrlimit, Resource};
    use rustix::thread::{capabilities, set_capabilities, CapabilitySet};

    let (result, after, can_still) = on_new_thread(|| {
        // Capabilities are per thread: drop CAP_SYS_NICE from this one.
        if let Ok(mut sets) = capabilities(None) {
            sets.effective.remove(CapabilitySet::SYS_NICE);
            let _ = set_capabilities(None, sets);
        }
        let has_nice = capabilities(None)
            .map(|s| s.effective.contains(CapabilitySet::SYS_NICE))
            .unwrap_or(false);
        let rtprio = getrlimit(Resource::Rtprio).current.unwrap_or(u64::MAX);
        let result = set_realtime_priority(3);
        (result, scheduling(), has_nice || rtprio >= 3)
    });
    println!("still permitted without CAP_SYS_NICE: {can_still}; result: {result:?}");
    if can_still {
        // RLIMIT_RTPRIO allows it here: the call must then succeed.
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(after, (SCHED_FIFO, 3));
    } else {
        assert!(
            matches!(result, Err(RealtimeError::NotPermitted { priority: 3 })),
            "{result:?}"
        );
        assert_eq!(after, (SCHED_OTHER, 0));
    }
}

#[test]
fn a_worker_with_an_out_of_range_priority_does_not_start() {
    let options = WorkerOptions::default().with_realtime_priority(0);
    let result = MediaWorker::spawn_with("rtp-rt-bad", options);
    assert!(
        matches!(
            result,
            Err(WorkerError::Realtime(RealtimeError::OutOfRange(0)))
        ),
        "{:?}",
        result.map(|_| ())
    );
}

#[test]
fn a_worker_with_a_valid_priority_runs_or_says_why_not() {
    let options = WorkerOptions::default().with_realtime_priority(3);
    match MediaWorker::spawn_with("rtp-rt-ok", options) {
        Ok((worker, _events)) => {
            let report = worker.report().expect("worker answers");
            assert_eq!(report.sessions, 0);
            worker.shutdown();
        }
        Err(WorkerError::Realtime(RealtimeError::NotPermitted { priority: 3 })) => {}
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[test]
fn a_spinning_worker_sends_an_unbroken_stream_and_reports_its_wake_ups() {
    let options = WorkerOptions::default().with_spin(Duration::from_micros(200));
    let (worker, _events) = MediaWorker::spawn_with("rtp-spin", options).unwrap();
    let phone = UdpSocket::bind("127.0.0.1:0").unwrap();
    phone
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let ports = PortAllocator::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        PortRange {
            first: 38_400,
            last: 38_499,
        },
    );
    let socket = ports.bind().unwrap();
    let ours = socket.local_addr().unwrap();
    let mut config = SessionConfig::new(Codec::Pcmu, synthetic_library());
    config.remote = Some(phone.local_addr().unwrap());
    config.symmetric = false;
    config.inband_dtmf = false;
    let session = MediaSession::new(epoch(), config, &mut rng(3));
    let key = SessionKey(3);
    worker.insert(key, session, socket).unwrap();
    let en = Language::new("en").unwrap();
    worker
        .play(
            key,
            Playlist::new(en).with(ItemTag(1), PlayItem::Prompt("your-code-is".into())),
        )
        .unwrap();

    let mut buf = [0u8; 1500];
    let mut previous: Option<(u16, u32)> = None;
    for _ in 0..10 {
        let (n, from) = phone.recv_from(&mut buf).unwrap();
        assert_eq!(from, ours);
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        if let Some((seq, ts)) = previous {
            assert_eq!(
                p.sequence,
                seq.wrapping_add(1),
                "no packet lost or repeated"
            );
            // One frame apart, or whole frames more if the machine stalled
            // the worker past a slot (skipped, never burst).
            let step = p.timestamp.wrapping_sub(ts);
            assert!(step >= 160 && step % 160 == 0, "timestamp step {step}");
        }
        previous = Some((p.sequence, p.timestamp));
    }
    let report = worker.report().unwrap();
    assert!(report.packets_sent >= 10, "{report:?}");
    assert!(
        report.wakeup_lateness.count() >= 10,
        "one wake-up per tick slept to: {report:?}"
    );
    worker.shutdown();
}
