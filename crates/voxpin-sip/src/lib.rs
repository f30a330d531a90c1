//! voxpin-sip: a sans-IO SIP user agent for placing and answering calls.
//!
//! The [`Endpoint`] is a state machine. It never reads the clock or touches
//! a socket: the driver hands it every datagram with the time it arrived,
//! calls it back at the time it asks for, and sends what it queues. After
//! **every** input (a datagram, a timeout, a command) drain
//! [`Endpoint::poll_transmit`] and [`Endpoint::poll_event`] until both are
//! empty, then sleep until [`Endpoint::poll_timeout`].
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use rand::SeedableRng;
//! use voxpin_sip::msg::{NameAddr, Uri};
//! use voxpin_sip::{Endpoint, EndpointConfig, Event, OutboundCall, Transport};
//!
//! let now = Instant::now();
//! let config = EndpointConfig {
//!     contact: "192.0.2.1:5060".parse().unwrap(),
//!     ..EndpointConfig::default()
//! };
//! let rng = Box::new(rand::rngs::StdRng::seed_from_u64(7));
//! let mut ep = Endpoint::new(config, rng, now);
//!
//! // A command: place a call through a trunk.
//! let call = ep.call(now, OutboundCall {
//!     request_uri: Uri::parse("sip:+15550100@trunk.example.net").unwrap(),
//!     destination: "198.51.100.7:5060".parse().unwrap(),
//!     transport: Transport::Udp,
//!     from: NameAddr::parse("<sip:otp@example.com>").unwrap(),
//!     to: NameAddr::parse("<sip:+15550100@trunk.example.net>").unwrap(),
//!     sdp_offer: Bytes::from_static(b"v=0\r\n"),
//!     credentials: None,
//!     ring_timeout: Duration::from_secs(30),
//!     extra_headers: vec![],
//! });
//!
//! // The drive loop (a real driver also feeds `ep.handle_datagram(now, ..)`
//! // for every packet it receives).
//! while let Some(transmit) = ep.poll_transmit() {
//!     // socket.send_to(&transmit.payload, transmit.destination)
//!     assert!(transmit.payload.starts_with(b"INVITE "));
//! }
//! while let Some(event) = ep.poll_event() {
//!     match event {
//!         Event::Answered { .. } | Event::Ended { .. } => {}
//!         _ => {}
//!     }
//! }
//! let wake_at = ep.poll_timeout().expect("timer A is armed");
//! ep.handle_timeout(wake_at); // no answer yet: the INVITE is retransmitted
//! assert!(ep.poll_transmit().is_some());
//! # let _ = call;
//! ```
//!
//! Modules: [`msg`] (message model, parsing, printing), [`transaction`]
//! (RFC 3261 transactions and timers), [`dialog`], [`call`] (hang-up
//! causes), [`register`] (REGISTER client), [`info`] (INFO DTMF), [`sdp`]
//! (offer/answer), [`auth`] (digest); with the cargo feature `driver`,
//! `driver` (the tokio UDP/TCP transport and drive loop).

pub mod auth;
pub mod call;
pub mod dialog;
#[cfg(feature = "driver")]
pub mod driver;
pub mod endpoint;
pub mod info;
pub mod msg;
pub mod register;
pub mod sdp;
pub mod transaction;

pub use call::HangupCause;
pub use endpoint::{
    CallId, Endpoint, EndpointConfig, Event, OutboundCall, Side, Transmit, Transport,
};
pub use register::{Registration, RegistrationId, RegistrationState};
pub use transaction::TimerConfig;
