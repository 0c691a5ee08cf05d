//! Wiring: a checked configuration becomes running sources — HTTP clients
//! with their CA bundles, secrets read from the environment or files, the
//! source registry in precedence order, poll intervals. `config` stays
//! plain data and validation; sources know nothing of the file format.

use std::path::Path;
use std::sync::Arc;

use crate::actions::executor::control_plane_routes;
use crate::actions::provider::Routes;
use crate::actions::{Operator, TargetKind};
use crate::config::model::{duration_or, latency_thresholds};
use crate::config::{CloudWatchCfg, CloudWatchTargetCfg, Config};
use crate::dataplane::{http_client, http_client_with, Intervals, ProbeSource, Sources};
use crate::model::FeedId;
use crate::sources::alertmanager::{AlertLabels, Alertmanager};
use crate::sources::cloudwatch::{CloudWatch, RegionSpec, Target};
use crate::sources::control_plane::ControlPlane;
use crate::sources::health::{probe_client, ProbeTemplates};
use crate::sources::patroni::{Patroni, PatroniSource};
use crate::sources::prometheus::{PromQueries, Prometheus};
use crate::sources::route53::{RegionRecord, Route53, Route53Source};
use crate::sources::{Fixed, Source};

/// What the console runs with a configuration file.
pub struct Setup {
    pub sources: Sources,
    pub intervals: Intervals,
    pub operator: Operator,
    /// Which provider acts on each kind of target (`[actions]`).
    pub routes: Routes,
    /// CloudWatch, still to be built (its SDK clients load asynchronously,
    /// `Setup::start_cloudwatch`), with the latency-SLO thresholds (s).
    pub cloudwatch: Option<(CloudWatchCfg, std::collections::HashMap<String, f64>)>,
    /// Route 53, still to be built (its SDK client loads asynchronously).
    pub route53: Option<crate::config::Route53Cfg>,
    /// Whether the traffic actions go to Route 53 once it is built.
    traffic_to_route53: bool,
    /// Patroni clusters (built), and RDS clusters still to be built (their
    /// SDK clients load asynchronously): database actions go to both.
    patroni: Vec<Arc<Patroni>>,
    rds: Vec<crate::config::RdsCfg>,
    objectives: crate::model::DrObjectives,
}

impl Setup {
    /// Build CloudWatch's clients, if configured: it then feeds metrics
    /// ahead of every other source.
    pub async fn start_cloudwatch(&mut self) {
        if let Some((cw, thresholds)) = &self.cloudwatch {
            let source: Arc<dyn Source> = Arc::new(cloudwatch(cw, thresholds).await);
            self.sources.list.insert(0, source);
        }
        if let Some(r) = &self.route53 {
            let r53 = Arc::new(route53(r).await);
            self.sources.list.insert(0, Arc::new(Route53Source(r53.clone())));
            if self.traffic_to_route53 {
                self.routes = std::mem::take(&mut self.routes)
                    .with(TargetKind::Traffic, Arc::new(crate::actions::route53::Route53Actions::new(r53)));
            }
        }
        let mut rds = Vec::new();
        for r in &self.rds {
            let mut c = crate::sources::rds::Rds::new(
                r.name.get_ref(),
                r.cluster.as_ref().map(|v| v.get_ref().as_str()).unwrap_or(""),
                r.aws_region.get_ref(),
                r.endpoint.as_ref().map(|e| e.get_ref().as_str()),
                r.profile.as_deref(),
            )
            .await;
            c.regions = r.regions.iter().map(|(m, v)| (m.clone(), v.get_ref().clone())).collect();
            c.services = r.services.iter().map(|s| s.get_ref().clone()).collect();
            c.objectives = self.objectives;
            c.global = r.global_cluster.as_ref().map(|g| g.get_ref().clone());
            c.reach.lag = r.replica_lag;
            c.reach.cloudwatch_endpoint = r.cloudwatch_endpoint.as_ref().map(|e| e.get_ref().clone());
            if r.replica_lag {
                let cw = r.cloudwatch_endpoint.as_ref().map(|e| e.get_ref().as_str());
                c.lag = Some(
                    crate::sources::cloudwatch::make_client(r.aws_region.get_ref(), cw, r.profile.as_deref()).await,
                );
            }
            let c = Arc::new(c);
            self.sources.list.push(Arc::new(crate::sources::rds::RdsSource::new(c.clone())));
            rds.push(c);
        }
        if !rds.is_empty() {
            self.routes = database_routes(std::mem::take(&mut self.routes), self.patroni.clone(), rds);
        }
    }
}

