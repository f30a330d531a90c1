//! UDP socket, TCP listener and TCP connections behind one receive/send surface.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use super::{DEFAULT_IDLE_TIMEOUT, MAX_MESSAGE};
use crate::msg::StreamFramer;
use crate::{Transmit, Transport};

/// Limits of a [`SipTransport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportConfig {
    /// A TCP connection with no traffic in either direction for this long is closed.
    pub idle_timeout: Duration,
    /// The largest message accepted or sent; a TCP peer exceeding it is disconnected.
    pub max_message: usize,
    /// Messages queued for one TCP connection before further sends fail.
    pub send_queue: usize,
    /// Open TCP connections (inbound and outbound) before new ones are refused.
    pub max_connections: usize,
    /// How long an outbound TCP connect may take.
    pub connect_timeout: Duration,
    /// Requested UDP socket receive and send buffer size in bytes (the kernel
    /// caps it at `net.core.rmem_max` / `wmem_max`): room for bursts of calls.
    pub udp_buffer: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_message: MAX_MESSAGE,
            send_queue: 64,
            max_connections: 1024,
            connect_timeout: Duration::from_secs(5),
            udp_buffer: 4 * 1024 * 1024,
        }
    }
}

/// One live TCP connection as seen by senders: its queue and an id that tells
/// a closed connection from its replacement under the same address.
#[derive(Debug)]
struct Connection {
    id: u64,
    outgoing: mpsc::Sender<Vec<u8>>,
}

/// The TCP connections by remote address, shared with the connection tasks.
#[derive(Debug, Default)]
struct Registry {
    connections: Mutex<HashMap<SocketAddr, Connection>>,
    next_id: AtomicU64,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<SocketAddr, Connection>> {
        // A panic while holding this lock leaves a plain map behind: still consistent.
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remove_if_current(&self, remote: SocketAddr, id: u64) {
        let mut map = self.lock();
        if map.get(&remote).is_some_and(|c| c.id == id) {
            map.remove(&remote);
        }
    }
}

/// What a connection task hands back.
#[derive(Debug)]
enum Inbound {
    /// A framed message from the remote address.
    Frame(SocketAddr, Vec<u8>),
    /// An outbound connection could not be established.
    ConnectFailed(SocketAddr),
}

/// What [`SipTransport::next_event`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportEvent {
    /// A UDP datagram as received, or one framed TCP message.
    Message {
        /// Over which transport it came.
        transport: Transport,
        /// From where (for TCP: the connection's remote address).
        source: SocketAddr,
        /// The message bytes.
        bytes: Vec<u8>,
    },
    /// A destination could not be reached (an outbound TCP connect failed or
    /// timed out); give it to [`Endpoint::handle_transport_error`](crate::Endpoint::handle_transport_error).
    Unreachable {
        /// Over which transport.
        transport: Transport,
        /// The address that could not be reached.
        destination: SocketAddr,
    },
}

/// SIP over UDP and TCP. Receive with [`SipTransport::recv`], send with [`SipTransport::send`].
///
/// Dropping the transport stops accepting connections; established
/// connections close when idle or when their peer closes them.
#[derive(Debug)]
pub struct SipTransport {
    /// `None` once handed over with [`SipTransport::take_udp`].
    udp: Option<UdpSocket>,
    udp_local: SocketAddr,
    udp_buffer: Vec<u8>,
    tcp_local: Option<SocketAddr>,
    inbound_rx: mpsc::Receiver<Inbound>,
    inbound_tx: mpsc::Sender<Inbound>,
    registry: Arc<Registry>,
    config: TransportConfig,
    accept_task: Option<tokio::task::JoinHandle<()>>,
    /// Cloned into every connection task; `close` waits for all clones to drop.
    alive: Option<mpsc::Sender<()>>,
    all_closed: mpsc::Receiver<()>,
}

impl SipTransport {
    /// Binds the UDP socket and, when `tcp` is given, a TCP listener (port 0 picks a free one).
    /// Outbound TCP connections work either way.
    pub async fn bind(
        udp: SocketAddr,
        tcp: Option<SocketAddr>,
        config: TransportConfig,
    ) -> io::Result<SipTransport> {
        let udp = bind_udp(udp, config.udp_buffer)?;
        let udp_local = udp.local_addr()?;
        let (inbound_tx, inbound_rx) = mpsc::channel(1024);
        let registry = Arc::new(Registry::default());
        let (alive, all_closed) = mpsc::channel(1);
        let mut tcp_local = None;
        let mut accept_task = None;
        if let Some(address) = tcp {
            let listener = TcpListener::bind(address).await?;
            tcp_local = Some(listener.local_addr()?);
            accept_task = Some(tokio::spawn(accept_loop(
                listener,
                Arc::clone(&registry),
                inbound_tx.clone(),
                alive.clone(),
                config,
            )));
        }
        Ok(SipTransport {
            udp: Some(udp),
            udp_local,
            udp_buffer: vec![0; u16::MAX as usize],
            tcp_local,
            inbound_rx,
            inbound_tx,
            registry,
            config,
            accept_task,
            alive: Some(alive),
            all_closed,
        })
    }

