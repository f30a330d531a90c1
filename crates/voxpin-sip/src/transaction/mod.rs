//! SIP transactions (RFC 3261 section 17, RFC 6026).
//!
//! Four state machines, one file each: [`ClientInvite`], [`ClientNonInvite`],
//! [`ServerInvite`], [`ServerNonInvite`]. They know nothing of sockets or
//! clocks and little of messages: they hold the bytes they may have to
//! retransmit, are told the status code of what arrived, and report through
//! [`Output`]s which bytes to send and when they timed out or ended. Matching
//! an incoming message to a transaction is [`TransactionKey`]'s job.

mod client_invite;
mod client_non_invite;
mod key;
mod server_invite;
mod server_non_invite;
pub mod timer;

pub use client_invite::{ack_for_non_2xx, ClientInvite, ClientInviteState};
pub use client_non_invite::{ClientNonInvite, ClientNonInviteState};
pub use key::{TransactionKey, BRANCH_MAGIC_COOKIE};
pub use server_invite::{ServerInvite, ServerInviteInput, ServerInviteState, TRYING_DELAY};
pub use server_non_invite::{ServerNonInvite, ServerNonInviteState};
pub use timer::{deadline_after, Timer, TimerConfig, TimerTable, T1, T2, T4};

use bytes::Bytes;

/// What a transaction asks its owner to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes to the transaction's peer (first send or a
    /// retransmission).
    Transmit(Bytes),
    /// The transaction failed (Timer B, F or H fired, or a transport error):
    /// tell the transaction user.
    TimedOut,
    /// The transaction is over: forget it.
    Terminated,
}

/// Whether a response that matched a client transaction goes up to the
/// transaction user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Pass the response to the transaction user.
    ToTransactionUser,
    /// A retransmission the transaction handled itself.
    Absorbed,
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::Output;
    use std::time::Instant;

    /// A fixed starting instant for simulated time.
    #[allow(clippy::disallowed_methods)] // tests need one real origin; time then advances by arithmetic
    pub(crate) fn start() -> Instant {
        Instant::now()
    }

    /// Collects outputs until `poll` returns `None`.
    pub(crate) fn drain(mut poll: impl FnMut() -> Option<Output>) -> Vec<Output> {
        std::iter::from_fn(&mut poll).collect()
    }

    /// How many transmissions `outputs` holds.
    pub(crate) fn transmits(outputs: &[Output]) -> usize {
        outputs
            .iter()
            .filter(|o| matches!(o, Output::Transmit(_)))
            .count()
    }
}
