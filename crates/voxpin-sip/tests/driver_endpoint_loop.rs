//! `spawn_endpoint` drives an `Endpoint` over real loopback sockets: commands
//! sent through `EndpointHandle::with` run inside the loop, events come out of
//! the channel, and a whole call (INVITE, 200, ACK, BYE) completes between two
//! driven endpoints over UDP and over TCP; a call toward a TCP port nobody
//! listens on fails at once instead of waiting for Timer B. Waits are
//! bounded by timeouts on events.
#![cfg(feature = "driver")]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use rand::SeedableRng;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::timeout;
use voxpin_sip::driver::{spawn_endpoint, EndpointHandle, SipTransport, TransportConfig};
use voxpin_sip::msg::{NameAddr, Uri};
use voxpin_sip::sdp::{self, Codec, LocalMedia};
use voxpin_sip::{Endpoint, EndpointConfig, Event, HangupCause, OutboundCall, Side, Transport};

const WAIT: Duration = Duration::from_secs(10);

async fn driven(
    seed: u64,
    transport_kind: Transport,
) -> (EndpointHandle, UnboundedReceiver<Event>, SocketAddr) {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let transport = SipTransport::bind(loopback, Some(loopback), TransportConfig::default())
        .await
        .expect("bind");
    let udp = transport.udp_local_addr().expect("bound");
    let tcp = transport.tcp_local_addr().expect("listening");
    // Port 0 gives UDP and TCP different ports; advertise the one the test uses.
    let contact = match transport_kind {
        Transport::Tcp => tcp,
        _ => udp,
    };
    let config = EndpointConfig {
        contact,
        ..EndpointConfig::default()
    };
    let rng = Box::new(rand::rngs::StdRng::seed_from_u64(seed));
    let endpoint = Endpoint::new(config, rng, tokio::time::Instant::now().into_std());
    let (handle, events, _task) = spawn_endpoint(transport, endpoint);
    (handle, events, contact)
}

async fn next(events: &mut UnboundedReceiver<Event>) -> Event {
    timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("the loop is running")
}

fn media(port: u16) -> LocalMedia {
    LocalMedia {
        address: [127, 0, 0, 1].into(),
        port,
        codecs: vec![Codec::Pcmu],
        telephone_event: true,
        ptime_ms: 20,
    }
}

async fn call_between_driven_endpoints(transport: Transport, seeds: (u64, u64)) {
    let (caller, mut caller_events, caller_addr) = driven(seeds.0, transport).await;
    let (callee, mut callee_events, callee_addr) = driven(seeds.1, transport).await;
    let offer = sdp::offer(&media(40000), 1);
    let call = caller
        .with(move |ep, now| {
            ep.call(
                now,
                OutboundCall {
                    request_uri: Uri::parse(&format!("sip:otp@{callee_addr}")).expect("uri"),
                    destination: callee_addr,
                    transport,
                    from: NameAddr::parse(&format!("<sip:voxpin@{caller_addr}>")).expect("from"),
                    to: NameAddr::parse(&format!("<sip:otp@{callee_addr}>")).expect("to"),
                    sdp_offer: Bytes::from(offer.to_bytes()),
                    credentials: None,
                    ring_timeout: Duration::from_secs(5),
                    extra_headers: Vec::new(),
                },
            )
        })
        .await
        .expect("caller loop runs");

    let (incoming, offer) = match next(&mut callee_events).await {
        Event::IncomingCall {
            call,
            transport: arrived_over,
            sdp_offer,
            ..
        } => {
            assert_eq!(arrived_over, transport);
            (call, sdp_offer.expect("an offer"))
        }
        other => panic!("expected IncomingCall, got {other:?}"),
    };
    let offer = sdp::SessionDescription::parse(&offer).expect("offer parses");
    let (answer, negotiated) = sdp::answer(&offer, &media(41000), 2).expect("answerable");
    assert_eq!(negotiated.telephone_event, Some(101));
    callee
        .with(move |ep, now| ep.answer(now, incoming, Bytes::from(answer.to_bytes())))
        .await
        .expect("callee loop runs");

    loop {
        match next(&mut caller_events).await {
            Event::Answered { call: answered, .. } => {
                assert_eq!(answered, call);
                break;
            }
            Event::Provisional { .. } => {}
            other => panic!("expected Answered, got {other:?}"),
        }
    }
    assert!(matches!(
        next(&mut callee_events).await,
        Event::Confirmed { .. }
    ));
    caller
        .with(move |ep, now| ep.hangup(now, call))
        .await
        .expect("caller loop runs");
    match next(&mut callee_events).await {
        Event::Ended { by, .. } => assert_eq!(by, Side::Remote),
        other => panic!("expected Ended, got {other:?}"),
    }
    match next(&mut caller_events).await {
        Event::Ended { by, .. } => assert_eq!(by, Side::Local),
        other => panic!("expected Ended, got {other:?}"),
    }
}

#[tokio::test]
async fn driven_endpoints_complete_a_call_over_udp() {
    call_between_driven_endpoints(Transport::Udp, (2, 4)).await;
}

#[tokio::test]
async fn driven_endpoints_complete_a_call_over_tcp() {
    call_between_driven_endpoints(Transport::Tcp, (3, 5)).await;
}

#[tokio::test]
async fn dropping_every_handle_stops_the_loop() {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let transport = SipTransport::bind(loopback, None, TransportConfig::default())
        .await
        .expect("bind");
    let rng = Box::new(rand::rngs::StdRng::seed_from_u64(1));
    let endpoint = Endpoint::new(
        EndpointConfig::default(),
        rng,
        tokio::time::Instant::now().into_std(),
    );
    let (handle, _events, task) = spawn_endpoint(transport, endpoint);
    let calls = handle.with(|ep, _| ep.call_count()).await;
    assert_eq!(calls, Some(0));
    drop(handle);
    let result = timeout(WAIT, task)
        .await
        .expect("stops in time")
        .expect("no panic");
    assert!(result.is_ok());
}

#[tokio::test]
async fn call_to_an_unreachable_tcp_peer_fails_at_once() {
    let (caller, mut events, caller_addr) = driven(9, Transport::Tcp).await;
    // A port nobody listens on: bind, note the address, close.
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        l.local_addr().expect("bound")
    };
    caller
        .with(move |ep, now| {
            ep.call(
                now,
                OutboundCall {
                    request_uri: Uri::parse(&format!("sip:otp@{closed}")).expect("uri"),
                    destination: closed,
                    transport: Transport::Tcp,
                    from: NameAddr::parse(&format!("<sip:voxpin@{caller_addr}>")).expect("from"),
                    to: NameAddr::parse(&format!("<sip:otp@{closed}>")).expect("to"),
                    sdp_offer: Bytes::from(sdp::offer(&media(40000), 1).to_bytes()),
                    credentials: None,
                    ring_timeout: Duration::from_secs(30),
                    extra_headers: Vec::new(),
                },
            )
        })
        .await
        .expect("caller loop runs");
    // Well before Timer B (32 s): the refused connect is reported to the endpoint.
    let event = timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("ended at once")
        .expect("running");
    match event {
        Event::Ended { cause, by, .. } => {
            assert_eq!(cause, HangupCause::NetworkOutOfOrder);
            assert_eq!(by, Side::Local);
        }
        other => panic!("expected Ended, got {other:?}"),
    }
}
