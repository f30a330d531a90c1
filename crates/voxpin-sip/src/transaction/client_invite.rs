//! The client INVITE transaction (RFC 3261 section 17.1.1, with the
//! Accepted state of RFC 6026 section 7.2).
//!
//! ```text
//!                                |INVITE from TU
//!              Timer A fires     |INVITE sent
//!              Reset A,          V                      Timer B fires
//!              INVITE sent +-----------+                or Transport Err.
//!                +---------|           |---------------+inform TU
//!                |         |  Calling  |               |
//!                +-------->|           |-------------->|
//!                          +-----------+ 2xx           |
//!                             |  |       2xx to TU     |
//!                             |  |1xx                  |
//!     300-699 +---------------+  |1xx to TU            |
//!    ACK sent |                  |                     |
//! resp. to TU |  1xx             V                     |
//!             |  1xx to TU  -----------+               |
//!             |  +---------|           |               |
//!             |  |         |Proceeding |-------------->|
//!             |  +-------->|           | 2xx           |
//!             |            +-----------+ 2xx to TU     |
//!             |       300-699    |                     |
//!             |       ACK sent,  |                     |
//!             |       resp. to TU|                     |
//!             |                  |                     |
//!             |                  V                     |
//!             |            +-----------+               |
//!             |            |           |               |
//!             +----------->| Completed |               |
//!                          |           |               |
//!                          +-----------+               |
//!                            ^   |    |                |
//!                            |   |    | Timer D fires  |
//!                            +---+    | -              |
//!                     300-699         |                |
//!                     ACK sent        V                |
//!                          +-----------+               |
//!                          |           |               |
//!                          | Accepted  |<--------------+ (2xx, RFC 6026)
//!                          |           |---+ 2xx to TU
//!                          +-----------+<--+
//!                                |
//!                                | Timer M fires
//!                                V
//!                          +-----------+
//!                          | Terminated|
//!                          +-----------+
//! ```
//!
//! The ACK for a non-2xx final response belongs to the transaction (it is
//! built by [`ack_for_non_2xx`] and resent for every retransmitted final
//! response); the ACK for a 2xx belongs to the dialog, which is why 2xx
//! retransmissions are passed up in Accepted.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::timer::{Timer, TimerConfig, TimerTable};
use super::{Delivery, Output};
use crate::msg::{CSeq, HeaderName, Headers, Method, Request, Response};

/// Builds the ACK for a non-2xx final `response` to `invite` (RFC 3261
/// section 17.1.1.3): same Request-URI, Call-ID, From, CSeq number and top
/// Via as the INVITE, the To of the response, the INVITE's Route set.
pub fn ack_for_non_2xx(invite: &Request, response: &Response) -> Request {
    let mut headers = Headers::default();
    if let Ok(via) = invite.headers.top_via() {
        headers.push(HeaderName::Via, via.to_string());
    }
    for name in [HeaderName::Route] {
        for value in invite.headers.all(&name) {
            headers.push(name.clone(), value);
        }
    }
    headers.push(HeaderName::MaxForwards, "70");
    for name in [HeaderName::From, HeaderName::CallId] {
        if let Some(value) = invite.headers.get(&name) {
            headers.push(name, value);
        }
    }
    let to = response
        .headers
        .get(&HeaderName::To)
        .or_else(|| invite.headers.get(&HeaderName::To));
    if let Some(to) = to {
        headers.push(HeaderName::To, to);
    }
    let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
    let cseq = CSeq {
        seq,
        method: Method::Ack,
    };
    headers.push(HeaderName::CSeq, cseq.to_string());
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        headers,
        body: Bytes::new(),
    }
}

/// Where a client INVITE transaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientInviteState {
    /// INVITE sent, nothing heard yet; retransmitting with doubling Timer A.
    Calling {
        /// The current retransmit interval (Timer A).
        interval: Duration,
    },
    /// A provisional response arrived; no more retransmissions.
    Proceeding,
    /// A 300–699 arrived and was ACKed; absorbing retransmissions.
    Completed {
        /// The ACK, resent for each retransmitted final response.
        ack: Bytes,
    },
    /// A 2xx arrived (RFC 6026); further 2xx go to the dialog until Timer M.
    Accepted,
    /// Over; the owner removes the transaction.
    Terminated,
}

