//! voxpin-sip interoperates with SIPp, a SIP implementation nobody here wrote.
//!
//! SIPp runs as a child process on loopback high ports picked per test; our
//! side runs in-process (the same agents as the `uas` and `uac` examples):
//! SIPp's built-in `uac` calls our answering agent and our calling agent calls
//! SIPp's built-in `uas`, each over UDP and over TCP; a SIPp scenario
//! challenges our INVITE with 401 (we retry with digest credentials SIPp
//! verifies); another ignores our first INVITE (our retransmission must get the
//! call through, and SIPp counts it). SIPp callers offering like pjsua
//! (telephone-event on 120) and offering only G.729 check our SDP answer and
//! our 488; INFO DTMF, OPTIONS and a re-INVITE arrive mid-call; a callee
//! that only rings makes our ring timeout CANCEL; a busy one ends the call
//! with USER_BUSY; a SIPp registrar challenges our REGISTER, verifies the
//! answer, grants a binding and sees it removed. Each test asserts SIPp's exit status and
//! our agent's report. Waits are bounded: process exit with a timeout, and a
//! readiness poll of SIPp's port. Without `sipp` installed
//! (`apt-get install sip-tester`) the tests print why and pass.
#![cfg(feature = "driver")]

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use rand::SeedableRng;
use tokio::process::{Child, Command};
use tokio::time::timeout;
use voxpin_sip::auth::Credentials;
use voxpin_sip::driver::uac::{place_calls, UacOptions, UacReport};
use voxpin_sip::driver::uas::{answer_calls, UasOptions, UasReport};
use voxpin_sip::driver::{spawn_endpoint, SipTransport, TransportConfig};
use voxpin_sip::msg::{NameAddr, Uri};
use voxpin_sip::sdp::Codec;
use voxpin_sip::{Endpoint, EndpointConfig, Event, Registration, RegistrationState, Transport};

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;
const LIMIT: Duration = Duration::from_secs(30);

fn sipp_missing() -> bool {
    let found = std::process::Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("skipping: `sipp` is not installed (Debian package sip-tester)");
    }
    !found
}

/// A SIP port in 15000–16999 free on loopback for both UDP and TCP, distinct per call.
fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    free_port_from(&NEXT, 15000, 1)
}

/// A media port in 25000–26999 for SIPp, which binds the next few ports too
/// (audio and video, RTP and RTCP).
fn free_media_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    free_port_from(&NEXT, 25000, 10)
}

fn free_port_from(next: &AtomicU16, base: u16, step: u16) -> u16 {
    loop {
        let offset = next.fetch_add(step, Ordering::Relaxed) % 2000;
        let spread = (std::process::id() % 100) as u16 * 20 / step * step;
        let port = base + (offset + spread) % 2000;
        let udp = UdpSocket::bind((LOOPBACK, port));
        let tcp = TcpListener::bind((LOOPBACK, port));
        if udp.is_ok() && tcp.is_ok() {
            return port;
        }
    }
}

/// Whether a socket is bound to loopback `port` (UDP) or listening on it (TCP),
/// read from the kernel's socket table so that probing never steals the port.
fn port_bound(port: u16, transport: Transport) -> bool {
    let (table, listening) = match transport {
        Transport::Udp => ("/proc/net/udp", None),
        _ => ("/proc/net/tcp", Some("0A")),
    };
    let Ok(text) = std::fs::read_to_string(table) else {
        // No /proc: fall back to a bind probe.
        return match transport {
            Transport::Udp => UdpSocket::bind((LOOPBACK, port)).is_err(),
            _ => TcpListener::bind((LOOPBACK, port)).is_err(),
        };
    };
    let local = format!("0100007F:{port:04X}");
    text.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1) == Some(&local.as_str())
            && listening.is_none_or(|state| fields.get(3) == Some(&state))
    })
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name)
}

struct Sipp {
    child: Child,
    dir: tempfile::TempDir,
}

