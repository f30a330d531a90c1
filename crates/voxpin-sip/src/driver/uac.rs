//! A minimal calling agent: places calls, holds each answered call, hangs up.
//!
//! Used by the `uac` example and the SIPp interop tests; it plays no media.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::SeedableRng;

use super::run::{drive, Agent};
use super::SipTransport;
use crate::auth::Credentials;
use crate::msg::{NameAddr, Uri};
use crate::sdp::{self, Codec, LocalMedia, Negotiated, SessionDescription};
use crate::{
    CallId, Endpoint, EndpointConfig, Event, HangupCause, OutboundCall, Side, Transmit, Transport,
};

/// What the calling agent does.
#[derive(Debug, Clone)]
pub struct UacOptions {
    /// The Request-URI and To of every call.
    pub request_uri: Uri,
    /// Where the INVITEs go.
    pub destination: SocketAddr,
    /// Over which transport.
    pub transport: Transport,
    /// The From (caller id).
    pub from: NameAddr,
    /// How many calls to place (all at once).
    pub calls: usize,
    /// How long to keep an answered call before sending BYE.
    pub hold: Duration,
    /// How long to let a call ring before CANCEL.
    pub ring_timeout: Duration,
    /// Credentials for digest challenges.
    pub credentials: Option<Credentials>,
    /// The address put in our SDP `c=` line.
    pub media_address: IpAddr,
    /// The first RTP port offered; call *n* uses `media_port + 2n`.
    pub media_port: u16,
}

/// What the calling agent saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UacReport {
    /// Calls placed.
    pub placed: usize,
    /// Calls answered (2xx).
    pub answered: usize,
    /// Answered calls whose SDP answer was unusable (they are still hung up normally).
    pub bad_answers: usize,
    /// Calls we hung up (BYE after the hold time, or CANCEL).
    pub ended_by_local: usize,
    /// Calls the far end ended (BYE, or a final error response).
    pub ended_by_remote: usize,
    /// How each unanswered call failed: (final status, cause name).
    pub failures: Vec<(Option<u16>, &'static str)>,
    /// The media negotiated per answered call, in order.
    pub negotiated: Vec<Negotiated>,
    /// INVITE requests sent, retransmissions and authenticated retries included.
    pub invites_sent: usize,
    /// INVITEs that carried an `Authorization` or `Proxy-Authorization` header.
    pub authorized_invites: usize,
}

impl fmt::Display for UacReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "placed={} answered={} ended_by_local={} ended_by_remote={} failed={} invites_sent={}",
            self.placed,
            self.answered,
            self.ended_by_local,
            self.ended_by_remote,
            self.failures.len(),
            self.invites_sent
        )
    }
}

/// Places `options.calls` calls, hangs each up `options.hold` after it is
/// answered, and returns when every call has ended.
///
/// `seed` seeds the endpoint's tags, branches and Call-IDs. Wrap the future in
/// `tokio::time::timeout` to bound it. The transport stays open afterwards: over
/// TCP a peer may still be waiting out its own timers on the connection.
pub async fn place_calls(
    transport: &mut SipTransport,
    config: EndpointConfig,
    options: UacOptions,
    seed: u64,
) -> io::Result<UacReport> {
    let rng = Box::new(rand::rngs::StdRng::seed_from_u64(seed));
    let now = super::run::now();
    let mut endpoint = Endpoint::new(config, rng, now);
    let mut agent = Caller {
        offers: BTreeMap::new(),
        hangups: BTreeMap::new(),
        ended: 0,
        report: UacReport::default(),
        calls: options.calls,
    };
    for index in 0..options.calls {
        let offset = u16::try_from(index.saturating_mul(2)).unwrap_or(0);
        let local = LocalMedia {
            address: options.media_address,
            port: options.media_port.saturating_add(offset),
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: true,
            ptime_ms: 20,
        };
        let offer = sdp::offer(&local, u64::try_from(index).unwrap_or(0));
        let call = endpoint.call(
            now,
            OutboundCall {
                request_uri: options.request_uri.clone(),
                destination: options.destination,
                transport: options.transport,
                from: options.from.clone(),
                to: NameAddr::new(options.request_uri.clone()),
                sdp_offer: Bytes::from(offer.to_bytes()),
                credentials: options.credentials.clone(),
                ring_timeout: options.ring_timeout,
                extra_headers: Vec::new(),
            },
        );
        agent.offers.insert(call, (offer, options.hold));
        agent.report.placed += 1;
    }
    drive(transport, &mut endpoint, &mut agent, None).await?;
    Ok(agent.report)
}

struct Caller {
    /// Our offer per call, and how long to hold it once answered.
    offers: BTreeMap<CallId, (SessionDescription, Duration)>,
    /// When to hang up each answered call.
    hangups: BTreeMap<CallId, Instant>,
    ended: usize,
    calls: usize,
    report: UacReport,
}

impl Agent for Caller {
    fn handle_event(&mut self, _endpoint: &mut Endpoint, now: Instant, event: Event) {
        match event {
            Event::Answered { call, sdp_answer } => {
                self.report.answered += 1;
                let Some((offer, hold)) = self.offers.get(&call) else {
                    return;
                };
                let negotiated = sdp_answer
                    .ok_or(sdp::SdpError::MissingLine('v'))
                    .and_then(|answer| SessionDescription::parse(&answer))
                    .and_then(|answer| sdp::accept_answer(offer, &answer));
                match negotiated {
                    Ok(negotiated) => self.report.negotiated.push(negotiated),
                    Err(_) => self.report.bad_answers += 1,
                }
                self.hangups.insert(call, now + *hold);
            }
            Event::Ended {
                call,
                cause,
                status,
                by,
            } => {
                self.ended += 1;
                self.hangups.remove(&call);
                match by {
                    Side::Local => self.report.ended_by_local += 1,
                    Side::Remote => self.report.ended_by_remote += 1,
                }
                if cause != HangupCause::NormalClearing {
                    self.report.failures.push((status, cause.as_str()));
                }
            }
            _ => {}
        }
    }

    fn observe_transmit(&mut self, transmit: &Transmit) {
        if transmit.payload.starts_with(b"INVITE ") {
            self.report.invites_sent += 1;
            let head_end = transmit
                .payload
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .unwrap_or(transmit.payload.len());
            let head = String::from_utf8_lossy(transmit.payload.get(..head_end).unwrap_or(&[]));
            let authorized = head.lines().any(|line| {
                let name = line.split(':').next().unwrap_or("").trim();
                name.eq_ignore_ascii_case("Authorization")
                    || name.eq_ignore_ascii_case("Proxy-Authorization")
            });
            if authorized {
                self.report.authorized_invites += 1;
            }
        }
    }

    fn handle_timeout(&mut self, endpoint: &mut Endpoint, now: Instant) {
        let due: Vec<CallId> = self
            .hangups
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(call, _)| *call)
            .collect();
        for call in due {
            self.hangups.remove(&call);
            endpoint.hangup(now, call);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.hangups.values().min().copied()
    }

    fn is_done(&self) -> bool {
        self.ended >= self.calls
    }
}
