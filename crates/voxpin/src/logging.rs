//! Structured logs with `tracing`: text for people or JSON for collectors.
//!
//! The `[logging] level` directive applies unless `RUST_LOG` is set. Calls log
//! inside a span carrying the OTP id and SIP Call-ID (opened by the engine
//! driver), so every line of one call can be grepped together. Codes, API keys
//! and passwords are never logged: their types redact `Debug`.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LoggingConfig};

/// Builds the filter: `RUST_LOG` if set, else the configured directive.
pub fn filter(config: &LoggingConfig) -> Result<EnvFilter, String> {
    match std::env::var("RUST_LOG") {
        Ok(directive) if !directive.trim().is_empty() => EnvFilter::try_new(&directive)
            .map_err(|e| format!("RUST_LOG `{directive}` is not a filter: {e}")),
        _ => EnvFilter::try_new(&config.level)
            .map_err(|e| format!("logging.level `{}` is not a filter: {e}", config.level)),
    }
}

/// Installs the global subscriber (logs go to stderr).
pub fn init(config: &LoggingConfig) -> anyhow::Result<()> {
    let filter = filter(config).map_err(anyhow::Error::msg)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_level_is_refused() {
        if std::env::var("RUST_LOG").is_ok() {
            return; // the environment decides; nothing to check
        }
        let config = LoggingConfig {
            format: LogFormat::Text,
            level: "voxpin=loud".into(),
        };
        let err = filter(&config).unwrap_err();
        assert!(err.contains("logging.level"), "{err}");
    }
}
