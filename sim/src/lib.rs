#![forbid(unsafe_code)]
//! warroom-sim: a simulated multi-region fleet served over HTTP.
//!
//! It is the reference backend for the console and shares no types with it:
//! the contract is the wire format documented in `docs/control-plane-api.md`.

pub mod actions;
pub mod aurora;
pub mod bluegreen;
pub mod breakers;
pub mod cloudwatch;
pub mod databases;
pub mod dynamic;
pub mod fleet;
pub mod kube;
pub mod model;
mod rng;
pub mod scenario;
pub(crate) mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

pub use model::World;
pub use scenario::Scenario;
pub use server::{router, SimState};

/// How to build and run a simulated fleet.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub scenario: Scenario,
    pub regions: usize,
    pub services: usize,
    /// Simulated seconds per real second (0 freezes time).
    pub time_scale: f64,
    /// Unix time (seconds) of scenario time 0. `None` means "now".
    pub start_unix: Option<f64>,
    /// Scenario time at which the clock starts, in seconds.
    pub at_secs: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 7,
            scenario: Scenario::Calm,
            regions: 4,
            services: 8,
            time_scale: 1.0,
            start_unix: None,
            at_secs: 0.0,
        }
    }
}

/// The simulator's clock: scenario time advances at `scale` × real time.
#[derive(Debug, Clone)]
pub struct SimClock {
    origin: Instant,
    offset: f64,
    scale: f64,
}

impl SimClock {
    pub fn new(offset: f64, scale: f64) -> SimClock {
        SimClock { origin: Instant::now(), offset, scale: scale.max(0.0) }
    }

    /// Simulated seconds per real second.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Current scenario time in seconds.
    pub fn now(&self) -> f64 {
        self.offset + self.origin.elapsed().as_secs_f64() * self.scale
    }
}

/// Build the world for a configuration.
pub fn world(cfg: &SimConfig) -> World {
    let start = cfg.start_unix.unwrap_or_else(|| {
        let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        now - cfg.at_secs
    });
    World::new(cfg.seed, cfg.scenario, cfg.regions, cfg.services, start)
}

/// A running simulator; dropping the handle does not stop it, `shutdown` does.
pub struct SimHandle {
    pub addr: SocketAddr,
    pub state: Arc<SimState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    join: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    /// Base URL, e.g. `http://127.0.0.1:8700`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop serving and close the listener; in-flight requests are dropped.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        // Graceful shutdown closes idle keep-alive connections; give in-flight
        // requests a moment, then cut the rest.
        let abort = self.join.abort_handle();
        if tokio::time::timeout(std::time::Duration::from_secs(2), &mut self.join).await.is_err() {
            abort.abort();
        }
    }
}

/// Bind `listen` and serve the simulator on the current tokio runtime.
pub async fn start(cfg: SimConfig, listen: SocketAddr) -> std::io::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let world = world(&cfg);
    let clock = SimClock::new(cfg.at_secs, cfg.time_scale);
    let state = Arc::new(SimState::new(world, clock));
    let app = router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let join = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok(SimHandle { addr, state, stop: Some(tx), join })
}
