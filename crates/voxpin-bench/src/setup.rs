//! What each run writes into its temporary directory: voxpin's config and
//! dialplans, the SIPp carrier scenarios, SIPp's injection file (which RTP
//! port each call's SDP names) and the RFC 4733 pcap SIPp keys codes with.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

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
    let mut realtime = realtime
        .map(|p| format!("realtime_priority = {p}\n"))
        .unwrap_or_default();
    if let Some(n) = phases {
        realtime.push_str(&format!("pacing_phases = {n}\n"));
    }
    format!(
        r#"[sip]
listen_udp = "127.0.0.1:{sip}"
listen_tcp = "off"
advertised_address = "127.0.0.1"

[rtp]
address = "127.0.0.1"
port_min = {rtp_min}
port_max = {rtp_max}
{realtime}
[api]
listen = "127.0.0.1:{api}"
keys = ["{API_KEY}"]
rate_limit_per_minute = 1000000

[limits]
max_concurrent_calls = {max_calls}
drain_deadline = "2s"

[records]
path = "records/calls.jsonl"

[logging]
level = "warn"

[dialplans]
dir = "dialplans"

[prompts]
dir = "{prompts}"
default_language = "en"

[trunks.carrier]
host = "127.0.0.1"
port = {sipp}
transport = "udp"
codecs = ["pcmu"]
dtmf = "rfc4733"
inbound_acl = ["127.0.0.1/32"]
ring_timeout = "10s"
"#,
        sip = ports.sip,
        sipp = ports.sipp,
        api = ports.api,
        rtp_min = ports.rtp_min,
        rtp_max = ports.rtp_max,
        prompts = prompts_dir.display(),
    )
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

/// Payload type of telephone-event in the scenarios' SDP.
const TELEPHONE_EVENT_PT: u8 = 101;

/// A pcap SIPp replays with `play_pcap_audio`: one PCMU silence packet, then
/// `digits` as RFC 4733 events from `lead_in` on (100 ms each, `gap` apart,
/// a distinct timestamp per digit, the end packet sent three times).
pub fn dtmf_pcap(digits: &str, lead_in: Duration, gap: Duration) -> Vec<u8> {
    let ssrc = 0x5eed_0001_u32;
    let mut seq: u16 = 1000;
    let mut packets: Vec<(Duration, Vec<u8>)> = Vec::new();
    let mut next_seq = || {
        seq = seq.wrapping_add(1);
        seq
    };
    packets.push((
        Duration::ZERO,
        rtp(0, false, next_seq(), 0, ssrc, &[0xff; 160]),
    ));
    let mut at = lead_in;
    for (i, d) in digits.chars().enumerate() {
        let event = match d {
            '0'..='9' => d as u8 - b'0',
            '*' => 10,
            '#' => 11,
            _ => continue,
        };
        let ts = 8000 + (i as u32) * 16_000;
        for step in 1..=5u16 {
            let [hi, lo] = (step * 160).to_be_bytes();
            let when = at + Duration::from_millis(u64::from(step - 1) * 20);
            let p = rtp(
                TELEPHONE_EVENT_PT,
                step == 1,
                next_seq(),
                ts,
                ssrc,
                &[event, 10, hi, lo],
            );
            packets.push((when, p));
        }
        let end_seq = next_seq();
        let [hi, lo] = 800u16.to_be_bytes();
        for k in 0..3u64 {
            let p = rtp(
                TELEPHONE_EVENT_PT,
                false,
                end_seq,
                ts,
                ssrc,
                &[event, 0x80 | 10, hi, lo],
            );
            packets.push((at + Duration::from_millis(100 + k * 20), p));
        }
        at += Duration::from_millis(160) + gap;
    }
    to_pcap(&packets)
}

/// An RTP packet (version 2, no CSRC, no extension).
pub fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + payload.len());
    p.push(0x80);
    p.push(if marker { 0x80 | pt } else { pt });
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// Wraps RTP packets in Ethernet/IPv4/UDP frames of a classic pcap file.
fn to_pcap(packets: &[(Duration, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    let base = 1_700_000_000u64;
    let lo = Ipv4Addr::LOCALHOST.octets();
    for (at, rtp) in packets {
        let udp_len = 8 + rtp.len();
        let ip_len = 20 + udp_len;
        let mut frame = Vec::with_capacity(14 + ip_len);
        frame.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
        ip.extend_from_slice(&lo);
        ip.extend_from_slice(&lo);
        let len = u16::try_from(ip_len).unwrap_or(u16::MAX).to_be_bytes();
        ip[2] = len[0];
        ip[3] = len[1];
        let sum = ipv4_checksum(&ip).to_be_bytes();
        ip[10] = sum[0];
        ip[11] = sum[1];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&6000u16.to_be_bytes());
        frame.extend_from_slice(&6002u16.to_be_bytes());
        frame.extend_from_slice(&u16::try_from(udp_len).unwrap_or(u16::MAX).to_be_bytes());
        frame.extend_from_slice(&0u16.to_be_bytes());
        frame.extend_from_slice(rtp);
        let secs = base + at.as_secs();
        let frame_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&(secs as u32).to_le_bytes());
        out.extend_from_slice(&at.subsec_micros().to_le_bytes());
        out.extend_from_slice(&frame_len.to_le_bytes());
        out.extend_from_slice(&frame_len.to_le_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
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
