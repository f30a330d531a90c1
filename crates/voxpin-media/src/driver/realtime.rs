//! Real-time scheduling for the send threads.
//!
//! On a busy machine the Linux scheduler makes a thread woken by its timer
//! wait behind whatever is running on that CPU, for milliseconds: the send
//! slots of every call on that worker are late by as much. A thread under
//! `SCHED_FIFO` preempts every normal thread as soon as its timer fires.
//! [`set_realtime_priority`] puts the *calling* thread under `SCHED_FIFO`;
//! [`WorkerOptions::realtime_priority`](super::WorkerOptions::realtime_priority)
//! applies it to a [`MediaWorker`](super::MediaWorker)'s send thread.
//!
//! The process needs the right to do so: `CAP_SYS_NICE`, or a
//! `RLIMIT_RTPRIO` at least as high as the priority (systemd:
//! `LimitRTPRIO=10`; or `AmbientCapabilities=CAP_SYS_NICE`; or start the
//! whole process with `chrt -f 10`). The send loop sleeps between ticks and
//! works a few hundred microseconds per tick, so it cannot starve the
//! machine; the kernel's real-time throttling (`sched_rt_runtime_us`, 95 %
//! by default) is a further backstop.

use std::io;

use thread_priority::{
    set_thread_priority_and_policy, thread_native_id, RealtimeThreadSchedulePolicy, ThreadPriority,
    ThreadPriorityValue, ThreadSchedulePolicy,
};

/// The lowest `SCHED_FIFO` priority.
pub const MIN_REALTIME_PRIORITY: u8 = 1;
/// The highest `SCHED_FIFO` priority.
pub const MAX_REALTIME_PRIORITY: u8 = 99;

/// Why the calling thread could not be put under real-time scheduling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RealtimeError {
    /// The priority is outside 1–99; the thread was left untouched.
    #[error("real-time priority {0} is out of range: SCHED_FIFO priorities are 1 to 99")]
    OutOfRange(u8),
    /// The kernel refused: the process lacks `CAP_SYS_NICE` and its
    /// `RLIMIT_RTPRIO` is below the priority.
    #[error(
        "not permitted to use SCHED_FIFO priority {priority}: the process needs CAP_SYS_NICE \
         or an RLIMIT_RTPRIO of at least {priority} (systemd: LimitRTPRIO={priority} or \
         AmbientCapabilities=CAP_SYS_NICE; or start it under `chrt -f {priority}`)"
    )]
    NotPermitted {
        /// The priority asked for.
        priority: u8,
    },
    /// Any other refusal by the operating system.
    #[error("cannot set SCHED_FIFO priority {priority}: {source}")]
    Os {
        /// The priority asked for.
        priority: u8,
        /// The operating system's error.
        source: io::Error,
    },
}

/// Puts the calling thread under `SCHED_FIFO` at `priority` (1–99; an
/// operator would usually pick a low value such as 10, above every normal
/// thread and below the kernel's own real-time threads).
///
/// Only the calling thread changes; threads it spawns later inherit the
/// policy. An out-of-range priority is refused before any system call.
///
/// ```no_run
/// # fn main() -> Result<(), voxpin_media::driver::RealtimeError> {
/// voxpin_media::driver::set_realtime_priority(10)?;
/// # Ok(())
/// # }
/// ```
pub fn set_realtime_priority(priority: u8) -> Result<(), RealtimeError> {
    if !(MIN_REALTIME_PRIORITY..=MAX_REALTIME_PRIORITY).contains(&priority) {
        return Err(RealtimeError::OutOfRange(priority));
    }
    let value =
        ThreadPriorityValue::try_from(priority).map_err(|_| RealtimeError::OutOfRange(priority))?;
    let policy = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
    match set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(value),
        policy,
    ) {
        Ok(()) => Ok(()),
        Err(thread_priority::Error::OS(code)) => {
            let source = io::Error::from_raw_os_error(code);
            if source.kind() == io::ErrorKind::PermissionDenied {
                Err(RealtimeError::NotPermitted { priority })
            } else {
                Err(RealtimeError::Os { priority, source })
            }
        }
        Err(thread_priority::Error::PriorityNotInRange(_)) => {
            Err(RealtimeError::OutOfRange(priority))
        }
        Err(other) => Err(RealtimeError::Os {
            priority,
            source: io::Error::other(other.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_names_the_remedy() {
        let text = RealtimeError::NotPermitted { priority: 10 }.to_string();
        assert!(text.contains("CAP_SYS_NICE"), "{text}");
        assert!(text.contains("RLIMIT_RTPRIO of at least 10"), "{text}");
        assert!(text.contains("LimitRTPRIO=10"), "{text}");
    }
}
