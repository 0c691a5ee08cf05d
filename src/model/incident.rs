//! Incidents: one open at a time per fleet, opened and resolved by an
//! operator (`:incident start TITLE [sev1|sev2|sev3]`, `:incident
//! resolve`). The store keeps the record and writes it to the state
//! directory (`incidents/ID.json`) with the events of its window, so
//! `warroom incident export ID` can write the postmortem draft from the file
//! alone. Times are the fleet's clock, as the change timeline's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::changes::{Change, ChangeKind, Severity};
use super::{SloKind, Snapshot};

/// What a console posts to the store besides actions.
#[derive(Debug, Clone, PartialEq)]
pub enum Post {
    Note {
        text: String,
        operator: String,
    },
    IncidentStart {
        title: String,
        severity: String,
        operator: String,
    },
    IncidentResolve {
        operator: String,
    },
    /// An event that happened here (a runbook step), dated in our clock.
    Change(Change),
}

/// One SLO's budget counts at a moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloMark {
    pub service: String,
    pub name: String,
    pub availability: bool,
    pub consumed_bad: Option<f64>,
    pub allowed_bad: Option<f64>,
}

/// A region that was DOWN when the incident opened, and since when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownSince {
    pub region: String,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub commander: String,
    /// When the operator opened it.
    pub opened_at: DateTime<Utc>,
    /// When the impact began: the fleet's last turn from OK before the
    /// incident was opened (within a day), else the opening.
    pub impact_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    /// Budget counts at the opening and at the resolution, and the metrics'
    /// times they were read at.
    pub slos_open: Vec<SloMark>,
    pub slos_end: Vec<SloMark>,
    pub metrics_open_at: Option<DateTime<Utc>>,
    pub metrics_end_at: Option<DateTime<Utc>>,
    pub down_at_impact: Vec<DownSince>,
    /// Every event from the impact to the resolution (or to now).
    pub timeline: Vec<Change>,
    /// What a failed request was worth when it was opened (`[[business]]`).
    #[serde(default)]
    pub business: Vec<BusinessRate>,
}

/// What one failed request of a service is worth, and in what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusinessRate {
    pub service: String,
    pub per_failed_request: f64,
    pub unit: String,
    pub what: String,
}

/// A business figure of the impact: failed requests × their worth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusinessImpact {
    pub service: String,
    pub what: String,
    pub unit: String,
    pub failed_requests: f64,
    pub per_failed_request: f64,
    pub value: f64,
}

/// Severities an incident may have.
pub const SEVERITIES: [&str; 3] = ["sev1", "sev2", "sev3"];

/// The SLOs' counts in a snapshot, and the metrics' time.
pub fn marks(snap: &Snapshot, now: DateTime<Utc>) -> (Vec<SloMark>, Option<DateTime<Utc>>) {
    let m = &snap.fleet.metrics;
    let fleet = snap.source_now(now) - now;
    let at = m.observed_at.map(|t| t + m.source_offset.unwrap_or(fleet));
    let v = snap
        .slos
        .iter()
        .map(|s| SloMark {
            service: s.service.clone(),
            name: s.name.clone(),
            availability: matches!(s.kind, SloKind::Availability),
            consumed_bad: s.consumed_bad,
            allowed_bad: s.allowed_bad,
        })
        .collect();
    (v, at)
}

/// The postmortem's figures, computed from the record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub commander: String,
    pub status: &'static str,
    pub impact_at: DateTime<Utc>,
    pub detected_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub mitigated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub time_to_detect_secs: i64,
    pub time_to_mitigate_secs: Option<i64>,
    pub duration_secs: Option<i64>,
    pub budgets: Vec<BudgetBurn>,
    /// Bad requests during the incident, per service (its availability SLO).
    pub requests_failed: Vec<(String, f64)>,
    pub downtime: Vec<(String, f64)>,
    /// Failed requests priced by `[[business]]` (empty when none is set).
    pub business: Vec<BusinessImpact>,
    pub metrics_from: Option<DateTime<Utc>>,
    pub metrics_to: Option<DateTime<Utc>>,
    pub timeline: Vec<Change>,
    pub actions: Vec<Change>,
    pub runbooks: Vec<Change>,
    pub notes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetBurn {
    pub service: String,
    pub slo: String,
    /// Bad events during the incident.
    pub bad_events: f64,
    /// Share of the period's budget they used.
    pub burned: Option<f64>,
}

