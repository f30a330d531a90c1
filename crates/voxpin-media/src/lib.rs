//! voxpin media: RTP for calls that read codes aloud and hear keypresses.
//!
//! Sans-IO: nothing here opens a socket, reads a clock or spawns a task.
//! The two exceptions are explicit: [`PromptLibrary::load_dir`] reads the
//! prompt folder once at start-up, and the optional `driver` feature adds
//! UDP sockets and the per-worker send thread.
//! You feed datagrams and `now` in, and drain packets, deadlines and events.
//!
//! - [`g711`]: μ-law / A-law ([`Codec`]).
//! - [`prompt`]: the [`PromptLibrary`], WAV prompts encoded once and shared.
//! - [`playlist`]: [`Playlist`] of prompts, silences and paced code digits.
//! - [`session`]: [`MediaSession`], one call's paced playout, strict RTP
//!   source learning, RFC 4733 ([`dtmf`]) and in-band ([`inband`]) DTMF.
//! - [`pacer`]: [`Pacer`], every session of a worker on one 20 ms send loop.
//! - [`rtp`]: packet parsing and building (the only user of `rtp-rs`).
//! - `driver` (feature `driver`): UDP sockets from a port range and the
//!   per-worker send thread (`MediaWorker`, with `WorkerOptions` for
//!   phases, real-time priority, timer slack and spinning), plus
//!   `set_realtime_priority`, `set_timer_slack` and `sleep_until` for any
//!   pacing thread.
//!
//! # Drive loop
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Duration, Instant};
//! use voxpin_media::*;
//!
//! // Prompts: normally `PromptLibrary::load_dir("prompts".as_ref())?`.
//! let mut builder = PromptLibrary::builder();
//! builder.add_samples("en", "goodbye", &[0i16; 800]).unwrap();
//! let prompts = Arc::new(builder.build());
//!
//! let now = Instant::now();
//! let mut config = SessionConfig::new(Codec::Pcmu, prompts);
//! config.remote = Some("127.0.0.1:40000".parse().unwrap());
//! config.telephone_event = Some(101); // from the SDP answer
//! let mut rng = rand::rng();
//! let mut session = MediaSession::new(now, config, &mut rng);
//!
//! let en = Language::new("en").unwrap();
//! let playlist = Playlist::new(en).with(ItemTag(1), PlayItem::Prompt("goodbye".into()));
//! session.play(now, &playlist).unwrap();
//!
//! let mut buf = [0u8; PACKET_LEN];
//! let mut t = now;
//! let mut sent = 0;
//! let mut finished = false;
//! while !finished {
//!     // A driver sleeps until `session.poll_timeout()`, and calls
//!     // `session.handle_rtp(now, source, &datagram)` on receive.
//!     session.handle_timeout(t);
//!     while let Some(tx) = session.poll_transmit(t, &mut buf) {
//!         let _packet = &buf[..tx.len]; // send to tx.destination
//!         sent += 1;
//!     }
//!     while let Some(event) = session.poll_event() {
//!         finished |= event == MediaEvent::PlaylistFinished;
//!     }
//!     t = session.poll_timeout().unwrap();
//! }
//! assert_eq!(sent, 5); // 100 ms of audio, 20 ms per packet
//! ```

#[cfg(feature = "driver")]
pub mod driver;
pub mod dtmf;
pub mod g711;
pub mod inband;
pub mod pacer;
pub mod playlist;
pub mod prompt;
pub mod rtp;
pub mod sequence;
pub mod session;

pub use dtmf::{DtmfReceiver, TelephoneEvent};
pub use g711::Codec;
pub use pacer::{LatenessHistogram, Pacer, SessionKey};
pub use playlist::{CodeDigits, ItemTag, Pacing, PlayItem, Playlist, PlaylistError};
pub use prompt::{Language, Prompt, PromptError, PromptLibrary, PromptLibraryBuilder};
pub use rtp::Ssrc;
pub use session::{
    DigitSource, MediaCounters, MediaEvent, MediaSession, SessionConfig, Transmit, PACKET_LEN,
};

/// A fixed instant for unit tests (the core never reads the clock itself).
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
pub(crate) fn test_epoch() -> std::time::Instant {
    std::time::Instant::now()
}

#[cfg(test)]
mod tests {
    /// Sessions move between threads; the library is shared between them.
    #[test]
    fn thread_safety_of_the_public_types() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync>() {}
        send::<crate::MediaSession>();
        send::<crate::Pacer>();
        send::<crate::Playlist>();
        send_sync::<crate::PromptLibrary>();
        send_sync::<crate::SessionConfig>();
    }
}
