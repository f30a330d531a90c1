//! The control: an idle thread in the bench that sleeps to absolute 1 ms
//! deadlines during a measurement window and records how late it wakes.
//! It does no work, so its lateness is what the machine (scheduler, other
//! virtual machines on the host) adds before voxpin's code runs at all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const TICK: Duration = Duration::from_millis(1);

/// A running control thread; [`Control::stop`] returns its wake-up lateness
/// in seconds, one sample per tick.
#[derive(Debug)]
pub struct Control {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<f64>>,
}

impl Control {
    /// Starts the thread, under SCHED_FIFO one above `rt` when given: above
    /// voxpin's engine thread, so the control is never queued behind it and
    /// shows only what outranks both (interrupts, the hypervisor).
    pub fn start(rt: Option<u8>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            if let Some(priority) = rt {
                let priority = priority.saturating_add(1).min(99);
                if let Err(e) = voxpin_media::driver::set_realtime_priority(priority) {
                    eprintln!("control thread stays at normal priority: {e}");
                }
            }
            let mut samples = Vec::with_capacity(64 * 1024);
            let mut deadline = Instant::now() + TICK;
            while !flag.load(Ordering::Relaxed) {
                let now = Instant::now();
                if let Some(wait) = deadline.checked_duration_since(now) {
                    std::thread::sleep(wait);
                }
                let woke = Instant::now();
                samples.push(woke.saturating_duration_since(deadline).as_secs_f64());
                // Absolute deadlines; after a long stall, resume from now.
                deadline += TICK;
                if deadline < woke {
                    deadline = woke + TICK;
                }
            }
            samples
        });
        Control { stop, thread }
    }

    /// Stops the thread and returns its samples (empty if it panicked).
    pub fn stop(self) -> Vec<f64> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_one_sample_per_tick_and_none_negative() {
        let control = Control::start(None);
        // Let it take a few ticks; the count is bounded by elapsed time.
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(30) {
            std::thread::yield_now();
        }
        let samples = control.stop();
        let elapsed_ticks = started.elapsed().as_millis() as usize + 2;
        assert!(!samples.is_empty());
        assert!(samples.len() <= elapsed_ticks, "{} samples", samples.len());
        assert!(samples.iter().all(|s| *s >= 0.0));
    }
}
