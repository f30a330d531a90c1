//! The server non-INVITE transaction (RFC 3261 section 17.2.2).
//!
//! ```text
//!                                   |Request received
//!                                   |pass to TU
//!                                   V
//!                             +-----------+
//!                             |           |
//!                             | Trying    |-------------+
//!                             |           |             |
//!                             +-----------+             |200-699 from TU
//!                                   |                   |send response
//!                                   |1xx from TU        |
//!                                   |send response      |
//!                                   |                   |
//!                Request            V      1xx from TU  |
//!                send response+-----------+send response|
//!                    +--------|           |--------+    |
//!                    |        | Proceeding|        |    |
//!                    +------->|           |<-------+    |
//!             +<--------------|           |             |
//!             |Trnsprt Err    +-----------+             |
//!             |Inform TU            |                   |
//!             |                     |                   |
//!             |                     |200-699 from TU    |
//!             |                     |send response      |
//!             |  Request            V                   |
//!             |  send response+-----------+             |
//!             |      +--------|           |             |
//!             |      |        | Completed |<------------+
//!             |      +------->|           |
//!             +<--------------|           |
//!             |Trnsprt Err    +-----------+
//!             |Inform TU            |
//!             |                     |Timer J fires
//!             |                     |-
//!             |                     |
//!             |                     V
//!             |               +-----------+
//!             |               |           |
//!             +-------------->| Terminated|
//!                             |           |
//!                             +-----------+
//! ```
//!
//! A transaction user that never answers would leave the transaction in
//! Trying forever; as a guard, the transaction also ends 64·T1 after the
//! request arrived if no final response was sent by then (Timer F's value;
//! a client gives up at that point anyway).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::timer::{Timer, TimerConfig, TimerTable};
use super::Output;

/// Where a server non-INVITE transaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerNonInviteState {
    /// Request received and passed up; retransmissions are absorbed.
    Trying,
    /// A provisional response was sent; resent on each retransmission.
    Proceeding {
        /// The latest provisional response.
        provisional: Bytes,
    },
    /// A final response was sent; resent on each retransmission until J.
    Completed {
        /// The final response.
        response: Bytes,
    },
    /// Over; the owner removes the transaction.
    Terminated,
}

/// A server non-INVITE transaction.
#[derive(Debug, Clone)]
pub struct ServerNonInvite {
    state: ServerNonInviteState,
    reliable: bool,
    config: TimerConfig,
    timers: TimerTable,
    outputs: VecDeque<Output>,
}

impl ServerNonInvite {
    /// Starts the transaction for a received request.
    pub fn new(now: Instant, config: TimerConfig, reliable: bool) -> Self {
        let mut timers = TimerTable::new();
        // Guard against a silent transaction user (see the module docs).
        timers.set(Timer::F, now + config.transaction_timeout());
        Self {
            state: ServerNonInviteState::Trying,
            reliable,
            config,
            timers,
            outputs: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> &ServerNonInviteState {
        &self.state
    }

    /// Feeds a retransmission of the request; it is always absorbed.
    pub fn handle_request(&mut self) {
        match &self.state {
            ServerNonInviteState::Proceeding { provisional: r }
            | ServerNonInviteState::Completed { response: r } => {
                self.outputs.push_back(Output::Transmit(r.clone()));
            }
            ServerNonInviteState::Trying | ServerNonInviteState::Terminated => {}
        }
    }

    /// Sends a response from the transaction user.
    pub fn send_response(&mut self, now: Instant, status: u16, response: Bytes) {
        match self.state {
            ServerNonInviteState::Trying | ServerNonInviteState::Proceeding { .. } => {
                self.outputs.push_back(Output::Transmit(response.clone()));
                if status < 200 {
                    self.state = ServerNonInviteState::Proceeding {
                        provisional: response,
                    };
                } else {
                    self.timers.stop(Timer::F);
                    let linger = if self.reliable {
                        Duration::ZERO
                    } else {
                        self.config.transaction_timeout()
                    };
                    self.timers.set(Timer::J, now + linger);
                    self.state = ServerNonInviteState::Completed { response };
                }
            }
            ServerNonInviteState::Completed { .. } | ServerNonInviteState::Terminated => {}
        }
    }

    /// Reports a transport error: the transaction ends and the user is told.
    pub fn handle_transport_error(&mut self) {
        if self.state != ServerNonInviteState::Terminated {
            self.outputs.push_back(Output::TimedOut);
            self.terminate();
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_expired(now) {
            match (timer, &self.state) {
                (Timer::J, ServerNonInviteState::Completed { .. }) => self.terminate(),
                (Timer::F, ServerNonInviteState::Trying)
                | (Timer::F, ServerNonInviteState::Proceeding { .. }) => {
                    self.outputs.push_back(Output::TimedOut);
                    self.terminate();
                }
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
        self.state == ServerNonInviteState::Terminated
    }

    fn terminate(&mut self) {
        self.state = ServerNonInviteState::Terminated;
        self.timers.stop_all();
        self.outputs.push_back(Output::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_support::{drain, start};

    fn out(s: &'static str) -> Output {
        Output::Transmit(Bytes::from(s))
    }

    #[test]
    fn retransmissions_absorbed_in_trying_answered_after() {
        let t0 = start();
        let mut tx = ServerNonInvite::new(t0, TimerConfig::default(), false);
        tx.handle_request();
        assert_eq!(drain(|| tx.poll_output()), vec![]);
        tx.send_response(t0, 100, Bytes::from("100"));
        tx.handle_request();
        assert_eq!(drain(|| tx.poll_output()), vec![out("100"), out("100")]);
        tx.send_response(t0, 200, Bytes::from("200"));
        tx.handle_request();
        assert_eq!(drain(|| tx.poll_output()), vec![out("200"), out("200")]);
        tx.send_response(t0, 500, Bytes::from("500"));
        assert_eq!(drain(|| tx.poll_output()), vec![]);
    }

    #[test]
    fn timer_j_keeps_the_final_response_for_64_t1() {
        let t0 = start();
        let mut tx = ServerNonInvite::new(t0, TimerConfig::default(), false);
        tx.send_response(t0, 200, Bytes::from("200"));
        drain(|| tx.poll_output());
        assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
        tx.handle_timeout(t0 + Duration::from_secs(31));
        assert!(!tx.is_terminated());
        tx.handle_timeout(t0 + Duration::from_secs(32));
        assert_eq!(drain(|| tx.poll_output()), vec![Output::Terminated]);
    }

    #[test]
    fn timer_j_is_zero_on_reliable_transport() {
        let t0 = start();
        let mut tx = ServerNonInvite::new(t0, TimerConfig::default(), true);
        tx.send_response(t0, 200, Bytes::from("200"));
        tx.handle_timeout(t0);
        assert_eq!(
            drain(|| tx.poll_output()),
            vec![out("200"), Output::Terminated]
        );
    }

    #[test]
    fn silent_user_is_timed_out() {
        let t0 = start();
        let mut tx = ServerNonInvite::new(t0, TimerConfig::default(), false);
        tx.handle_timeout(t0 + Duration::from_secs(32));
        assert_eq!(
            drain(|| tx.poll_output()),
            vec![Output::TimedOut, Output::Terminated]
        );
    }
}
