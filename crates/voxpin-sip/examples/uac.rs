//! A SIP user agent that places calls: sends N INVITEs with an SDP offer,
//! answers digest challenges, holds each answered call, then sends BYE.
//!
//! ```sh
//! sipp -sn uas -p 5090 -m 2                # in another shell
//! cargo run -p voxpin-sip --features driver --example uac -- \
//!     --target sip:service@127.0.0.1:5090 --calls 2 --hold-ms 500
//! ```
//! Prints one report line and exits 0 when every call was answered and
//! hung up normally, 1 otherwise.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use voxpin_sip::auth::Credentials;
use voxpin_sip::driver::uac::{place_calls, UacOptions};
use voxpin_sip::driver::{SipTransport, TransportConfig};
use voxpin_sip::msg::{NameAddr, Uri};
use voxpin_sip::{EndpointConfig, Transport};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TransportArg {
    Udp,
    Tcp,
}

/// Place SIP calls and report what happened.
#[derive(Debug, Parser)]
struct Args {
    /// Request-URI to call, e.g. `sip:+15551234@192.0.2.1:5060`.
    #[arg(long)]
    target: String,
    /// Where to send the INVITEs (default: the target's host and port).
    #[arg(long)]
    proxy: Option<SocketAddr>,
    /// Local address to bind and advertise.
    #[arg(long, default_value = "127.0.0.1:5070")]
    listen: SocketAddr,
    /// Transport for the INVITEs.
    #[arg(long, value_enum, default_value = "udp")]
    transport: TransportArg,
    /// Number of calls, placed at once.
    #[arg(long, default_value_t = 1)]
    calls: usize,
    /// How long to hold each answered call, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    hold_ms: u64,
    /// Digest user name.
    #[arg(long, requires = "password")]
    username: Option<String>,
    /// Digest password.
    #[arg(long, env = "VOXPIN_SIP_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Caller id put in From.
    #[arg(long, default_value = "sip:voxpin@127.0.0.1")]
    from: String,
    /// First RTP port offered.
    #[arg(long, default_value_t = 31000)]
    media_port: u16,
    /// RTP address offered (default: the listen address's IP).
    #[arg(long)]
    media_ip: Option<IpAddr>,
    /// Keep TCP connections open this long after the last call, in
    /// milliseconds (SIPp fails calls whose connection closes while it waits
    /// out its own timers).
    #[arg(long, default_value_t = 1000)]
    linger_ms: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let request_uri = Uri::parse(&args.target).context("--target is not a SIP URI")?;
    let destination = match args.proxy {
        Some(proxy) => proxy,
        None => format!("{}:{}", request_uri.host, request_uri.port.unwrap_or(5060))
            .parse()
            .context("--target host is not an IP address; pass --proxy")?,
    };
    let transport_kind = match args.transport {
        TransportArg::Udp => Transport::Udp,
        TransportArg::Tcp => Transport::Tcp,
    };
    let mut transport = SipTransport::bind(
        args.listen,
        matches!(transport_kind, Transport::Tcp).then_some(args.listen),
        TransportConfig::default(),
    )
    .await?;
    let config = EndpointConfig {
        contact: args.listen,
        ..EndpointConfig::default()
    };
    let credentials = args.username.map(|username| Credentials {
        username,
        password: args.password.unwrap_or_default(),
        realm: None,
    });
    let options = UacOptions {
        request_uri,
        destination,
        transport: transport_kind,
        from: NameAddr::parse(&args.from).context("--from is not a SIP address")?,
        calls: args.calls,
        hold: Duration::from_millis(args.hold_ms),
        ring_timeout: Duration::from_secs(30),
        credentials,
        media_address: args.media_ip.unwrap_or(args.listen.ip()),
        media_port: args.media_port,
    };
    let report = tokio::time::timeout(
        Duration::from_secs(60) + options.hold,
        place_calls(&mut transport, config, options, rand::random()),
    )
    .await
    .context("calls did not finish in time")??;
    tokio::time::sleep(Duration::from_millis(args.linger_ms)).await;
    transport.close(Duration::from_secs(2)).await;
    println!("{report}");
    for (status, cause) in &report.failures {
        println!("failed: status={status:?} cause={cause}");
    }
    let ok = report.answered == args.calls && report.failures.is_empty();
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