impl Sipp {
    /// Starts SIPp with `args`, bound to loopback port `port`, transport `t1` or `u1`.
    fn start(port: u16, transport: Transport, args: &[&str]) -> Sipp {
        let dir = tempfile::tempdir().expect("temporary directory");
        let log = std::fs::File::create(dir.path().join("sipp.out")).expect("log file");
        let media_port = free_media_port().to_string();
        let child = Command::new("sipp")
            .args(args)
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-mp",
                &media_port,
            ])
            .args([
                "-t",
                if transport == Transport::Tcp {
                    "t1"
                } else {
                    "u1"
                },
            ])
            .args(["-nostdin", "-trace_err", "-timeout", "25s"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("sipp starts");
        Sipp { child, dir }
    }

    /// Starts SIPp on a free port and waits until it has bound it; when SIPp
    /// exits first (another process took one of its ports), tries other ports.
    async fn launch(transport: Transport, args: &[&str]) -> (Sipp, u16) {
        for _ in 0..5 {
            let port = free_port();
            let mut sipp = Sipp::start(port, transport, args);
            if sipp.ready(port, transport).await {
                return (sipp, port);
            }
        }
        panic!("sipp could not bind a port five times");
    }

    /// Waits until SIPp has bound its SIP port (as the kernel's socket table
    /// shows); false, with SIPp's output printed, if it exits first.
    async fn ready(&mut self, port: u16, transport: Transport) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !port_bound(port, transport) {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.print_output();
                eprintln!("sipp exited before binding port {port}: {status}");
                return false;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "sipp never bound port {port}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    fn print_output(&self) {
        for entry in std::fs::read_dir(self.dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            eprintln!("--- {}\n{text}", entry.path().display());
        }
    }

    /// Waits for SIPp to exit and returns its status, printing its output on failure.
    async fn finish(mut self) -> (ExitStatus, tempfile::TempDir) {
        let status = timeout(LIMIT, self.child.wait())
            .await
            .expect("sipp exits in time")
            .expect("sipp status");
        if !status.success() {
            self.print_output();
        }
        (status, self.dir)
    }
}

/// Our transport on a free port (retrying when another process takes a
/// candidate between the probe and the bind), and that port.
async fn our_transport(transport: Transport) -> (SipTransport, u16) {
    for _ in 0..20 {
        let port = free_port();
        let address = SocketAddr::from((LOOPBACK, port));
        let tcp = (transport == Transport::Tcp).then_some(address);
        match SipTransport::bind(address, tcp, TransportConfig::default()).await {
            Ok(sip) => return (sip, port),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => panic!("bind our SIP port: {e}"),
        }
    }
    panic!("no free SIP port after 20 tries");
}

fn endpoint_config(port: u16) -> EndpointConfig {
    EndpointConfig {
        contact: SocketAddr::from((LOOPBACK, port)),
        ..EndpointConfig::default()
    }
}

/// Runs SIPp as the caller with `args` (target appended by us) against our
/// answering agent until `calls` calls ended; returns our report once SIPp
/// exited successfully.
async fn sipp_calls_us_with(
    transport: Transport,
    args: &[&str],
    calls: usize,
) -> Option<UasReport> {
    if sipp_missing() {
        return None;
    }
    let (mut sip, ours) = our_transport(transport).await;
    let target = format!("127.0.0.1:{ours}");
    let count = calls.to_string();
    let mut all_args = args.to_vec();
    all_args.extend([target.as_str(), "-m", &count]);
    let (sipp, _) = Sipp::launch(transport, &all_args).await;
    let options = UasOptions {
        media_address: LOOPBACK.into(),
        media_port: 30000,
        calls,
        ring: true,
    };
    let report = timeout(
        LIMIT,
        answer_calls(&mut sip, endpoint_config(ours), options, 7),
    )
    .await
    .expect("calls end in time")
    .expect("no socket error");
    let (status, _dir) = sipp.finish().await;
    drop(sip);
    assert!(
        status.success(),
        "sipp failed: {status}; our report: {report}"
    );
    assert_eq!(report.incoming, calls, "{report}");
    Some(report)
}

