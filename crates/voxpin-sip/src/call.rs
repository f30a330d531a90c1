//! Calls: the per-call state an [`Endpoint`](crate::Endpoint) keeps, and the
//! mapping of SIP outcomes to Q.850 hang-up causes.
//!
//! An outbound call walks `Calling → Confirmed → Ended`; an inbound one
//! `Incoming → (Ringing) → Answered → Confirmed → Ended`. An ended call
//! lingers for 64·T1 so that late retransmissions (a 2xx, a BYE) are still
//! answered correctly, then it is forgotten.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::auth::Credentials;
use crate::dialog::Dialog;
use crate::endpoint::Transport;
use crate::msg::Request;
use crate::transaction::TransactionKey;

/// Why a call ended, as a Q.850 cause (the names FreeSWITCH prints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HangupCause {
    /// 16: a normal hang-up by either side.
    NormalClearing,
    /// 17: 486 Busy Here, 600 Busy Everywhere.
    UserBusy,
    /// 18: 480 Temporarily Unavailable; no response from the user.
    NoUserResponse,
    /// 19: rang without answer until our ring timeout.
    NoAnswer,
    /// 21: 401, 402, 403, 407 (after our one retry), 603 Decline.
    CallRejected,
    /// 1: 404 Not Found, 604 Does Not Exist Anywhere.
    UnallocatedNumber,
    /// 3: 485 Ambiguous.
    NoRouteDestination,
    /// 22: 410 Gone.
    NumberChanged,
    /// 28: 484 Address Incomplete.
    InvalidNumberFormat,
    /// 27: 502 Bad Gateway.
    NetworkOutOfOrder,
    /// 41: 400, 481, 500, 503.
    NormalTemporaryFailure,
    /// 58: 405 Method Not Allowed.
    ServiceUnavailable,
    /// 79: 406, 415, 501.
    ServiceNotImplemented,
    /// 88: 488 Not Acceptable Here, 606 Not Acceptable.
    IncompatibleDestination,
    /// 25: 482 Loop Detected, 483 Too Many Hops.
    ExchangeRoutingError,
    /// 127: 413, 414, 416, 420, 421, 423, 505, 513.
    Interworking,
    /// 102: 408, 504, or no response at all (Timer B), or no ACK for our 2xx.
    RecoveryOnTimerExpire,
    /// 487: the caller cancelled before answer.
    OriginatorCancel,
    /// 31: any other failure status (3xx redirections included).
    NormalUnspecified,
}

impl HangupCause {
    /// The cause for a final failure status (300–699) of an INVITE, after
    /// FreeSWITCH's `sip_cause_to_q850` table.
    pub fn from_status(status: u16) -> Self {
        match status {
            200..=299 => HangupCause::NormalClearing,
            401 | 402 | 403 | 407 | 603 => HangupCause::CallRejected,
            404 | 604 => HangupCause::UnallocatedNumber,
            485 => HangupCause::NoRouteDestination,
            410 => HangupCause::NumberChanged,
            484 => HangupCause::InvalidNumberFormat,
            502 => HangupCause::NetworkOutOfOrder,
            400 | 481 | 500 | 503 => HangupCause::NormalTemporaryFailure,
            405 => HangupCause::ServiceUnavailable,
            406 | 415 | 501 => HangupCause::ServiceNotImplemented,
            488 | 606 => HangupCause::IncompatibleDestination,
            482 | 483 => HangupCause::ExchangeRoutingError,
            413 | 414 | 416 | 420 | 421 | 423 | 505 | 513 => HangupCause::Interworking,
            408 | 504 => HangupCause::RecoveryOnTimerExpire,
            480 => HangupCause::NoUserResponse,
            486 | 600 => HangupCause::UserBusy,
            487 => HangupCause::OriginatorCancel,
            _ => HangupCause::NormalUnspecified,
        }
    }

