//! The tokio transport carries SIP over loopback UDP and TCP: datagrams pass
//! as received; a TCP byte stream is split into messages however the bytes
//! arrive; replies reuse the connection a peer opened; outbound connections
//! are reused per address; a peer that exceeds the 64 KiB cap or stays idle is
//! disconnected; connections beyond the cap are refused; close flushes what
//! is queued; a refused connect is reported unreachable. Every wait is
//! bounded by a timeout on an event, never a sleep.
#![cfg(feature = "driver")]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use voxpin_sip::driver::{SipTransport, TransportConfig, TransportEvent};
use voxpin_sip::{Transmit, Transport};

const WAIT: Duration = Duration::from_secs(5);

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn message(body: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn transport(tcp: bool, config: TransportConfig) -> SipTransport {
    SipTransport::bind(loopback(), tcp.then(loopback), config)
        .await
        .expect("bind on loopback")
}

async fn recv(t: &mut SipTransport) -> (Transport, SocketAddr, Vec<u8>) {
    timeout(WAIT, t.recv())
        .await
        .expect("a message within the timeout")
        .expect("receive succeeds")
}

async fn send_udp(
    from: &SipTransport,
    destination: SocketAddr,
    payload: &[u8],
) -> std::io::Result<()> {
    from.send(Transmit {
        transport: Transport::Udp,
        destination,
        payload: payload.to_vec(),
    })
    .await
}

async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    timeout(WAIT, stream.read_to_end(&mut all))
        .await
        .expect("the transport closes the connection")
        .ok();
    all
}

#[tokio::test]
async fn udp_datagrams_pass_unchanged() {
    let a = transport(false, TransportConfig::default()).await;
    let mut b = transport(false, TransportConfig::default()).await;
    let to_b = b.udp_local_addr().expect("bound");
    let payload = message("hello");
    send_udp(&a, to_b, &payload).await.expect("send");
    let (kind, source, bytes) = recv(&mut b).await;
    assert_eq!(kind, Transport::Udp);
    assert_eq!(source, a.udp_local_addr().expect("bound"));
    assert_eq!(bytes, payload);
}

#[tokio::test]
async fn a_taken_udp_socket_carries_the_datagrams_and_tcp_stays() {
    let a = transport(false, TransportConfig::default()).await;
    let mut b = transport(true, TransportConfig::default()).await;
    let to_b = b.udp_local_addr().expect("bound");
    let udp = b.take_udp().expect("first take");
    assert_eq!(udp.local_addr().expect("bound"), to_b);
    assert_eq!(b.udp_local_addr().expect("still known"), to_b);
    assert_eq!(
        b.take_udp().expect_err("taken once").kind(),
        std::io::ErrorKind::NotConnected
    );
    // The transport no longer sends UDP...
    let refused = send_udp(&b, a.udp_local_addr().expect("bound"), &message("x"))
        .await
        .expect_err("UDP handed over");
    assert_eq!(refused.kind(), std::io::ErrorKind::NotConnected);
    // ...nor reads it: the datagram reaches the taken socket (a blocking
    // read with a bound, so a lost datagram fails instead of hanging).
    let payload = message("to the taken socket");
    send_udp(&a, to_b, &payload).await.expect("send");
    let got = tokio::task::spawn_blocking(move || {
        udp.set_nonblocking(false).expect("blocking");
        udp.set_read_timeout(Some(WAIT)).expect("timeout");
        let mut buf = [0u8; 2048];
        let (n, _) = udp.recv_from(&mut buf).expect("a datagram in time");
        buf[..n].to_vec()
    })
    .await
    .expect("reader");
    assert_eq!(got, payload);
    // TCP still flows through the transport.
    let mut peer = TcpStream::connect(b.tcp_local_addr().expect("listening"))
        .await
        .expect("connect");
    let tcp = message("over tcp");
    peer.write_all(&tcp).await.expect("write");
    let (kind, _, bytes) = recv(&mut b).await;
    assert_eq!((kind, bytes), (Transport::Tcp, tcp));
}

