//! What each run writes into its temporary directory: voxpin's config and
//! dialplans, the SIPp carrier scenarios, SIPp's injection file (which RTP
//! port each call's SDP names) and the RFC 4733 pcap SIPp keys codes with.

use std::path::Path;

use voxpin_testkit::config::VoxpinConfig;

/// The RFC 4733 pcap SIPp keys codes with (shared with the end-to-end tests).
pub use voxpin_testkit::pcap::dtmf_pcap;

/// The API key of the generated config.
pub const API_KEY: &str = "bench-key-0123456789abcdef";

/// Loopback ports of one run (all high, all fixed).
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// voxpin's SIP (UDP).
    pub sip: u16,
    /// SIPp's SIP.
    pub sipp: u16,
    /// voxpin's HTTP API.
    pub api: u16,
    /// SIPp's media port (RTP it plays leaves from here).
    pub sipp_media: u16,
    /// The bench's RTP receiver (sampled calls' SDP names it).
    pub receiver: u16,
    /// A port nothing listens on: the other calls' RTP is dropped there by
    /// the kernel, as cheaply for voxpin as for the floor pump.
    pub sink: u16,
    /// voxpin's RTP range.
    pub rtp_min: u16,
    /// voxpin's RTP range (inclusive).
    pub rtp_max: u16,
}

impl Default for Ports {
    fn default() -> Self {
        Self {
            sip: 35060,
            sipp: 35070,
            api: 35080,
            sipp_media: 35100,
            receiver: 35200,
            sink: 35202,
            rtp_min: 40000,
            rtp_max: 59998,
        }
    }
}

/// voxpin's config: SIPp as the only trunk, limits out of the way.
/// `realtime`: SCHED_FIFO priority of voxpin's engine thread (`None`:
/// normal priority, and the key is left out).
/// `phases`: `[rtp] pacing_phases` (`None`: voxpin's default).
pub fn config(
    ports: Ports,
    prompts_dir: &Path,
    max_calls: u32,
    realtime: Option<u8>,
    phases: Option<u32>,
) -> String {
    let mut rtp_extra = realtime
        .map(|p| format!("realtime_priority = {p}\n"))
        .unwrap_or_default();
    if let Some(n) = phases {
        rtp_extra.push_str(&format!("pacing_phases = {n}\n"));
    }
    VoxpinConfig {
        sip_port: ports.sip,
        rtp_port_min: ports.rtp_min,
        rtp_port_max: ports.rtp_max,
        rtp_extra: &rtp_extra,
        api_port: ports.api,
        api_key: API_KEY,
        rate_limit_per_minute: Some(1_000_000),
        max_concurrent_calls: max_calls,
        drain_deadline: "2s",
        log_level: "warn",
        prompts_dir,
        carrier_port: ports.sipp,
        carrier_dtmf: Some("rfc4733"),
        ring_timeout: "10s",
        trunk_extra: "",
        extra: "",
    }
    .to_toml()
}

/// The dialplans every run loads (file name, text):
/// - `short` (S1): a second of silence, "goodbye", hang up;
/// - `hold` (S2): the code read in a loop until the bench ends the call;
/// - `keyed` (S3): input mode, manual 4-digit codes keyed as RFC 4733.
pub fn dialplans() -> Vec<(&'static str, String)> {
    let common = "trunk = \"carrier\"\n[gate]\nenabled = false\n";
    vec![
        (
            "short.toml",
            format!(
                "name = \"short\"\nmode = \"read\"\ncode = \"auto\"\n{common}\
                 [flow]\nstart = \"bye\"\n[flow.states.bye]\n\
                 steps = [{{ pause = \"1s\" }}, {{ play = \"goodbye\" }}, \"hangup\"]\n"
            ),
        ),
        (
            "hold.toml",
            format!(
                "name = \"hold\"\nmode = \"read\"\ncode = \"auto\"\nmax_duration = \"1h\"\n\
                 ttl = \"2h\"\n{common}\
                 [pacing]\ndigit_gap = \"300ms\"\ngroup_gap = \"700ms\"\nfinal_pause = \"500ms\"\n\
                 [flow]\nstart = \"talk\"\n[flow.states.talk]\nlimit = 100\n\
                 steps = [{{ play = \"your-code-is\" }}, \"say_code\", {{ goto = \"talk\" }}]\n\
                 on.repeats_exhausted = \"bye\"\n\
                 [flow.states.bye]\nsteps = [{{ play = \"goodbye\" }}, \"hangup\"]\n"
            ),
        ),
        (
            "keyed.toml",
            format!(
                "name = \"keyed\"\nmode = \"input\"\ncode = \"manual\"\ncode_length = 4\n\
                 attempts = 3\n{common}"
            ),
        ),
    ]
}

/// The carrier: answers every INVITE (180, then 200 with an SDP whose audio
/// port is the call's `[field0]` from the injection file, or SIPp's media
/// port when it plays `pcap`), optionally plays `pcap` (RFC 4733 keys) once
/// the call is up, and waits for voxpin's BYE.
pub fn uas_scenario(pcap: Option<&Path>) -> String {
    let play = pcap.map_or_else(String::new, |p| {
        format!(
            "  <nop>\n    <action>\n      <exec play_pcap_audio=\"{}\" />\n    </action>\n  </nop>\n",
            p.display()
        )
    });
    // SIPp replays a pcap from the port its SDP names only through the
    // `[media_port]` keyword (it is what sets the source port), and voxpin
    // accepts RTP only from the address the answer announced.
    let audio_port = if pcap.is_some() {
        "[media_port]"
    } else {
        "[field0]"
    };
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="voxpin-bench carrier">
  <recv request="INVITE" />
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=carrier 1 1 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio {audio_port} RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20

    ]]>
  </send>
  <recv request="ACK" />
{play}  <recv request="BYE" timeout="3600000" />
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
"#
    )
}

/// SIPp's injection file: call `i` (0-based) gets `receiver` when
/// `i % every == 0`, else `sink`. SIPp reads lines in order, one per call.
pub fn injection(calls: usize, every: usize, receiver: u16, sink: u16) -> String {
    let mut out = String::from("SEQUENTIAL\n");
    for i in 0..calls.max(1) {
        let port = if every > 0 && i % every == 0 {
            receiver
        } else {
            sink
        };
        out.push_str(&format!("{port};\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn injection_samples_every_nth_call() {
        assert_eq!(injection(4, 2, 1, 9), "SEQUENTIAL\n1;\n9;\n1;\n9;\n");
        assert_eq!(injection(2, 0, 1, 9), "SEQUENTIAL\n9;\n9;\n");
    }

    #[test]
    fn dtmf_pcap_has_eight_packets_per_digit() {
        let pcap = dtmf_pcap("12", Duration::from_millis(500), Duration::from_millis(100));
        // Global header 24 bytes; each record 16 + 14 + 20 + 8 + RTP.
        let silence = 16 + 42 + 12 + 160;
        let event = 16 + 42 + 12 + 4;
        assert_eq!(pcap.len(), 24 + silence + 2 * 8 * event);
    }
}
