//! Real-time scheduling of the send threads: out-of-range priorities are
//! refused before the thread is touched; a valid one is either applied
//! (the thread is then `SCHED_FIFO` at that priority and keeps running) or
//! refused as not permitted (the thread is then unchanged), depending on
//! the rights the test runs with. The same holds for a worker's option.
#![cfg(all(feature = "driver", target_os = "linux"))]

use voxpin_media::driver::{
    set_realtime_priority, MediaWorker, RealtimeError, WorkerError, WorkerOptions,
};

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