async fn sipp_calls_us(transport: Transport) {
    let calls = 3;
    let Some(report) = sipp_calls_us_with(transport, &["-sn", "uac", "-d", "100"], calls).await
    else {
        return;
    };
    assert_eq!(report.answered, calls, "{report}");
    assert_eq!(report.confirmed, calls, "{report}");
    assert_eq!(report.ended_by_remote, calls, "{report}");
    assert_eq!(report.negotiated.len(), calls);
    for negotiated in &report.negotiated {
        // SIPp offers PCMU only, without telephone-event.
        assert_eq!(
            (negotiated.codec, negotiated.payload_type),
            (Codec::Pcmu, 0)
        );
        assert_eq!(negotiated.telephone_event, None);
        assert_eq!(negotiated.remote.ip(), LOOPBACK);
    }
}

#[tokio::test]
async fn sipp_uac_calls_our_uas_over_udp() {
    sipp_calls_us(Transport::Udp).await;
}

#[tokio::test]
async fn sipp_uac_calls_our_uas_over_tcp() {
    sipp_calls_us(Transport::Tcp).await;
}

#[tokio::test]
async fn pjsua_style_offer_gets_pcma_and_telephone_event_120() {
    let path = scenario("uac_telephone_event_120.xml");
    let args = ["-sf", path.to_str().expect("utf-8 path")];
    let Some(report) = sipp_calls_us_with(Transport::Udp, &args, 1).await else {
        return;
    };
    // SIPp itself checked the answer's m= line and rtpmap; our side agrees.
    assert_eq!(report.confirmed, 1, "{report}");
    let negotiated = report.negotiated.first().expect("negotiated");
    assert_eq!(
        (negotiated.codec, negotiated.payload_type),
        (Codec::Pcma, 8)
    );
    assert_eq!(negotiated.telephone_event, Some(120));
}

#[tokio::test]
async fn offer_without_common_codec_gets_488() {
    let path = scenario("uac_no_common_codec.xml");
    let args = ["-sf", path.to_str().expect("utf-8 path")];
    let Some(report) = sipp_calls_us_with(Transport::Udp, &args, 1).await else {
        return;
    };
    assert_eq!((report.answered, report.rejected), (0, 1), "{report}");
}

#[tokio::test]
async fn info_dtmf_options_and_reinvite_mid_call() {
    let path = scenario("uac_mid_call_requests.xml");
    let args = ["-sf", path.to_str().expect("utf-8 path")];
    let Some(report) = sipp_calls_us_with(Transport::Udp, &args, 1).await else {
        return;
    };
    // SIPp checked the OPTIONS Allow header and the re-INVITE's SDP.
    assert_eq!(report.digits, vec!['5'], "{report}");
    assert_eq!(report.ended_by_remote, 1, "{report}");
}

/// Starts SIPp as the called party with `args`, calls it `calls` times from our
/// agent, and returns SIPp's exit status, its working directory and our report.
async fn we_call_sipp(
    transport: Transport,
    args: &[&str],
    calls: usize,
    credentials: Option<Credentials>,
) -> Option<(ExitStatus, tempfile::TempDir, UacReport)> {
    we_call_sipp_with_ring_timeout(transport, args, calls, credentials, Duration::from_secs(10))
        .await
}