    /// The bound UDP address (also after [`SipTransport::take_udp`]).
    pub fn udp_local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.udp_local)
    }

    /// Hands the UDP socket (non-blocking, with its buffer sizes) to a caller
    /// that drives it itself, e.g. a thread of its own with `epoll`. From then
    /// on this transport carries TCP only: [`SipTransport::next_event`] no
    /// longer reads UDP and a UDP [`SipTransport::send`] is an error.
    ///
    /// Fails when the socket was already taken.
    pub fn take_udp(&mut self) -> io::Result<std::net::UdpSocket> {
        match self.udp.take() {
            Some(socket) => socket.into_std(),
            None => Err(udp_taken()),
        }
    }

    /// The bound TCP listener address, when listening.
    pub fn tcp_local_addr(&self) -> Option<SocketAddr> {
        self.tcp_local
    }

    /// Open TCP connections (inbound and outbound).
    pub fn tcp_connections(&self) -> usize {
        self.registry.lock().len()
    }

    /// The next message: a UDP datagram as received, or one framed TCP message.
    /// Unreachable destinations are skipped; see [`SipTransport::next_event`].
    ///
    /// Cancel-safe (usable in `tokio::select!`).
    pub async fn recv(&mut self) -> io::Result<(Transport, SocketAddr, Vec<u8>)> {
        loop {
            if let TransportEvent::Message {
                transport,
                source,
                bytes,
            } = self.next_event().await?
            {
                return Ok((transport, source, bytes));
            }
        }
    }

    /// The next message or unreachable destination.
    ///
    /// Cancel-safe (usable in `tokio::select!`). Transient UDP errors (an ICMP
    /// port-unreachable reported on the socket) are skipped; an error is fatal
    /// to the UDP socket.
    pub async fn next_event(&mut self) -> io::Result<TransportEvent> {
        loop {
            let udp = async {
                match &self.udp {
                    Some(socket) => socket.recv_from(&mut self.udp_buffer).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = udp => match received {
                    Ok((len, source)) => {
                        let bytes = self.udp_buffer.get(..len).unwrap_or_default().to_vec();
                        return Ok(TransportEvent::Message { transport: Transport::Udp, source, bytes });
                    }
                    Err(e) if is_transient(&e) => continue,
                    Err(e) => return Err(e),
                },
                Some(inbound) = self.inbound_rx.recv() => {
                    return Ok(match inbound {
                        Inbound::Frame(source, bytes) => {
                            TransportEvent::Message { transport: Transport::Tcp, source, bytes }
                        }
                        Inbound::ConnectFailed(destination) => {
                            TransportEvent::Unreachable { transport: Transport::Tcp, destination }
                        }
                    });
                }
            }
        }
    }

    /// Sends one message. Over TCP the connection to `destination` is reused or
    /// opened in the background; a full connection queue or too many connections
    /// is an error, as is a message over the size limit.
    pub async fn send(&self, transmit: Transmit) -> io::Result<()> {
        if transmit.payload.len() > self.config.max_message {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "SIP message exceeds the size limit",
            ));
        }
        match transmit.transport {
            Transport::Udp => {
                let socket = self.udp.as_ref().ok_or_else(udp_taken)?;
                socket
                    .send_to(&transmit.payload, transmit.destination)
                    .await?;
                Ok(())
            }
            Transport::Tcp => self.send_tcp(transmit.destination, transmit.payload),
        }
    }

    fn send_tcp(&self, destination: SocketAddr, payload: Vec<u8>) -> io::Result<()> {
        let mut map = self.registry.lock();
        let payload = match map.get(&destination) {
            Some(connection) => match connection.outgoing.try_send(payload) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Full(_)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "TCP send queue full",
                    ))
                }
                // The connection just closed: open a new one below.
                Err(mpsc::error::TrySendError::Closed(payload)) => payload,
            },
            None => payload,
        };
        // A closed connection's entry (if any) is replaced below; it does not count.
        let open = map.len() - usize::from(map.contains_key(&destination));
        if open >= self.config.max_connections {
            return Err(io::Error::other("too many TCP connections"));
        }
        let (outgoing, queue) = mpsc::channel(self.config.send_queue.max(1));
        // Just created with capacity >= 1: this first message always fits.
        let _ = outgoing.try_send(payload);
        let id = self.registry.next_id.fetch_add(1, Ordering::Relaxed);
        map.insert(destination, Connection { id, outgoing });
        drop(map);
        let registry = Arc::clone(&self.registry);
        let inbound = self.inbound_tx.clone();
        let alive = self.alive.clone();
        let config = self.config;
        tokio::spawn(async move {
            let _alive = alive;
            let connect =
                tokio::time::timeout(config.connect_timeout, TcpStream::connect(destination));
            match connect.await {
                Ok(Ok(stream)) => {
                    run_connection(stream, destination, id, queue, inbound, &registry, config).await
                }
                _ => {
                    registry.remove_if_current(destination, id);
                    let _ = inbound.send(Inbound::ConnectFailed(destination)).await;
                }
            }
        });
        Ok(())
    }
}

