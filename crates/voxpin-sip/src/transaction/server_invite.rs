//! The server INVITE transaction (RFC 3261 section 17.2.1, with the
//! Accepted state of RFC 6026 section 7.1).
//!
//! ```text
//!                                |INVITE
//!                                |pass INV to TU
//!             INVITE             V send 100 if TU won't in 200 ms
//!             send response+-----------+
//!                 +--------|           |--------+ 101-199 from TU
//!                 |        |           |        | send response
//!                 +------->|           |<-------+
//!                          | Proceeding|
//!                          |           |--------+ Transport Err.
//!                          |           |        | Inform TU
//!                          |           |<-------+
//!                          +-----------+
//!             300-699 from TU |     |2xx from TU
//!             send response   |     |send response
//!                 +-----------+     +------------------+
//!                 |                                    |
//!     INVITE      V         Timer G fires              |
//!     send resp.+-----------+ send response            |
//!        +------|           |------+                   |
//!        |      | Completed |      |                   V
//!        +----->|           |<-----+            +-----------+
//!               +-----------+                   |           |---+ 2xx from TU
//!        Timer H   |     | ACK                  | Accepted  |   | send response
//!        inform TU |     | -                    |           |<--+ ACK: to TU
//!                  |     V                      +-----------+     INVITE: absorb
//!                  | +-----------+                    |
//!                  | |           |                    | Timer L fires
//!                  | | Confirmed |                    | -
//!                  | |           |                    |
//!                  | +-----------+                    |
//!                  |     | Timer I fires              |
//!                  |     | -                          |
//!                  V     V                            |
//!               +-----------+                         |
//!               |           |                         |
//!               | Terminated|<------------------------+
//!               |           |
//!               +-----------+
//! ```
//!
//! The 100 Trying deadline (200 ms, RFC 3261 section 17.2.1) is kept next to
//! the timer table: it is not one of the RFC's lettered timers.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::timer::{Timer, TimerConfig, TimerTable};
use super::Output;

/// How long the transaction waits for the transaction user's first response
/// before it sends 100 Trying itself (RFC 3261 section 17.2.1).
pub const TRYING_DELAY: Duration = Duration::from_millis(200);

/// Where a server INVITE transaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerInviteState {
    /// INVITE received; the transaction user has not sent a final response.
    Proceeding {
        /// The latest provisional response sent (or the 100 Trying), resent
        /// when the INVITE is retransmitted.
        provisional: Option<Bytes>,
        /// When to send 100 Trying if nothing was sent by then.
        trying_at: Option<Instant>,
    },
    /// A 300–699 was sent; retransmitting it until the ACK arrives.
    Completed {
        /// The final response.
        response: Bytes,
        /// The current retransmit interval (Timer G).
        interval: Duration,
    },
    /// The ACK for the error response arrived; absorbing ACK retransmissions.
    Confirmed,
    /// A 2xx was sent (RFC 6026); ACKs pass to the transaction user.
    Accepted,
    /// Over; the owner removes the transaction.
    Terminated,
}

/// What the transaction did with a request that matched it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteInput {
    /// A retransmitted INVITE: answered from the transaction, not passed up.
    Absorbed,
    /// An ACK the transaction user must see (ACK for a 2xx in Accepted).
    AckToTransactionUser,
}

/// A server INVITE transaction.
#[derive(Debug, Clone)]
pub struct ServerInvite {
    state: ServerInviteState,
    trying: Bytes,
    reliable: bool,
    config: TimerConfig,
    timers: TimerTable,
    outputs: VecDeque<Output>,
}

