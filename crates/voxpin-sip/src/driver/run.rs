//! The drive loop: one task owns the [`Endpoint`] and the [`SipTransport`].

use std::io;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::SipTransport;
use crate::{Endpoint, Event};

/// Work to run on the endpoint inside the drive loop, with the current time.
pub type Command = Box<dyn FnOnce(&mut Endpoint, Instant) + Send>;

/// Sends commands to an endpoint driven by [`run_endpoint`]. Cheap to clone.
///
/// Dropping every handle stops the loop.
#[derive(Debug, Clone)]
pub struct EndpointHandle {
    commands: mpsc::UnboundedSender<Command>,
}

impl EndpointHandle {
    /// Runs `f` on the endpoint (for example `ep.call(now, ..)` or
    /// `ep.hangup(now, call)`) and returns its result. `None` when the loop has stopped.
    pub async fn with<R, F>(&self, f: F) -> Option<R>
    where
        F: FnOnce(&mut Endpoint, Instant) -> R + Send + 'static,
        R: Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let command: Command = Box::new(move |endpoint, now| {
            let _ = reply.send(f(endpoint, now));
        });
        self.commands.send(command).ok()?;
        result.await.ok()
    }
}

/// Spawns [`run_endpoint`] on the current tokio runtime and returns the handle
/// for commands, the receiver of the endpoint's events, and the task.
pub fn spawn_endpoint(
    transport: SipTransport,
    endpoint: Endpoint,
) -> (
    EndpointHandle,
    mpsc::UnboundedReceiver<Event>,
    JoinHandle<io::Result<()>>,
) {
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (events, event_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(run_endpoint(transport, endpoint, command_rx, events));
    (EndpointHandle { commands }, event_rx, task)
}

/// Drives `endpoint` until every command sender is dropped (returns `Ok`) or
/// the UDP socket fails (returns the error).
///
/// Each turn: drain transmits (send errors are dropped like lost datagrams,
/// since the transaction layer retransmits), drain events into `events`, then
/// wait for the first of a received message, the endpoint's next timeout or a
/// command. Times come from tokio's clock, so a paused test runtime works.
pub async fn run_endpoint(
    mut transport: SipTransport,
    mut endpoint: Endpoint,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) -> io::Result<()> {
    loop {
        while let Some(transmit) = endpoint.poll_transmit() {
            let _ = transport.send(transmit).await;
        }
        while let Some(event) = endpoint.poll_event() {
            // Nobody listening is not an error: the endpoint keeps running for commands.
            let _ = events.send(event);
        }
        let deadline = endpoint.poll_timeout();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            received = transport.recv() => {
                let (kind, source, bytes) = received?;
                endpoint.handle_datagram(now(), kind, source, &bytes);
            }
            () = sleep => {}
            command = commands.recv() => match command {
                Some(command) => command(&mut endpoint, now()),
                None => return Ok(()),
            },
        }
        let now = now();
        if endpoint.poll_timeout().is_some_and(|at| at <= now) {
            endpoint.handle_timeout(now);
        }
    }
}

/// The driver owns the clock: tokio's, so paused-time tests control it.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