/// `[resilience4j]`: every instance's breakers from Prometheus, ahead of
/// the control plane's circuits; its actuators own the breaker actions.
fn resilience4j(
    cfg: &Config,
    client: &reqwest::Client,
    intervals: &mut Intervals,
) -> Result<Option<Arc<crate::sources::resilience4j::Resilience4j>>, String> {
    let Some(r) = &cfg.resilience4j else { return Ok(None) };
    let url = r
        .prometheus_url
        .as_ref()
        .or(cfg.prometheus.as_ref().map(|p| &p.url))
        .map(|u| u.get_ref().clone())
        .ok_or("[resilience4j] needs prometheus_url or [prometheus]")?;
    let same = cfg.prometheus.as_ref().is_some_and(|p| p.url.get_ref() == &url);
    let token = match (same, cfg.prometheus.as_ref()) {
        (true, Some(p)) => Config::secret(p.bearer_token_env.as_deref(), None)?,
        _ => None,
    };
    let d = duration_or(r.interval.get_ref(), intervals.get(FeedId::Circuits));
    *intervals = intervals.clone().with(FeedId::Circuits, d);
    Ok(Some(Arc::new(crate::sources::resilience4j::Resilience4j {
        prom: Prometheus::new(&url, client.clone(), token, Default::default()),
        labels: crate::sources::resilience4j::R4jLabels {
            service: r.service_label.clone(),
            region: r.region_label.clone(),
            instance: r.instance_label.clone(),
        },
        actuator: r.actuator.get_ref().clone(),
    })))
}

/// The Rollouts source and the provider that patches them.
type KubeWired = (Arc<dyn Source>, Arc<crate::actions::rollouts::RolloutActions>);

/// `[kubernetes]`: a watch per region on its context, the deployments
/// source over them, and the provider that patches them.
fn kubernetes(cfg: &Config, intervals: &mut Intervals) -> Result<Option<KubeWired>, String> {
    use crate::sources::kube;
    use crate::sources::rollouts::{RegionWatch, RolloutsSource};
    let Some(k) = &cfg.kubernetes else { return Ok(None) };
    let path = k.kubeconfig.as_ref().map(|p| std::path::PathBuf::from(p.get_ref())).or_else(kube::default_path);
    let contexts = match &path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("kubeconfig {}: {e}", p.display()))?;
            let dir = p.parent().unwrap_or(Path::new("."));
            kube::parse(&text, dir).map_err(|e| format!("kubeconfig {}: {e}", p.display()))?.0
        }
        None => Vec::new(),
    };
    let mut watches = Vec::new();
    for (region, name) in &k.regions {
        let name = name.get_ref();
        let mut ctx = if name == "in-cluster" {
            kube::in_cluster().ok_or("[kubernetes] in-cluster: not running in a pod (no KUBERNETES_SERVICE_HOST)")?
        } else {
            let found = contexts.iter().find(|c| match c {
                Ok(c) => &c.name == name,
                Err(e) => e.starts_with(&format!("context {name}:")),
            });
            match found {
                Some(Ok(c)) => c.clone(),
                Some(Err(e)) => return Err(format!("[kubernetes] {region}: {e}")),
                None => {
                    let where_ = path.as_ref().map(|p| p.display().to_string()).unwrap_or("no kubeconfig".into());
                    return Err(format!("[kubernetes] {region}: context {name} is not in {where_}"));
                }
            }
        };
        if let Some(ns) = &k.namespace {
            ctx.namespace = ns.clone();
        }
        watches.push(Arc::new(RegionWatch::new(region, ctx)?));
    }
    let d = duration_or(k.interval.get_ref(), intervals.get(FeedId::Deployments));
    *intervals = intervals.clone().with(FeedId::Deployments, d);
    let actions =
        crate::actions::rollouts::RolloutActions::new(watches.iter().map(|w| (w.region.clone(), w.clone())).collect());
    Ok(Some((Arc::new(RolloutsSource { regions: watches }), Arc::new(actions))))
}

