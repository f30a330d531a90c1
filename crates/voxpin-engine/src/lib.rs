//! voxpin engine: calls end to end, sans-IO.
//!
//! One [`Engine`] owns the SIP [`Endpoint`](voxpin_sip::Endpoint), the media
//! sessions of every call (on one [`Pacer`](voxpin_media::Pacer)) and one IVR
//! [`Flow`](voxpin_ivr::Flow) per answered call, with the OTP store and the
//! dialplans beside it. It never touches a socket or a clock: the driver
//! pushes datagrams, commands and time in through `handle_*`, and after every
//! input drains [`Engine::poll_output`] until it returns [`Output::Timeout`].
//!
//! - Outbound: [`Command::Dial`] picks the application's trunk, shows the
//!   application's number as caller ID, offers SDP, CANCELs at the ring
//!   timeout, and moves the OTP through calling → ringing → answered →
//!   delivered / verified / failed (or no_answer, busy, rejected, error).
//! - Inbound: only sources in a trunk's `inbound_acl` get any answer; the
//!   called number picks the application; a caller with a live OTP of that
//!   application hears its flow, anyone else "invalid request". Full or
//!   draining: 503 with `Retry-After`.
//! - Every call ends in one [`CallRecord`].
//!
//! # Drive loop
//!
//! ```no_run
//! # fn demo(mut engine: voxpin_engine::Engine, socket: std::net::UdpSocket) {
//! use std::time::{Instant, SystemTime};
//! use voxpin_engine::{Command, Output};
//! use voxpin_sip::Transport;
//!
//! let mut buf = [0u8; 65536];
//! loop {
//!     let timeout = loop {
//!         match engine.poll_output() {
//!             Some(Output::SipTransmit(t)) => { let _ = socket.send_to(&t.payload, t.destination); }
//!             Some(Output::RtpTransmit(p)) => { /* send p.payload() from p.port to p.destination */ }
//!             Some(Output::OpenRtpPort(_)) | Some(Output::CloseRtpPort(_)) => { /* bind / close */ }
//!             Some(Output::CallRecord(r)) => println!("{}", r.to_json_line()),
//!             Some(Output::Timeout(t)) => break t,
//!             Some(_) => {}
//!             None => break Instant::now(),
//!         }
//!     };
//!     socket.set_read_timeout(Some(timeout.saturating_duration_since(Instant::now()).max(std::time::Duration::from_millis(1)))).ok();
//!     match socket.recv_from(&mut buf) {
//!         Ok((n, source)) => engine.handle_sip(Instant::now(), Transport::Udp, source, &buf[..n]),
//!         Err(_) => engine.handle_timeout(Instant::now()),
//!     }
//! #   let _ = (SystemTime::now(), Command::Drain { deadline: Instant::now() });
//! }
//! # }
//! ```

mod call;
mod clock;
pub mod config;
mod engine;
mod inbound;
pub mod io;
mod outbound;
pub mod ports;
pub mod record;
pub mod route;
mod session;
mod store;
pub mod trunk;

pub use config::{EngineConfig, DEFAULT_PACER_PHASES};
pub use engine::{Engine, EngineCounters, EngineParts};
pub use io::{Command, Output, RtpTransmit, SmsRequest, StatusCallback};
pub use ports::{PortPool, RtpPort};
pub use record::{CallRecord, Direction, Disposition, HungUpBy};
pub use trunk::{DtmfMode, RetryPolicy, Trunk, TrunkAuth, TrunkName, Trunks};
