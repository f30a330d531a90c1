//! The tokio driver (cargo feature `driver`): SIP over UDP and TCP sockets.
//!
//! The core ([`Endpoint`](crate::Endpoint)) never touches a socket or a clock;
//! this module does both and nothing else. [`SipTransport`] owns one UDP socket,
//! an optional TCP listener and the TCP connections (reused per remote address,
//! closed when idle, framed with [`msg::StreamFramer`](crate::msg::StreamFramer),
//! 64 KiB message cap, bounded queues). [`run_endpoint`] is the drive loop:
//! it feeds received bytes and expired timers into the endpoint, sends what it
//! produces, forwards its events and runs commands sent through an
//! [`EndpointHandle`].
//!
//! ```no_run
//! # async fn demo(endpoint: voxpin_sip::Endpoint) -> std::io::Result<()> {
//! use voxpin_sip::driver::{spawn_endpoint, SipTransport, TransportConfig};
//!
//! let transport = SipTransport::bind(
//!     "127.0.0.1:5060".parse().unwrap(),
//!     Some("127.0.0.1:5060".parse().unwrap()),
//!     TransportConfig::default(),
//! ).await?;
//! let (handle, mut events, _task) = spawn_endpoint(transport, endpoint);
//! while let Some(event) = events.recv().await {
//!     if let voxpin_sip::Event::IncomingCall { call, .. } = event {
//!         handle.with(move |ep, now| ep.reject(now, call, 486, Vec::new())).await;
//!     }
//! }
//! # Ok(()) }
//! ```

mod run;
mod transport;
pub mod uac;
pub mod uas;

pub use run::{run_endpoint, spawn_endpoint, Command, EndpointHandle};
pub use transport::{SipTransport, TransportConfig, TransportEvent};

use std::time::Duration;

/// The largest SIP message sent or accepted over any transport (64 KiB).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Default time after which a TCP connection with no traffic is closed.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