/// Unleash's sources (one per project) and its action provider.
type UnleashWired = (Vec<Arc<dyn Source>>, Arc<crate::actions::unleash::UnleashActions>);

/// `[unleash]`: one flags source per project (`unleash:PROJECT`), and the
/// provider that acts on them.
fn unleash(cfg: &Config, client: &reqwest::Client, intervals: &mut Intervals) -> Result<Option<UnleashWired>, String> {
    use crate::sources::unleash::{Unleash, UnleashSource};
    let Some(u) = &cfg.unleash else { return Ok(None) };
    let token = Config::secret(
        u.token_env.as_ref().map(|v| v.get_ref().as_str()),
        u.token_file.as_ref().map(|v| v.get_ref().as_str()),
    )?
    .ok_or("[unleash] needs token_env or token_file")?;
    let c = match &u.ca_bundle {
        Some(ca) => http_client_with(Some(Path::new(ca.get_ref())))?,
        None => client.clone(),
    };
    let mut server = Unleash::new(u.url.get_ref(), c, token);
    server.environments = u.environments.clone();
    server.internal_segments = u.internal_segments.clone();
    let server = Arc::new(server);
    let d = duration_or(u.interval.get_ref(), intervals.get(FeedId::Flags));
    *intervals = intervals.clone().with(FeedId::Flags, d);
    let sources: Vec<Arc<dyn Source>> = u
        .projects
        .iter()
        .map(|p| Arc::new(UnleashSource::new(server.clone(), p.get_ref())) as Arc<dyn Source>)
        .collect();
    Ok(Some((sources, Arc::new(crate::actions::unleash::UnleashActions::new(server)))))
}

/// Read a configuration and wire everything it names (CloudWatch included).
pub async fn setup_all(cfg: &Config) -> Result<Setup, String> {
    let mut s = setup(cfg)?;
    s.start_cloudwatch().await;
    Ok(s)
}

/// One CloudWatch target from its configuration.
pub fn target(t: &CloudWatchTargetCfg, slo_threshold_ms: Option<f64>) -> Target {
    let (service, region) = (t.service.get_ref().clone(), t.region.get_ref().clone());
    let t_group = t.target_group.clone();
    match t.preset.get_ref().as_str() {
        "alb" => {
            let mut t =
                Target::alb(&service, &region, t.load_balancer.as_deref().unwrap_or_default(), slo_threshold_ms);
            if let Some(tg) = &t_group {
                t.dimensions.push(("TargetGroup".into(), tg.clone()));
            }
            t
        }
        "apigateway" => Target {
            service,
            region,
            namespace: "AWS/ApiGateway".into(),
            dimensions: vec![
                ("ApiName".into(), t.api_name.clone().unwrap_or_default()),
                ("Stage".into(), t.stage.clone().unwrap_or_default()),
            ],
            latency_metric: "Latency".into(),
            latency_ms_per_unit: 1.0,
            requests_metric: "Count".into(),
            errors_metric: "5XXError".into(),
            slo_threshold_ms,
        },
        _ => Target {
            service,
            region,
            namespace: t.namespace.clone().unwrap_or_default(),
            dimensions: t.dimensions.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            latency_metric: t.latency_metric.clone().unwrap_or_default(),
            latency_ms_per_unit: if t.latency_unit.as_ref().is_some_and(|u| u.get_ref() == "s") { 1000.0 } else { 1.0 },
            requests_metric: t.requests_metric.clone().unwrap_or_default(),
            errors_metric: t.errors_metric.clone().unwrap_or_default(),
            slo_threshold_ms,
        },
    }
}

