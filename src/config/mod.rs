//! `warroom.toml`: the user's fleet and where each signal comes from.
//!
//! Every error names the file, line and column. Secrets are only ever
//! referenced (an environment variable or a file), never stored here, and
//! never printed.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

/// The commented example `warroom config init` writes.
pub const EXAMPLE: &str = include_str!("example.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub operator: Option<OperatorCfg>,
    #[serde(default, rename = "region")]
    pub regions: Vec<RegionCfg>,
    #[serde(default, rename = "service")]
    pub services: Vec<ServiceCfg>,
    #[serde(default)]
    pub health: Option<HealthCfg>,
    #[serde(default)]
    pub prometheus: Option<PrometheusCfg>,
    #[serde(default)]
    pub alertmanager: Option<AlertmanagerCfg>,
    #[serde(default)]
    pub control_plane: Option<ControlPlaneCfg>,
    #[serde(default)]
    pub cloudwatch: Option<CloudWatchCfg>,
    /// Which backend acts on each kind of target.
    #[serde(default)]
    pub actions: Option<ActionsCfg>,
    /// Route 53 weighted records: the regions' weights and health checks,
    /// and (by default) the traffic actions.
    #[serde(default)]
    pub route53: Option<Route53Cfg>,
    /// Database clusters managed by Patroni.
    #[serde(default, rename = "patroni")]
    pub patroni: Vec<PatroniCfg>,
    /// Recovery objectives per service tier and the backup policy.
    pub dr: Option<DrCfg>,
    /// RDS / Aurora clusters.
    #[serde(default, rename = "rds")]
    pub rds: Vec<RdsCfg>,
    /// Resilience4j breakers per instance, through Prometheus and actuators.
    pub resilience4j: Option<Resilience4jCfg>,
    /// Feature flags in an Unleash server (Admin API).
    pub unleash: Option<UnleashCfg>,
    /// Argo Rollouts through the Kubernetes API, a context per region.
    pub kubernetes: Option<KubernetesCfg>,
    /// The change timeline: how many events are kept.
    pub changes: Option<ChangesCfg>,
    /// Jump-out links per service (dashboards, logs, traces, runbook).
    #[serde(default, rename = "link")]
    pub links: Vec<LinkCfg>,
    /// What a failed request costs, per service, for postmortems.
    #[serde(default, rename = "business")]
    pub business: Vec<BusinessCfg>,
}

/// `[[business]]`: what one failed request of a service is worth (an order
/// not placed, a payment not taken), for the postmortem's impact.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessCfg {
    pub service: Spanned<String>,
    /// The value of one failed request, in `unit`.
    pub per_failed_request: Spanned<f64>,
    /// `USD`, `EUR`, `orders`, … (default `USD`).
    #[serde(default = "default_business_unit")]
    pub unit: String,
    /// What the figure is, in the postmortem (default "revenue at risk").
    #[serde(default = "default_business_what")]
    pub what: String,
}

fn default_business_unit() -> String {
    "USD".into()
}

fn default_business_what() -> String {
    "revenue at risk".into()
}

/// `[changes]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangesCfg {
    /// Events kept in memory and in the state directory (10,000 by default).
    pub keep: Spanned<i64>,
}

/// `[[link]]`: a jump-out link, for every service or one, with
/// `{service}`, `{region}`, `{from}` and `{to}` placeholders.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkCfg {
    /// `dashboard`, `logs`, `traces`, `runbook` or any word.
    pub name: String,
    pub url: Spanned<String>,
    /// Only for this service (default: every service).
    pub service: Option<String>,
}

/// `[kubernetes]`: which kubeconfig context serves which region.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesCfg {
    /// The kubeconfig (default: `KUBECONFIG`, else `~/.kube/config`; in a
    /// pod with neither, the service account).
    pub kubeconfig: Option<Spanned<String>>,
    /// Region → context name (`us-east-1 = "prod-use1"`); `in-cluster`
    /// names the pod's own service account.
    pub regions: std::collections::BTreeMap<String, Spanned<String>>,
    /// The namespace of the Rollouts (default: each context's own).
    pub namespace: Option<String>,
    #[serde(default = "default_kube_interval")]
    pub interval: Spanned<String>,
}

fn default_kube_interval() -> Spanned<String> {
    Spanned::new(0..0, "1s".into())
}

/// `[unleash]`: flags read and changed through Unleash's Admin API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnleashCfg {
    pub url: Spanned<String>,
    /// Environment variable holding the admin token or PAT (never the
    /// token itself).
    pub token_env: Option<Spanned<String>>,
    /// File holding the token.
    pub token_file: Option<Spanned<String>>,
    /// Projects whose flags are shown (`default` when not set).
    #[serde(default = "default_unleash_projects")]
    pub projects: Vec<Spanned<String>>,
    /// Only these environments (every one when not set).
    #[serde(default)]
    pub environments: Vec<String>,
    /// Segment names that mean "our own people": a flag limited to them
    /// reads "internal only".
    #[serde(default = "default_internal_segments")]
    pub internal_segments: Vec<String>,
    #[serde(default = "default_unleash_interval")]
    pub interval: Spanned<String>,
    pub ca_bundle: Option<Spanned<String>>,
}

fn default_unleash_projects() -> Vec<Spanned<String>> {
    vec![Spanned::new(0..0, "default".into())]
}

fn default_internal_segments() -> Vec<String> {
    vec!["internal".into()]
}

fn default_unleash_interval() -> Spanned<String> {
    Spanned::new(0..0, "10s".into())
}

/// `[resilience4j]`: every instance's breakers from Prometheus (Micrometer
/// names), acted on through each instance's actuator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resilience4jCfg {
    /// Prometheus that scrapes the instances (default: `[prometheus] url`).
    pub prometheus_url: Option<Spanned<String>>,
    /// The label naming the calling service (Micrometer common tag).
    #[serde(default = "default_r4j_service")]
    pub service_label: String,
    #[serde(default = "default_region_label")]
    pub region_label: String,
    /// The label naming the instance (`instance`, `pod`).
    #[serde(default = "default_r4j_instance")]
    pub instance_label: String,
    /// Each instance's actuator base; `{instance}`, `{service}`, `{region}`
    /// come from the labels.
    #[serde(default = "default_r4j_actuator")]
    pub actuator: Spanned<String>,
    #[serde(default = "default_prom_interval")]
    pub interval: Spanned<String>,
}

fn default_r4j_service() -> String {
    "application".into()
}

fn default_r4j_instance() -> String {
    "instance".into()
}

