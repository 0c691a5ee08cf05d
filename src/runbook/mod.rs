//! Runbooks: TOML files of ordered steps (manual, check, action, wait)
//! that check live state and run the same audited actions as the keys.
//! Built-in runbooks live in `runbooks/` and are embedded; users add their
//! own in the config directory's `runbooks/`. Format: docs/runbooks.md.

pub mod expr;
pub mod run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::actions::Action;
use crate::config::ConfigError;
use expr::{Arg, ArgKind, Check};

/// (name, file text) of every shipped runbook.
pub const BUILT_IN: [(&str, &str); 5] = [
    ("regional-failover", include_str!("../../runbooks/regional-failover.toml")),
    ("canary-rollback", include_str!("../../runbooks/canary-rollback.toml")),
    ("flag-kill-switch", include_str!("../../runbooks/flag-kill-switch.toml")),
    ("open-circuit", include_str!("../../runbooks/open-circuit.toml")),
    ("database-failover", include_str!("../../runbooks/database-failover.toml")),
];

/// What a parameter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Arg(ArgKind),
    Duration,
    Text,
}

const PARAM_KINDS: [(&str, ParamKind); 10] = [
    ("region", ParamKind::Arg(ArgKind::Region)),
    ("service", ParamKind::Arg(ArgKind::Service)),
    ("slo", ParamKind::Arg(ArgKind::Slo)),
    ("deployment", ParamKind::Arg(ArgKind::Deployment)),
    ("flag", ParamKind::Arg(ArgKind::Flag)),
    ("environment", ParamKind::Arg(ArgKind::Environment)),
    ("database", ParamKind::Arg(ArgKind::Database)),
    ("member", ParamKind::Arg(ArgKind::Member)),
    ("duration", ParamKind::Duration),
    ("text", ParamKind::Text),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    pub description: String,
    pub default: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnTimeout {
    /// The step fails; the operator retries, skips or aborts.
    Fail,
    /// The step is recorded as timed out and the run goes on.
    Continue,
    /// The run is aborted.
    Abort,
}

/// An action with its targets, which may name `{param}`s.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionTemplate {
    pub action: String,
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepBody {
    Manual { instructions: String },
    Check { text: String, check: Check },
    Action(ActionTemplate),
    Wait { text: String, check: Check, timeout_secs: f64, on_timeout: OnTimeout },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub title: String,
    pub notes: String,
    pub links: Vec<String>,
    pub body: StepBody,
    /// `stopwatch = "start"` / `"stop"`: the run measures the time from
    /// the start of the first to the end of the second (a recovery time).
    pub stopwatch: Option<Stopwatch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopwatch {
    Start,
    Stop,
}

impl Stopwatch {
    pub fn word(self) -> &'static str {
        match self {
            Stopwatch::Start => "start",
            Stopwatch::Stop => "stop",
        }
    }
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self.body {
            StepBody::Manual { .. } => "manual",
            StepBody::Check { .. } => "check",
            StepBody::Action(_) => "action",
            StepBody::Wait { .. } => "wait",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    pub name: String,
    pub title: String,
    pub description: String,
    /// "built-in" or the file's path.
    pub source: String,
    pub params: Vec<Param>,
    pub steps: Vec<Step>,
}

/// Action names a runbook may use, with the fields each needs.
pub const ACTIONS: [(&str, &[&str]); 9] = [
    ("failover", &["region"]),
    ("restore", &["region"]),
    ("rollback", &["deployment"]),
    ("promote", &["deployment"]),
    ("pause", &["deployment"]),
    ("resume", &["deployment"]),
    ("set_flag", &["flag", "environment", "on"]),
    ("switchover", &["database", "candidate"]),
    ("db_failover", &["database", "candidate"]),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunbookFile {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    param: Vec<ParamFile>,
    #[serde(default)]
    step: Vec<Spanned<StepFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamFile {
    name: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    description: String,
    default: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    kind: Spanned<String>,
    title: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    links: Vec<String>,
    instructions: Option<Spanned<String>>,
    check: Option<Spanned<String>>,
    until: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    on_timeout: Option<Spanned<String>>,
    action: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    deployment: Option<Spanned<String>>,
    flag: Option<Spanned<String>>,
    environment: Option<Spanned<String>>,
    on: Option<Spanned<String>>,
    database: Option<Spanned<String>>,
    candidate: Option<Spanned<String>>,
    stopwatch: Option<Spanned<String>>,
}

/// Names a runbook may refer to, for lint: from the configuration, or the
/// demo fleet when there is none. Empty lists are not checked.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub regions: Vec<String>,
    pub services: Vec<String>,
    pub slos: Vec<String>,
    /// Where the names came from, for messages ("warroom.toml", "the demo fleet").
    pub from: String,
}

impl Known {
    /// The demo fleet's names (the simulator's defaults).
    pub fn demo() -> Known {
        let f = warroom_sim::fleet::Fleet::generate(7, 4, 8);
        let services: Vec<String> = f.services.iter().map(|s| s.name.clone()).collect();
        Known {
            regions: f.regions.iter().map(|r| r.name.clone()).collect(),
            slos: services.iter().flat_map(|s| [format!("{s}-availability"), format!("{s}-latency")]).collect(),
            services,
            from: "the demo fleet".into(),
        }
    }

    pub fn from_config(c: &crate::config::Config, path: &Path) -> Known {
        Known {
            regions: c.regions.iter().map(|r| r.name.get_ref().clone()).collect(),
            services: c.services.iter().map(|s| s.name.get_ref().clone()).collect(),
            slos: c.slo_names(),
            from: path.display().to_string(),
        }
    }

    fn check(&self, kind: ArgKind, name: &str) -> Result<(), String> {
        let list = match kind {
            ArgKind::Region => &self.regions,
            ArgKind::Service => &self.services,
            ArgKind::Slo => &self.slos,
            ArgKind::Deployment => {
                // Deployments are SERVICE/REGION in the demo fleet and the sim.
                let Some((s, r)) = name.split_once('/') else { return Ok(()) };
                self.check(ArgKind::Service, s)?;
                return self.check(ArgKind::Region, r);
            }
            ArgKind::Flag | ArgKind::Environment | ArgKind::Database | ArgKind::Member => return Ok(()),
        };
        if list.is_empty() || list.iter().any(|x| x == name) {
            Ok(())
        } else {
            Err(format!("{} '{name}' is not in {} (known: {})", kind.name(), self.from, list.join(", ")))
        }
    }
}

/// Byte offset of the first character inside a spanned TOML string.
fn inner_start(s: &Spanned<String>) -> usize {
    s.span().start + 1
}

/// The `[[param]]` tables: kinds, defaults (checked against `known`), names.
fn parse_params(
    list: &[ParamFile],
    known: Option<&Known>,
    err: &dyn Fn(usize, String) -> ConfigError,
    errors: &mut Vec<ConfigError>,
) -> Vec<Param> {
    let mut params = Vec::new();
    for p in list {
        match PARAM_KINDS.iter().find(|(n, _)| n == p.kind.get_ref()) {
            Some((_, kind)) => {
                // A default must name something that exists.
                if let (Some(d), ParamKind::Arg(k), Some(known)) = (&p.default, kind, known) {
                    if let Err(m) = known.check(*k, d.get_ref()) {
                        errors.push(err(inner_start(d), format!("default of {}: {m}", p.name.get_ref())));
                    }
                }
                if let (Some(d), ParamKind::Duration) = (&p.default, kind) {
                    if expr::parse_secs(d.get_ref()).is_none() {
                        errors.push(err(inner_start(d), format!("'{}' is not a duration (e.g. 90s, 2m)", d.get_ref())));
                    }
                }
                params.push(Param {
                    name: p.name.get_ref().clone(),
                    kind: *kind,
                    description: p.description.clone(),
                    default: p.default.as_ref().map(|d| d.get_ref().clone()),
                })
            }
            None => {
                let names: Vec<&str> = PARAM_KINDS.iter().map(|(n, _)| *n).collect();
                errors.push(err(
                    inner_start(&p.kind),
                    format!("unknown parameter kind '{}' (one of: {})", p.kind.get_ref(), names.join(", ")),
                ));
            }
        }
        if !p.name.get_ref().chars().all(|c| c.is_alphanumeric() || c == '_') || p.name.get_ref().is_empty() {
            errors.push(err(inner_start(&p.name), "a parameter name is letters, digits and _".into()));
        }
    }
    params
}

/// A wait step's timeout (default 10 minutes) and what happens at it.
fn wait_settings(
    s: &StepFile,
    err: &dyn Fn(usize, String) -> ConfigError,
    errors: &mut Vec<ConfigError>,
) -> (f64, OnTimeout) {
    let timeout_secs = match &s.timeout {
        None => 600.0,
        Some(t) => expr::parse_secs(t.get_ref()).unwrap_or_else(|| {
            errors.push(err(inner_start(t), format!("bad timeout '{}' (e.g. 90s, 5m)", t.get_ref())));
            600.0
        }),
    };
    let on_timeout = match s.on_timeout.as_ref().map(|o| (o, o.get_ref().as_str())) {
        None | Some((_, "fail")) => OnTimeout::Fail,
        Some((_, "continue")) => OnTimeout::Continue,
        Some((_, "abort")) => OnTimeout::Abort,
        Some((o, other)) => {
            errors.push(err(inner_start(o), format!("on_timeout '{other}' is not fail, continue or abort")));
            OnTimeout::Fail
        }
    };
    (timeout_secs, on_timeout)
}

/// The check a literal name or `{param}` gets where it names `kind`.
type CheckName<'a> = dyn Fn(usize, ArgKind, &Arg, &mut Vec<ConfigError>) + 'a;

/// An action step: a known action and exactly the fields it takes, each
/// naming something of the right kind.
fn action_step(
    s: &StepFile,
    span_start: usize,
    present: &[(&str, &Option<Spanned<String>>); 13],
    check_name: &CheckName<'_>,
    err: &dyn Fn(usize, String) -> ConfigError,
    errors: &mut Vec<ConfigError>,
) -> Option<StepBody> {
    let Some(a) = &s.action else {
        errors.push(err(span_start, "an action step needs 'action'".into()));
        return None;
    };
    let Some((name, needs)) = ACTIONS.iter().find(|(n, _)| n == a.get_ref()) else {
        let names: Vec<&str> = ACTIONS.iter().map(|(n, _)| *n).collect();
        errors.push(err(inner_start(a), format!("unknown action '{}' (one of: {})", a.get_ref(), names.join(", "))));
        return None;
    };
    let mut fields = BTreeMap::new();
    for (field, v) in present.iter().skip(6) {
        match (v, needs.contains(field)) {
            (Some(v), true) => {
                let value = v.get_ref();
                let kind = match *field {
                    "region" => Some(ArgKind::Region),
                    "deployment" => Some(ArgKind::Deployment),
                    "flag" => Some(ArgKind::Flag),
                    "environment" => Some(ArgKind::Environment),
                    "database" => Some(ArgKind::Database),
                    "candidate" => Some(ArgKind::Member),
                    _ => None,
                };
                let arg = match value.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                    Some(p) => Arg::Param(p.to_string(), 1),
                    None => Arg::Name(value.clone(), 1),
                };
                match kind {
                    Some(k) => check_name(inner_start(v), k, &arg, errors),
                    None if !matches!(value.as_str(), "on" | "off") => {
                        errors.push(err(inner_start(v), "'on' is \"on\" or \"off\"".into()))
                    }
                    None => {}
                }
                fields.insert(field.to_string(), value.clone());
            }
            (Some(v), false) => {
                errors.push(err(v.span().start, format!("{name} takes no '{field}'")));
            }
            (None, true) => errors.push(err(span_start, format!("{name} needs '{field}'"))),
            (None, false) => {}
        }
    }
    Some(StepBody::Action(ActionTemplate { action: name.to_string(), fields }))
}

/// Parse a runbook file. With `known`, also check every literal name and
/// every parameter's use (what `warroom runbook lint` does).
pub fn parse(name: &str, file: &Path, text: &str, known: Option<&Known>) -> Result<Runbook, Vec<ConfigError>> {
    let err = |at: usize, message: String| ConfigError::at(file, text, at..at, message);
    let parsed: RunbookFile = crate::config::from_toml(file, text)?;
    let mut errors = Vec::new();
    let params = parse_params(&parsed.param, known, &err, &mut errors);
    if parsed.step.is_empty() {
        errors.push(err(0, "a runbook needs at least one [[step]]".into()));
    }
    let param_kind = |n: &str| params.iter().find(|p| p.name == n).map(|p| p.kind);
    // A `{param}` or a literal in a place that names `kind`.
    let check_name = |at: usize, kind: ArgKind, arg: &Arg, errors: &mut Vec<ConfigError>| match arg {
        Arg::Param(p, col) => match param_kind(p) {
            None => errors.push(err(at + col - 1, format!("parameter {{{p}}} is not declared ([[param]])"))),
            Some(ParamKind::Arg(k)) if k == kind => {}
            Some(_) => errors.push(err(at + col - 1, format!("parameter {{{p}}} is not a {}", kind.name()))),
        },
        Arg::Name(n, col) => {
            if let Some(known) = known {
                if let Err(m) = known.check(kind, n) {
                    errors.push(err(at + col - 1, m));
                }
            }
        }
    };
    let mut steps = Vec::new();
    for s in &parsed.step {
        let span = s.span();
        let s = s.get_ref();
        let kind = s.kind.get_ref().as_str();
        let allowed: &[&str] = match kind {
            "manual" => &["instructions"],
            "check" => &["check"],
            "action" => &["action", "region", "deployment", "flag", "environment", "on", "database", "candidate"],
            "wait" => &["until", "timeout", "on_timeout"],
            other => {
                errors.push(err(
                    inner_start(&s.kind),
                    format!("unknown step kind '{other}' (one of: manual, check, action, wait)"),
                ));
                continue;
            }
        };
        let present: [(&str, &Option<Spanned<String>>); 13] = [
            ("instructions", &s.instructions),
            ("check", &s.check),
            ("until", &s.until),
            ("timeout", &s.timeout),
            ("on_timeout", &s.on_timeout),
            ("action", &s.action),
            ("region", &s.region),
            ("deployment", &s.deployment),
            ("flag", &s.flag),
            ("environment", &s.environment),
            ("on", &s.on),
            ("database", &s.database),
            ("candidate", &s.candidate),
        ];
        for (field, v) in present {
            if let Some(v) = v {
                if !allowed.contains(&field) {
                    errors.push(err(v.span().start, format!("a {kind} step has no '{field}'")));
                }
            }
        }
        let parse_check = |src: &Option<Spanned<String>>, field: &str, errors: &mut Vec<ConfigError>| {
            let Some(src) = src else {
                errors.push(err(span.start, format!("a {kind} step needs '{field}'")));
                return None;
            };
            let at = inner_start(src);
            match expr::parse(src.get_ref()) {
                Ok(c) => {
                    for (k, a) in expr::arguments(&c.expr) {
                        check_name(at, k, &a, errors);
                    }
                    for (p, col) in expr::operand_params(&c.expr) {
                        if param_kind(&p).is_none() {
                            errors.push(err(at + col - 1, format!("parameter {{{p}}} is not declared ([[param]])")));
                        }
                    }
                    if let Some(p) = &c.hold_param {
                        if param_kind(p) != Some(ParamKind::Duration) {
                            errors.push(err(at, format!("'for {{{p}}}' needs a declared duration parameter")));
                        }
                    }
                    Some((src.get_ref().clone(), c))
                }
                Err(e) => {
                    errors.push(err(at + e.column - 1, e.message));
                    None
                }
            }
        };
        let body = match kind {
            "manual" => Some(StepBody::Manual {
                instructions: s.instructions.as_ref().map(|i| i.get_ref().clone()).unwrap_or_default(),
            }),
            "check" => parse_check(&s.check, "check", &mut errors).map(|(text, check)| StepBody::Check { text, check }),
            "wait" => {
                let c = parse_check(&s.until, "until", &mut errors);
                let (timeout_secs, on_timeout) = wait_settings(s, &err, &mut errors);
                c.map(|(text, check)| StepBody::Wait { text, check, timeout_secs, on_timeout })
            }
            _ => action_step(s, span.start, &present, &check_name, &err, &mut errors),
        };
        let stopwatch = match s.stopwatch.as_ref().map(|w| (w, w.get_ref().as_str())) {
            None => None,
            Some((_, "start")) => Some(Stopwatch::Start),
            Some((_, "stop")) => Some(Stopwatch::Stop),
            Some((w, other)) => {
                errors.push(err(inner_start(w), format!("stopwatch '{other}' is not \"start\" or \"stop\"")));
                None
            }
        };
        if let Some(body) = body {
            let (title, notes, links) = (s.title.clone(), s.notes.clone(), s.links.clone());
            steps.push(Step { title, notes, links, body, stopwatch });
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| (e.line, e.column));
        return Err(errors);
    }
    Ok(Runbook {
        name: name.to_string(),
        title: parsed.title,
        description: parsed.description,
        source: file.display().to_string(),
        params,
        steps,
    })
}

impl ActionTemplate {
    /// The action with parameters filled in.
    pub fn resolve(&self, params: &BTreeMap<String, String>) -> Result<Action, String> {
        let get = |f: &str| -> Result<String, String> {
            let v = self.fields.get(f).ok_or_else(|| format!("{} needs {f}", self.action))?;
            match v.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                Some(p) => params.get(p).cloned().ok_or_else(|| format!("parameter {{{p}}} has no value")),
                None => Ok(v.clone()),
            }
        };
        Ok(match self.action.as_str() {
            "failover" => Action::Failover { region: get("region")? },
            "restore" => Action::Restore { region: get("region")? },
            "rollback" => Action::Rollback { deployment: get("deployment")? },
            "promote" => Action::Promote { deployment: get("deployment")?, full: false },
            "pause" => Action::Pause { deployment: get("deployment")? },
            "resume" => Action::Resume { deployment: get("deployment")? },
            "switchover" => Action::Switchover { database: get("database")?, candidate: get("candidate")? },
            "db_failover" => {
                Action::DbFailover { database: get("database")?, candidate: get("candidate")?, break_glass: false }
            }
            _ => Action::SetFlag {
                flag: get("flag")?,
                environment: get("environment")?,
                on: get("on")? == "on",
                source: String::new(),
            },
        })
    }
}

impl Runbook {
    /// Fill parameters: given values, then defaults; every one must end up
    /// with a value, and region/service values must be known (if `known`).
    pub fn bind(
        &self,
        given: &BTreeMap<String, String>,
        known: Option<&Known>,
    ) -> Result<BTreeMap<String, String>, String> {
        for k in given.keys() {
            if !self.params.iter().any(|p| &p.name == k) {
                let names: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                return Err(format!("{} has no parameter '{k}' (it takes: {})", self.name, names.join(", ")));
            }
        }
        let mut out = BTreeMap::new();
        for p in &self.params {
            let Some(v) = given.get(&p.name).or(p.default.as_ref()) else {
                return Err(format!("{} needs {}=… ({})", self.name, p.name, p.description));
            };
            match p.kind {
                ParamKind::Duration if expr::parse_secs(v).is_none() => {
                    return Err(format!("{}={v} is not a duration (e.g. 90s, 2m)", p.name))
                }
                ParamKind::Arg(k) => {
                    if let Some(known) = known {
                        known.check(k, v)?;
                    }
                }
                _ => {}
            }
            out.insert(p.name.clone(), v.clone());
        }
        Ok(out)
    }
}

/// The user's runbooks directory.
pub fn user_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "warroom").map(|d| d.config_dir().join("runbooks"))
}