async fn we_call_sipp_with_ring_timeout(
    transport: Transport,
    args: &[&str],
    calls: usize,
    credentials: Option<Credentials>,
    ring_timeout: Duration,
) -> Option<(ExitStatus, tempfile::TempDir, UacReport)> {
    if sipp_missing() {
        return None;
    }
    let (sipp, theirs) = Sipp::launch(transport, args).await;
    let (mut sip, ours) = our_transport(transport).await;
    let request_uri = Uri::parse(&format!("sip:service@127.0.0.1:{theirs}")).expect("uri");
    let options = UacOptions {
        request_uri,
        destination: SocketAddr::from((LOOPBACK, theirs)),
        transport,
        from: NameAddr::parse(&format!("<sip:voxpin@127.0.0.1:{ours}>")).expect("from"),
        calls,
        hold: Duration::from_millis(200),
        ring_timeout,
        credentials,
        media_address: LOOPBACK.into(),
        media_port: 31000,
    };
    let report = timeout(
        LIMIT,
        place_calls(&mut sip, endpoint_config(ours), options, 11),
    )
    .await
    .expect("calls end in time")
    .expect("no socket error");
    // Our connections stay open until SIPp is done: it fails calls whose TCP
    // connection closes while it waits out its own timers.
    let (status, dir) = sipp.finish().await;
    drop(sip);
    assert!(
        status.success(),
        "sipp failed: {status}; our report: {report}"
    );
    Some((status, dir, report))
}

fn assert_all_answered_and_hung_up(report: &UacReport, calls: usize) {
    assert_eq!(report.placed, calls, "{report}");
    assert_eq!(report.answered, calls, "{report}");
    assert_eq!(report.ended_by_local, calls, "{report}");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.bad_answers, 0, "{report}");
}

async fn we_call_sipp_uas(transport: Transport) {
    let Some((_, _, report)) = we_call_sipp(transport, &["-sn", "uas", "-m", "2"], 2, None).await
    else {
        return;
    };
    assert_all_answered_and_hung_up(&report, 2);
    for negotiated in &report.negotiated {
        assert_eq!(
            (negotiated.codec, negotiated.payload_type),
            (Codec::Pcmu, 0)
        );
    }
}

#[tokio::test]
async fn our_uac_calls_sipp_uas_over_udp() {
    we_call_sipp_uas(Transport::Udp).await;
}

#[tokio::test]
async fn our_uac_calls_sipp_uas_over_tcp() {
    we_call_sipp_uas(Transport::Tcp).await;
}

#[tokio::test]
async fn digest_challenge_is_answered() {
    let path = scenario("uas_digest_challenge.xml");
    let args = ["-sf", path.to_str().expect("utf-8 path"), "-m", "1"];
    let credentials = Credentials {
        username: "alice".into(),
        password: "s3cret".into(),
        realm: None,
    };
    let Some((_, _, report)) = we_call_sipp(Transport::Udp, &args, 1, Some(credentials)).await
    else {
        return;
    };
    assert_all_answered_and_hung_up(&report, 1);
    assert_eq!(report.authorized_invites, 1, "{report}");
    assert_eq!(
        report.invites_sent, 2,
        "challenged INVITE, then the authorized one"
    );
    assert_eq!(
        report.negotiated.first().map(|n| n.codec),
        Some(Codec::Pcma)
    );
}

#[tokio::test]
async fn dropped_first_invite_is_retransmitted() {
    let path = scenario("uas_drop_first_invite.xml");
    let args = [
        "-sf",
        path.to_str().expect("utf-8 path"),
        "-m",
        "1",
        "-trace_counts",
    ];
    let Some((_, dir, report)) = we_call_sipp(Transport::Udp, &args, 1, None).await else {
        return;
    };
    assert_all_answered_and_hung_up(&report, 1);
    // SIPp answers after 1.2 s: Timer A (500 ms) fires once before that.
    assert!(report.invites_sent >= 2, "{report}");
    assert_eq!(
        report.negotiated.first().map(|n| n.telephone_event),
        Some(Some(101))
    );
    let retransmissions = sipp_count(dir.path(), "0_INVITE_Retrans");
    assert!(
        retransmissions >= 1,
        "SIPp saw {retransmissions} INVITE retransmissions"
    );
}

