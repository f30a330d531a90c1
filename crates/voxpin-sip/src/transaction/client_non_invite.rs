//! The client non-INVITE transaction (RFC 3261 section 17.1.2).
//!
//! ```text
//!                                    |Request from TU
//!                                    |send request
//!                Timer E             V
//!                send request  +-----------+
//!                    +---------|           |-------------------+
//!                    |         |  Trying   |  Timer F          |
//!                    +-------->|           |  or Transport Err.|
//!                              +-----------+  inform TU        |
//!                 200-699         |  |                         |
//!                 resp. to TU     |  |1xx                      |
//!                 +---------------+  |resp. to TU              |
//!                 |                  |                         |
//!                 |   Timer E        V       Timer F           |
//!                 |   send req +-----------+ or Transport Err. |
//!                 |  +---------|           | inform TU         |
//!                 |  |         |Proceeding |------------------>|
//!                 |  +-------->|           |-----+             |
//!                 |            +-----------+     |1xx          |
//!                 |              |      ^        |resp to TU   |
//!                 | 200-699      |      +--------+             |
//!                 | resp. to TU  |                             |
//!                 |              V                             |
//!                 |            +-----------+                   |
//!                 |            |           |                   |
//!                 |            | Completed |                   |
//!                 |            |           |                   |
//!                 |            +-----------+                   |
//!                 |              ^   |                         |
//!                 |              |   | Timer K                 |
//!                 +--------------+   | -                       |
//!                                    |                         |
//!                                    V                         |
//!              NOTE:           +-----------+                   |
//!                              |           |                   |
//!          transitions         | Terminated|<------------------+
//!          labeled with        |           |
//!          the event           +-----------+
//!          over the action
//!          to take
//! ```
//!
//! Retransmissions back off from T1 to T2 in Trying and stay at T2 in
//! Proceeding; responses that arrive in Completed are absorbed.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::timer::{Timer, TimerConfig, TimerTable};
use super::{Delivery, Output};

/// Where a client non-INVITE transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    /// Request sent, no response yet; retransmitting with back-off.
    Trying {
        /// The current retransmit interval (Timer E).
        interval: Duration,
    },
    /// A provisional response arrived; retransmitting every T2.
    Proceeding,
    /// A final response arrived; absorbing retransmissions until Timer K.
    Completed,
    /// Over; the owner removes the transaction.
    Terminated,
}

/// A client non-INVITE transaction: BYE, CANCEL, INFO, OPTIONS, REGISTER.
#[derive(Debug, Clone)]
pub struct ClientNonInvite {
    state: ClientNonInviteState,
    request: Bytes,
    reliable: bool,
    config: TimerConfig,
    timers: TimerTable,
    outputs: VecDeque<Output>,
}

