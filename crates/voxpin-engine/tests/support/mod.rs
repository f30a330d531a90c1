//! A simulated world for engine tests: the engine, a test phone (a second
//! `voxpin_sip::Endpoint` acting as carrier and handset), an in-memory network
//! and a simulated clock. Whole calls run in milliseconds, with no sleeps.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use voxpin_engine::{
    CallRecord, Command, DtmfMode, Engine, EngineConfig, EngineParts, Output, SmsRequest,
    StatusCallback, Trunk, TrunkName, Trunks,
};
use voxpin_ivr::{DialplanSet, PromptSet};
use voxpin_media::PromptLibrary;
use voxpin_otp::{
    Application, CodeSource, MemoryStore, Mode, NewOtp, Otp, OtpId, OtpStore, PhoneNumber,
    SecretKey,
};
use voxpin_sip::msg::{NameAddr, Scheme, Uri};
use voxpin_sip::sdp::{self, Codec, LocalMedia, SessionDescription};
use voxpin_sip::{CallId, Endpoint, EndpointConfig, Event, OutboundCall, Transport};

/// Our SIP address.
pub const ENGINE_SIP: &str = "10.0.0.1:5060";
/// The carrier / phone SIP address (also the trunk's destination).
pub const PHONE_SIP: &str = "10.0.0.2:5060";
/// Where the phone wants its audio.
pub const PHONE_RTP: &str = "10.0.0.2:30000";
/// The application's number (the DID people call back).
pub const APP_NUMBER: &str = "+15550100100";
/// The number codes are sent to.
pub const PERSON: &str = "+14155550100";

/// A read-mode application without the "press any key" gate.
pub fn read_plan(repeats: u32) -> String {
    format!(
        r#"
name = "login"
mode = "read"
code = "auto"
code_length = 6
repeats = {repeats}
trunk = "carrier"
number = "{APP_NUMBER}"
[gate]
enabled = false
[pacing]
digit_gap = "100ms"
group_gap = "200ms"
final_pause = "100ms"
"#
    )
}

/// An input-mode application with a manual code.
pub fn input_plan(attempts: u32) -> String {
    format!(
        r#"
name = "signup"
mode = "input"
code = "manual"
code_length = 4
attempts = {attempts}
trunk = "carrier"
number = "+15550100200"
"#
    )
}

/// What the phone does with an incoming INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 180, then 200 after this long.
    After(Duration),
    /// 180 and never answers.
    Never,
    /// A final error status.
    Reject(u16),
}

/// The simulated world.
pub struct World {
    pub now: Instant,
    pub wall0: SystemTime,
    pub t0: Instant,
    pub engine: Engine,
    pub phone: Endpoint,
    pub store: Arc<MemoryStore>,
    pub prompts: Arc<PromptLibrary>,
    pub answer: Answer,
    /// Calls the phone has, with the time it will answer them.
    pending_answers: Vec<(CallId, Instant, Option<Bytes>)>,
    /// The phone's side of the current call.
    pub phone_call: Option<CallId>,
    /// Events the phone saw.
    pub phone_events: Vec<Event>,
    /// RTP payloads the phone received (audio PT only), in order.
    pub heard: Vec<Vec<u8>>,
    /// Where the engine's RTP comes from (learned from the first packet).
    pub engine_rtp: Option<SocketAddr>,
    pub records: Vec<CallRecord>,
    pub sms: Vec<SmsRequest>,
    pub callbacks: Vec<StatusCallback>,
    /// SIP datagrams the engine sent, with destinations.
    pub engine_sent: Vec<(SocketAddr, String)>,
    pub open_ports: Vec<u16>,
    dtmf_seq: u16,
    dtmf_ts: u32,
    inband_samples: u64,
    pub seed: u64,
}

/// The engine's trunk toward the phone.
pub fn trunk(acl: &[&str], dtmf: DtmfMode) -> Trunk {
    Trunk {
        name: TrunkName("carrier".into()),
        host: "10.0.0.2".into(),
        destination: PHONE_SIP.parse().expect("literal"),
        transport: Transport::Udp,
        auth: None,
        from_user: None,
        from_domain: None,
        codecs: vec![Codec::Pcmu],
        dtmf,
        inbound_acl: acl.iter().map(|s| s.parse().expect("literal")).collect(),
        ring_timeout: Duration::from_secs(20),
        retry: voxpin_engine::RetryPolicy::default(),
    }
}

