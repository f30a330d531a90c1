//! The drive loop: one task owns the [`Endpoint`] and the [`SipTransport`].

use std::io;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{SipTransport, TransportEvent};
use crate::{Endpoint, Event, Transmit};

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
/// the UDP socket fails (returns the error). Events go to `events`; nobody
/// listening is not an error.
pub async fn run_endpoint(
    mut transport: SipTransport,
    mut endpoint: Endpoint,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
) -> io::Result<()> {
    let mut forward = Forward { events };
    drive(
        &mut transport,
        &mut endpoint,
        &mut forward,
        Some(&mut commands),
    )
    .await
}

/// Application logic run inside [`drive`]: it sees every event and may act on
/// the endpoint, keeps its own timer, and says when it is finished.
pub(crate) trait Agent {
    /// An event from the endpoint.
    fn handle_event(&mut self, endpoint: &mut Endpoint, now: Instant, event: Event);
    /// A message about to be sent (for counting); default: ignore.
    fn observe_transmit(&mut self, _transmit: &Transmit) {}
    /// The agent's own deadline passed.
    fn handle_timeout(&mut self, _endpoint: &mut Endpoint, _now: Instant) {}
    /// The agent's next deadline.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    /// True when the loop should return.
    fn is_done(&self) -> bool {
        false
    }
}

struct Forward {
    events: mpsc::UnboundedSender<Event>,
}

impl Agent for Forward {
    fn handle_event(&mut self, _endpoint: &mut Endpoint, _now: Instant, event: Event) {
        let _ = self.events.send(event);
    }
}

/// The loop: drain transmits and events completely, then wait for the first of
/// a received message, the endpoint's or the agent's deadline, or a command.
///
/// A send that fails (other than a full TCP queue, which counts as a lost
/// message) and an outbound connection that cannot be made are reported with
/// [`Endpoint::handle_transport_error`], so the transactions toward that
/// destination fail at once. Times come from tokio's clock, so a paused test runtime works.
pub(crate) async fn drive(
    transport: &mut SipTransport,
    endpoint: &mut Endpoint,
    agent: &mut impl Agent,
    mut commands: Option<&mut mpsc::UnboundedReceiver<Command>>,
) -> io::Result<()> {
    loop {
        loop {
            let mut progressed = false;
            while let Some(transmit) = endpoint.poll_transmit() {
                agent.observe_transmit(&transmit);
                let (kind, destination) = (transmit.transport, transmit.destination);
                if let Err(e) = transport.send(transmit).await {
                    // A full queue is congestion (the message is lost, like a
                    // dropped datagram); anything else means we cannot reach it.
                    if e.kind() != io::ErrorKind::WouldBlock {
                        endpoint.handle_transport_error(now(), kind, destination);
                    }
                }
                progressed = true;
            }
            while let Some(event) = endpoint.poll_event() {
                agent.handle_event(endpoint, now(), event);
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        if agent.is_done() {
            return Ok(());
        }
        let deadline = match (endpoint.poll_timeout(), agent.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                None => std::future::pending().await,
            }
        };
        let command = async {
            match commands.as_deref_mut() {
                Some(receiver) => receiver.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            received = transport.next_event() => match received? {
                TransportEvent::Message { transport, source, bytes } => {
                    endpoint.handle_datagram(now(), transport, source, &bytes);
                }
                TransportEvent::Unreachable { transport, destination } => {
                    endpoint.handle_transport_error(now(), transport, destination);
                }
            },
            () = sleep => {}
            command = command => match command {
                Some(command) => command(endpoint, now()),
                None => return Ok(()),
            },
        }
        let now = now();
        if endpoint.poll_timeout().is_some_and(|at| at <= now) {
            endpoint.handle_timeout(now);
        }
        if agent.poll_timeout().is_some_and(|at| at <= now) {
            agent.handle_timeout(endpoint, now);
        }
    }
}

/// The driver owns the clock: tokio's, so paused-time tests control it.
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}
