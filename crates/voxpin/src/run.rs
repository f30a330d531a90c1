//! `voxpin run`: loads prompts and dialplans, binds the SIP, RTP and HTTP
//! sockets, builds the [`Engine`] and drives it until a SIGTERM drain ends.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::Context;
use metrics_exporter_prometheus::PrometheusHandle;
use voxpin_engine::{
    DtmfMode, Engine, EngineConfig, EngineParts, Trunk, TrunkAuth, TrunkName, Trunks,
};
use voxpin_ivr::{DialplanSet, PromptSet};
use voxpin_media::PromptLibrary;
use voxpin_otp::{MemoryStore, OtpStore, SecretKey};
use voxpin_sip::driver::{SipTransport, TransportConfig};
use voxpin_sip::{EndpointConfig, TimerConfig};

use crate::config::{self, Config};
use crate::engine_driver::{self, DialplanCatalogue, Driver, EngineHandle};
use crate::http_client::HttpClient;
use crate::records::RecordWriter;
use crate::sms::SmsSender;
use crate::webhook::WebhookSender;
use voxpin_api::{ApiSettings, ApiState, KeySet, SystemClock};

/// Runs voxpin until SIGTERM (drained) or a fatal error.
pub fn run(config: Config, metrics: PrometheusHandle) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config, metrics))
}

async fn serve(config: Config, metrics: PrometheusHandle) -> anyhow::Result<()> {
    let prompts = Arc::new(
        PromptLibrary::load_dir(&config.prompts_dir)
            .with_context(|| format!("prompts in {}", config.prompts_dir.display()))?,
    );
    let dialplans = load_dialplans(&config.dialplans_dir, None)?;
    tracing::info!(applications = dialplans.len(), "dialplans loaded");
    let store: Arc<dyn OtpStore> = Arc::new(MemoryStore::new(
        SecretKey::generate().context("no OS randomness for the code key")?,
    ));
    let trunks = resolve_trunks(&config).await?;
    let udp = config
        .sip
        .listen_udp
        .context("[sip] listen_udp is off; voxpin needs a UDP listener")?;
    let transport = SipTransport::bind(udp, config.sip.listen_tcp, TransportConfig::default())
        .await
        .with_context(|| format!("cannot bind SIP on {udp}"))?;
    let contact = SocketAddr::new(
        config.sip.advertised_address,
        transport.udp_local_addr()?.port(),
    );
    let endpoint = EndpointConfig {
        contact,
        user_agent: config.sip.user_agent.clone(),
        timers: TimerConfig {
            t1: config.sip.t1,
            t2: config.sip.t2,
            t4: config.sip.t4,
        },
        ..EndpointConfig::default()
    };
    let mut engine_config = EngineConfig::new(endpoint, config.rtp.advertised_address, trunks);
    engine_config.rtp_port_min = config.rtp.port_min;
    engine_config.rtp_port_max = config.rtp.port_max;
    engine_config.pacer_phases = config.rtp.pacing_phases;
    engine_config.max_calls = config.limits.max_concurrent_calls as usize;
    engine_config.default_language = config.default_language.clone();
    let dialplans = Arc::new(dialplans);
    let parts = EngineParts {
        store: Arc::clone(&store),
        dialplans: Arc::clone(&dialplans),
        prompts,
    };
    let engine = Engine::new(
        engine_config,
        parts,
        rand::random(),
        Instant::now(),
        SystemTime::now(),
    );
    let (handle, inbox) = EngineHandle::channel().context("cannot create the engine's epoll")?;
    let accepting = handle.accepting();

    let catalogue = Arc::new(DialplanCatalogue::new(Arc::clone(&dialplans)));
    let state = ApiState::new(
        store,
        Arc::clone(&catalogue) as Arc<dyn voxpin_api::Catalogue>,
        Arc::new(handle),
        Arc::new(SystemClock),
        KeySet::new(config.api.keys.clone()),
        ApiSettings::new(config.api.max_body_bytes, config.api.rate_limit_per_minute),
    )
    .with_metrics(Arc::new(move || {
        let mut text = metrics.render();
        text.push_str(&crate::metrics::render_lateness());
        text
    }));
    let api = voxpin_api::router(state.clone());
    let housekeeping = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            state.purge();
        }
    });
    let listener = tokio::net::TcpListener::bind(config.api.listen)
        .await
        .with_context(|| format!("cannot bind the API on {}", config.api.listen))?;
    tracing::info!(sip = %udp, api = %config.api.listen, "voxpin running");
    let api_task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, api).await {
            tracing::error!(error = %e, "API server stopped");
        }
    });

    // One TLS configuration (system store + [http] ca_file) for every SMS and callback.
    let http = HttpClient::new(&config.http);
    let dir = config.dialplans_dir.clone();
    let driver = Driver {
        transport,
        rtp_address: config.rtp.address,
        realtime_priority: config.rtp.realtime_priority,
        inbox,
        sms: SmsSender::new(config.sms.clone(), http.clone()),
        webhooks: WebhookSender::new(config.webhooks.clone(), http),
        records: Arc::new(
            RecordWriter::open(&config.records.path)
                .with_context(|| format!("cannot open {}", config.records.path.display()))?,
        ),
        reload: Box::new(move || load_dialplans(&dir, None)),
        catalogue,
        drain_deadline: config.limits.drain_deadline,
        accepting,
    };
    let result = engine_driver::run(engine, driver).await;
    api_task.abort();
    housekeeping.abort();
    result
}