/// CloudWatch with one client per configured region (credentials from the
/// standard chain, or the region's profile), HTTPS on rustls/ring.
pub async fn cloudwatch(cfg: &CloudWatchCfg, slo_thresholds: &std::collections::HashMap<String, f64>) -> CloudWatch {
    let interval = crate::duration::positive(cfg.interval.get_ref()).unwrap_or(std::time::Duration::from_secs(60));
    let targets: Vec<Target> =
        cfg.targets.iter().map(|t| target(t, slo_thresholds.get(t.service.get_ref()).map(|s| s * 1000.0))).collect();
    let regions = cfg
        .regions
        .iter()
        .map(|r| {
            let name = r.name.get_ref().clone();
            RegionSpec {
                aws_region: r.aws_region.clone().unwrap_or_else(|| name.clone()),
                name,
                endpoint: r.endpoint.as_ref().map(|e| e.get_ref().clone()),
                profile: r.profile.clone(),
            }
        })
        .collect();
    CloudWatch::new(interval, regions, targets).await
}

/// Route 53's clients for `[route53]`.
pub async fn route53(r: &crate::config::Route53Cfg) -> Route53 {
    let regions = r
        .regions
        .iter()
        .map(|x| RegionRecord {
            region: x.name.get_ref().clone(),
            set_identifier: x.set_identifier.get_ref().clone(),
            restore_weight: x.restore_weight.as_ref().map(|w| *w.get_ref()),
        })
        .collect();
    Route53::new(
        r.hosted_zone_id.get_ref(),
        r.record_name.get_ref(),
        r.record_type.get_ref(),
        regions,
        r.endpoint.as_ref().map(|e| e.get_ref().as_str()),
        r.profile.as_deref(),
    )
    .await
}

/// `[health]`: the probes, their client and their interval.
fn probes(cfg: &Config, intervals: &mut Intervals) -> Result<Option<ProbeSource>, String> {
    Ok(match &cfg.health {
        Some(h) => {
            let d = duration_or(h.interval.get_ref(), intervals.get(FeedId::Probes));
            *intervals = intervals.clone().with(FeedId::Probes, d);
            let ca = h.ca_bundle.as_ref().map(|c| Path::new(c.get_ref()));
            Some(ProbeSource {
                client: probe_client(ca, h.insecure_skip_verify)?,
                templates: ProbeTemplates {
                    health: h.liveness.as_ref().map(|t| t.get_ref().clone()),
                    ready: h.readiness.as_ref().map(|t| t.get_ref().clone()),
                    insecure: h.insecure_skip_verify,
                },
                concurrency: h.concurrency.max(1),
                timeout: crate::config::parse_duration(h.timeout.get_ref()),
                max_rate: h.max_rate,
            })
        }
        None => None,
    })
}

/// A section's `timeout`, checked (the configuration's check said why not).
fn timeout_in(t: &Option<toml::Spanned<String>>) -> Option<std::time::Duration> {
    t.as_ref().and_then(|t| crate::config::timeout_of(t.get_ref()).ok())
}

/// `[control_plane] timeout` for every feed the control plane supplies.
fn control_plane_timeouts(cfg: &Config, mut intervals: Intervals) -> Intervals {
    if let Some(d) = cfg.control_plane.as_ref().and_then(|c| timeout_in(&c.timeout)) {
        for feed in
            [FeedId::Regions, FeedId::Services, FeedId::Metrics, FeedId::Deployments, FeedId::Circuits, FeedId::Flags]
        {
            intervals = intervals.with_timeout(feed, Some(d));
        }
    }
    intervals
}

