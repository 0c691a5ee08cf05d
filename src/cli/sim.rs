//! `warroom sim`.

use std::net::SocketAddr;

use clap::Args;
use warroom::snapshot_cmd;
use warroom_sim::{Scenario, SimConfig};

use super::parse_scenario;
use super::plane::wait_for_stop;

#[derive(Args)]
pub struct SimOpts {
    /// Address to serve the control-plane API, metrics and health on.
    #[arg(long, default_value = "127.0.0.1:8700")]
    pub listen: SocketAddr,
    /// Seed of the simulated fleet (the same seed, the same world).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// calm, region-outage, bad-canary, dependency-storm or db-primary-failure.
    #[arg(long, default_value = "calm", value_parser = parse_scenario)]
    pub scenario: Scenario,
    /// Number of regions.
    #[arg(long, default_value_t = 4)]
    pub regions: usize,
    /// Number of services.
    #[arg(long, default_value_t = 8)]
    pub services: usize,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Start this far into the scenario (e.g. 10m).
    #[arg(long, default_value = "0s", value_parser = snapshot_cmd::parse_duration)]
    pub at: f64,
}

pub async fn run(o: SimOpts) -> Result<(), String> {
    let SimOpts { listen, seed, scenario, regions, services, time_scale, at } = o;
    let cfg = SimConfig { seed, scenario, regions, services, time_scale, start_unix: None, at_secs: at };
    let sim = warroom_sim::start(cfg, listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("warroom-sim serving {} (scenario {scenario}, seed {seed}); Ctrl-C stops", sim.url());
    wait_for_stop().await;
    sim.shutdown().await;
    Ok(())
}