/// Every runbook: the shipped ones, then the user's (same name replaces);
/// broken user files as (name, errors).
pub fn catalog() -> (Vec<Runbook>, Vec<(String, Vec<String>)>) {
    // Completion asks for this on every frame of the command line: the
    // shipped runbooks are parsed once.
    static SHIPPED: std::sync::LazyLock<Vec<Runbook>> = std::sync::LazyLock::new(|| {
        BUILT_IN
            .iter()
            .filter_map(|(n, t)| {
                let mut rb = parse(n, Path::new(&format!("runbooks/{n}.toml")), t, None).ok()?;
                rb.source = "built-in".into();
                Some(rb)
            })
            .collect()
    });
    let mut out: Vec<Runbook> = SHIPPED.clone();
    let mut broken = Vec::new();
    let files = user_dir().map(|d| crate::config::toml_files(&d)).unwrap_or_default();
    for (name, p) in files {
        let result = crate::config::read_config_file(&p)
            .map_err(|e| vec![format!("{}:1:1: {e}", p.display())])
            .and_then(|t| parse(&name, &p, &t, None).map_err(|es| es.iter().map(|e| e.to_string()).collect()));
        match result {
            Ok(rb) => {
                out.retain(|r| r.name != name);
                out.push(rb);
            }
            Err(e) => broken.push((name, e)),
        }
    }
    (out, broken)
}

