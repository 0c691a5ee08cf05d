//! Resilience4j breakers across a fleet, read from Prometheus (Micrometer's
//! `resilience4j_circuitbreaker_state{name,state}` = 1 for each instance's
//! current state, and `resilience4j_circuitbreaker_failure_rate`), and
//! aggregated per edge (calling service → breaker name) and region: "3 of
//! 12 instances OPEN", which Resilience4j itself does not do. The edge's
//! state is the worst of its instances'; its failure rate the highest
//! instance's; `-1` everywhere is "too few calls".

use std::collections::BTreeMap;

use super::prometheus::Prometheus;
use super::{FeedError, Fetch, Payload, Source};
use crate::model::{Circuit, CircuitState, FeedId, Instances};

/// Which labels say what: the calling service (Micrometer's common tag,
/// often `application`), its region and the instance.
#[derive(Debug, Clone)]
pub struct R4jLabels {
    pub service: String,
    pub region: String,
    pub instance: String,
}

pub struct Resilience4j {
    pub prom: Prometheus,
    pub labels: R4jLabels,
    /// The instance's actuator base: `{instance}`, `{service}`, `{region}`
    /// are filled in from the labels.
    pub actuator: String,
}

/// One instance's breaker as Prometheus has it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceBreaker {
    pub service: String,
    pub name: String,
    pub region: String,
    pub instance: String,
    pub state: CircuitState,
    pub failure_rate: Option<f64>,
}

/// Micrometer's lower-case state tag.
fn state_of(tag: &str) -> CircuitState {
    CircuitState::parse(&tag.to_ascii_uppercase())
}

/// Per edge and region, from every instance.
pub fn aggregate(list: &[InstanceBreaker]) -> Vec<Circuit> {
    let mut by: BTreeMap<(String, String, String), Vec<&InstanceBreaker>> = BTreeMap::new();
    for b in list {
        by.entry((b.service.clone(), b.name.clone(), b.region.clone())).or_default().push(b);
    }
    by.into_iter()
        .map(|((from, to, region), v)| {
            let rates: Vec<f64> = v.iter().filter_map(|b| b.failure_rate).collect();
            let known: Vec<f64> = rates.iter().copied().filter(|r| *r >= 0.0).collect();
            let instances =
                Instances::from_counts(v.iter().map(|b| (b.state, 1)), !rates.is_empty() && known.is_empty());
            Circuit {
                from,
                to,
                region,
                state: instances.by_state.first().map(|x| x.0).unwrap_or(CircuitState::Unknown),
                failure_rate_pct: known.iter().copied().reduce(f64::max),
                since: None,
                instances: Some(instances),
            }
        })
        .collect()
}

impl Resilience4j {
    /// Every instance's breakers now.
    pub async fn instances(&self) -> Result<Vec<InstanceBreaker>, String> {
        let l = &self.labels;
        let states = self.prom.series("resilience4j_circuitbreaker_state == 1").await?;
        let rates = self.prom.series("resilience4j_circuitbreaker_failure_rate").await?;
        let key = |m: &BTreeMap<String, String>| {
            Some((
                m.get(&l.service)?.clone(),
                m.get("name")?.clone(),
                m.get(&l.region)?.clone(),
                m.get(&l.instance)?.clone(),
            ))
        };
        let rate: BTreeMap<_, f64> = rates.iter().filter_map(|(m, v)| Some((key(m)?, *v))).collect();
        let mut out: Vec<InstanceBreaker> = states
            .iter()
            .filter_map(|(m, _)| {
                let k = key(m)?;
                let clean = |s: &str| crate::sources::alertmanager::one_line(s);
                Some(InstanceBreaker {
                    service: clean(&k.0),
                    name: clean(&k.1),
                    region: clean(&k.2),
                    instance: clean(&k.3),
                    state: state_of(m.get("state")?),
                    failure_rate: rate.get(&k).copied(),
                })
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.service, &a.name, &a.region, &a.instance).cmp(&(&b.service, &b.name, &b.region, &b.instance))
        });
        Ok(out)
    }

    /// The actuator base of one instance.
    pub fn actuator_of(&self, b: &InstanceBreaker) -> String {
        self.actuator
            .replace("{instance}", &b.instance)
            .replace("{service}", &b.service)
            .replace("{region}", &b.region)
            .trim_end_matches('/')
            .to_string()
    }
}

/// The source (a part of the circuits feed, ahead of the control plane's).
pub struct Resilience4jSource(pub std::sync::Arc<Resilience4j>);

impl Source for Resilience4jSource {
    fn name(&self) -> &str {
        "resilience4j"
    }
    fn feeds(&self) -> &'static [FeedId] {
        &[FeedId::Circuits]
    }
    fn fetch(&self, _feed: FeedId) -> Fetch<'_> {
        Box::pin(async move {
            let list = self.0.instances().await.map_err(FeedError::Source)?;
            Ok(Payload::Circuits(aggregate(&list)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_aggregate_per_edge_worst_first() {
        let b = |inst: &str, st, rate| InstanceBreaker {
            service: "checkout".into(),
            name: "payments".into(),
            region: "us-east-1".into(),
            instance: inst.into(),
            state: st,
            failure_rate: Some(rate),
        };
        let c = aggregate(&[
            b("a", CircuitState::Closed, 2.0),
            b("b", CircuitState::Open, 61.0),
            b("c", CircuitState::Open, -1.0),
            b("d", CircuitState::HalfOpen, 40.0),
        ]);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].state, CircuitState::Open);
        assert_eq!(c[0].failure_rate_pct, Some(61.0));
        let i = c[0].instances.clone().unwrap_or_default();
        assert_eq!(i.words(), "2/4 OPEN");
        assert_eq!(i.by_state.last(), Some(&(CircuitState::Closed, 1)));
        let few = aggregate(&[b("a", CircuitState::Closed, -1.0), b("b", CircuitState::Closed, -1.0)]);
        assert_eq!(few[0].failure_rate_pct, None);
        assert!(few[0].instances.as_ref().is_some_and(|i| i.too_few_calls && i.words() == "2 CLOSED"));
    }
}