/// A client INVITE transaction.
#[derive(Debug, Clone)]
pub struct ClientInvite {
    state: ClientInviteState,
    request: Bytes,
    reliable: bool,
    config: TimerConfig,
    timers: TimerTable,
    outputs: VecDeque<Output>,
}

impl ClientInvite {
    /// Starts the transaction: queues the INVITE and arms timers A
    /// (unreliable transports only) and B.
    pub fn new(now: Instant, config: TimerConfig, reliable: bool, request: Bytes) -> Self {
        let mut timers = TimerTable::new();
        if !reliable {
            timers.set(Timer::A, now + config.t1);
        }
        timers.set(Timer::B, now + config.transaction_timeout());
        let mut outputs = VecDeque::new();
        outputs.push_back(Output::Transmit(request.clone()));
        Self {
            state: ClientInviteState::Calling {
                interval: config.t1,
            },
            request,
            reliable,
            config,
            timers,
            outputs,
        }
    }

    /// The current state.
    pub fn state(&self) -> &ClientInviteState {
        &self.state
    }

    /// Feeds a response with status `status` that matched this transaction.
    /// `ack` builds the ACK for a non-2xx final response; it is called at
    /// most once, on the first such response.
    pub fn handle_response(
        &mut self,
        now: Instant,
        status: u16,
        ack: impl FnOnce() -> Bytes,
    ) -> Delivery {
        match &self.state {
            ClientInviteState::Calling { .. } | ClientInviteState::Proceeding => {
                self.timers.stop(Timer::A);
                if status < 200 {
                    self.timers.stop(Timer::B);
                    self.state = ClientInviteState::Proceeding;
                } else if status < 300 {
                    self.timers.stop_all();
                    self.timers
                        .set(Timer::M, now + self.config.transaction_timeout());
                    self.state = ClientInviteState::Accepted;
                } else {
                    let ack = ack();
                    self.timers.stop_all();
                    self.timers
                        .set(Timer::D, now + self.config.timer_d(self.reliable));
                    self.outputs.push_back(Output::Transmit(ack.clone()));
                    self.state = ClientInviteState::Completed { ack };
                }
                Delivery::ToTransactionUser
            }
            ClientInviteState::Completed { ack } => {
                if status >= 300 {
                    self.outputs.push_back(Output::Transmit(ack.clone()));
                }
                Delivery::Absorbed
            }
            ClientInviteState::Accepted => {
                if (200..300).contains(&status) {
                    Delivery::ToTransactionUser
                } else {
                    Delivery::Absorbed
                }
            }
            ClientInviteState::Terminated => Delivery::Absorbed,
        }
    }