fn default_r4j_actuator() -> Spanned<String> {
    Spanned::new(0..0, "http://{instance}/actuator".into())
}

/// `[[rds]]`: one RDS or Aurora cluster through the RDS API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RdsCfg {
    /// The cluster's name on screen and in actions.
    pub name: Spanned<String>,
    /// `DBClusterIdentifier` (a regional cluster)…
    pub cluster: Option<Spanned<String>>,
    /// …or `GlobalClusterIdentifier` (an Aurora global database: its
    /// members are regional clusters, read and acted on in their regions).
    pub global_cluster: Option<Spanned<String>>,
    /// The AWS region of its API (`us-east-1`).
    pub aws_region: Spanned<String>,
    /// Endpoint override (an emulator, a VPC endpoint).
    pub endpoint: Option<Spanned<String>>,
    pub profile: Option<String>,
    /// Instance (a global database: member cluster or AWS region) → `[[region]]`.
    #[serde(default)]
    pub regions: std::collections::BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub services: Vec<Spanned<String>>,
    #[serde(default = "default_rds_interval")]
    pub interval: Spanned<String>,
    /// Read each reader's `AuroraReplicaLag` from CloudWatch (default true).
    #[serde(default = "yes")]
    pub replica_lag: bool,
    /// CloudWatch endpoint override for the lag (an emulator, the sim).
    pub cloudwatch_endpoint: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

fn default_rds_interval() -> Spanned<String> {
    Spanned::new(0..0, "30s".into())
}

/// `[dr]`: recovery objectives. Unset values keep the seed's numbers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrCfg {
    /// Backups kept at least this many days (default 30).
    pub retention_days: Option<Spanned<u32>>,
    pub critical: Option<ObjectiveCfg>,
    pub standard: Option<ObjectiveCfg>,
}

/// `[dr.critical]` / `[dr.standard]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveCfg {
    /// Recovery point objective: most data a failure may lose, as time.
    pub rpo: Option<Spanned<String>>,
    /// Recovery time objective: longest a recovery may take.
    pub rto: Option<Spanned<String>>,
}

impl DrCfg {
    /// The objectives, defaults where unset (checked: durations parse).
    pub fn objectives(&self) -> crate::model::DrObjectives {
        let mut o = crate::model::DrObjectives::default();
        let secs = |v: &Option<Spanned<String>>, d: f64| {
            v.as_ref().and_then(|v| parse_duration(v.get_ref())).map(|d| d.as_secs_f64()).unwrap_or(d)
        };
        if let Some(c) = &self.critical {
            o.critical.rpo_secs = secs(&c.rpo, o.critical.rpo_secs);
            o.critical.rto_secs = secs(&c.rto, o.critical.rto_secs);
        }
        if let Some(c) = &self.standard {
            o.standard.rpo_secs = secs(&c.rpo, o.standard.rpo_secs);
            o.standard.rto_secs = secs(&c.rto, o.standard.rto_secs);
        }
        if let Some(d) = &self.retention_days {
            o.retention_days = *d.get_ref();
        }
        o
    }
}

/// `[route53]`: a hosted zone's weighted record set, one record per region.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route53Cfg {
    pub hosted_zone_id: Spanned<String>,
    /// The record's name (`api.example.com`).
    pub record_name: Spanned<String>,
    /// `A`, `AAAA`, `CNAME`, … (default `A`).
    #[serde(default = "default_record_type")]
    pub record_type: Spanned<String>,
    /// Endpoint override (an emulator, a VPC endpoint).
    pub endpoint: Option<Spanned<String>>,
    /// AWS profile (default: the standard credential chain).
    pub profile: Option<String>,
    #[serde(default = "default_r53_interval")]
    pub interval: Spanned<String>,
    #[serde(default, rename = "region")]
    pub regions: Vec<Route53RegionCfg>,
}

fn default_record_type() -> Spanned<String> {
    Spanned::new(0..0, "A".into())
}

fn default_r53_interval() -> Spanned<String> {
    Spanned::new(0..0, "10s".into())
}

/// `[[route53.region]]`: which record is a region's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route53RegionCfg {
    /// A region of `[[region]]`.
    pub name: Spanned<String>,
    /// The record's `SetIdentifier`.
    pub set_identifier: Spanned<String>,
    /// The weight a restore puts back when no earlier failover of this
    /// region is recorded (1–255).
    pub restore_weight: Option<Spanned<i64>>,
}

/// `[[patroni]]`: one Patroni cluster through its REST API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatroniCfg {
    /// The cluster's name on screen and in actions.
    pub name: Spanned<String>,
    /// REST API addresses of the members (any one answers for the cluster;
    /// tried in turn).
    pub urls: Vec<Spanned<String>>,
    /// Member name → region (`pg1 = "us-east"`).
    #[serde(default)]
    pub regions: std::collections::BTreeMap<String, Spanned<String>>,
    /// Services that use it (checked after a switchover).
    #[serde(default)]
    pub services: Vec<Spanned<String>>,
    /// `maximum_lag_on_failover` as the cluster has it (bytes; Patroni's
    /// default 1048576).
    pub maximum_lag_on_failover: Option<u64>,
    /// `restapi.authentication.username`, for switchover and failover.
    pub username: Option<String>,
    /// Environment variable holding the REST API password (never the
    /// password itself).
    pub password_env: Option<Spanned<String>>,
    #[serde(default = "default_db_interval")]
    pub interval: Spanned<String>,
}

fn default_db_interval() -> Spanned<String> {
    Spanned::new(0..0, "5s".into())
}

/// `[actions]`: the provider that owns each kind of target — today
/// `"control-plane"` (the default when `[control_plane]` is set) or
/// `"none"` (the console refuses that kind of action, and says why).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsCfg {
    /// failover / restore.
    pub traffic: Option<Spanned<String>>,
    /// rollback / promote / pause / resume.
    pub rollout: Option<Spanned<String>>,
    /// flag toggles.
    pub flag: Option<Spanned<String>>,
}