impl Incident {
    pub fn report(&self, now: DateTime<Utc>) -> Report {
        let end = self.resolved_at.unwrap_or(now);
        let mut timeline = self.timeline.clone();
        timeline.sort_by_key(|c| c.at);
        let inc = Incident { timeline, ..self.clone() };
        inc.report_sorted(end)
    }

    fn report_sorted(&self, end: DateTime<Utc>) -> Report {
        let from = |k: ChangeKind| self.timeline.iter().filter(|c| c.kind == k).cloned().collect::<Vec<_>>();
        let detected_at = self
            .timeline
            .iter()
            .find(|c| c.severity == Severity::Critical && c.at >= self.impact_at)
            .map(|c| c.at)
            .unwrap_or(self.opened_at)
            .min(self.opened_at);
        let mitigated_at = self
            .timeline
            .iter()
            .find(|c| c.kind == ChangeKind::Action && c.severity == Severity::Ok && c.at >= self.impact_at)
            .map(|c| c.at);
        let mut budgets = Vec::new();
        let mut failed = Vec::new();
        for e in &self.slos_end {
            let Some(o) = self.slos_open.iter().find(|o| o.service == e.service && o.name == e.name) else {
                continue;
            };
            let (Some(a), Some(b)) = (o.consumed_bad, e.consumed_bad) else { continue };
            let bad = (b - a).max(0.0);
            let burned = e.allowed_bad.filter(|x| *x > 0.0).map(|x| bad / x);
            budgets.push(BudgetBurn { service: e.service.clone(), slo: e.name.clone(), bad_events: bad, burned });
            if e.availability {
                failed.push((e.service.clone(), bad));
            }
        }
        let business = self
            .business
            .iter()
            .filter_map(|b| {
                let (_, n) = failed.iter().find(|(s, _)| *s == b.service)?;
                Some(BusinessImpact {
                    service: b.service.clone(),
                    what: b.what.clone(),
                    unit: b.unit.clone(),
                    failed_requests: *n,
                    per_failed_request: b.per_failed_request,
                    value: n * b.per_failed_request,
                })
            })
            .collect();
        Report {
            id: self.id.clone(),
            title: self.title.clone(),
            severity: self.severity.clone(),
            commander: self.commander.clone(),
            status: if self.resolved_at.is_some() { "resolved" } else { "open" },
            impact_at: self.impact_at,
            detected_at,
            opened_at: self.opened_at,
            mitigated_at,
            resolved_at: self.resolved_at,
            time_to_detect_secs: (detected_at - self.impact_at).num_seconds(),
            time_to_mitigate_secs: mitigated_at.map(|m| (m - self.impact_at).num_seconds()),
            duration_secs: self.resolved_at.map(|r| (r - self.impact_at).num_seconds()),
            budgets,
            requests_failed: failed,
            business,
            downtime: downtime(self, end),
            metrics_from: self.metrics_open_at,
            metrics_to: self.metrics_end_at,
            timeline: self.timeline.clone(),
            actions: from(ChangeKind::Action),
            runbooks: from(ChangeKind::Runbook),
            notes: from(ChangeKind::Note),
        }
    }
}