/// Wire a checked configuration (CloudWatch's clients come later:
/// `Setup::start_cloudwatch`).
pub fn setup(cfg: &Config) -> Result<Setup, String> {
    let client = http_client()?;
    let (regions, services) = cfg.fleet();
    let mut intervals = Intervals::default();
    let control_plane = match &cfg.control_plane {
        Some(cp) => {
            let token = Config::secret(cp.token_env.as_deref(), cp.token_file.as_deref())?;
            let ca = cp.ca_bundle.as_ref().map(|c| std::path::PathBuf::from(c.get_ref()));
            Some((cp.url.get_ref().clone(), token, ca))
        }
        None => None,
    };
    // The control plane's timeout for every feed it may supply; a source
    // configured after it sets (or clears) its own feed's below.
    intervals = control_plane_timeouts(cfg, intervals);
    let cp = match &control_plane {
        Some((url, token, ca)) => {
            let c = if ca.is_some() { http_client_with(ca.as_deref())? } else { client.clone() };
            Some(ControlPlane::new(url, c).with_token(token.clone()))
        }
        None => None,
    };
    let prometheus = match &cfg.prometheus {
        Some(p) => {
            let token = Config::secret(p.bearer_token_env.as_deref(), None)?;
            let d = duration_or(p.interval.get_ref(), intervals.get(FeedId::Metrics));
            intervals = intervals.with(FeedId::Metrics, d).with_timeout(FeedId::Metrics, timeout_in(&p.timeout));
            let q = PromQueries {
                latency_metric: p.latency_metric.clone(),
                requests_metric: p.requests_metric.clone(),
                error_matcher: p.error_matcher.clone(),
                selector: p.selector.clone(),
                service_label: p.service_label.clone(),
                region_label: p.region_label.clone(),
                rate_window: p.rate_window.get_ref().clone(),
                latency_thresholds: latency_thresholds(&services),
            };
            let c = match &p.ca_bundle {
                Some(ca) => http_client_with(Some(Path::new(ca.get_ref())))?,
                None => client.clone(),
            };
            Some(Prometheus::new(p.url.get_ref(), c, token, q))
        }
        None => None,
    };
    let alertmanager = match &cfg.alertmanager {
        Some(a) => {
            let token = Config::secret(a.bearer_token_env.as_deref(), None)?;
            let d = duration_or(a.interval.get_ref(), intervals.get(FeedId::Alerts));
            intervals = intervals.with(FeedId::Alerts, d).with_timeout(FeedId::Alerts, timeout_in(&a.timeout));
            let mut labels = AlertLabels::default();
            if let Some(r) = &a.region_labels {
                labels.region = r.clone();
            }
            if let Some(s) = &a.service_labels {
                labels.service = s.clone();
            }
            let c = match &a.ca_bundle {
                Some(ca) => http_client_with(Some(Path::new(ca.get_ref())))?,
                None => client.clone(),
            };
            Some(Alertmanager::new(a.url.get_ref(), c, token).with_labels(labels))
        }
        None => None,
    };
    let probes = probes(cfg, &mut intervals)?;
    // Precedence: the first source of a feed polls it (CloudWatch, when
    // started, goes first; then Prometheus; the fixed fleet before the
    // control plane).
    let mut list: Vec<Arc<dyn Source>> = Vec::new();
    if let Some(p) = prometheus {
        list.push(Arc::new(p));
    }
    // Resilience4j: every instance's breakers, ahead of the control plane's
    // circuits; its actuators own the breaker actions.
    let breakers = resilience4j(cfg, &client, &mut intervals)?;
    if let Some(r) = &breakers {
        list.insert(0, Arc::new(crate::sources::resilience4j::Resilience4jSource(r.clone())));
    }
    let breakers =
        breakers.map(|r| Arc::new(crate::actions::resilience4j::Resilience4jActions::new(r, client.clone())));
    // Unleash: its projects' flags beside the control plane's; flag
    // actions go to wherever the flag lives.
    let flags = unleash(cfg, &client, &mut intervals)?;
    // Argo Rollouts: ahead of the control plane's deployments; Kubernetes
    // owns the rollout actions.
    let rollouts = match kubernetes(cfg, &mut intervals)? {
        Some((source, actions)) => {
            list.insert(0, source);
            Some(actions)
        }
        None => None,
    };
    let flag_actions = match flags {
        Some((sources, actions)) => {
            list.extend(sources);
            Some(actions)
        }
        None => None,
    };
    // Alertmanager owns silences wherever its alerts come from.
    let silences =
        alertmanager.as_ref().map(|a| Arc::new(crate::actions::alertmanager::AlertmanagerActions::new(a.clone())));
    if let Some(a) = alertmanager {
        list.push(Arc::new(a));
    }
    list.push(Arc::new(Fixed { regions, services: services.clone() }));
    let mut clusters = Vec::new();
    for p in &cfg.patroni {
        let mut cluster =
            Patroni::new(p.name.get_ref(), p.urls.iter().map(|u| u.get_ref().clone()).collect(), client.clone());
        cluster.regions = p.regions.iter().map(|(m, r)| (m.clone(), r.get_ref().clone())).collect();
        cluster.services = p.services.iter().map(|s| s.get_ref().clone()).collect();
        cluster.max_lag_bytes = p.maximum_lag_on_failover;
        cluster.objectives = cfg.dr.as_ref().map(|d| d.objectives()).unwrap_or_default();
        if let Some(user) = &p.username {
            let pass = Config::secret(p.password_env.as_ref().map(|v| v.get_ref().as_str()), None)?;
            cluster.auth = Some((user.clone(), pass.unwrap_or_default()));
        }
        let cluster = Arc::new(cluster);
        clusters.push(cluster.clone());
        list.push(Arc::new(PatroniSource::new(cluster)));
    }
    // One interval for the merged feed: the shortest any cluster asks for.
    let default = intervals.get(FeedId::Databases);
    let every = cfg.patroni.iter().map(|p| &p.interval).chain(cfg.rds.iter().map(|r| &r.interval));
    if let Some(d) = every.map(|i| duration_or(i.get_ref(), default)).min() {
        intervals = intervals.with(FeedId::Databases, d);
    }
    if let Some(c) = cp {
        list.push(Arc::new(c));
    }
    Ok(Setup {
        cloudwatch: cfg.cloudwatch.clone().map(|c| (c, latency_thresholds(&services))),
        sources: Sources { list, probes, history: Default::default() },
        intervals: match &cfg.cloudwatch {
            Some(c) => {
                intervals.with(FeedId::Metrics, duration_or(c.interval.get_ref(), std::time::Duration::from_secs(60)))
            }
            None => intervals,
        },
        operator: cfg.operator(),
        routes: {
            let r = adapter_routes(
                database_routes(routes(cfg, control_plane), clusters.clone(), Vec::new()),
                silences,
                breakers,
                flag_actions,
            );
            match rollouts {
                Some(a) => r.with(TargetKind::Rollout, a),
                None => r,
            }
        },
        patroni: clusters,
        rds: cfg.rds.clone(),
        objectives: cfg.dr.as_ref().map(|d| d.objectives()).unwrap_or_default(),
        route53: cfg.route53.clone(),
        traffic_to_route53: cfg.route53.is_some()
            && match cfg.actions.as_ref().and_then(|a| a.traffic.as_ref()) {
                None => true,
                Some(v) => v.get_ref() == "route53",
            },
    })
}

