//! Hostile input never panics: random bytes, truncated and mutated SIP
//! messages from an admitted source, and garbage RTP on a live call's port
//! are dropped or answered with an error, and the engine keeps working.

mod support;

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use support::{read_plan, seed, trunk, Answer, World, PERSON, PHONE_RTP, PHONE_SIP};
use voxpin_engine::{Command, DtmfMode, RtpPort};
use voxpin_otp::{Mode, Status};
use voxpin_sip::Transport;

const INVITE: &str = "INVITE sip:+15550100100@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKx1\r\nFrom: <sip:+14155550100@10.0.0.2>;tag=a\r\nTo: <sip:+15550100100@10.0.0.1>\r\nCall-ID: h1@10.0.0.2\r\nCSeq: 1 INVITE\r\nContact: <sip:10.0.0.2:5060>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: 0\r\n\r\n";

#[test]
fn random_and_mutated_input_is_survived() {
    let s = seed();
    let mut rng = ChaCha20Rng::seed_from_u64(s);
    let mut w = World::new(
        s,
        &[&read_plan(1)],
        trunk(&["10.0.0.0/24"], DtmfMode::Auto),
        Answer::After(Duration::from_millis(100)),
    );
    let otp = w.create("login", PERSON, Mode::Read, None);
    w.command(Command::Dial { otp });
    w.run_until(Duration::from_secs(5), "audio", |w| !w.heard.is_empty());
    let port = RtpPort(w.engine_rtp.expect("RTP flows").port());
    let source = PHONE_SIP.parse().expect("literal");
    for i in 0..3_000 {
        let mut bytes: Vec<u8> = if i % 2 == 0 {
            INVITE.as_bytes().to_vec()
        } else {
            (0..rng.random_range(0..300))
                .map(|_| rng.random())
                .collect()
        };
        for _ in 0..rng.random_range(0..6) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.random_range(0..bytes.len());
            match rng.random_range(0..3) {
                0 => bytes[at] = rng.random(),
                1 => bytes.truncate(at),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        w.engine.handle_sip(w.now, Transport::Udp, source, &bytes);
        w.engine
            .handle_rtp(w.now, port, PHONE_RTP.parse().expect("literal"), &bytes);
        w.engine.handle_rtp(
            w.now,
            RtpPort(9),
            PHONE_RTP.parse().expect("literal"),
            &bytes,
        );
        w.pump();
    }
    // The call that was running still ends normally.
    w.run_until(Duration::from_secs(60), "the call to end", |w| {
        !w.records.is_empty()
    });
    assert_eq!(w.otp(&otp).status, Status::Delivered);
}