/// A runbook by name, or a path to a file.
pub fn find(name_or_path: &str) -> Result<Runbook, String> {
    let p = Path::new(name_or_path);
    if name_or_path.ends_with(".toml") || p.is_file() {
        let text = crate::config::read_config_file(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or("runbook");
        return parse(name, p, &text, None)
            .map_err(|es| es.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"));
    }
    let (all, broken) = catalog();
    if let Some((_, errs)) = broken.iter().find(|(n, _)| n == name_or_path) {
        return Err(errs.join("\n"));
    }
    all.into_iter().find(|r| r.name == name_or_path).ok_or_else(|| {
        let (all, _) = catalog();
        let names: Vec<String> = all.iter().map(|r| r.name.clone()).collect();
        format!("unknown runbook '{name_or_path}' (known: {})", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_runbooks_lint_clean_against_the_demo_fleet() {
        let known = Known::demo();
        for (name, text) in BUILT_IN {
            let rb = parse(name, Path::new(name), text, Some(&known)).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(!rb.steps.is_empty() && !rb.description.is_empty(), "{name}");
        }
    }

    fn lint(text: &str) -> Vec<String> {
        parse("rb", Path::new("rb.toml"), text, Some(&Known::demo()))
            .err()
            .unwrap_or_default()
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn lint_is_precise() {
        let e = lint("title = \"t\"\n[[step]]\nkind = \"pray\"\ntitle = \"x\"\n");
        assert!(e.iter().any(|x| x.starts_with("rb.toml:3:9: unknown step kind 'pray'")), "{e:?}");
        let e = lint(
            "title = \"t\"\n[[step]]\nkind = \"check\"\ntitle = \"x\"\ncheck = \"region(us-east-1).status = DOWN\"\n",
        );
        assert!(e.iter().any(|x| x.starts_with("rb.toml:5:35: use '==' to compare")), "{e:?}");
        let e = lint("title = \"t\"\n[[step]]\nkind = \"action\"\ntitle = \"x\"\naction = \"nuke\"\n");
        assert!(e.iter().any(|x| x.starts_with("rb.toml:5:11: unknown action 'nuke'")), "{e:?}");
        let e = lint(
            "title = \"t\"\n[[step]]\nkind = \"check\"\ntitle = \"x\"\ncheck = \"region(mars-1).status == DOWN\"\n",
        );
        assert!(e.iter().any(|x| x.starts_with("rb.toml:5:17: region 'mars-1' is not in the demo fleet")), "{e:?}");
        let e = lint(
            "title = \"t\"\n[[step]]\nkind = \"check\"\ntitle = \"x\"\ncheck = \"latency(chekout, us-east-1).p99 < 500ms\"\n",
        );
        assert!(e.iter().any(|x| x.starts_with("rb.toml:5:18: service 'chekout' is not in the demo fleet")), "{e:?}");
        let e = lint(
            "title = \"t\"\n[[step]]\nkind = \"action\"\ntitle = \"x\"\naction = \"failover\"\nregion = \"{where}\"\n",
        );
        assert!(e.iter().any(|x| x.starts_with("rb.toml:6:11: parameter {where} is not declared")), "{e:?}");
        let e = lint(
            "title = \"t\"\n[[step]]\nkind = \"wait\"\ntitle = \"x\"\nuntil = \"alerts.firing == 0\"\ncheck = \"x\"\n",
        );
        assert!(e.iter().any(|x| x.starts_with("rb.toml:6:9: a wait step has no 'check'")), "{e:?}");
        let e = lint("title = \"t\"\n");
        assert!(e.iter().any(|x| x.contains("at least one [[step]]")), "{e:?}");
        let e = lint("title = \"t\"\n[[step]]\nkind = \"manual\"\ntitle = \"x\"\nnotse = \"\"\n");
        assert!(e.iter().any(|x| x.starts_with("rb.toml:5:1: unknown field `notse`")), "{e:?}");
    }

    #[test]
    fn binding_parameters() {
        let rb = find("regional-failover").unwrap_or_else(|e| panic!("{e}"));
        let known = Known::demo();
        let mut given = BTreeMap::new();
        assert!(rb.bind(&given, Some(&known)).is_err_and(|e| e.contains("needs region=")));
        given.insert("region".to_string(), "us-west-2".to_string());
        let bound = rb.bind(&given, Some(&known)).unwrap_or_default();
        assert_eq!(bound.get("down_for").map(String::as_str), Some("2m"));
        given.insert("region".to_string(), "mars-1".to_string());
        assert!(rb.bind(&given, Some(&known)).is_err_and(|e| e.contains("region 'mars-1'")));
    }
}