impl ClientNonInvite {
    /// Starts the transaction: queues the first transmission of `request`
    /// and arms timers E (unreliable transports only) and F.
    pub fn new(now: Instant, config: TimerConfig, reliable: bool, request: Bytes) -> Self {
        let mut timers = TimerTable::new();
        if !reliable {
            timers.set(Timer::E, now + config.t1);
        }
        timers.set(Timer::F, now + config.transaction_timeout());
        let mut outputs = VecDeque::new();
        outputs.push_back(Output::Transmit(request.clone()));
        Self {
            state: ClientNonInviteState::Trying {
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
    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }

    /// Feeds a response with status `status` that matched this transaction;
    /// says whether the transaction user should see it.
    pub fn handle_response(&mut self, now: Instant, status: u16) -> Delivery {
        match self.state {
            ClientNonInviteState::Trying { .. } | ClientNonInviteState::Proceeding => {
                if status < 200 {
                    if let ClientNonInviteState::Trying { .. } = self.state {
                        self.state = ClientNonInviteState::Proceeding;
                        if !self.reliable {
                            self.timers.set(Timer::E, now + self.config.t2);
                        }
                    }
                } else {
                    self.state = ClientNonInviteState::Completed;
                    self.timers.stop(Timer::E);
                    self.timers.stop(Timer::F);
                    let linger = if self.reliable {
                        Duration::ZERO
                    } else {
                        self.config.t4
                    };
                    self.timers.set(Timer::K, now + linger);
                }
                Delivery::ToTransactionUser
            }
            ClientNonInviteState::Completed | ClientNonInviteState::Terminated => {
                Delivery::Absorbed
            }
        }
    }

    /// Reports a transport error for the request: the transaction ends and
    /// the transaction user is told.
    pub fn handle_transport_error(&mut self) {
        if self.state != ClientNonInviteState::Terminated {
            self.outputs.push_back(Output::TimedOut);
            self.terminate();
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_expired(now) {
            match (timer, self.state) {
                (Timer::E, ClientNonInviteState::Trying { interval }) => {
                    let next = self.config.backoff_capped(interval);
                    self.state = ClientNonInviteState::Trying { interval: next };
                    self.timers.set(Timer::E, now + next);
                    self.outputs
                        .push_back(Output::Transmit(self.request.clone()));
                }
                (Timer::E, ClientNonInviteState::Proceeding) => {
                    self.timers.set(Timer::E, now + self.config.t2);
                    self.outputs
                        .push_back(Output::Transmit(self.request.clone()));
                }
                (Timer::F, ClientNonInviteState::Trying { .. })
                | (Timer::F, ClientNonInviteState::Proceeding) => {
                    self.outputs.push_back(Output::TimedOut);
                    self.terminate();
                }
                (Timer::K, ClientNonInviteState::Completed) => self.terminate(),
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
        self.state == ClientNonInviteState::Terminated
    }

    fn terminate(&mut self) {
        self.state = ClientNonInviteState::Terminated;
        self.timers.stop_all();
        self.outputs.push_back(Output::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_support::{drain, start, transmits};

    fn fresh(reliable: bool) -> (Instant, ClientNonInvite) {
        let now = start();
        let tx = ClientNonInvite::new(now, TimerConfig::default(), reliable, Bytes::from("BYE"));
        (now, tx)
    }

    #[test]
    fn timer_e_backs_off_to_t2_then_timer_f_times_out() {
        let (t0, mut tx) = fresh(false);
        assert_eq!(transmits(&drain(|| tx.poll_output())), 1);
        let mut at = Vec::new();
        let mut now = t0;
        while let Some(next) = tx.poll_timeout() {
            now = next;
            tx.handle_timeout(now);
            let outputs = drain(|| tx.poll_output());
            if outputs.contains(&Output::TimedOut) {
                assert_eq!(outputs.last(), Some(&Output::Terminated));
                break;
            }
            assert_eq!(outputs, vec![Output::Transmit(Bytes::from("BYE"))]);
            at.push(now.saturating_duration_since(t0).as_millis());
        }
        assert_eq!(&at[..6], &[500, 1500, 3500, 7500, 11500, 15500]);
        assert_eq!(now.saturating_duration_since(t0), Duration::from_secs(32));
        assert!(tx.is_terminated());
    }

    #[test]
    fn provisional_moves_to_proceeding_with_t2_retransmits() {
        let (t0, mut tx) = fresh(false);
        drain(|| tx.poll_output());
        assert_eq!(tx.handle_response(t0, 100), Delivery::ToTransactionUser);
        assert_eq!(tx.state(), ClientNonInviteState::Proceeding);
        assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(4)));
    }

    #[test]
    fn final_response_completes_absorbs_and_timer_k_terminates() {
        let (t0, mut tx) = fresh(false);
        drain(|| tx.poll_output());
        assert_eq!(tx.handle_response(t0, 200), Delivery::ToTransactionUser);
        assert_eq!(tx.state(), ClientNonInviteState::Completed);
        assert_eq!(tx.handle_response(t0, 200), Delivery::Absorbed);
        assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(5)));
        tx.handle_timeout(t0 + Duration::from_secs(5));
        assert_eq!(drain(|| tx.poll_output()), vec![Output::Terminated]);
    }

    #[test]
    fn reliable_transport_never_retransmits_and_k_is_zero() {
        let (t0, mut tx) = fresh(true);
        drain(|| tx.poll_output());
        assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
        tx.handle_response(t0, 486);
        tx.handle_timeout(t0);
        assert_eq!(drain(|| tx.poll_output()), vec![Output::Terminated]);
    }

    #[test]
    fn transport_error_informs_the_user() {
        let (_, mut tx) = fresh(false);
        drain(|| tx.poll_output());
        tx.handle_transport_error();
        assert_eq!(
            drain(|| tx.poll_output()),
            vec![Output::TimedOut, Output::Terminated]
        );
    }
}
