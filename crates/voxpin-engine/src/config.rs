//! The engine's settings, built by the binary from `voxpin.toml`.

use std::net::IpAddr;
use std::time::Duration;

use voxpin_sip::EndpointConfig;

use crate::trunk::Trunks;

/// Default pacing ticks per 20 ms frame (1 ms ticks).
pub const DEFAULT_PACER_PHASES: u32 = 20;

/// Everything the engine needs to know that is not a dialplan or a prompt.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The SIP endpoint (advertised contact, user agent, timers).
    pub endpoint: EndpointConfig,
    /// The address put in SDP `c=` lines.
    pub media_address: IpAddr,
    /// First RTP port (inclusive; odd values are rounded up to even).
    pub rtp_port_min: u16,
    /// Last RTP port (inclusive).
    pub rtp_port_max: u16,
    /// Calls at once, both directions. Over it inbound calls get 503 and
    /// outbound dials wait in a queue.
    pub max_calls: usize,
    /// The carrier trunks.
    pub trunks: Trunks,
    /// `Retry-After` of a 503 when full or draining.
    pub retry_after: Duration,
    /// The language used when an OTP names none.
    pub default_language: String,
    /// How long a finished call's record waits for its SMS result.
    pub sms_record_wait: Duration,
    /// Pacing ticks per 20 ms frame: calls are spread over this many send
    /// slots, so each wake-up of the IO loop sends about
    /// `calls / pacer_phases` packets. More phases mean a tick's last packet
    /// leaves sooner after its deadline, at the price of more wake-ups.
    pub pacer_phases: u32,
}

impl EngineConfig {
    /// Settings with the defaults for everything but the endpoint, the media
    /// address and the trunks.
    pub fn new(endpoint: EndpointConfig, media_address: IpAddr, trunks: Trunks) -> Self {
        Self {
            endpoint,
            media_address,
            rtp_port_min: 20_000,
            rtp_port_max: 29_999,
            max_calls: 1_000,
            trunks,
            retry_after: Duration::from_secs(30),
            default_language: "en".into(),
            sms_record_wait: Duration::from_secs(120),
            pacer_phases: DEFAULT_PACER_PHASES,
        }
    }
}