/// The routes with the adapters that own their targets: Alertmanager the
/// silences, the actuators the breakers, and flags wherever they live.
fn adapter_routes(
    r: Routes,
    silences: Option<Arc<crate::actions::alertmanager::AlertmanagerActions>>,
    breakers: Option<Arc<crate::actions::resilience4j::Resilience4jActions>>,
    unleash: Option<Arc<crate::actions::unleash::UnleashActions>>,
) -> Routes {
    let r = match silences {
        Some(a) => r.with(TargetKind::Alert, a),
        None => r,
    };
    let r = match breakers {
        Some(b) => r.with(TargetKind::Circuit, b),
        None => r,
    };
    match unleash {
        Some(unleash) if !r.is_off(TargetKind::Flag) => {
            let control_plane = r.get(TargetKind::Flag).cloned();
            r.with(TargetKind::Flag, Arc::new(crate::actions::unleash::FlagActions { unleash, control_plane }))
        }
        _ => r,
    }
}

/// The action routes: the control plane for every kind it is configured
/// for, none where `[actions]` turns a kind off.
/// Everything from one control plane (the simulator or `--api`), with the
/// database clusters it lists at `/v1/databases` read and acted on through
/// their Patroni API.
pub async fn control_plane_with_databases(base: &str) -> Result<(Sources, Routes), String> {
    let mut sources = Sources::control_plane(base)?;
    let client = http_client()?;
    let clusters: Vec<Arc<Patroni>> =
        crate::sources::patroni::discover(base, &client).await.into_iter().map(Arc::new).collect();
    for c in &clusters {
        sources.list.push(Arc::new(PatroniSource::new(c.clone())));
    }
    // The simulator (and a control plane that serves Alertmanager's v2 API
    // beside its own) owns the silences too.
    let silences = crate::actions::alertmanager::AlertmanagerActions::new(Alertmanager::new(base, client, None));
    let routes = database_routes(control_plane_routes(base, None, None), clusters, Vec::new())
        .with(TargetKind::Alert, Arc::new(silences));
    Ok((sources, routes))
}

