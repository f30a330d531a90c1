//! A minimal answering agent: rings, answers with SDP, waits for the caller's BYE.
//!
//! Used by the `uas` example and the SIPp interop tests; it plays no media.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;
use rand::SeedableRng;

use super::run::{drive, Agent};
use super::SipTransport;
use crate::msg::HeaderName;
use crate::sdp::{self, Codec, LocalMedia, Negotiated, SdpError, SessionDescription};
use crate::{CallId, Endpoint, EndpointConfig, Event, Side};

/// What the answering agent does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UasOptions {
    /// The address put in our SDP `c=` line.
    pub media_address: IpAddr,
    /// The first RTP port advertised; call *n* uses `media_port + 2n`.
    pub media_port: u16,
    /// Stop after this many calls have ended.
    pub calls: usize,
    /// Send 180 Ringing before the 200 OK.
    pub ring: bool,
}

/// What the answering agent saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UasReport {
    /// INVITEs that started a call.
    pub incoming: usize,
    /// Calls answered with 200 OK.
    pub answered: usize,
    /// Calls refused with 488 because no codec was common (or the offer was unreadable).
    pub rejected: usize,
    /// Calls whose ACK arrived.
    pub confirmed: usize,
    /// Calls the caller hung up (BYE or CANCEL).
    pub ended_by_remote: usize,
    /// Calls that ended otherwise (our timers, our rejection).
    pub ended_by_local: usize,
    /// The media negotiated per answered call, in order.
    pub negotiated: Vec<Negotiated>,
    /// Digits received as SIP INFO.
    pub digits: Vec<char>,
}

impl fmt::Display for UasReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "incoming={} answered={} rejected={} confirmed={} ended_by_remote={} ended_by_local={} \
             digits={:?}",
            self.incoming,
            self.answered,
            self.rejected,
            self.confirmed,
            self.ended_by_remote,
            self.ended_by_local,
            self.digits.iter().collect::<String>()
        )
    }
}

/// Answers calls on `transport` until `options.calls` calls have ended.
///
/// `seed` seeds the endpoint's tags, branches and Call-IDs. Wrap the future in
/// `tokio::time::timeout` to bound it. The transport stays open afterwards: over
/// TCP a peer may still be waiting out its own timers on the connection.
pub async fn answer_calls(
    transport: &mut SipTransport,
    config: EndpointConfig,
    options: UasOptions,
    seed: u64,
) -> io::Result<UasReport> {
    let rng = Box::new(rand::rngs::StdRng::seed_from_u64(seed));
    let mut endpoint = Endpoint::new(config, rng, super::run::now());
    let mut agent = Answerer {
        options,
        report: UasReport::default(),
        ended: 0,
    };
    drive(transport, &mut endpoint, &mut agent, None).await?;
    Ok(agent.report)
}

struct Answerer {
    options: UasOptions,
    report: UasReport,
    ended: usize,
}

impl Answerer {
    fn local_media(&self) -> LocalMedia {
        let offset = u16::try_from(self.report.incoming.saturating_mul(2)).unwrap_or(0);
        LocalMedia {
            address: self.options.media_address,
            port: self.options.media_port.saturating_add(offset),
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: true,
            ptime_ms: 20,
        }
    }

    fn answer(
        &mut self,
        endpoint: &mut Endpoint,
        now: Instant,
        call: CallId,
        offer: Option<Bytes>,
    ) {
        let local = self.local_media();
        let session_id = u64::try_from(self.report.incoming).unwrap_or(0);
        let answer = match offer {
            // No offer in the INVITE: ours goes in the 200, the answer comes in the ACK.
            None => Ok(sdp::offer(&local, session_id)),
            Some(offer) => SessionDescription::parse(&offer)
                .and_then(|offer| sdp::answer(&offer, &local, session_id))
                .map(|(answer, negotiated)| {
                    self.report.negotiated.push(negotiated);
                    answer
                }),
        };
        match answer {
            Ok(answer) => {
                if self.options.ring {
                    endpoint.ringing(now, call);
                }
                endpoint.answer(now, call, Bytes::from(answer.to_bytes()));
                self.report.answered += 1;
            }
            Err(SdpError::NoCommonCodec) | Err(_) => {
                endpoint.reject(
                    now,
                    call,
                    488,
                    vec![(HeaderName::Accept, "application/sdp".into())],
                );
                self.report.rejected += 1;
            }
        }
    }
}

impl Agent for Answerer {
    fn handle_event(&mut self, endpoint: &mut Endpoint, now: Instant, event: Event) {
        match event {
            Event::IncomingCall {
                call, sdp_offer, ..
            } => {
                self.report.incoming += 1;
                self.answer(endpoint, now, call, sdp_offer);
            }
            Event::Confirmed { .. } => self.report.confirmed += 1,
            Event::Dtmf { digit, .. } => self.report.digits.push(digit),
            Event::Ended { by, .. } => {
                self.ended += 1;
                match by {
                    Side::Remote => self.report.ended_by_remote += 1,
                    Side::Local => self.report.ended_by_local += 1,
                }
            }
            _ => {}
        }
    }

    fn is_done(&self) -> bool {
        self.ended >= self.options.calls
    }
}