/// Loads every `*.toml` under `dir` as one dialplan set.
pub fn load_dialplans(dir: &Path, prompts: Option<PromptSet>) -> anyhow::Result<DialplanSet> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
    }
    files.sort();
    DialplanSet::load(files, prompts.unwrap_or_else(PromptSet::standard)).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("bad dialplans:\n  {}", lines.join("\n  "))
    })
}

/// The engine's view of `[trunks.*]`, host names resolved now.
async fn resolve_trunks(config: &Config) -> anyhow::Result<Trunks> {
    let mut trunks = Vec::new();
    for (name, t) in &config.trunks {
        let destination = tokio::net::lookup_host((t.host.as_str(), t.port))
            .await
            .with_context(|| format!("trunks.{name}.host: cannot resolve {}", t.host))?
            .next()
            .with_context(|| format!("trunks.{name}.host: {} has no address", t.host))?;
        trunks.push(Trunk {
            name: TrunkName(name.clone()),
            host: t.host.clone(),
            destination,
            transport: match t.transport {
                config::Transport::Tcp => voxpin_sip::Transport::Tcp,
                _ => voxpin_sip::Transport::Udp,
            },
            auth: t.auth.as_ref().map(|a| TrunkAuth {
                username: a.username.clone(),
                password: a.password.expose().to_owned(),
                realm: a.realm.clone(),
            }),
            from_user: t.from_user.clone(),
            from_domain: Some(t.from_domain.clone()),
            codecs: t
                .codecs
                .iter()
                .map(|c| match c {
                    config::Codec::Pcma => voxpin_sip::sdp::Codec::Pcma,
                    _ => voxpin_sip::sdp::Codec::Pcmu,
                })
                .collect(),
            dtmf: match t.dtmf {
                config::DtmfMode::Rfc4733 => DtmfMode::Rfc4733,
                config::DtmfMode::Inband => DtmfMode::Inband,
                config::DtmfMode::Info => DtmfMode::Info,
                _ => DtmfMode::Auto,
            },
            inbound_acl: t.inbound_acl.clone(),
            ring_timeout: t.ring_timeout,
            retry: voxpin_engine::RetryPolicy {
                attempts: t.retry.attempts,
                delay: t.retry.delay,
                on_busy: t.retry.on_busy,
                on_no_answer: t.retry.on_no_answer,
            },
        });
    }
    Ok(Trunks::new(trunks))
}