/// The providers `[actions]` may name.
pub const ACTION_PROVIDERS: [&str; 3] = ["control-plane", "route53", "none"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorCfg {
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionCfg {
    pub name: Spanned<String>,
    #[serde(default)]
    pub zones: Vec<String>,
    /// Normal traffic share in percent (informational).
    #[serde(default)]
    pub weight: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceCfg {
    pub name: Spanned<String>,
    #[serde(default)]
    pub tier: Option<Spanned<String>>,
    #[serde(default)]
    pub owners: Vec<String>,
    #[serde(default)]
    pub depends_on: Vec<Spanned<String>>,
    /// Regions the service runs in (default: all).
    #[serde(default)]
    pub regions: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub slo: Option<SloCfg>,
    /// Latency SLA; any percentile left out keeps the seed's default.
    #[serde(default)]
    pub sla: Option<SlaCfg>,
    /// More than one SLO (e.g. availability and latency).
    #[serde(default)]
    pub slos: Vec<SloCfg>,
}

/// `sla = { p50_ms = 100, p95_ms = 200, p99_ms = 500 }` on a service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaCfg {
    #[serde(default)]
    pub p50_ms: Option<Spanned<f64>>,
    #[serde(default)]
    pub p95_ms: Option<Spanned<f64>>,
    #[serde(default)]
    pub p99_ms: Option<Spanned<f64>>,
}

impl SlaCfg {
    pub fn to_sla(&self) -> crate::model::Sla {
        let d = crate::model::Sla::default();
        let get = |v: &Option<Spanned<f64>>, dflt: f64| v.as_ref().map(|x| *x.get_ref()).unwrap_or(dflt);
        crate::model::Sla {
            p50_ms: get(&self.p50_ms, d.p50_ms),
            p95_ms: get(&self.p95_ms, d.p95_ms),
            p99_ms: get(&self.p99_ms, d.p99_ms),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloCfg {
    pub objective: Spanned<f64>,
    /// Rolling window: 7, 28 or 30 days.
    #[serde(default = "default_window_days")]
    pub window_days: Spanned<u32>,
    /// `"availability"` (default) or `"latency"`.
    #[serde(default)]
    pub kind: Option<Spanned<String>>,
    /// For latency SLOs: good = answered within this many milliseconds.
    #[serde(default)]
    pub threshold_ms: Option<Spanned<f64>>,
    /// `"month"`: budget over the calendar month instead of a rolling window.
    #[serde(default)]
    pub calendar: Option<Spanned<String>>,
    #[serde(default)]
    pub name: Option<String>,
    /// Budget left (percent) below which the SLO shows LOW (default 10).
    #[serde(default)]
    pub low_budget_pct: Option<Spanned<f64>>,
}

fn default_window_days() -> Spanned<u32> {
    Spanned::new(0..0, 30)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCfg {
    /// URL template with `{service}` and `{region}`, e.g. `https://{service}.{region}.example.com/livez`.
    pub liveness: Option<Spanned<String>>,
    pub readiness: Option<Spanned<String>>,
    #[serde(default = "default_probe_interval")]
    pub interval: Spanned<String>,
    #[serde(default = "default_probe_timeout")]
    pub timeout: Spanned<String>,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Probes per second at most; a larger fleet is probed in slices.
    #[serde(default = "default_probe_rate")]
    pub max_rate: f64,
    /// PEM bundle of extra CAs to trust.
    pub ca_bundle: Option<Spanned<String>>,
    /// Turn TLS verification off for these probes. The UI marks them.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

fn default_probe_interval() -> Spanned<String> {
    Spanned::new(0..0, "10s".into())
}
fn default_probe_timeout() -> Spanned<String> {
    Spanned::new(0..0, "2s".into())
}
fn default_concurrency() -> usize {
    64
}
/// `dataplane::PROBE_MAX_RATE` (tests/config_cli.rs checks they agree).
pub fn default_probe_rate() -> f64 {
    200.0
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusCfg {
    pub url: Spanned<String>,
    #[serde(default = "default_prom_interval")]
    pub interval: Spanned<String>,
    /// How long one poll (its ~50 queries, in parallel) may take (default
    /// 0.8 × the interval, 200 ms..10 s).
    pub timeout: Option<Spanned<String>>,
    /// Histogram bucket series (with `_bucket`).
    #[serde(default = "default_latency_metric")]
    pub latency_metric: String,
    /// Request counter.
    #[serde(default = "default_requests_metric")]
    pub requests_metric: String,
    /// Extra matcher selecting failed requests, e.g. `code=~"5.."`.
    #[serde(default = "default_error_matcher")]
    pub error_matcher: String,
    /// Extra matchers applied to every query, e.g. `job="api"`.
    #[serde(default)]
    pub selector: String,
    #[serde(default = "default_service_label")]
    pub service_label: String,
    #[serde(default = "default_region_label")]
    pub region_label: String,
    /// Window for `rate()` in the instant panes.
    #[serde(default = "default_rate_window")]
    pub rate_window: Spanned<String>,
    /// Environment variable holding a bearer token (never the token itself).
    pub bearer_token_env: Option<String>,
    /// PEM bundle of extra CAs to trust (an internal CA), besides the platform's.
    pub ca_bundle: Option<Spanned<String>>,
}

fn default_prom_interval() -> Spanned<String> {
    Spanned::new(0..0, "15s".into())
}
fn default_latency_metric() -> String {
    "http_request_duration_seconds_bucket".into()
}
fn default_requests_metric() -> String {
    "http_requests_total".into()
}
fn default_error_matcher() -> String {
    "code=~\"5..\"".into()
}
fn default_service_label() -> String {
    "service".into()
}
fn default_region_label() -> String {
    "region".into()
}
fn default_rate_window() -> Spanned<String> {
    Spanned::new(0..0, "5m".into())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerCfg {
    pub url: Spanned<String>,
    #[serde(default = "default_prom_interval")]
    pub interval: Spanned<String>,
    /// How long one poll may take (default 0.8 × the interval).
    pub timeout: Option<Spanned<String>>,
    pub bearer_token_env: Option<String>,
    /// PEM bundle of extra CAs to trust.
    pub ca_bundle: Option<Spanned<String>>,
    /// Labels that name an alert's region, first present wins (default `["region"]`).
    #[serde(default)]
    pub region_labels: Option<Vec<String>>,
    /// Labels that name an alert's service (default `["service", "job"]`).
    #[serde(default)]
    pub service_labels: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlPlaneCfg {
    pub url: Spanned<String>,
    /// Environment variable holding the API token.
    pub token_env: Option<String>,
    /// File holding the API token.
    pub token_file: Option<String>,
    /// PEM bundle of extra CAs to trust (reads and actions).
    pub ca_bundle: Option<Spanned<String>>,
    /// How long one read of each feed it supplies may take (default 0.8 ×
    /// the feed's interval, 200 ms..10 s). Actions have their own.
    pub timeout: Option<Spanned<String>>,
}

/// AWS CloudWatch as the latency and error source (docs/configuration.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchCfg {
    /// Poll interval; at least 60 s, the metrics' period.
    #[serde(default = "default_cw_interval")]
    pub interval: Spanned<String>,
    /// One client per region.
    #[serde(default, rename = "region")]
    pub regions: Vec<CloudWatchRegionCfg>,
    /// What to read per service × region.
    #[serde(default, rename = "target")]
    pub targets: Vec<CloudWatchTargetCfg>,
}

fn default_cw_interval() -> Spanned<String> {
    Spanned::new(0..0, "60s".into())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchRegionCfg {
    /// A region of `[[region]]`.
    pub name: Spanned<String>,
    /// The AWS region (default: `name`).
    pub aws_region: Option<String>,
    /// Endpoint override (e.g. a local emulator).
    pub endpoint: Option<Spanned<String>>,
    /// AWS profile (default: the standard credential chain).
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchTargetCfg {
    pub service: Spanned<String>,
    pub region: Spanned<String>,
    /// `alb`, `apigateway` or `custom`.
    pub preset: Spanned<String>,
    /// alb: `app/<name>/<id>`.
    pub load_balancer: Option<String>,
    /// alb: `targetgroup/<name>/<id>` (optional).
    pub target_group: Option<String>,
    /// apigateway: the API's name and stage.
    pub api_name: Option<String>,
    pub stage: Option<String>,
    /// custom: namespace, metric names, the latency unit and dimensions.
    pub namespace: Option<String>,
    pub latency_metric: Option<String>,
    pub latency_unit: Option<Spanned<String>>,
    pub requests_metric: Option<String>,
    pub errors_metric: Option<String>,
    #[serde(default)]
    pub dimensions: std::collections::BTreeMap<String, String>,
}

/// A configuration problem with its place in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.column, self.message)
    }
}

impl ConfigError {
    /// An error at a byte span of `text`.
    pub fn at(file: &Path, text: &str, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        let (line, column) = line_col(text, span.start);
        ConfigError { file: file.to_path_buf(), line, column, message: message.into() }
    }
}

/// Largest configuration-like file read (config, views, themes, keymaps, runbooks).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Read a regular file of at most `MAX_FILE_BYTES` as UTF-8: a FIFO would
/// hang and `/dev/zero` would never end, so neither is read at all.
pub fn read_config_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!("larger than {} MiB", MAX_FILE_BYTES / 1024 / 1024));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {} MiB", MAX_FILE_BYTES / 1024 / 1024));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        format!("not UTF-8 (byte {at})")
    })
}

/// Deserialize a TOML file; a syntax or shape error comes back with its place.
pub fn from_toml<T: serde::de::DeserializeOwned>(file: &Path, text: &str) -> Result<T, Vec<ConfigError>> {
    toml::from_str(text)
        .map_err(|e| vec![ConfigError::at(file, text, e.span().unwrap_or(0..0), e.message().trim().replace('\n', " "))])
}

/// The `*.toml` files in `dir` as (stem, path), sorted; none if it is missing.
pub fn toml_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(rd) = std::fs::read_dir(dir) else { return vec![] };
    let mut v: Vec<(String, PathBuf)> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| Some((p.file_stem()?.to_str()?.to_string(), p)))
        .collect();
    v.sort();
    v
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// Parse "10s", "500ms", "5m", "1h".
pub fn parse_duration(s: &str) -> Option<Duration> {
    // The one syntax (`crate::duration`); here a duration must be positive.
    crate::duration::positive(s)
}

/// Placeholders a URL template may use.
const PLACEHOLDERS: [&str; 2] = ["service", "region"];

fn check_template(t: &str) -> Result<(), String> {
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| format!("unclosed '{{' in template '{t}'"))?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!("unknown placeholder '{{{name}}}' in '{t}' (use {{service}} and {{region}})"));
        }
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("unmatched '}}' in template '{t}'"));
    }
    let sample = t.replace("{service}", "svc").replace("{region}", "reg");
    check_url(&sample).map_err(|e| format!("template '{t}' does not make a valid URL: {e}"))
}