#[tokio::test]
async fn tcp_stream_is_framed_and_replies_reuse_the_connection() {
    let mut b = transport(true, TransportConfig::default()).await;
    let listen = b.tcp_local_addr().expect("listening");
    let mut peer = TcpStream::connect(listen).await.expect("connect");
    let (one, two, three) = (message("one"), message(""), message("three"));
    // Two messages and a keep-alive in one write, the third split mid-header and mid-body.
    let mut first = one.clone();
    first.extend_from_slice(b"\r\n\r\n");
    first.extend_from_slice(&two);
    first.extend_from_slice(&three[..10]);
    peer.write_all(&first).await.expect("write");
    let (kind, source, bytes) = recv(&mut b).await;
    assert_eq!((kind, bytes), (Transport::Tcp, one));
    assert_eq!(source, peer.local_addr().expect("bound"));
    assert_eq!(recv(&mut b).await.2, two);
    peer.write_all(&three[10..three.len() - 2])
        .await
        .expect("write");
    peer.write_all(&three[three.len() - 2..])
        .await
        .expect("write");
    assert_eq!(recv(&mut b).await.2, three);

    let reply = message("reply");
    b.send(Transmit {
        transport: Transport::Tcp,
        destination: source,
        payload: reply.clone(),
    })
    .await
    .expect("send on the inbound connection");
    let mut got = vec![0; reply.len()];
    timeout(WAIT, peer.read_exact(&mut got))
        .await
        .expect("reply in time")
        .expect("read");
    assert_eq!(got, reply);
    assert_eq!(b.tcp_connections(), 1);
}

#[tokio::test]
async fn outbound_tcp_connections_are_reused_per_address() {
    let a = transport(false, TransportConfig::default()).await;
    let mut b = transport(true, TransportConfig::default()).await;
    let listen = b.tcp_local_addr().expect("listening");
    for body in ["first", "second", "third"] {
        a.send(Transmit {
            transport: Transport::Tcp,
            destination: listen,
            payload: message(body),
        })
        .await
        .expect("queued");
    }
    let mut sources = Vec::new();
    for body in ["first", "second", "third"] {
        let (kind, source, bytes) = recv(&mut b).await;
        assert_eq!((kind, bytes), (Transport::Tcp, message(body)), "in order");
        sources.push(source);
    }
    assert!(
        sources.iter().all(|s| *s == sources[0]),
        "one connection: {sources:?}"
    );
    assert_eq!(a.tcp_connections(), 1);
    assert_eq!(b.tcp_connections(), 1);
}

#[tokio::test]
async fn oversized_tcp_message_closes_the_connection() {
    let mut b = transport(true, TransportConfig::default()).await;
    let mut peer = TcpStream::connect(b.tcp_local_addr().expect("listening"))
        .await
        .expect("connect");
    let huge = format!(
        "OPTIONS sip:a SIP/2.0\r\nContent-Length: {}\r\n\r\n",
        70 * 1024
    );
    peer.write_all(huge.as_bytes()).await.expect("write");
    assert!(read_until_closed(&mut peer).await.is_empty());
    // Nothing was delivered; a fresh, well-behaved peer still gets through.
    let mut good = TcpStream::connect(b.tcp_local_addr().expect("listening"))
        .await
        .expect("connect");
    good.write_all(&message("ok")).await.expect("write");
    assert_eq!(recv(&mut b).await.2, message("ok"));
}

#[tokio::test]
async fn idle_tcp_connections_are_closed() {
    let config = TransportConfig {
        idle_timeout: Duration::from_millis(100),
        ..Default::default()
    };
    let mut b = transport(true, config).await;
    let mut peer = TcpStream::connect(b.tcp_local_addr().expect("listening"))
        .await
        .expect("connect");
    peer.write_all(&message("once")).await.expect("write");
    assert_eq!(recv(&mut b).await.2, message("once"));
    assert!(
        read_until_closed(&mut peer).await.is_empty(),
        "closed after idling"
    );
}

