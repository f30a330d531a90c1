//! `voxpin run`: the engine driver loop.

use metrics_exporter_prometheus::PrometheusHandle;

use crate::config::Config;

/// Runs the engine until SIGTERM (temporary stub until the engine driver lands).
pub fn run(config: Config, metrics: PrometheusHandle) -> anyhow::Result<()> {
    let _ = (config, metrics);
    anyhow::bail!("engine not wired yet")
}