fn check_url(u: &str) -> Result<(), String> {
    let parsed = url::Url::parse(u).map_err(|e| e.to_string())?;
    match parsed.scheme() {
        "http" | "https" => Ok(()),
        other => Err(format!("scheme '{other}' is not http or https")),
    }
}

struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors.push(ConfigError::at(self.file, self.text, span, message));
    }
}

impl Config {
    /// Parse and validate; all problems found, each with its place.
    pub fn parse(file: &Path, text: &str) -> Result<Config, Vec<ConfigError>> {
        let cfg: Config = from_toml(file, text)?;
        let mut c = Checker { file, text, errors: Vec::new() };
        cfg.validate(&mut c);
        if c.errors.is_empty() {
            Ok(cfg)
        } else {
            c.errors.sort_by_key(|e| (e.line, e.column));
            Err(c.errors)
        }
    }

    /// Read and parse a file.
    /// Warnings for URLs whose host does not resolve here (`config check`;
    /// `--offline` skips it). A warning, not an error: DNS at check time is
    /// not DNS at run time.
    pub fn unresolved_hosts(&self, path: &Path) -> Vec<ConfigError> {
        use std::net::ToSocketAddrs;
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut urls: Vec<&Spanned<String>> = Vec::new();
        if let Some(p) = &self.prometheus {
            urls.push(&p.url);
        }
        if let Some(a) = &self.alertmanager {
            urls.push(&a.url);
        }
        if let Some(c) = &self.control_plane {
            urls.push(&c.url);
        }
        let mut out = Vec::new();
        for u in urls {
            let Ok(parsed) = url::Url::parse(u.get_ref()) else { continue };
            let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else { continue };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if (host, port).to_socket_addrs().map(|mut a| a.next().is_none()).unwrap_or(true) {
                let msg = format!("warning: host '{host}' does not resolve from here (--offline skips this check)");
                out.push(ConfigError::at(path, &text, u.span(), msg));
            }
        }
        out
    }

