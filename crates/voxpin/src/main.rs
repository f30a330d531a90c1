//! `voxpin`: see `voxpin --help`.

use std::process::ExitCode;

use clap::Parser;
use voxpin::cli::{Cli, Command};
use voxpin::config::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => {
            let config = match Config::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let started = voxpin::logging::init(&config.logging)
                .and_then(|()| voxpin::metrics::install())
                .and_then(|metrics| voxpin::run::run(config, metrics));
            match started {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Check { config } => voxpin::check::main(&config),
        Command::Send(args) => voxpin::send::main(args),
    }
}