impl SipTransport {
    /// Stops accepting connections, lets every TCP connection write what is
    /// queued for it, closes them, and waits for that (at most `limit`).
    ///
    /// Call it before exiting: sends over TCP complete in the background, so a
    /// process that just returns may cut off its last messages.
    pub async fn close(mut self, limit: Duration) {
        if let Some(task) = self.accept_task.take() {
            task.abort();
        }
        // Dropping the senders ends each connection task once its queue is drained.
        self.registry.lock().clear();
        self.alive = None;
        let _ = tokio::time::timeout(limit, self.all_closed.recv()).await;
    }
}

impl Drop for SipTransport {
    fn drop(&mut self) {
        if let Some(task) = self.accept_task.take() {
            task.abort();
        }
    }
}

/// A non-blocking UDP socket with the requested buffer sizes (best effort).
fn bind_udp(address: SocketAddr, buffer: usize) -> io::Result<UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    // Buffer sizes are a tuning hint: a kernel that refuses them still works.
    let _ = socket.set_recv_buffer_size(buffer);
    let _ = socket.set_send_buffer_size(buffer);
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    UdpSocket::from_std(socket.into())
}

fn udp_taken() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the SIP UDP socket was handed over with take_udp",
    )
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

async fn accept_loop(
    listener: TcpListener,
    registry: Arc<Registry>,
    inbound: mpsc::Sender<Inbound>,
    alive: mpsc::Sender<()>,
    config: TransportConfig,
) {
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of file descriptors or similar: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (outgoing, queue) = mpsc::channel(config.send_queue.max(1));
        let id = registry.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut map = registry.lock();
            if map.len() >= config.max_connections {
                continue; // dropping `stream` closes it
            }
            map.insert(remote, Connection { id, outgoing });
        }
        let registry = Arc::clone(&registry);
        let inbound = inbound.clone();
        let alive = alive.clone();
        tokio::spawn(async move {
            let _alive = alive;
            run_connection(stream, remote, id, queue, inbound, &registry, config).await
        });
    }
}

/// Reads and writes one TCP connection until the peer closes it, it idles
/// out, it breaks framing, or the transport is gone.
async fn run_connection(
    stream: TcpStream,
    remote: SocketAddr,
    id: u64,
    mut queue: mpsc::Receiver<Vec<u8>>,
    inbound: mpsc::Sender<Inbound>,
    registry: &Registry,
    config: TransportConfig,
) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let mut framer = StreamFramer::new(config.max_message);
    let mut buffer = vec![0u8; 16 * 1024];
    'connection: loop {
        tokio::select! {
            read = reader.read(&mut buffer) => {
                let len = match read {
                    Ok(0) | Err(_) => break 'connection,
                    Ok(len) => len,
                };
                if framer.push(buffer.get(..len).unwrap_or_default()).is_err() {
                    break 'connection;
                }
                while let Some(frame) = framer.next_frame() {
                    let Ok(frame) = frame else { break 'connection };
                    if inbound.send(Inbound::Frame(remote, frame.to_vec())).await.is_err() {
                        break 'connection;
                    }
                }
            }
            message = queue.recv() => {
                let Some(message) = message else { break 'connection };
                if writer.write_all(&message).await.is_err() {
                    break 'connection;
                }
            }
            () = tokio::time::sleep(config.idle_timeout) => break 'connection,
        }
    }
    registry.remove_if_current(remote, id);
    let _ = writer.shutdown().await;
}
