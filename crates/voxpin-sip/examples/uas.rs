//! A SIP user agent that answers calls: rings, answers with an SDP answer
//! (PCMU/PCMA, telephone-event), plays nothing, and waits for the caller's BYE.
//!
//! ```sh
//! cargo run -p voxpin-sip --features driver --example uas -- --listen 127.0.0.1:5080 --tcp --calls 1
//! sipp -sn uac 127.0.0.1:5080 -m 1          # in another shell
//! ```
//! Prints one report line and exits 0 when every call was answered and
//! confirmed, 1 otherwise.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use voxpin_sip::driver::uas::{answer_calls, UasOptions};
use voxpin_sip::driver::{SipTransport, TransportConfig};
use voxpin_sip::EndpointConfig;

/// Answer SIP calls and report what happened.
#[derive(Debug, Parser)]
struct Args {
    /// UDP address to listen on (and to advertise in Via/Contact).
    #[arg(long, default_value = "127.0.0.1:5080")]
    listen: SocketAddr,
    /// Also listen on TCP at the same address.
    #[arg(long)]
    tcp: bool,
    /// Exit after this many calls have ended.
    #[arg(long, default_value_t = 1)]
    calls: usize,
    /// RTP address advertised in SDP (default: the listen address's IP).
    #[arg(long)]
    media_ip: Option<IpAddr>,
    /// First RTP port advertised.
    #[arg(long, default_value_t = 30000)]
    media_port: u16,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let mut transport = SipTransport::bind(
        args.listen,
        args.tcp.then_some(args.listen),
        TransportConfig::default(),
    )
    .await?;
    let config = EndpointConfig {
        contact: args.listen,
        ..EndpointConfig::default()
    };
    let options = UasOptions {
        media_address: args.media_ip.unwrap_or(args.listen.ip()),
        media_port: args.media_port,
        calls: args.calls,
        ring: true,
    };
    let seed = rand::random();
    let limit = Duration::from_secs(args.timeout_secs);
    let report = tokio::time::timeout(limit, answer_calls(&mut transport, config, options, seed))
        .await
        .map_err(|_| anyhow::anyhow!("timed out after {limit:?}"))??;
    transport.close(Duration::from_secs(2)).await;
    println!("{report}");
    let ok = report.answered == args.calls && report.confirmed == args.calls;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