impl ServerInvite {
    /// Starts the transaction for a received INVITE. `trying` is the 100
    /// Trying response, sent if the transaction user gives no response
    /// within [`TRYING_DELAY`].
    pub fn new(now: Instant, config: TimerConfig, reliable: bool, trying: Bytes) -> Self {
        Self {
            state: ServerInviteState::Proceeding {
                provisional: None,
                trying_at: Some(now + TRYING_DELAY),
            },
            trying,
            reliable,
            config,
            timers: TimerTable::new(),
            outputs: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> &ServerInviteState {
        &self.state
    }

    /// Feeds an INVITE retransmission or an ACK that matched this
    /// transaction.
    pub fn handle_request(&mut self, now: Instant, is_ack: bool) -> ServerInviteInput {
        match (&mut self.state, is_ack) {
            (
                ServerInviteState::Proceeding {
                    provisional: Some(response),
                    ..
                },
                false,
            ) => {
                self.outputs.push_back(Output::Transmit(response.clone()));
            }
            (ServerInviteState::Completed { response, .. }, false) => {
                self.outputs.push_back(Output::Transmit(response.clone()));
            }
            (ServerInviteState::Completed { .. }, true) => {
                self.timers.stop(Timer::G);
                self.timers.stop(Timer::H);
                let linger = if self.reliable {
                    Duration::ZERO
                } else {
                    self.config.t4
                };
                self.timers.set(Timer::I, now + linger);
                self.state = ServerInviteState::Confirmed;
            }
            (ServerInviteState::Accepted, true) => return ServerInviteInput::AckToTransactionUser,
            _ => {}
        }
        ServerInviteInput::Absorbed
    }

    /// Sends a response from the transaction user: provisional, 2xx or
    /// 300–699. Ignored once the transaction no longer accepts responses.
    pub fn send_response(&mut self, now: Instant, status: u16, response: Bytes) {
        match &mut self.state {
            ServerInviteState::Proceeding { provisional, .. } => {
                self.outputs.push_back(Output::Transmit(response.clone()));
                if status < 200 {
                    *provisional = Some(response);
                } else if status < 300 {
                    self.timers
                        .set(Timer::L, now + self.config.transaction_timeout());
                    self.state = ServerInviteState::Accepted;
                } else {
                    if !self.reliable {
                        self.timers.set(Timer::G, now + self.config.t1);
                    }
                    self.timers
                        .set(Timer::H, now + self.config.transaction_timeout());
                    self.state = ServerInviteState::Completed {
                        response,
                        interval: self.config.t1,
                    };
                }
            }
            ServerInviteState::Accepted if (200..300).contains(&status) => {
                self.outputs.push_back(Output::Transmit(response));
            }
            _ => {}
        }
    }

    /// Reports a transport error: the transaction ends and the user is told.
    pub fn handle_transport_error(&mut self) {
        if self.state != ServerInviteState::Terminated {
            self.outputs.push_back(Output::TimedOut);
            self.terminate();
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let ServerInviteState::Proceeding {
            provisional,
            trying_at,
        } = &mut self.state
        {
            if trying_at.is_some_and(|at| at <= now) {
                *trying_at = None;
                if provisional.is_none() {
                    *provisional = Some(self.trying.clone());
                    self.outputs
                        .push_back(Output::Transmit(self.trying.clone()));
                }
            }
        }
        while let Some(timer) = self.timers.pop_expired(now) {
            match (timer, &mut self.state) {
                (Timer::G, ServerInviteState::Completed { response, interval }) => {
                    let next = self.config.backoff_capped(*interval);
                    *interval = next;
                    self.outputs.push_back(Output::Transmit(response.clone()));
                    self.timers.set(Timer::G, now + next);
                }
                (Timer::H, ServerInviteState::Completed { .. }) => {
                    self.outputs.push_back(Output::TimedOut);
                    self.terminate();
                }
                (Timer::I, ServerInviteState::Confirmed)
                | (Timer::L, ServerInviteState::Accepted) => self.terminate(),
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
        let trying = match &self.state {
            ServerInviteState::Proceeding { trying_at, .. } => *trying_at,
            _ => None,
        };
        match (trying, self.timers.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the transaction is over.
    pub fn is_terminated(&self) -> bool {
        self.state == ServerInviteState::Terminated
    }

    fn terminate(&mut self) {
        self.state = ServerInviteState::Terminated;
        self.timers.stop_all();
        self.outputs.push_back(Output::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_support::{drain, start};

    fn fresh(reliable: bool) -> (Instant, ServerInvite) {
        let now = start();
        let tx = ServerInvite::new(now, TimerConfig::default(), reliable, Bytes::from("100"));
        (now, tx)
    }

    fn out(s: &'static str) -> Output {
        Output::Transmit(Bytes::from(s))
    }

    #[test]
    fn sends_100_trying_after_200_ms_of_silence_and_resends_it() {
        let (t0, mut tx) = fresh(false);
        assert_eq!(tx.poll_timeout(), Some(t0 + TRYING_DELAY));
        tx.handle_timeout(t0 + Duration::from_millis(199));
        assert_eq!(drain(|| tx.poll_output()), vec![]);
        tx.handle_timeout(t0 + TRYING_DELAY);
        assert_eq!(drain(|| tx.poll_output()), vec![out("100")]);
        assert_eq!(tx.handle_request(t0, false), ServerInviteInput::Absorbed);
        assert_eq!(drain(|| tx.poll_output()), vec![out("100")]);
    }

    #[test]
    fn no_100_trying_when_the_user_answers_in_time() {
        let (t0, mut tx) = fresh(false);
        tx.send_response(t0 + Duration::from_millis(50), 180, Bytes::from("180"));
        tx.handle_timeout(t0 + TRYING_DELAY);
        assert_eq!(drain(|| tx.poll_output()), vec![out("180")]);
        tx.handle_request(t0, false);
        assert_eq!(drain(|| tx.poll_output()), vec![out("180")]);
    }

    #[test]
    fn error_response_retransmits_with_timer_g_until_timer_h() {
        let (t0, mut tx) = fresh(false);
        tx.send_response(t0, 486, Bytes::from("486"));
        assert_eq!(drain(|| tx.poll_output()), vec![out("486")]);
        let mut at = Vec::new();
        let mut timed_out = false;
        while let Some(next) = tx.poll_timeout() {
            tx.handle_timeout(next);
            for output in drain(|| tx.poll_output()) {
                match output {
                    Output::Transmit(_) => at.push(next.saturating_duration_since(t0).as_millis()),
                    Output::TimedOut => timed_out = true,
                    Output::Terminated => {}
                }
            }
        }
        assert!(timed_out);
        assert_eq!(&at[..6], &[500, 1500, 3500, 7500, 11500, 15500]);
        assert!(tx.is_terminated());
    }

    #[test]
    fn ack_confirms_and_timer_i_terminates() {
        let (t0, mut tx) = fresh(false);
        tx.send_response(t0, 487, Bytes::from("487"));
        drain(|| tx.poll_output());
        assert_eq!(tx.handle_request(t0, false), ServerInviteInput::Absorbed);
        assert_eq!(drain(|| tx.poll_output()), vec![out("487")]);
        tx.handle_request(t0, true);
        assert_eq!(tx.state(), &ServerInviteState::Confirmed);
        tx.handle_request(t0, true);
        assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(5)));
        tx.handle_timeout(t0 + Duration::from_secs(5));
        assert_eq!(drain(|| tx.poll_output()), vec![Output::Terminated]);
    }

    #[test]
    fn timer_i_is_zero_on_reliable_transport() {
        let (t0, mut tx) = fresh(true);
        tx.send_response(t0, 603, Bytes::from("603"));
        assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
        tx.handle_request(t0, true);
        tx.handle_timeout(t0);
        assert_eq!(
            drain(|| tx.poll_output()),
            vec![out("603"), Output::Terminated]
        );
    }

    #[test]
    fn accepted_passes_acks_up_absorbs_invites_until_timer_l() {
        let (t0, mut tx) = fresh(false);
        tx.send_response(t0, 200, Bytes::from("200"));
        assert_eq!(tx.state(), &ServerInviteState::Accepted);
        tx.send_response(t0 + Duration::from_millis(500), 200, Bytes::from("200"));
        assert_eq!(drain(|| tx.poll_output()), vec![out("200"), out("200")]);
        assert_eq!(tx.handle_request(t0, false), ServerInviteInput::Absorbed);
        assert_eq!(drain(|| tx.poll_output()), vec![]);
        assert_eq!(
            tx.handle_request(t0, true),
            ServerInviteInput::AckToTransactionUser
        );
        assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
        tx.handle_timeout(t0 + Duration::from_secs(32));
        assert_eq!(drain(|| tx.poll_output()), vec![Output::Terminated]);
    }
}