#[tokio::test]
async fn messages_over_the_cap_are_not_sent() {
    let a = transport(false, TransportConfig::default()).await;
    let payload = vec![b'x'; 64 * 1024 + 1];
    let err = a
        .send(Transmit {
            transport: Transport::Udp,
            destination: loopback(),
            payload,
        })
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn close_flushes_queued_tcp_messages() {
    let a = transport(false, TransportConfig::default()).await;
    let listener = tokio::net::TcpListener::bind(loopback())
        .await
        .expect("bind");
    let destination = listener.local_addr().expect("bound");
    let bodies: Vec<String> = (0..20).map(|i| format!("message {i}")).collect();
    for body in &bodies {
        a.send(Transmit {
            transport: Transport::Tcp,
            destination,
            payload: message(body),
        })
        .await
        .expect("queued");
    }
    let (mut peer, _) = timeout(WAIT, listener.accept())
        .await
        .expect("connects")
        .expect("accept");
    timeout(WAIT, a.close(Duration::from_secs(5)))
        .await
        .expect("close returns");
    let expected: Vec<u8> = bodies.iter().flat_map(|b| message(b)).collect();
    assert_eq!(read_until_closed(&mut peer).await, expected);
}

#[tokio::test]
async fn refused_tcp_connect_is_reported_unreachable() {
    let mut a = transport(false, TransportConfig::default()).await;
    // A port nobody listens on: bind, note the address, close.
    let closed = {
        let l = tokio::net::TcpListener::bind(loopback())
            .await
            .expect("bind");
        l.local_addr().expect("bound")
    };
    a.send(Transmit {
        transport: Transport::Tcp,
        destination: closed,
        payload: message("x"),
    })
    .await
    .expect("queued");
    let event = timeout(WAIT, a.next_event())
        .await
        .expect("in time")
        .expect("event");
    assert_eq!(
        event,
        TransportEvent::Unreachable {
            transport: Transport::Tcp,
            destination: closed
        }
    );
    assert_eq!(a.tcp_connections(), 0);
}

#[tokio::test]
async fn udp_burst_larger_than_the_default_buffer_is_received() {
    // 1000 datagrams of 1 KiB sent before the receiver reads any: more than
    // the kernel's default 208 KiB receive buffer holds.
    let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if rmem_max < 4 * 1024 * 1024 {
        eprintln!("skipping: net.core.rmem_max is {rmem_max}, below the 4 MiB this test needs");
        return;
    }
    let a = transport(false, TransportConfig::default()).await;
    let mut b = transport(false, TransportConfig::default()).await;
    let to_b = b.udp_local_addr().expect("bound");
    let body = "x".repeat(1000);
    for _ in 0..1000 {
        a.send(Transmit {
            transport: Transport::Udp,
            destination: to_b,
            payload: message(&body),
        })
        .await
        .expect("send");
    }
    for _ in 0..1000 {
        assert_eq!(recv(&mut b).await.2.len(), message(&body).len());
    }
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused() {
    let config = TransportConfig {
        max_connections: 1,
        ..Default::default()
    };
    let mut b = transport(true, config).await;
    let listen = b.tcp_local_addr().expect("listening");
    let mut first = TcpStream::connect(listen).await.expect("connect");
    first.write_all(&message("first")).await.expect("write");
    assert_eq!(recv(&mut b).await.2, message("first"));
    let mut second = TcpStream::connect(listen)
        .await
        .expect("the kernel accepts");
    assert!(
        read_until_closed(&mut second).await.is_empty(),
        "the transport closes it at once"
    );
    assert_eq!(b.tcp_connections(), 1);
    // Outbound connections count too.
    let err = b
        .send(Transmit {
            transport: Transport::Tcp,
            destination: SocketAddr::from(([127, 0, 0, 1], 9)),
            payload: message("x"),
        })
        .await
        .expect_err("over the cap");
    assert_eq!(err.kind(), std::io::ErrorKind::Other);
    drop(first);
}