    /// Warnings for a token that would travel over plain `http://` to a
    /// host that is not this machine (anyone on the path can read it).
    pub fn tokens_in_clear(&self, path: &Path) -> Vec<ConfigError> {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut sources: Vec<(&str, &Spanned<String>, bool)> = Vec::new();
        if let Some(p) = &self.prometheus {
            sources.push(("prometheus", &p.url, p.bearer_token_env.is_some()));
        }
        if let Some(a) = &self.alertmanager {
            sources.push(("alertmanager", &a.url, a.bearer_token_env.is_some()));
        }
        if let Some(c) = &self.control_plane {
            sources.push(("control_plane", &c.url, c.token_env.is_some() || c.token_file.is_some()));
        }
        if let Some(u) = &self.unleash {
            sources.push(("unleash", &u.url, true));
        }
        let mut out = Vec::new();
        for (what, u, token) in sources {
            let Ok(parsed) = url::Url::parse(u.get_ref()) else { continue };
            let local = match parsed.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => true,
            };
            if token && parsed.scheme() == "http" && !local {
                let msg = format!("warning: [{what}] sends its token over plain http:// to another host; use https://");
                out.push(ConfigError::at(path, &text, u.span(), msg));
            }
        }
        out
    }

    pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
        let text = read_config_file(path)
            .map_err(|m| vec![ConfigError { file: path.to_path_buf(), line: 1, column: 1, message: m }])?;
        Config::parse(path, &text)
    }

    /// `[resilience4j]`: where the breakers are read and how actuators are reached.
    fn check_resilience4j(&self, c: &mut Checker<'_>) {
        let Some(r) = &self.resilience4j else { return };
        match (&r.prometheus_url, &self.prometheus) {
            (Some(u), _) if !(u.get_ref().starts_with("http://") || u.get_ref().starts_with("https://")) => {
                c.at(u.span(), format!("not an http(s) URL: '{}'", u.get_ref()));
            }
            (None, None) => c.at(
                r.actuator.span(),
                "[resilience4j] reads breakers from Prometheus: set prometheus_url or a [prometheus] section",
            ),
            _ => {}
        }
        let a = r.actuator.get_ref();
        if !(a.starts_with("http://") || a.starts_with("https://") || a.starts_with("{instance}")) {
            c.at(r.actuator.span(), "actuator: an http(s) URL template, e.g. \"http://{instance}/actuator\"");
        }
        if crate::duration::positive(r.interval.get_ref()).is_none() {
            c.at(r.interval.span(), format!("not a duration: '{}'", r.interval.get_ref()));
        }
    }

    /// `[unleash]`: a URL, a token by reference, projects by name.
    /// Request timeouts: a duration from 100 ms to 5 minutes.
    fn check_timeouts(&self, c: &mut Checker<'_>) {
        let all = [
            ("[prometheus]", self.prometheus.as_ref().and_then(|p| p.timeout.as_ref())),
            ("[alertmanager]", self.alertmanager.as_ref().and_then(|a| a.timeout.as_ref())),
            ("[control_plane]", self.control_plane.as_ref().and_then(|p| p.timeout.as_ref())),
        ];
        for (section, t) in all {
            let Some(t) = t else { continue };
            match timeout_of(t.get_ref()) {
                Ok(_) => {}
                Err(e) => c.at(t.span(), format!("{section} timeout: {e}")),
            }
        }
    }

    fn check_unleash(&self, c: &mut Checker<'_>) {
        let Some(u) = &self.unleash else { return };
        if let Err(e) = check_url(u.url.get_ref()) {
            c.at(u.url.span(), format!("bad URL '{}': {e}", u.url.get_ref()));
        }
        if u.token_env.is_none() && u.token_file.is_none() {
            c.at(u.url.span(), "[unleash] needs token_env or token_file (an admin token or a personal access token)");
        }
        if let (Some(e), Some(_)) = (&u.token_env, &u.token_file) {
            c.at(e.span(), "[unleash] takes token_env or token_file, not both");
        }
        if u.projects.is_empty() {
            c.at(u.url.span(), "[unleash] projects is empty: name at least one (\"default\")");
        }
        for p in &u.projects {
            if p.get_ref().is_empty() || p.get_ref().chars().any(|ch| ch.is_whitespace() || ch == '/') {
                c.at(p.span(), format!("'{}' is not an Unleash project id", p.get_ref()));
            }
        }
        if crate::duration::positive(u.interval.get_ref()).is_none() {
            c.at(u.interval.span(), format!("not a duration: '{}'", u.interval.get_ref()));
        }
        if let Some(ca) = &u.ca_bundle {
            check_ca_bundle(c, ca);
        }
    }

    /// `[kubernetes]`: regions known, a context per region.
    fn check_kubernetes(&self, c: &mut Checker<'_>) {
        let Some(k) = &self.kubernetes else { return };
        if k.regions.is_empty() {
            c.at(k.interval.span(), "[kubernetes] needs regions: `[kubernetes.regions]` with REGION = \"CONTEXT\"");
        }
        let known: Vec<&str> = self.regions.iter().map(|r| r.name.get_ref().as_str()).collect();
        for (region, ctx) in &k.regions {
            if !known.is_empty() && !known.contains(&region.as_str()) {
                c.at(ctx.span(), format!("[kubernetes.regions] {region} is not a [[region]]"));
            }
            if ctx.get_ref().is_empty() {
                c.at(ctx.span(), format!("[kubernetes.regions] {region}: empty context name"));
            }
        }
        if crate::duration::positive(k.interval.get_ref()).is_none() {
            c.at(k.interval.span(), format!("not a duration: '{}'", k.interval.get_ref()));
        }
    }

    /// `[changes]` and `[[link]]`: a sane size; http(s) link templates.
    fn check_history(&self, c: &mut Checker<'_>) {
        if let Some(k) = &self.changes {
            if !(100..=1_000_000).contains(k.keep.get_ref()) {
                c.at(k.keep.span(), format!("[changes] keep: {} is not between 100 and 1000000", k.keep.get_ref()));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for b in &self.business {
            let v = *b.per_failed_request.get_ref();
            if !(v.is_finite() && v > 0.0 && v < 1e9) {
                c.at(
                    b.per_failed_request.span(),
                    format!("[[business]] per_failed_request: {v} is not a positive amount"),
                );
            }
            if !seen.insert(b.service.get_ref().clone()) {
                c.at(
                    b.service.span(),
                    format!("[[business]] {}: a second figure for the same service", b.service.get_ref()),
                );
            }
        }
        for l in &self.links {
            let probe = crate::config::fill_link(l.url.get_ref(), "svc", "region", 0, 0);
            if warroom_ui::safe_url(&probe).is_none() {
                c.at(l.url.span(), format!("[[link]] {}: not an http(s) URL template: '{}'", l.name, l.url.get_ref()));
            }
        }
    }

    fn validate(&self, c: &mut Checker<'_>) {
        self.check_history(c);
        self.check_timeouts(c);
        self.check_resilience4j(c);
        self.check_kubernetes(c);
        self.check_unleash(c);
        let regions = self.check_regions(c);
        let services = self.check_service_names(c);
        for s in &self.services {
            check_service(s, &regions, &services, c);
        }
        self.check_sources(c);
        if let Some(cw) = &self.cloudwatch {
            self.check_cloudwatch(cw, &regions, &services, c);
        }
        if let Some(a) = &self.actions {
            self.check_actions(a, c);
        }
        self.check_infra(&regions, &services, c);
    }

    /// `[route53]` and `[[patroni]]`.
    fn check_infra(&self, regions: &HashSet<String>, services: &HashSet<String>, c: &mut Checker<'_>) {
        let region_known = |r: &Spanned<String>, c: &mut Checker<'_>, what: &str| {
            if !regions.contains(r.get_ref()) {
                c.at(r.span(), format!("{what}: unknown region '{}' (not a [[region]])", r.get_ref()));
            }
        };
        let service_known = |s: &Spanned<String>, c: &mut Checker<'_>| {
            if !services.contains(s.get_ref()) {
                c.at(s.span(), format!("unknown service '{}' (not a [[service]])", s.get_ref()));
            }
        };
        let url_ok = |u: &Spanned<String>, c: &mut Checker<'_>| {
            if !matches!(url::Url::parse(u.get_ref()), Ok(p) if matches!(p.scheme(), "http" | "https")) {
                c.at(u.span(), format!("not an http(s) URL: '{}'", u.get_ref()));
            }
        };
        let duration_ok = |d: &Spanned<String>, c: &mut Checker<'_>| {
            if crate::duration::positive(d.get_ref()).is_none() {
                c.at(d.span(), format!("not a positive duration: '{}' (e.g. 10s, 5m, 1h)", d.get_ref()));
            }
        };
        if let Some(dr) = &self.dr {
            for o in [&dr.critical, &dr.standard].into_iter().flatten() {
                for d in [&o.rpo, &o.rto].into_iter().flatten() {
                    duration_ok(d, c);
                }
            }
            if let Some(d) = dr.retention_days.as_ref().filter(|d| *d.get_ref() == 0) {
                c.at(d.span(), "retention_days is at least 1");
            }
        }
        if let Some(r) = &self.route53 {
            if r.hosted_zone_id.get_ref().trim().is_empty() {
                c.at(r.hosted_zone_id.span(), "hosted_zone_id is empty");
            }
            if r.record_name.get_ref().trim().is_empty() {
                c.at(r.record_name.span(), "record_name is empty");
            }
            const TYPES: [&str; 8] = ["A", "AAAA", "CNAME", "TXT", "MX", "SRV", "NS", "CAA"];
            if !TYPES.contains(&r.record_type.get_ref().to_ascii_uppercase().as_str()) {
                c.at(r.record_type.span(), format!("record_type: one of {}", TYPES.join(", ")));
            }
            if let Some(e) = &r.endpoint {
                url_ok(e, c);
            }
            duration_ok(&r.interval, c);
            if r.regions.is_empty() {
                c.at(r.hosted_zone_id.span(), "[route53] names no [[route53.region]]: add one per region");
            }
            let mut seen = HashSet::new();
            for x in &r.regions {
                region_known(&x.name, c, "[[route53.region]]");
                if !seen.insert(x.set_identifier.get_ref().clone()) {
                    c.at(x.set_identifier.span(), "this set_identifier is already another region's");
                }
                if let Some(w) = &x.restore_weight {
                    if !(1..=255).contains(w.get_ref()) {
                        c.at(w.span(), "restore_weight: 1 to 255 (Route 53 weights)");
                    }
                }
            }
        }
        let mut names = HashSet::new();
        for r in &self.rds {
            if !names.insert(r.name.get_ref().clone()) {
                c.at(r.name.span(), format!("duplicate database cluster '{}'", r.name.get_ref()));
            }
            match (&r.cluster, &r.global_cluster) {
                (None, None) => c.at(r.name.span(), "[[rds]] needs cluster = \"ID\" or global_cluster = \"ID\""),
                (Some(_), Some(g)) => {
                    c.at(g.span(), "cluster and global_cluster: name one (a regional cluster or a global database)")
                }
                _ => {}
            }
            for v in [r.cluster.as_ref(), r.global_cluster.as_ref(), Some(&r.aws_region)].into_iter().flatten() {
                if v.get_ref().trim().is_empty() {
                    c.at(v.span(), "empty: [[rds]] needs cluster (or global_cluster) and aws_region");
                }
            }
            for e in [&r.endpoint, &r.cloudwatch_endpoint].into_iter().flatten() {
                url_ok(e, c);
            }
            for reg in r.regions.values() {
                region_known(reg, c, "[[rds]] regions");
            }
            for s in &r.services {
                service_known(s, c);
            }
            duration_ok(&r.interval, c);
        }
        for p in &self.patroni {
            if !names.insert(p.name.get_ref().clone()) {
                c.at(p.name.span(), format!("duplicate database cluster '{}'", p.name.get_ref()));
            }
            if p.urls.is_empty() {
                c.at(p.name.span(), "[[patroni]] needs urls = [\"http://member:8008\", …]");
            }
            for u in &p.urls {
                url_ok(u, c);
            }
            for r in p.regions.values() {
                region_known(r, c, "[[patroni]] regions");
            }
            for s in &p.services {
                service_known(s, c);
            }
            duration_ok(&p.interval, c);
            if let (Some(pw), None) = (&p.password_env, &p.username) {
                c.at(pw.span(), "password_env needs username (restapi.authentication.username)");
            }
        }
    }

    /// `[actions]`: known providers, each one configured.
    fn check_actions(&self, a: &ActionsCfg, c: &mut Checker<'_>) {
        for (kind, v) in [("traffic", &a.traffic), ("rollout", &a.rollout), ("flag", &a.flag)] {
            let Some(v) = v else { continue };
            match v.get_ref().as_str() {
                "none" => {}
                "control-plane" if self.control_plane.is_none() => {
                    c.at(v.span(), format!("{kind} = \"control-plane\" needs a [control_plane] section"))
                }
                "control-plane" => {}
                "route53" if kind != "traffic" => c.at(v.span(), format!("{kind}: Route 53 owns traffic only")),
                "route53" if self.route53.is_none() => {
                    c.at(v.span(), "traffic = \"route53\" needs a [route53] section")
                }
                "route53" => {}
                other => c.at(
                    v.span(),
                    format!("{kind}: unknown provider '{other}' (one of: {})", ACTION_PROVIDERS.join(", ")),
                ),
            }
        }
    }

    /// Region names (unique, not empty) and weights; the names defined.
    fn check_regions(&self, c: &mut Checker<'_>) -> HashSet<String> {
        if self.regions.is_empty() {
            c.at(0..0, "no [[region]] defined: add at least one");
        }
        let mut regions = HashSet::new();
        for r in &self.regions {
            if r.name.get_ref().trim().is_empty() {
                c.at(r.name.span(), "region name is empty");
            } else if !regions.insert(r.name.get_ref().clone()) {
                c.at(r.name.span(), format!("duplicate region '{}'", r.name.get_ref()));
            }
            if let Some(w) = &r.weight {
                let x = *w.get_ref();
                if !(x.is_finite() && (0.0..=100.0).contains(&x)) {
                    c.at(w.span(), format!("weight {x} must be a share of traffic between 0 and 100 (percent)"));
                }
            }
        }
        regions
    }

    /// Service names (unique, not empty); the names defined.
    fn check_service_names(&self, c: &mut Checker<'_>) -> HashSet<String> {
        let mut services = HashSet::new();
        for s in &self.services {
            if s.name.get_ref().trim().is_empty() {
                c.at(s.name.span(), "service name is empty");
            } else if !services.insert(s.name.get_ref().clone()) {
                c.at(s.name.span(), format!("duplicate service '{}'", s.name.get_ref()));
            }
        }
        services
    }

    /// The operator, health probes and every source's URL, CA bundle and durations.
    fn check_sources(&self, c: &mut Checker<'_>) {
        if let Some(op) = &self.operator {
            if let Some(role) = &op.role {
                if !matches!(role.get_ref().as_str(), "viewer" | "operator") {
                    c.at(role.span(), format!("role '{}' is not 'viewer' or 'operator'", role.get_ref()));
                }
            }
        }
        if let Some(h) = &self.health {
            if h.liveness.is_none() && h.readiness.is_none() {
                c.at(h.interval.span(), "[health] needs a liveness or readiness URL template");
            }
            for t in [&h.liveness, &h.readiness].into_iter().flatten() {
                if let Err(e) = check_template(t.get_ref()) {
                    c.at(t.span(), e);
                }
            }
            for d in [&h.interval, &h.timeout] {
                if parse_duration(d.get_ref()).is_none() {
                    c.at(d.span(), format!("bad duration '{}': use e.g. 500ms, 10s, 1m", d.get_ref()));
                }
            }
            if let Some(ca) = &h.ca_bundle {
                check_ca_bundle(c, ca);
            }
            if !(h.max_rate.is_finite() && h.max_rate >= 0.1) {
                c.at(h.interval.span(), "max_rate must be a number of probes per second, at least 0.1");
            }
            if h.concurrency == 0 {
                c.at(h.interval.span(), "concurrency must be at least 1");
            }
        }
        let bundles = [
            self.prometheus.as_ref().and_then(|p| p.ca_bundle.as_ref()),
            self.alertmanager.as_ref().and_then(|a| a.ca_bundle.as_ref()),
            self.control_plane.as_ref().and_then(|cp| cp.ca_bundle.as_ref()),
        ];
        for ca in bundles.into_iter().flatten() {
            check_ca_bundle(c, ca);
        }
        let urls = [
            self.prometheus.as_ref().map(|p| &p.url),
            self.alertmanager.as_ref().map(|a| &a.url),
            self.control_plane.as_ref().map(|cp| &cp.url),
        ];
        for u in urls.into_iter().flatten() {
            if let Err(e) = check_url(u.get_ref()) {
                c.at(u.span(), format!("bad URL '{}': {e}", u.get_ref()));
            }
        }
        if let Some(p) = &self.prometheus {
            for d in [&p.interval, &p.rate_window] {
                if parse_duration(d.get_ref()).is_none() {
                    c.at(d.span(), format!("bad duration '{}': use e.g. 15s, 5m", d.get_ref()));
                }
            }
        }
        if let Some(a) = &self.alertmanager {
            if parse_duration(a.interval.get_ref()).is_none() {
                c.at(a.interval.span(), format!("bad duration '{}'", a.interval.get_ref()));
            }
        }
    }

    fn check_cloudwatch(
        &self,
        cw: &CloudWatchCfg,
        regions: &HashSet<String>,
        services: &HashSet<String>,
        c: &mut Checker,
    ) {
        match parse_duration(cw.interval.get_ref()) {
            Some(d) if d.as_secs() >= 60 => {}
            Some(_) => c.at(cw.interval.span(), "CloudWatch metrics have a 60 s period: poll at most once a minute"),
            None => c.at(cw.interval.span(), format!("bad duration '{}'", cw.interval.get_ref())),
        }
        if let Some(p) = &self.prometheus {
            c.at(p.url.span(), "latency comes from one source: [prometheus] or [cloudwatch], not both");
        }
        let mut clients = HashSet::new();
        for r in &cw.regions {
            if !regions.contains(r.name.get_ref()) {
                c.at(r.name.span(), format!("'{}' is not a [[region]]", r.name.get_ref()));
            }
            if !clients.insert(r.name.get_ref().clone()) {
                c.at(r.name.span(), format!("duplicate CloudWatch region '{}'", r.name.get_ref()));
            }
            if let Some(e) = &r.endpoint {
                if let Err(why) = check_url(e.get_ref()) {
                    c.at(e.span(), format!("bad URL '{}': {why}", e.get_ref()));
                }
            }
        }
        for t in &cw.targets {
            if !services.contains(t.service.get_ref()) {
                c.at(t.service.span(), format!("'{}' is not a [[service]]", t.service.get_ref()));
            }
            if !clients.contains(t.region.get_ref()) {
                c.at(t.region.span(), format!("'{}' has no [[cloudwatch.region]]", t.region.get_ref()));
            }
            let need: &[(&str, bool)] = match t.preset.get_ref().as_str() {
                "alb" => &[("load_balancer", t.load_balancer.is_some())],
                "apigateway" => &[("api_name", t.api_name.is_some()), ("stage", t.stage.is_some())],
                "custom" => &[
                    ("namespace", t.namespace.is_some()),
                    ("latency_metric", t.latency_metric.is_some()),
                    ("requests_metric", t.requests_metric.is_some()),
                    ("errors_metric", t.errors_metric.is_some()),
                ],
                other => {
                    c.at(t.preset.span(), format!("preset '{other}' is not alb, apigateway or custom"));
                    continue;
                }
            };
            for (field, present) in need {
                if !present {
                    c.at(t.preset.span(), format!("preset {} needs {field}", t.preset.get_ref()));
                }
            }
            if let Some(u) = &t.latency_unit {
                if !matches!(u.get_ref().as_str(), "ms" | "s") {
                    c.at(u.span(), format!("latency_unit '{}' is not ms or s", u.get_ref()));
                }
            }
        }
    }

    /// The secret a reference points to, for use in a request header only.
    pub fn secret(env: Option<&str>, file: Option<&str>) -> Result<Option<String>, String> {
        if let Some(var) = env {
            return std::env::var(var)
                .map(|v| Some(v.trim().to_string()))
                .map_err(|_| format!("environment variable {var} (named in the configuration) is not set"));
        }
        if let Some(path) = file {
            return std::fs::read_to_string(path)
                .map(|v| Some(v.trim().to_string()))
                .map_err(|e| format!("cannot read token file {path}: {e}"));
        }
        Ok(None)
    }
}