    /// The Q.850 name, e.g. `"USER_BUSY"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HangupCause::NormalClearing => "NORMAL_CLEARING",
            HangupCause::UserBusy => "USER_BUSY",
            HangupCause::NoUserResponse => "NO_USER_RESPONSE",
            HangupCause::NoAnswer => "NO_ANSWER",
            HangupCause::CallRejected => "CALL_REJECTED",
            HangupCause::UnallocatedNumber => "UNALLOCATED_NUMBER",
            HangupCause::NoRouteDestination => "NO_ROUTE_DESTINATION",
            HangupCause::NumberChanged => "NUMBER_CHANGED",
            HangupCause::InvalidNumberFormat => "INVALID_NUMBER_FORMAT",
            HangupCause::NetworkOutOfOrder => "NETWORK_OUT_OF_ORDER",
            HangupCause::NormalTemporaryFailure => "NORMAL_TEMPORARY_FAILURE",
            HangupCause::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            HangupCause::ServiceNotImplemented => "SERVICE_NOT_IMPLEMENTED",
            HangupCause::IncompatibleDestination => "INCOMPATIBLE_DESTINATION",
            HangupCause::ExchangeRoutingError => "EXCHANGE_ROUTING_ERROR",
            HangupCause::Interworking => "INTERWORKING",
            HangupCause::RecoveryOnTimerExpire => "RECOVERY_ON_TIMER_EXPIRE",
            HangupCause::OriginatorCancel => "ORIGINATOR_CANCEL",
            HangupCause::NormalUnspecified => "NORMAL_UNSPECIFIED",
        }
    }

    /// The Q.850 cause value, e.g. 17 for `USER_BUSY`.
    pub fn q850(self) -> u8 {
        match self {
            HangupCause::NormalClearing => 16,
            HangupCause::UserBusy => 17,
            HangupCause::NoUserResponse => 18,
            HangupCause::NoAnswer => 19,
            HangupCause::CallRejected => 21,
            HangupCause::UnallocatedNumber => 1,
            HangupCause::NoRouteDestination => 3,
            HangupCause::NumberChanged => 22,
            HangupCause::InvalidNumberFormat => 28,
            HangupCause::NetworkOutOfOrder => 27,
            HangupCause::NormalTemporaryFailure => 41,
            HangupCause::ServiceUnavailable => 58,
            HangupCause::ServiceNotImplemented => 79,
            HangupCause::IncompatibleDestination => 88,
            HangupCause::ExchangeRoutingError => 25,
            HangupCause::Interworking => 127,
            HangupCause::RecoveryOnTimerExpire => 102,
            HangupCause::OriginatorCancel => 31,
            HangupCause::NormalUnspecified => 31,
        }
    }
}

impl std::fmt::Display for HangupCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a call stands.
#[derive(Debug)]
pub(crate) enum CallState {
    /// Outbound: INVITE sent, no 2xx yet.
    Calling {
        /// The INVITE in flight (for CANCEL, the ACK and an auth retry).
        invite: Request,
        /// Its client transaction.
        transaction: TransactionKey,
        /// A provisional response arrived (CANCEL is allowed).
        provisional: bool,
        /// We want to cancel, for this cause; CANCEL is sent once allowed.
        cancel: Option<CancelState>,
        /// Credentials for one retry after 401/407; taken when used.
        credentials: Option<Credentials>,
    },
    /// Inbound: INVITE received, no final response yet.
    Incoming {
        /// The server transaction of the INVITE.
        transaction: TransactionKey,
        /// The INVITE, kept for building responses.
        invite: Request,
    },
    /// Inbound: our 2xx is out, retransmitted until the ACK arrives.
    Answered {
        /// The 2xx as sent.
        response: Bytes,
        /// The current retransmit interval (T1 doubling to T2).
        interval: Duration,
        /// The engine hung up before the ACK: BYE once it arrives.
        bye_pending: bool,
    },
    /// Both sides agree the call is up.
    Confirmed {
        /// Outbound: our ACK, resent for every retransmitted 2xx.
        ack: Option<Bytes>,
        /// Our 2xx to a re-INVITE, retransmitted until its ACK arrives.
        reinvite: Option<Retransmitting>,
    },
    /// Over; kept until the cleanup timer to answer late retransmissions.
    Ended {
        /// Outbound: our ACK, resent for a late retransmitted 2xx.
        ack: Option<Bytes>,
    },
}

/// A 2xx being retransmitted until the ACK (RFC 3261 section 13.3.1.4).
#[derive(Debug, Clone)]
pub(crate) struct Retransmitting {
    /// The 2xx as sent.
    pub response: Bytes,
    /// The current interval (T1 doubling to T2).
    pub interval: Duration,
}

/// A pending or sent CANCEL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CancelState {
    /// The cause reported when the INVITE ends.
    pub cause: HangupCause,
    /// Whether the CANCEL went out already.
    pub sent: bool,
}

