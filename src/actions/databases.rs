//! One provider for every database cluster, whatever runs it: actions go
//! to the cluster's own backend (Patroni or RDS) by the cluster's name, and
//! the audit trail names that backend.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::executor::Intent;
use super::provider::{ActionProvider, Sent};
use crate::model::ActionStatus;
use crate::viewer::BoxFuture;

pub struct DatabaseActions {
    /// Cluster name → its backend's provider.
    by_cluster: BTreeMap<String, Arc<dyn ActionProvider>>,
}

impl DatabaseActions {
    pub fn new(by_cluster: BTreeMap<String, Arc<dyn ActionProvider>>) -> DatabaseActions {
        DatabaseActions { by_cluster }
    }

    fn of(&self, request: &Value) -> Result<&Arc<dyn ActionProvider>, String> {
        let name = request["database"].as_str().unwrap_or("");
        self.by_cluster.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.by_cluster.keys().map(String::as_str).collect();
            format!("no database cluster named {name} (configured: {})", names.join(", "))
        })
    }

    /// The provider an accepted id belongs to: `cluster|inner id`.
    fn split<'a>(&self, id: &'a str) -> Option<(&Arc<dyn ActionProvider>, &'a str)> {
        let (name, inner) = id.split_once('|')?;
        Some((self.by_cluster.get(name)?, inner))
    }
}

impl ActionProvider for DatabaseActions {
    /// Every backend's label, for a record that names any of them.
    fn label(&self) -> String {
        let mut v: Vec<String> = self.by_cluster.values().map(|p| p.label()).collect();
        v.sort();
        v.dedup();
        v.join(", ")
    }

    fn label_for(&self, request: &Value) -> String {
        self.of(request).map(|p| p.label()).unwrap_or_else(|_| self.label())
    }

    fn answers_to(&self, label: &str) -> bool {
        self.by_cluster.values().any(|p| p.answers_to(label))
    }

    fn owner(&self) -> &'static str {
        "the database's backend"
    }

    fn send<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, Sent> {
        Box::pin(async move {
            let request = intent.action.request();
            let name = request["database"].as_str().unwrap_or("").to_string();
            match self.of(&request) {
                Ok(p) => match p.send(intent).await {
                    Sent::Accepted(id) => Sent::Accepted(format!("{name}|{id}")),
                    other => other,
                },
                Err(e) => Sent::Failed(e),
            }
        })
    }

    fn lookup<'a>(&'a self, key: &'a str, request: &'a Value) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let name = request["database"].as_str().unwrap_or("").to_string();
            let found = self.of(request)?.lookup(key, request).await?;
            Ok(found.map(|id| format!("{name}|{id}")))
        })
    }

    fn poll<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<(ActionStatus, String)>> {
        Box::pin(async move {
            match self.split(id) {
                Some((p, inner)) => p.poll(inner).await,
                None => Some((ActionStatus::Failed, format!("unreadable action id {id}"))),
            }
        })
    }

    fn attach_audit(&self, records: &[crate::audit::Record]) {
        for p in self.by_cluster.values() {
            p.attach_audit(records);
        }
    }
}