/// The prompt library shipped in the repository.
pub fn prompts() -> Arc<PromptLibrary> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
    Arc::new(PromptLibrary::load_dir(&dir).expect("the repository's prompts load"))
}

impl World {
    /// A world with these dialplans and trunk; the phone answers as `answer`.
    pub fn new(seed: u64, plans: &[&str], trunk: Trunk, answer: Answer) -> Self {
        #[allow(clippy::disallowed_methods)] // the one real origin; simulated time moves from it
        let t0 = Instant::now();
        let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let store = Arc::new(MemoryStore::new(SecretKey::from_bytes([7; 32])));
        let files: Vec<(String, String)> = plans
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("plan{i}.toml"), (*t).to_owned()))
            .collect();
        let dialplans =
            DialplanSet::load(files, PromptSet::standard()).expect("test dialplans load");
        let prompts = prompts();
        let endpoint = EndpointConfig {
            contact: ENGINE_SIP.parse().expect("literal"),
            ..EndpointConfig::default()
        };
        let mut config = EngineConfig::new(
            endpoint,
            "10.0.0.1".parse().expect("literal"),
            Trunks::new(vec![trunk]),
        );
        config.rtp_port_min = 20_000;
        config.rtp_port_max = 20_099;
        config.max_calls = 4;
        let parts = EngineParts {
            store: store.clone(),
            dialplans: Arc::new(dialplans),
            prompts: prompts.clone(),
        };
        let engine = Engine::new(config, parts, seed, t0, wall0);
        let phone_config = EndpointConfig {
            contact: PHONE_SIP.parse().expect("literal"),
            ..EndpointConfig::default()
        };
        let phone = Endpoint::new(
            phone_config,
            Box::new(ChaCha20Rng::seed_from_u64(seed ^ 0xf00d)),
            t0,
        );
        Self {
            now: t0,
            wall0,
            t0,
            engine,
            phone,
            store,
            prompts,
            answer,
            pending_answers: Vec::new(),
            phone_call: None,
            phone_events: Vec::new(),
            heard: Vec::new(),
            engine_rtp: None,
            records: Vec::new(),
            sms: Vec::new(),
            callbacks: Vec::new(),
            engine_sent: Vec::new(),
            open_ports: Vec::new(),
            dtmf_seq: 100,
            dtmf_ts: 5_000,
            inband_samples: 0,
            seed,
        }
    }

    /// Wall time now.
    pub fn wall(&self) -> SystemTime {
        self.wall0 + self.now.saturating_duration_since(self.t0)
    }

    /// Creates an OTP for `to` in application `app`.
    pub fn create(&self, app: &str, to: &str, mode: Mode, code: Option<&str>) -> OtpId {
        let mut new = NewOtp::new(
            Application::new(app).expect("app"),
            PhoneNumber::new(to).expect("number"),
            mode,
        );
        if let Some(c) = code {
            new.code = CodeSource::Manual(voxpin_otp::Code::manual(c).expect("code"));
        }
        self.store.create(self.wall(), new).expect("create").id
    }

    /// Creates a read-mode OTP whose status changes are posted to `url`.
    pub fn create_with_callback(&self, app: &str, to: &str, url: &str) -> OtpId {
        let mut new = NewOtp::new(
            Application::new(app).expect("app"),
            PhoneNumber::new(to).expect("number"),
            Mode::Read,
        );
        new.status_callback = Some(url.to_owned());
        self.store.create(self.wall(), new).expect("create").id
    }

    /// Creates an input-mode OTP with a manual code and `attempts` allowed
    /// (the API takes the policy from the dialplan).
    pub fn create_input(&self, app: &str, to: &str, code: &str, attempts: u32) -> OtpId {
        let mut new = NewOtp::new(
            Application::new(app).expect("app"),
            PhoneNumber::new(to).expect("number"),
            Mode::Input,
        );
        new.code = CodeSource::Manual(voxpin_otp::Code::manual(code).expect("code"));
        new.policy.max_attempts = attempts;
        self.store.create(self.wall(), new).expect("create").id
    }

    /// The OTP as the API would show it.
    pub fn otp(&self, id: &OtpId) -> Otp {
        self.store.get(id).expect("store").expect("otp exists")
    }

    /// The code (for assertions only).
    pub fn code(&self, id: &OtpId) -> Option<String> {
        self.store
            .code_for_delivery(id, self.wall())
            .expect("store")
            .map(|c| c.expose().to_owned())
    }

    /// Sends a command to the engine now.
    pub fn command(&mut self, command: Command) {
        let wall = self.wall();
        self.engine.handle_command(self.now, wall, command);
        self.pump();
    }

    /// Delivers every output of both sides until both are quiet at `now`.
    pub fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            loop {
                match self.engine.poll_output() {
                    Some(Output::Timeout(_)) | None => break,
                    Some(out) => {
                        moved = true;
                        self.engine_output(out);
                    }
                }
            }
            while let Some(t) = self.phone.poll_transmit() {
                moved = true;
                self.engine.handle_sip(
                    self.now,
                    Transport::Udp,
                    PHONE_SIP.parse().expect("literal"),
                    &t.payload,
                );
            }
            while let Some(ev) = self.phone.poll_event() {
                moved = true;
                self.phone_event(ev);
            }
            if !moved {
                return;
            }
        }
        panic!("the world did not settle (seed {})", self.seed);
    }

    fn engine_output(&mut self, out: Output) {
        match out {
            Output::SipTransmit(t) => {
                self.engine_sent.push((
                    t.destination,
                    String::from_utf8_lossy(&t.payload).into_owned(),
                ));
                if t.destination == PHONE_SIP.parse().expect("literal") {
                    self.phone.handle_datagram(
                        self.now,
                        Transport::Udp,
                        ENGINE_SIP.parse().expect("literal"),
                        &t.payload,
                    );
                }
            }
            Output::RtpTransmit(p) if p.destination == PHONE_RTP.parse().expect("literal") => {
                let bytes = p.payload();
                if bytes.len() > 12 && bytes[1] & 0x7f == 0 {
                    self.heard.push(bytes[12..].to_vec());
                }
                self.engine_rtp = Some(SocketAddr::new(
                    "10.0.0.1".parse().expect("literal"),
                    p.port.0,
                ));
            }
            Output::OpenRtpPort(p) => self.open_ports.push(p.0),
            Output::CloseRtpPort(p) => self.open_ports.retain(|&x| x != p.0),
            Output::SendSms(s) => self.sms.push(s),
            Output::StatusCallback(c) => self.callbacks.push(c),
            Output::CallRecord(r) => self.records.push(r),
            _ => {}
        }
    }

    fn phone_event(&mut self, ev: Event) {
        match &ev {
            Event::IncomingCall {
                call, sdp_offer, ..
            } => {
                self.phone_call = Some(*call);
                match self.answer {
                    Answer::Reject(status) => {
                        self.phone.reject(self.now, *call, status, Vec::new())
                    }
                    Answer::Never => self.phone.ringing(self.now, *call),
                    Answer::After(d) => {
                        self.phone.ringing(self.now, *call);
                        self.pending_answers
                            .push((*call, self.now + d, sdp_offer.clone()));
                    }
                }
            }
            Event::Answered { call, .. } => self.phone_call = Some(*call),
            _ => {}
        }
        self.phone_events.push(ev);
    }

    /// The phone's SDP answer to an offer (audio to [`PHONE_RTP`]).
    fn sdp_answer(offer: Option<&Bytes>) -> Bytes {
        let local = LocalMedia {
            address: "10.0.0.2".parse().expect("literal"),
            port: 30000,
            codecs: vec![Codec::Pcmu],
            telephone_event: true,
            ptime_ms: 20,
        };
        let offer = offer
            .and_then(|o| SessionDescription::parse(o).ok())
            .expect("the engine offers SDP");
        let (answer, _) = sdp::answer(&offer, &local, 42).expect("negotiable offer");
        Bytes::from(answer.to_bytes())
    }

    /// The phone calls the engine from `from` to `to`, as a SIP source `source`.
    pub fn phone_calls(&mut self, from: &str, to: &str) -> CallId {
        let local = LocalMedia {
            address: "10.0.0.2".parse().expect("literal"),
            port: 30000,
            codecs: vec![Codec::Pcmu],
            telephone_event: true,
            ptime_ms: 20,
        };
        let offer = sdp::offer(&local, 7);
        let uri = |user: &str, host: &str| Uri {
            scheme: Scheme::Sip,
            user: Some(user.to_owned()),
            host: host.to_owned(),
            port: None,
            params: Vec::new(),
            headers: Vec::new(),
        };
        let call = OutboundCall {
            request_uri: uri(to, "10.0.0.1"),
            destination: ENGINE_SIP.parse().expect("literal"),
            transport: Transport::Udp,
            from: NameAddr {
                display_name: None,
                uri: uri(from, "10.0.0.2"),
                params: Vec::new(),
            },
            to: NameAddr {
                display_name: None,
                uri: uri(to, "10.0.0.1"),
                params: Vec::new(),
            },
            sdp_offer: Bytes::from(offer.to_bytes()),
            credentials: None,
            ring_timeout: Duration::from_secs(30),
            extra_headers: Vec::new(),
        };
        let id = self.phone.call(self.now, call);
        self.phone_call = Some(id);
        self.pump();
        id
    }

    /// Advances simulated time to the next deadline of either side (at most `max`).
    pub fn step(&mut self, max: Instant) {
        let mut next = max;
        if let Some(Output::Timeout(t)) = self.engine.poll_output() {
            next = next.min(t);
        }
        if let Some(t) = self.phone.poll_timeout() {
            next = next.min(t);
        }
        for (_, t, _) in &self.pending_answers {
            next = next.min(*t);
        }
        self.now = next.max(self.now);
        let due: Vec<(CallId, Option<Bytes>)> = self
            .pending_answers
            .iter()
            .filter(|(_, t, _)| *t <= self.now)
            .map(|(c, _, o)| (*c, o.clone()))
            .collect();
        self.pending_answers.retain(|(_, t, _)| *t > self.now);
        for (call, offer) in due {
            let answer = Self::sdp_answer(offer.as_ref());
            self.phone.answer(self.now, call, answer);
        }
        self.engine.handle_timeout(self.now);
        self.phone.handle_timeout(self.now);
        self.pump();
    }

    /// Runs until `done` holds or `limit` of simulated time passes.
    pub fn run_until(&mut self, limit: Duration, what: &str, done: impl Fn(&World) -> bool) {
        let end = self.now + limit;
        while !done(self) {
            assert!(
                self.now < end,
                "simulated {limit:?} passed without {what} (seed {})",
                self.seed
            );
            self.step(end);
        }
    }

    /// Lets `d` of simulated time pass.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.step(end);
        }
    }

    /// The phone hangs up its call.
    pub fn phone_hangs_up(&mut self) {
        if let Some(c) = self.phone_call {
            self.phone.hangup(self.now, c);
            self.pump();
        }
    }

    /// The phone presses `digit` as RFC 4733 events (PT 101) toward the engine.
    pub fn press(&mut self, digit: char) {
        let port = self.engine_rtp.expect("the engine sent RTP first").port();
        let event = match digit {
            '0'..='9' => digit as u8 - b'0',
            '*' => 10,
            _ => 11,
        };
        self.dtmf_ts = self.dtmf_ts.wrapping_add(8_000);
        let ts = self.dtmf_ts;
        for (i, (end, dur)) in [
            (false, 160u16),
            (false, 320),
            (false, 480),
            (true, 640),
            (true, 640),
            (true, 640),
        ]
        .into_iter()
        .enumerate()
        {
            // The three end packets share one sequence number, as SIPp's do.
            let seq = self.dtmf_seq.wrapping_add(i.min(3) as u16);
            let mut p = vec![0x80, if i == 0 { 0x80 | 101 } else { 101 }];
            p.extend_from_slice(&seq.to_be_bytes());
            p.extend_from_slice(&ts.to_be_bytes());
            p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
            let [hi, lo] = dur.to_be_bytes();
            p.extend_from_slice(&[event, if end { 0x80 | 10 } else { 10 }, hi, lo]);
            self.engine.handle_rtp(
                self.now,
                voxpin_engine::RtpPort(port),
                PHONE_RTP.parse().expect("literal"),
                &p,
            );
            self.pump();
        }
        self.dtmf_seq = self.dtmf_seq.wrapping_add(4);
    }

    /// The phone presses `digit` as an in-band tone: 100 ms of the DTMF pair
    /// then 100 ms of silence, as 20 ms PCMU packets, time moving with them.
    pub fn press_inband(&mut self, digit: char) {
        const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
        const COLS: [f64; 3] = [1209.0, 1336.0, 1477.0];
        let (r, c) = match digit {
            '1' => (0, 0),
            '2' => (0, 1),
            '3' => (0, 2),
            '4' => (1, 0),
            '5' => (1, 1),
            '6' => (1, 2),
            '7' => (2, 0),
            '8' => (2, 1),
            '9' => (2, 2),
            '*' => (3, 0),
            '0' => (3, 1),
            _ => (3, 2),
        };
        let port =
            voxpin_engine::RtpPort(self.engine_rtp.expect("the engine sent RTP first").port());
        for frame in 0..10 {
            let mut samples = [0i16; 160];
            if frame < 5 {
                for (n, s) in samples.iter_mut().enumerate() {
                    let t = (self.inband_samples + n as u64) as f64 / 8000.0;
                    let v = 0.25 * (2.0 * std::f64::consts::PI * ROWS[r] * t).sin()
                        + 0.25 * (2.0 * std::f64::consts::PI * COLS[c] * t).sin();
                    *s = (v * f64::from(i16::MAX)) as i16;
                }
            }
            self.inband_samples += 160;
            let mut p = vec![0x80, 0];
            p.extend_from_slice(&self.dtmf_seq.to_be_bytes());
            self.dtmf_seq = self.dtmf_seq.wrapping_add(1);
            p.extend_from_slice(&(self.inband_samples as u32).to_be_bytes());
            p.extend_from_slice(&0x0a0b_0c0du32.to_be_bytes());
            p.extend(
                samples
                    .iter()
                    .map(|&x| voxpin_media::g711::linear_to_ulaw(x)),
            );
            self.engine
                .handle_rtp(self.now, port, PHONE_RTP.parse().expect("literal"), &p);
            self.pump();
            let next = self.now + Duration::from_millis(20);
            self.run_for(next.saturating_duration_since(self.now));
        }
    }

    /// The frames of a prompt as the engine sends them.
    pub fn frames(&self, name: &str) -> Vec<Vec<u8>> {
        let en = voxpin_media::Language::new("en").expect("en");
        let p = self
            .prompts
            .prompt(&en, name)
            .unwrap_or_else(|| panic!("prompt {name}"));
        (0..p.frame_count())
            .filter_map(|i| p.frame(voxpin_media::Codec::Pcmu, i).map(|b| b.to_vec()))
            .collect()
    }

    /// Where each of `names` (prompts) appears in order in what the phone heard.
    pub fn heard_in_order(&self, names: &[String]) -> Option<Vec<usize>> {
        let mut from = 0;
        let mut at = Vec::new();
        for name in names {
            let frames = self.frames(name);
            let pos = (from..self.heard.len()).find(|&i| {
                frames
                    .iter()
                    .enumerate()
                    .all(|(k, f)| self.heard.get(i + k) == Some(f))
            })?;
            at.push(pos);
            from = pos + frames.len();
        }
        Some(at)
    }

    /// How often the prompt `name` was heard in full.
    pub fn heard_count(&self, name: &str) -> usize {
        let frames = self.frames(name);
        let mut n = 0;
        let mut i = 0;
        while i < self.heard.len() {
            if frames
                .iter()
                .enumerate()
                .all(|(k, f)| self.heard.get(i + k) == Some(f))
            {
                n += 1;
                i += frames.len().max(1);
            } else {
                i += 1;
            }
        }
        n
    }
}

/// A seed from `VOXPIN_SEED` or a fixed default, printed so a failure can be replayed.
pub fn seed() -> u64 {
    let seed = std::env::var("VOXPIN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    eprintln!("seed {seed} (replay with VOXPIN_SEED={seed})");
    seed
}