/// Minutes each region was DOWN between the impact and `end`.
fn downtime(inc: &Incident, end: DateTime<Utc>) -> Vec<(String, f64)> {
    let mut down: std::collections::BTreeMap<String, Option<DateTime<Utc>>> = Default::default();
    let mut total: std::collections::BTreeMap<String, f64> = Default::default();
    for d in &inc.down_at_impact {
        down.insert(d.region.clone(), Some(d.since.max(inc.impact_at)));
    }
    for c in inc.timeline.iter().filter(|c| c.kind == ChangeKind::Region && c.at <= end) {
        let slot = down.entry(c.subject.clone()).or_insert(None);
        match (c.after == "DOWN", *slot) {
            (true, None) => *slot = Some(c.at),
            (false, Some(since)) => {
                *total.entry(c.subject.clone()).or_default() += (c.at - since).num_seconds() as f64 / 60.0;
                *slot = None;
            }
            _ => {}
        }
    }
    for (region, since) in down {
        if let Some(s) = since {
            *total.entry(region).or_default() += (end - s).num_seconds().max(0) as f64 / 60.0;
        }
    }
    total.into_iter().collect()
}

fn hms(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn dur(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// Backend text in a Markdown table cell: one line, no pipes.
/// `1,234.50`: an amount with thousands grouped and cents (`0.0042` kept
/// to four places: a per-request worth can be small).
pub fn amount(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let places = if x.abs() < 1.0 && x != 0.0 { 4 } else { 2 };
    let s = format!("{:.*}", places, x.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}{grouped}.{frac}", if x < 0.0 { "-" } else { "" })
}

fn cell(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect::<String>().replace('|', "\\|")
}

impl Report {
    /// The postmortem draft, in Markdown.
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let opt = |t: Option<DateTime<Utc>>| t.map(hms).unwrap_or_else(|| "—".into());
        o.push_str(&format!("# {} — {}\n\n", cell(&self.id), cell(&self.title)));
        o.push_str(&format!(
            "**Severity** {} · **Commander** {} · **Status** {}\n\n",
            self.severity,
            cell(&self.commander),
            self.status
        ));
        o.push_str("## Summary\n\n_What happened, in two sentences: to be written._\n\n## Times\n\n");
        o.push_str("| moment | time (fleet clock) |\n|---|---|\n");
        o.push_str(&format!("| impact began | {} |\n", hms(self.impact_at)));
        o.push_str(&format!("| detected | {} |\n", hms(self.detected_at)));
        o.push_str(&format!("| incident opened | {} |\n", hms(self.opened_at)));
        o.push_str(&format!("| mitigated (first action that succeeded) | {} |\n", opt(self.mitigated_at)));
        o.push_str(&format!("| resolved | {} |\n\n", opt(self.resolved_at)));
        o.push_str(&format!("- time to detect: {}\n", dur(self.time_to_detect_secs)));
        if let Some(t) = self.time_to_mitigate_secs {
            o.push_str(&format!("- time to mitigate: {}\n", dur(t)));
        }
        if let Some(t) = self.duration_secs {
            o.push_str(&format!("- duration: {}\n", dur(t)));
        }
        o.push_str("\n## Impact\n\n");
        if !self.downtime.is_empty() {
            o.push_str("Downtime per region:\n\n");
            for (r, m) in &self.downtime {
                o.push_str(&format!("- {}: {m:.1} min DOWN\n", cell(r)));
            }
            o.push('\n');
        }
        let window = match (self.metrics_from, self.metrics_to) {
            (Some(a), Some(b)) => format!(" (metrics read at {} and {})", hms(a), hms(b)),
            _ => String::new(),
        };
        o.push_str(&format!("Error budget burned per SLO{window}:\n\n| service | SLO | bad events | budget burned |\n|---|---|---:|---:|\n"));
        for b in &self.budgets {
            let burned = b.burned.map(|x| format!("{:.2}%", x * 100.0)).unwrap_or_else(|| "—".into());
            o.push_str(&format!("| {} | {} | {:.0} | {burned} |\n", cell(&b.service), cell(&b.slo), b.bad_events));
        }
        let failed: f64 = self.requests_failed.iter().map(|(_, n)| n).sum();
        o.push_str(&format!("\nRequests failed: {failed:.0} in all.\n"));
        if !self.business.is_empty() {
            o.push_str("\nBusiness impact (failed requests × their worth, from `[[business]]`):\n\n");
            o.push_str("| service | what | failed requests | per request | estimate |\n|---|---|---:|---:|---:|\n");
            for b in &self.business {
                o.push_str(&format!(
                    "| {} | {} | {:.0} | {} {} | {} {} |\n",
                    cell(&b.service),
                    cell(&b.what),
                    b.failed_requests,
                    amount(b.per_failed_request),
                    cell(&b.unit),
                    amount(b.value),
                    cell(&b.unit)
                ));
            }
        }
        o.push_str("\n## Timeline\n\n");
        o.push_str("| time | kind | subject | change | source |\n|---|---|---|---|---|\n");
        for c in &self.timeline {
            o.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                c.at.format("%H:%M:%S"),
                c.kind.word(),
                cell(&c.subject),
                cell(&c.transition()),
                cell(&c.source)
            ));
        }
        let list = |o: &mut String, title: &str, v: &[Change]| {
            o.push_str(&format!("\n## {title}\n\n"));
            if v.is_empty() {
                o.push_str("None.\n");
            }
            for c in v {
                o.push_str(&format!(
                    "- {} {} — {} ({})\n",
                    c.at.format("%H:%M:%S"),
                    cell(&c.subject),
                    cell(&c.transition()),
                    cell(&c.source)
                ));
            }
        };
        list(&mut o, "Actions and who did them", &self.actions);
        list(&mut o, "Runbook steps", &self.runbooks);
        list(&mut o, "Notes", &self.notes);
        o.push_str("\n## What went well, what went wrong, action items\n\n_To be written._\n");
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(service: &str, bad: f64) -> SloMark {
        SloMark {
            service: service.into(),
            name: format!("{service}-availability"),
            availability: true,
            consumed_bad: Some(bad),
            allowed_bad: Some(1_000.0),
        }
    }

    #[test]
    fn failed_requests_are_priced_by_the_business_figures_kept_in_the_incident() {
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let rate = |s: &str, v: f64, unit: &str| BusinessRate {
            service: s.into(),
            per_failed_request: v,
            unit: unit.into(),
            what: "orders not placed".into(),
        };
        let inc = Incident {
            id: "INC-1".into(),
            title: "checkout errors".into(),
            severity: "sev2".into(),
            commander: "alice".into(),
            opened_at: t0,
            impact_at: t0,
            resolved_at: Some(t0 + chrono::Duration::minutes(20)),
            resolved_by: Some("alice".into()),
            slos_open: vec![mark("checkout", 100.0), mark("search", 10.0)],
            slos_end: vec![mark("checkout", 1_334.0), mark("search", 60.0)],
            metrics_open_at: None,
            metrics_end_at: None,
            down_at_impact: vec![],
            timeline: vec![],
            // payments has a figure but failed nothing: no line for it.
            business: vec![rate("checkout", 0.85, "USD"), rate("payments", 2.0, "EUR")],
        };
        let r = inc.report(t0);
        assert_eq!(r.business.len(), 1, "{:?}", r.business);
        let b = &r.business[0];
        assert_eq!((b.service.as_str(), b.failed_requests), ("checkout", 1_234.0));
        assert!((b.value - 1_048.9).abs() < 1e-9, "{}", b.value);
        let md = r.markdown();
        assert!(md.contains("| checkout | orders not placed | 1234 | 0.8500 USD | 1,048.90 USD |"), "{md}");
        // Without figures, no business section at all (never a zero).
        let plain = Incident { business: vec![], ..inc }.report(t0).markdown();
        assert!(!plain.contains("Business impact"), "{plain}");
        assert_eq!(amount(1_234_567.891), "1,234,567.89");
        assert_eq!(amount(0.0042), "0.0042");
        assert_eq!(amount(f64::NAN), "—");
    }
}