    /// Reports a transport error: the transaction ends and the user is told.
    pub fn handle_transport_error(&mut self) {
        if matches!(
            self.state,
            ClientInviteState::Calling { .. } | ClientInviteState::Proceeding
        ) {
            self.outputs.push_back(Output::TimedOut);
            self.terminate();
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_expired(now) {
            match (timer, &self.state) {
                (Timer::A, ClientInviteState::Calling { interval }) => {
                    let next = interval.saturating_mul(2);
                    self.state = ClientInviteState::Calling { interval: next };
                    self.timers.set(Timer::A, now + next);
                    self.outputs
                        .push_back(Output::Transmit(self.request.clone()));
                }
                (Timer::B, ClientInviteState::Calling { .. }) => {
                    self.outputs.push_back(Output::TimedOut);
                    self.terminate();
                }
                (Timer::D, ClientInviteState::Completed { .. })
                | (Timer::M, ClientInviteState::Accepted) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The next output to act on; call after every `handle_*` until `None`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        self.state == ClientInviteState::Terminated
    }

    fn terminate(&mut self) {
        self.state = ClientInviteState::Terminated;
        self.timers.stop_all();
        self.outputs.push_back(Output::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_support::{drain, start};

    fn fresh(reliable: bool) -> (Instant, ClientInvite) {
        let now = start();
        let mut tx = ClientInvite::new(now, TimerConfig::default(), reliable, Bytes::from("INV"));
        assert_eq!(
            drain(|| tx.poll_output()),
            vec![Output::Transmit(Bytes::from("INV"))]
        );
        (now, tx)
    }

    fn ack() -> Bytes {
        Bytes::from("ACK")
    }

    #[test]
    fn timer_a_doubles_without_cap_and_timer_b_times_out() {
        let (t0, mut tx) = fresh(false);
        let mut at = Vec::new();
        while let Some(next) = tx.poll_timeout() {
            tx.handle_timeout(next);
            let outputs = drain(|| tx.poll_output());
            if outputs.contains(&Output::TimedOut) {
                assert_eq!(next.saturating_duration_since(t0), Duration::from_secs(32));
                break;
            }
            at.push(next.saturating_duration_since(t0).as_millis());
        }
        assert_eq!(at, [500, 1500, 3500, 7500, 15500, 31500]);
        assert!(tx.is_terminated());
    }

    #[test]
    fn provisional_stops_retransmission_and_timer_b() {
        let (t0, mut tx) = fresh(false);
        assert_eq!(
            tx.handle_response(t0, 180, ack),
            Delivery::ToTransactionUser
        );
        assert_eq!(tx.state(), &ClientInviteState::Proceeding);
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn non_2xx_is_acked_and_retransmissions_reack_until_timer_d() {
        let (t0, mut tx) = fresh(false);
        tx.handle_response(t0, 180, ack);
        let mut built = 0;
        let delivery = tx.handle_response(t0, 486, || {
            built += 1;
            ack()
        });
        assert_eq!(delivery, Delivery::ToTransactionUser);
        assert_eq!(drain(|| tx.poll_output()), vec![Output::Transmit(ack())]);
        let later = t0 + Duration::from_secs(1);
        let delivery = tx.handle_response(later, 486, || {
            built += 1;
            ack()
        });
        assert_eq!(delivery, Delivery::Absorbed);
        assert_eq!(built, 1);
        assert_eq!(drain(|| tx.poll_output()), vec![Output::Transmit(ack())]);
        assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
        tx.handle_timeout(t0 + Duration::from_secs(32));
        assert_eq!(drain(|| tx.poll_output()), vec![Output::Terminated]);
    }

    #[test]
    fn timer_d_is_zero_on_reliable_transport() {
        let (t0, mut tx) = fresh(true);
        assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
        tx.handle_response(t0, 503, ack);
        tx.handle_timeout(t0);
        assert_eq!(
            drain(|| tx.poll_output()),
            vec![Output::Transmit(ack()), Output::Terminated]
        );
    }

    #[test]
    fn accepted_passes_2xx_retransmissions_up_until_timer_m() {
        let (t0, mut tx) = fresh(false);
        assert_eq!(
            tx.handle_response(t0, 200, ack),
            Delivery::ToTransactionUser
        );
        assert_eq!(tx.state(), &ClientInviteState::Accepted);
        assert_eq!(
            tx.handle_response(t0, 200, ack),
            Delivery::ToTransactionUser
        );
        assert_eq!(tx.handle_response(t0, 180, ack), Delivery::Absorbed);
        assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
        tx.handle_timeout(t0 + Duration::from_secs(32));
        assert_eq!(drain(|| tx.poll_output()), vec![Output::Terminated]);
    }

    #[test]
    fn transport_error_in_calling_informs_the_user() {
        let (_, mut tx) = fresh(false);
        tx.handle_transport_error();
        assert_eq!(
            drain(|| tx.poll_output()),
            vec![Output::TimedOut, Output::Terminated]
        );
    }
}