/// The final value of column `name` in SIPp's `-trace_counts` CSV.
fn sipp_count(dir: &Path, name: &str) -> u64 {
    let csv = std::fs::read_dir(dir)
        .expect("sipp directory")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with("_counts.csv"))
        .map(|e| std::fs::read_to_string(e.path()).expect("counts file"))
        .expect("sipp wrote its counts");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(';').collect();
    let column = header
        .iter()
        .position(|h| *h == name)
        .expect("column present");
    let last = lines
        .rev()
        .find(|l| !l.trim().is_empty())
        .expect("a data row");
    last.split(';')
        .nth(column)
        .and_then(|v| v.trim().parse().ok())
        .expect("numeric count")
}

#[tokio::test]
async fn ring_timeout_cancels_the_call() {
    let path = scenario("uas_ring_no_answer.xml");
    let args = ["-sf", path.to_str().expect("utf-8 path"), "-m", "1"];
    let ring = Duration::from_millis(500);
    let Some((_, _, report)) =
        we_call_sipp_with_ring_timeout(Transport::Udp, &args, 1, None, ring).await
    else {
        return;
    };
    // SIPp saw our CANCEL, answered 487 and got its ACK.
    assert_eq!((report.answered, report.ended_by_local), (0, 1), "{report}");
    assert_eq!(report.failures, vec![(Some(487), "NO_ANSWER")]);
}

#[tokio::test]
async fn busy_callee_ends_the_call_with_user_busy() {
    let path = scenario("uas_busy.xml");
    let args = ["-sf", path.to_str().expect("utf-8 path"), "-m", "1"];
    let Some((_, _, report)) = we_call_sipp(Transport::Tcp, &args, 1, None).await else {
        return;
    };
    // SIPp got the ACK for its 486 (over TCP: sent once, no retransmission).
    assert_eq!(
        (report.answered, report.ended_by_remote),
        (0, 1),
        "{report}"
    );
    assert_eq!(report.failures, vec![(Some(486), "USER_BUSY")]);
    assert_eq!(report.invites_sent, 1, "{report}");
}

#[tokio::test]
async fn registration_answers_the_challenge_and_removes_its_binding() {
    if sipp_missing() {
        return;
    }
    let path = scenario("uas_registrar.xml");
    let args = ["-sf", path.to_str().expect("utf-8 path"), "-m", "1"];
    let (sipp, theirs) = Sipp::launch(Transport::Udp, &args).await;
    let (sip, ours) = our_transport(Transport::Udp).await;
    let rng = Box::new(rand::rngs::StdRng::seed_from_u64(13));
    let endpoint = Endpoint::new(
        endpoint_config(ours),
        rng,
        tokio::time::Instant::now().into_std(),
    );
    let (handle, mut events, _task) = spawn_endpoint(sip, endpoint);
    let registration = Registration {
        registrar: Uri::parse("sip:127.0.0.1").expect("uri"),
        destination: SocketAddr::from((LOOPBACK, theirs)),
        transport: Transport::Udp,
        aor: NameAddr::parse("<sip:alice@127.0.0.1>").expect("aor"),
        credentials: Some(Credentials {
            username: "alice".into(),
            password: "s3cret".into(),
            realm: None,
        }),
        expires: Duration::from_secs(300),
    };
    let id = handle
        .with(move |ep, now| ep.register(now, registration))
        .await
        .expect("loop runs");
    let mut next_state = async || loop {
        let event = timeout(LIMIT, events.recv())
            .await
            .expect("in time")
            .expect("running");
        if let Event::Registration {
            registration,
            state,
        } = event
        {
            assert_eq!(registration, id);
            return state;
        }
    };
    assert_eq!(
        next_state().await,
        RegistrationState::Registered {
            expires: Duration::from_secs(60)
        },
        "granted what the registrar said, not what we asked"
    );
    handle
        .with(move |ep, now| ep.unregister(now, id))
        .await
        .expect("loop runs");
    assert_eq!(next_state().await, RegistrationState::Unregistered);
    let (status, _dir) = sipp.finish().await;
    assert!(status.success(), "sipp registrar failed: {status}");
}
