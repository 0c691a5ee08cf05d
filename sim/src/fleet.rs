//! Fleet generation: regions, services, dependencies and per-series traffic
//! parameters, all derived deterministically from the seed.

use crate::rng::{hash, unit};

/// Well-known names for the first services so the demo reads like a real fleet.
const SERVICE_NAMES: [&str; 8] =
    ["api-gateway", "auth", "checkout", "payments", "catalog", "search", "inventory", "notifications"];

const REGION_NAMES: [&str; 6] =
    ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1", "eu-central-1", "ap-northeast-1"];

/// UTC offset (hours) of each region's daytime peak, used for the daily shape.
const REGION_UTC_OFFSET: [f64; 6] = [-5.0, -8.0, 0.0, 8.0, 1.0, 9.0];

/// Largest fleet the simulator generates.
pub const MAX_REGIONS: usize = 6;
/// Largest number of services the simulator generates.
pub const MAX_SERVICES: usize = 1000;

#[derive(Debug, Clone)]
pub struct Region {
    pub name: String,
    pub zones: Vec<String>,
    /// Traffic weight in percent; all regions sum to 100.
    pub weight: f64,
    /// Phase of the daily traffic curve in radians.
    pub phase: f64,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub critical: bool,
    pub owners: Vec<String>,
    pub depends_on: Vec<usize>,
    /// Fleet-wide requests per second at the daily mean.
    pub base_rps: f64,
    /// Median latency in milliseconds.
    pub median_ms: f64,
    /// Log-normal shape parameter (long tail).
    pub sigma: f64,
    /// Background error ratio.
    pub base_err: f64,
    /// SLO objective in percent.
    pub objective: f64,
}

#[derive(Debug, Clone)]
pub struct Fleet {
    pub regions: Vec<Region>,
    pub services: Vec<Service>,
}

impl Fleet {
    pub fn generate(seed: u64, regions: usize, services: usize) -> Fleet {
        let nr = regions.clamp(1, MAX_REGIONS);
        let ns = services.clamp(1, MAX_SERVICES);
        let weights = region_weights(nr);
        let regions = (0..nr)
            .map(|i| {
                let name = REGION_NAMES[i].to_string();
                Region {
                    zones: ["a", "b", "c"].iter().map(|z| format!("{name}{z}")).collect(),
                    name,
                    weight: weights[i],
                    phase: -REGION_UTC_OFFSET[i] / 24.0 * std::f64::consts::TAU,
                }
            })
            .collect();
        let mut services: Vec<Service> = (0..ns).map(|i| make_service(seed, i)).collect();
        for s in &mut services {
            s.depends_on.retain(|&d| d < ns);
        }
        Fleet { regions, services }
    }

    pub fn service_index(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| s.name == name)
    }

    pub fn region_index(&self, name: &str) -> Option<usize> {
        self.regions.iter().position(|r| r.name == name)
    }
}

fn region_weights(n: usize) -> Vec<f64> {
    match n {
        1 => vec![100.0],
        2 => vec![60.0, 40.0],
        3 => vec![45.0, 30.0, 25.0],
        4 => vec![40.0, 25.0, 20.0, 15.0],
        5 => vec![30.0, 20.0, 20.0, 15.0, 15.0],
        _ => vec![30.0, 20.0, 15.0, 15.0, 10.0, 10.0],
    }
}

fn make_service(seed: u64, i: usize) -> Service {
    let u = |k: u64| unit(hash(&[seed, 0x5e41, i as u64, k]));
    let (name, critical) = if i < SERVICE_NAMES.len() {
        (SERVICE_NAMES[i].to_string(), i < 4)
    } else {
        let stems = ["orders", "ledger", "profile", "media", "pricing", "reviews", "shipping", "ads"];
        let stem = stems[(hash(&[seed, 0x57e3, i as u64]) % stems.len() as u64) as usize];
        (format!("{stem}-{i:03}"), u(9) < 0.2)
    };
    let depends_on = default_deps(seed, i);
    let team = if critical { "team-core" } else { "team-product" };
    Service {
        name,
        critical,
        owners: vec![team.to_string()],
        depends_on,
        base_rps: if critical { 400.0 + 2600.0 * u(1) } else { 50.0 + 750.0 * u(1) },
        median_ms: 12.0 + 30.0 * u(2),
        sigma: 0.45 + 0.22 * u(3),
        base_err: if critical { 0.00004 + 0.0002 * u(4) } else { 0.0001 + 0.0004 * u(4) },
        objective: if critical { 99.95 } else { 99.9 },
    }
}

fn default_deps(seed: u64, i: usize) -> Vec<usize> {
    match i {
        0 => vec![1, 2, 4, 5],
        1 => vec![],
        2 => vec![3, 6, 1],
        3 => vec![1],
        4 => vec![6],
        5 => vec![4],
        6 => vec![],
        7 => vec![1],
        _ => {
            let a = (hash(&[seed, 0xde95, i as u64]) % i as u64) as usize;
            let b = (hash(&[seed, 0xde96, i as u64]) % i as u64) as usize;
            let mut v = vec![a];
            if b != a && i.is_multiple_of(3) {
                v.push(b);
            }
            v
        }
    }
    .into_iter()
    .filter(|&d| d < i.max(8) && d != i)
    .collect()
}
