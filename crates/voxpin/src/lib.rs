//! The `voxpin` binary's library: configuration, CLI, the IO drivers and the
//! senders that live outside the sans-IO cores.
//!
//! `main` parses the [`cli::Cli`], loads the [`config::Config`] and hands it
//! to [`run::run`], which owns sockets, clocks and signals:
//!
//! ```no_run
//! let config = voxpin::config::Config::load("config/voxpin.toml".as_ref())?;
//! voxpin::logging::init(&config.logging)?;
//! let metrics = voxpin::metrics::install()?;
//! voxpin::run::run(config, metrics)?;
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod check;
pub mod cli;
pub mod config;
pub mod engine_driver;
pub mod http_client;
pub mod logging;
pub mod metrics;
pub mod records;
pub mod run;
pub mod send;
pub mod sms;
pub mod webhook;
