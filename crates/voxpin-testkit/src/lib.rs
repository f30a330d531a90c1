//! What voxpin's end-to-end tests (`crates/voxpin/tests`) and its capacity
//! benchmark (`voxpin-bench`) both write before they start the binary
//! against SIPp on loopback:
//!
//! - [`pcap`]: RTP packets and classic pcap files SIPp replays with
//!   `play_pcap_audio`, among them RFC 4733 DTMF keying a code;
//! - [`config`]: voxpin's configuration file for such a run, SIPp as the
//!   only trunk.
//!
//! It holds plain functions over bytes and text, with no sockets, processes
//! or runtime, so both sides link it as they are.
//!
//! ```
//! use std::path::Path;
//! use std::time::Duration;
//! use voxpin_testkit::{config::VoxpinConfig, pcap};
//!
//! // The code 4812, keyed half a second after the call is up.
//! let keys = pcap::dtmf_pcap("4812", Duration::from_millis(500), Duration::from_millis(100));
//! assert_eq!(&keys[..4], &0xa1b2_c3d4_u32.to_le_bytes());
//!
//! let toml = VoxpinConfig {
//!     sip_port: 15060,
//!     rtp_port_min: 25000,
//!     rtp_port_max: 25019,
//!     rtp_extra: "",
//!     api_port: 18080,
//!     api_key: "test-key-0123456789",
//!     rate_limit_per_minute: None,
//!     max_concurrent_calls: 10,
//!     drain_deadline: "5s",
//!     log_level: "info",
//!     prompts_dir: Path::new("prompts"),
//!     carrier_port: 15070,
//!     carrier_dtmf: Some("rfc4733"),
//!     ring_timeout: "3s",
//!     trunk_extra: "",
//!     extra: "",
//! }
//! .to_toml();
//! assert!(toml.contains("port = 15070\n"));
//! ```

pub mod config;
pub mod pcap;
