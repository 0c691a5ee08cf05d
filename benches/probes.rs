//! Can the health prober keep up with 1,000 services × 6 regions (12,000
//! probes: liveness and readiness) inside a 10 s interval? Runs one round
//! against the simulator on loopback and prints the time it took.
//! Run: `cargo bench --bench probes`.

use std::time::{Duration, Instant};

use warroom::sources::health::{probe_all, probe_client, ProbeTemplates};
use warroom_sim::{Scenario, SimConfig};

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    rt.block_on(async {
        let cfg = SimConfig { scenario: Scenario::Calm, regions: 6, services: 1000, ..SimConfig::default() };
        let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim") };
        let w = &sim.state.world;
        let pairs: Vec<(String, String)> = w
            .fleet
            .services
            .iter()
            .flat_map(|s| w.fleet.regions.iter().map(move |r| (s.name.clone(), r.name.clone())))
            .collect();
        let Ok(client) = probe_client(None, false) else { panic!("client") };
        let t = ProbeTemplates::for_base(&sim.url());
        for (label, spread) in [("no spread", Duration::ZERO), ("spread over 5 s", Duration::from_secs(5))] {
            let start = Instant::now();
            let probes = probe_all(&client, &t, pairs.clone(), 64, Duration::from_secs(2), spread).await;
            let took = start.elapsed();
            let failed = probes.iter().filter(|p| p.http_status.is_none()).count();
            println!(
                "probes: {} in {:.2} s ({label}, concurrency 64), {failed} without an answer, {:.0} probes/s",
                probes.len(),
                took.as_secs_f64(),
                probes.len() as f64 / took.as_secs_f64()
            );
        }
        sim.shutdown().await;
    });
}