/// Where the configuration comes from: `--config`, then `WARROOM_CONFIG`,
/// then the user config directory (only if the file exists there).
pub fn locate(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = flag {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("WARROOM_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let dirs = directories::ProjectDirs::from("", "", "warroom")?;
    let p = dirs.config_dir().join("warroom.toml");
    p.is_file().then_some(p)
}

/// Default location for `config init`.
pub fn default_path() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("WARROOM_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let dirs = directories::ProjectDirs::from("", "", "warroom").ok_or("cannot find a home directory")?;
    Ok(dirs.config_dir().join("warroom.toml"))
}

pub mod model;

#[cfg(test)]
mod tests;

/// A CA bundle must be a readable PEM file with at least one certificate.
/// One service: tier, dependencies, regions, SLA and SLOs.
fn check_service(s: &ServiceCfg, regions: &HashSet<String>, services: &HashSet<String>, c: &mut Checker<'_>) {
    if let Some(t) = &s.tier {
        if !matches!(t.get_ref().as_str(), "critical" | "standard") {
            c.at(t.span(), format!("tier '{}' is not 'critical' or 'standard'", t.get_ref()));
        }
    }
    for d in &s.depends_on {
        if !services.contains(d.get_ref()) {
            c.at(d.span(), format!("service '{}' depends on undefined service '{}'", s.name.get_ref(), d.get_ref()));
        } else if d.get_ref() == s.name.get_ref() {
            c.at(d.span(), format!("service '{}' depends on itself", s.name.get_ref()));
        }
    }
    for r in s.regions.iter().flatten() {
        if !regions.contains(r.get_ref()) {
            c.at(r.span(), format!("service '{}' runs in undefined region '{}'", s.name.get_ref(), r.get_ref()));
        }
    }
    if let Some(sla) = &s.sla {
        check_sla(s, sla, c);
    }
    for slo in s.slo.iter().chain(&s.slos) {
        check_slo(slo, c);
    }
}

/// A service's SLA: positive milliseconds that rise with the percentile.
fn check_sla(s: &ServiceCfg, sla: &SlaCfg, c: &mut Checker<'_>) {
    for (name, v) in [("p50_ms", &sla.p50_ms), ("p95_ms", &sla.p95_ms), ("p99_ms", &sla.p99_ms)] {
        if let Some(v) = v {
            let x = *v.get_ref();
            if !(x.is_finite() && x > 0.0 && x <= 3_600_000.0) {
                c.at(v.span(), format!("sla {name} = {x} must be a positive number of milliseconds"));
            }
        }
    }
    let l = sla.to_sla();
    if !(l.p50_ms <= l.p95_ms && l.p95_ms <= l.p99_ms) {
        let span = sla.p99_ms.as_ref().or(sla.p95_ms.as_ref()).or(sla.p50_ms.as_ref()).map(|v| v.span());
        c.at(
            span.unwrap_or_else(|| s.name.span()),
            format!(
                "sla for '{}' must rise with the percentile (p50 {} ≤ p95 {} ≤ p99 {})",
                s.name.get_ref(),
                l.p50_ms,
                l.p95_ms,
                l.p99_ms
            ),
        );
    }
}

/// One SLO: objective, window, calendar, kind and threshold.
fn check_slo(slo: &SloCfg, c: &mut Checker<'_>) {
    let o = *slo.objective.get_ref();
    if !(o > 0.0 && o < 100.0) {
        c.at(slo.objective.span(), format!("objective {o} must be a percentage between 0 and 100, e.g. 99.9"));
    }
    if !matches!(*slo.window_days.get_ref(), 7 | 28 | 30) {
        c.at(slo.window_days.span(), format!("window_days {} is not 7, 28 or 30", slo.window_days.get_ref()));
    }
    if let Some(cal) = &slo.calendar {
        if cal.get_ref() != "month" {
            c.at(cal.span(), format!("calendar '{}' is not \"month\"", cal.get_ref()));
        }
    }
    match slo.kind.as_ref().map(|k| (k.span(), k.get_ref().as_str())) {
        None | Some((_, "availability")) => {}
        Some((span, "latency")) => match &slo.threshold_ms {
            None => c.at(span, "a latency SLO needs threshold_ms"),
            Some(t) if *t.get_ref() <= 0.0 || !t.get_ref().is_finite() => {
                c.at(t.span(), "threshold_ms must be above 0")
            }
            Some(_) => {}
        },
        Some((span, other)) => c.at(span, format!("kind '{other}' is not 'availability' or 'latency'")),
    }
}

fn check_ca_bundle(c: &mut Checker, ca: &Spanned<String>) {
    let path = Path::new(ca.get_ref());
    if !path.is_file() {
        c.at(ca.span(), format!("CA bundle '{}' is not a readable file", ca.get_ref()));
        return;
    }
    let pem = std::fs::read(path).unwrap_or_default();
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => {}
        Ok(_) => c.at(ca.span(), format!("CA bundle '{}' holds no certificate", ca.get_ref())),
        Err(e) => c.at(ca.span(), format!("CA bundle '{}' is not valid PEM: {e}", ca.get_ref())),
    }
}

/// A request timeout as written (`"5s"`, `"1500ms"`): 100 ms to 5 minutes.
pub fn timeout_of(s: &str) -> Result<std::time::Duration, String> {
    let d = crate::duration::parse(s)?;
    if d < std::time::Duration::from_millis(100) || d > std::time::Duration::from_secs(300) {
        return Err(format!("'{s}' is not between 100ms and 5m"));
    }
    Ok(d)
}

/// A link template with its placeholders filled (each value URL-encoded;
/// `{from}`/`{to}` are Unix milliseconds, as Grafana takes them).
pub fn fill_link(template: &str, service: &str, region: &str, from_ms: i64, to_ms: i64) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    template
        .replace("{service}", &enc(service))
        .replace("{region}", &enc(region))
        .replace("{from}", &from_ms.to_string())
        .replace("{to}", &to_ms.to_string())
}