/// Database writers belong to their clusters' own API (Patroni); with no
/// cluster configured nothing owns them, and the console says so.
fn database_routes(r: Routes, clusters: Vec<Arc<Patroni>>, rds: Vec<Arc<crate::sources::rds::Rds>>) -> Routes {
    use crate::actions::provider::ActionProvider;
    if clusters.is_empty() && rds.is_empty() {
        return r;
    }
    let mut by: std::collections::BTreeMap<String, Arc<dyn ActionProvider>> = Default::default();
    let patroni: Arc<dyn ActionProvider> = Arc::new(crate::actions::patroni::PatroniActions::new(clusters.clone()));
    for c in &clusters {
        by.insert(c.name.clone(), patroni.clone());
    }
    for c in rds {
        by.insert(c.name.clone(), Arc::new(crate::actions::rds::RdsActions::new(c)));
    }
    r.with(TargetKind::Database, Arc::new(crate::actions::databases::DatabaseActions::new(by)))
}

fn routes(cfg: &Config, control_plane: Option<(String, Option<String>, Option<std::path::PathBuf>)>) -> Routes {
    let mut r = match control_plane {
        Some((url, token, ca)) => control_plane_routes(&url, token, ca.as_deref()),
        None => Routes::default(),
    };
    if cfg.route53.is_some() {
        // Until Route 53's client is built (`start_cloudwatch`), traffic
        // actions are not sent anywhere else by mistake.
        let owner = cfg.actions.as_ref().and_then(|a| a.traffic.as_ref()).map(|v| v.get_ref().as_str());
        if owner.is_none() || owner == Some("route53") {
            r = r.without(TargetKind::Traffic, "Route 53 is still starting");
        }
    }
    let Some(a) = &cfg.actions else { return r };
    for kind in TargetKind::ALL {
        let chosen = match kind {
            TargetKind::Traffic => &a.traffic,
            TargetKind::Rollout => &a.rollout,
            TargetKind::Flag => &a.flag,
            TargetKind::Database | TargetKind::Alert | TargetKind::Circuit => continue,
        };
        if chosen.as_ref().is_some_and(|v| v.get_ref() == "none") {
            let why = format!("{} actions are turned off here ([actions] {} = \"none\")", kind.key(), kind.key());
            r = r.without(kind, why);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_route_each_kind_as_configured() {
        let text =
            "[[region]]\nname = \"r1\"\n[control_plane]\nurl = \"http://127.0.0.1:9\"\n[actions]\nflag = \"none\"\n";
        let cfg = Config::parse(Path::new("w.toml"), text).unwrap_or_else(|e| panic!("{e:?}"));
        let s = setup(&cfg).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.routes.get(TargetKind::Traffic).is_some_and(|p| p.label() == "http://127.0.0.1:9"));
        assert!(s.routes.get(TargetKind::Rollout).is_some());
        assert!(s.routes.get(TargetKind::Flag).is_none() && s.routes.is_off(TargetKind::Flag));
        assert!(s.routes.why_not(TargetKind::Flag).contains("[actions] flag = \"none\""));
        // No control plane: nothing owns any kind, and it says how to add one.
        let cfg = Config::parse(Path::new("w.toml"), "[[region]]\nname = \"r1\"\n").unwrap_or_else(|e| panic!("{e:?}"));
        let s = setup(&cfg).unwrap_or_else(|e| panic!("{e}"));
        assert!(TargetKind::ALL.iter().all(|k| s.routes.get(*k).is_none() && !s.routes.is_off(*k)));
        assert!(s.routes.why_not(TargetKind::Traffic).contains("add [control_plane]"));
    }
}