/// The timers of one call, in one fixed table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallTimer {
    /// Outbound: the ring timeout, CANCEL when it fires. Inbound: the
    /// answer guard, 480 when it fires.
    Ring,
    /// Outbound: 64·T1 after CANCEL, end the call without a final response.
    CancelGuard,
    /// Inbound: retransmit our 2xx.
    Retransmit,
    /// Inbound: 64·T1 after our 2xx without ACK, give up (BYE).
    AckWait,
    /// Any: forget the ended call.
    Cleanup,
}

impl CallTimer {
    const ALL: [CallTimer; 5] = [
        CallTimer::Ring,
        CallTimer::CancelGuard,
        CallTimer::Retransmit,
        CallTimer::AckWait,
        CallTimer::Cleanup,
    ];
}

/// One optional deadline per [`CallTimer`].
#[derive(Debug, Clone, Default)]
pub(crate) struct CallTimers([Option<Instant>; 5]);

impl CallTimers {
    pub fn set(&mut self, timer: CallTimer, at: Instant) {
        self.0[timer as usize] = Some(at);
    }

    pub fn stop(&mut self, timer: CallTimer) {
        self.0[timer as usize] = None;
    }

    pub fn stop_all(&mut self) {
        self.0 = [None; 5];
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }

    /// Disarms and returns a timer due at `now`, earliest first.
    pub fn pop_expired(&mut self, now: Instant) -> Option<CallTimer> {
        let timer = CallTimer::ALL
            .into_iter()
            .filter_map(|t| self.0[t as usize].filter(|at| *at <= now).map(|at| (at, t)))
            .min_by_key(|(at, _)| *at)
            .map(|(_, t)| t)?;
        self.stop(timer);
        Some(timer)
    }
}

/// One call, inbound or outbound.
#[derive(Debug)]
pub(crate) struct Call {
    /// Where the call stands.
    pub state: CallState,
    /// Our tag (From on outbound, To on inbound).
    pub local_tag: String,
    /// The peer's address: the trunk for outbound, the INVITE's response
    /// address for inbound. In-dialog requests go there too (symmetric
    /// signalling: no DNS in a sans-IO core, and it crosses NAT).
    pub peer: SocketAddr,
    /// The transport of the call's signalling.
    pub transport: Transport,
    /// The dialog, once established.
    pub dialog: Option<Dialog>,
    /// Inbound: the INVITE's (Call-ID, From tag, CSeq), for merged-request
    /// detection.
    pub origin: Option<(String, String, u32)>,
    /// Outbound: credentials for one retry of a challenged BYE.
    pub bye_credentials: Option<Credentials>,
    /// Our current SDP (offer on outbound, answer on inbound).
    pub local_sdp: Bytes,
    /// The call's timers.
    pub timers: CallTimers,
    /// When the engine scheduled the call's next wake-up.
    pub scheduled: Option<Instant>,
}

impl Call {
    /// Whether the call already reported `Ended`.
    pub fn is_ended(&self) -> bool {
        matches!(self.state, CallState::Ended { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_common_statuses_to_q850_names() {
        let name = |s| HangupCause::from_status(s).as_str();
        assert_eq!(name(486), "USER_BUSY");
        assert_eq!(name(600), "USER_BUSY");
        assert_eq!(name(603), "CALL_REJECTED");
        assert_eq!(name(404), "UNALLOCATED_NUMBER");
        assert_eq!(name(503), "NORMAL_TEMPORARY_FAILURE");
        assert_eq!(name(408), "RECOVERY_ON_TIMER_EXPIRE");
        assert_eq!(name(480), "NO_USER_RESPONSE");
        assert_eq!(name(487), "ORIGINATOR_CANCEL");
        assert_eq!(name(302), "NORMAL_UNSPECIFIED");
        assert_eq!(HangupCause::UserBusy.q850(), 17);
    }

    #[test]
    fn call_timers_pop_in_deadline_order() {
        let t0 = crate::transaction::test_support::start();
        let mut timers = CallTimers::default();
        timers.set(CallTimer::Cleanup, t0 + Duration::from_secs(1));
        timers.set(CallTimer::Ring, t0 + Duration::from_secs(2));
        let late = t0 + Duration::from_secs(3);
        assert_eq!(timers.pop_expired(late), Some(CallTimer::Cleanup));
        assert_eq!(timers.pop_expired(late), Some(CallTimer::Ring));
        assert_eq!(timers.pop_expired(late), None);
    }
}
