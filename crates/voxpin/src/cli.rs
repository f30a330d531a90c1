//! The command line: `voxpin run`, `voxpin check`, `voxpin send`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The default configuration file, relative to the working directory.
pub const DEFAULT_CONFIG: &str = "config/voxpin.toml";

/// voxpin: one-time passwords by phone call.
#[derive(Debug, Parser)]
#[command(name = "voxpin", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the engine: SIP, RTP and the HTTP API.
    Run {
        /// The configuration file.
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Validate the configuration, dialplans and prompts, then exit
    /// (non-zero with file, key and reason on the first problems).
    Check {
        /// The configuration file.
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Ask a running voxpin to call a number with a code (a client of the HTTP API).
    Send(SendArgs),
}

/// `voxpin send` arguments.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The OTP application (dialplan name).
    #[arg(long)]
    pub app: String,
    /// The phone number to call, E.164 (`+14155550100`).
    #[arg(long)]
    pub to: String,
    /// The code, for manual applications (auto applications generate it).
    #[arg(long)]
    pub code: Option<String>,
    /// The prompt language.
    #[arg(long)]
    pub language: Option<String>,
    /// Also send the code by SMS after the call.
    #[arg(long)]
    pub sms_after_call: bool,
    /// The API base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "VOXPIN_API_URL")]
    pub api: String,
    /// The API key.
    #[arg(long, env = "VOXPIN_API_KEY", hide_env_values = true)]
    pub key: String,
    /// An Idempotency-Key, so repeating the command does not call twice.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// A PEM bundle of CA certificates trusted, besides the system store,
    /// for an `https://` API behind a private CA.
    #[arg(long, env = "VOXPIN_CA_FILE")]
    pub ca_file: Option<std::path::PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_defaults_to_the_shipped_config() {
        let cli = Cli::try_parse_from(["voxpin", "run"]).unwrap();
        let Command::Run { config } = cli.command else {
            panic!("run expected")
        };
        assert_eq!(config, PathBuf::from(DEFAULT_CONFIG));
    }

    #[test]
    fn send_takes_its_arguments() {
        let cli = Cli::try_parse_from([
            "voxpin",
            "send",
            "--app",
            "login",
            "--to",
            "+14155550100",
            "--code",
            "1234",
            "--key",
            "k-000000000000000",
        ])
        .unwrap();
        let Command::Send(args) = cli.command else {
            panic!("send expected")
        };
        assert_eq!(args.app, "login");
        assert_eq!(args.code.as_deref(), Some("1234"));
        assert_eq!(args.api, "http://127.0.0.1:8080");
    }
}
