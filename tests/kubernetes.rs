//! Argo Rollouts through the Kubernetes API. A real API server cannot be
//! fetched here, so the simulator serves the Rollouts part of it (one
//! cluster per region at `/k8s/{region}`); clients nobody here wrote prove
//! it speaks Kubernetes honestly: `kubectl` (get `-o json`, `get --watch`,
//! `patch --type merge`) and Debian's Kubernetes Python client (list,
//! watch, `patch_namespaced_custom_object_status`), each through a
//! kubeconfig the test writes, each seeing what the console sees. Then the
//! console: canaries from the watch, an abort and a promote through the
//! executor (one patch each, read back), a watch whose version expires
//! mid-run is re-listed without losing the next change, a blue-green
//! switch and switch back with the old colour's deadline from its
//! ReplicaSet, and undo to a revision (ReplicaSets as kubectl and the
//! Python client list them).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "ap-southeast-1"];

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("warroom-kube-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

/// A kubeconfig with one context per region, each a cluster at the sim.
fn kubeconfig(d: &Path, sim: &str) -> PathBuf {
    kubeconfig_with(d, sim, "", "    token: sim-token\n")
}

/// The same with lines added to each cluster and the user's credentials.
fn kubeconfig_with(d: &Path, sim: &str, cluster: &str, user: &str) -> PathBuf {
    let mut text = String::from("apiVersion: v1\nkind: Config\ncurrent-context: us-east-1\nclusters:\n");
    for r in REGIONS {
        text.push_str(&format!("- name: {r}\n  cluster:\n    server: {sim}/k8s/{r}\n{cluster}"));
    }
    text.push_str(&format!("users:\n- name: ops\n  user:\n{user}contexts:\n"));
    for r in REGIONS {
        text.push_str(&format!("- name: {r}\n  context:\n    cluster: {r}\n    user: ops\n    namespace: default\n"));
    }
    let p = d.join("kubeconfig");
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    p
}

fn kubectl(kc: &Path, args: &[&str]) -> String {
    common::need("kubectl", "kubernetes-client");
    let out =
        Command::new("kubectl").args(args).env("KUBECONFIG", kc).output().unwrap_or_else(|e| panic!("kubectl: {e}"));
    assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rollout(kc: &Path, ctx: &str, name: &str) -> Value {
    let text = kubectl(kc, &["--context", ctx, "get", "rollouts.argoproj.io", name, "-o", "json"]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

const PY: &str = r#"
import json, sys
from kubernetes import client, config, watch
config.load_kube_config(config_file=sys.argv[1], context=sys.argv[2])
api = client.CustomObjectsApi()
items = api.list_namespaced_custom_object("argoproj.io", "v1alpha1", "default", "rollouts")["items"]
seen = []
w = watch.Watch()
for ev in w.stream(api.list_namespaced_custom_object, "argoproj.io", "v1alpha1", "default", "rollouts", timeout_seconds=2):
    seen.append([ev["type"], ev["object"]["metadata"]["name"]])
    if len(seen) >= len(items):
        w.stop()
patched = api.patch_namespaced_custom_object_status("argoproj.io", "v1alpha1", "default", "rollouts", sys.argv[3], {"status": {"abort": True}})
print(json.dumps({"names": sorted(i["metadata"]["name"] for i in items), "watched": seen, "abort": patched["status"]["abort"]}))
"#;

async fn console(
    kc: &Path,
    d: &Path,
) -> (
    warroom::dataplane::DataPlane,
    warroom::actions::executor::Executor,
    tokio::sync::mpsc::Receiver<warroom::sources::Update>,
) {
    let mut text = String::new();
    for r in REGIONS {
        text.push_str(&format!("[[region]]\nname = \"{r}\"\n"));
    }
    text.push_str(&format!("[kubernetes]\nkubeconfig = \"{}\"\n[kubernetes.regions]\n", kc.display()));
    for r in REGIONS {
        text.push_str(&format!("{r} = \"{r}\"\n"));
    }
    let path = d.join("warroom.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    common::console_from(&path)
}

fn deployment<'a>(s: &'a warroom::model::Snapshot, id: &str) -> Option<&'a warroom::model::Deployment> {
    s.fleet.deployments.items().iter().find(|d| d.id == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn third_party_clients_and_the_console_see_the_same_rollouts() {
    use warroom::model::CanaryPhase;
    let (_sim, url) = common::spawn_sim(&["--scenario", "bad-canary", "--at", "5m"]);
    let d = dir("clients");
    let kc = kubeconfig(&d, &url);
    // kubectl: list as JSON, a watch, a merge patch on the spec.
    let (kc2, list) = (
        kc.clone(),
        tokio::task::spawn_blocking({
            let kc = kc.clone();
            move || kubectl(&kc, &["--context", "us-west-2", "get", "rollouts.argoproj.io", "-o", "json"])
        }),
    );
    let list: Value = serde_json::from_str(&list.await.unwrap_or_default()).unwrap_or_default();
    let names: Vec<&str> =
        list["items"].as_array().into_iter().flatten().filter_map(|i| i["metadata"]["name"].as_str()).collect();
    assert!(names.contains(&"search"), "{list}");
    // `kubectl get --watch` until a timeout ends it: what it printed counts.
    let watched = tokio::task::spawn_blocking(move || {
        Command::new("timeout")
            .args(["3", "kubectl", "--context", "us-west-2", "get", "rollouts.argoproj.io", "--watch", "-o", "json"])
            .env("KUBECONFIG", &kc2)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    });
    let watched = watched.await.unwrap_or_default();
    assert!(
        watched.contains("\"kind\": \"Rollout\"") && watched.contains("\"name\": \"search\""),
        "kubectl --watch: {watched}"
    );
    let (plane, exec, mut rx) = console(&kc, &d).await;
    let mut snaps = plane.snapshots.clone();
    let snap = common::snapshot_where(
        &mut snaps,
        30,
        "rollouts from the watch",
        |s| deployment(s, "search/us-west-2").is_some_and(|d| d.phase == CanaryPhase::Paused),
        |s| {
            format!(
                "{:?} {:?}",
                s.fleet.deployments.error_text(),
                s.fleet.deployments.items().iter().map(|d| (&d.id, d.phase)).collect::<Vec<_>>()
            )
        },
    )
    .await;
    let search = deployment(&snap, "search/us-west-2").cloned().unwrap_or_else(|| panic!("no search"));
    // The degraded canary's analysis runs, with the metric that failed.
    let runs = common::snapshot_where(
        &mut snaps,
        30,
        "checkout's analysis runs",
        |s| deployment(s, "checkout/us-east-1").is_some_and(|d| d.analysis_runs.iter().any(|r| r.phase == "Failed")),
        |s| format!("{:?}", deployment(s, "checkout/us-east-1").map(|d| &d.analysis_runs)),
    )
    .await;
    let failed = deployment(&runs, "checkout/us-east-1")
        .and_then(|d| d.analysis_runs.iter().find(|r| r.phase == "Failed").cloned())
        .unwrap_or_default();
    let m = failed.metrics.first().cloned().unwrap_or_default();
    assert_eq!((m.name.as_str(), m.failed, m.successful), ("error-rate", 3, 2), "{failed:?}");
    assert!(m.message.contains("above the 1% limit"), "{m:?}");
    let k = rollout(&kc, "us-west-2", "search");
    assert_eq!(
        search.step_index as u64,
        k["status"]["currentStepIndex"].as_u64().unwrap_or(99),
        "the same step as kubectl"
    );
    assert_eq!(search.weight, k["status"]["canary"]["weights"]["canary"]["weight"].as_f64().unwrap_or(-1.0));
    use warroom::actions::Action;
    // kubectl's merge patch on the spec reaches the same object (a pause of
    // a canary already paused at a step changes nothing).
    let kc4 = kc.clone();
    let out = tokio::task::spawn_blocking(move || {
        kubectl(
            &kc4,
            &[
                "--context",
                "us-west-2",
                "patch",
                "rollouts.argoproj.io",
                "search",
                "--type",
                "merge",
                "-p",
                r#"{"spec":{"paused":true}}"#,
            ],
        )
    })
    .await
    .unwrap_or_default();
    assert!(out.contains("rollout.argoproj.io/search patched"), "{out}");
    // Promote the paused canary step by step to 100%: one patch per step, each read back.
    promote_step_by_step(&url, &exec, &mut rx, &mut snaps, snap, "search/us-west-2").await;
    let k = rollout(&kc, "us-west-2", "search");
    assert_eq!(k["status"]["phase"], "Healthy", "kubectl agrees: {}", k["status"]);
    // A patch naming a stale resourceVersion is refused, as by a real API server.
    let stale = serde_json::json!({"metadata": {"resourceVersion": "1"}, "status": {"abort": true}});
    let r = reqwest::Client::new()
        .patch(format!("{url}/k8s/us-west-2/apis/argoproj.io/v1alpha1/namespaces/default/rollouts/search/status"))
        .header("content-type", "application/merge-patch+json")
        .body(stale.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 409);
    // The watch's version expires; the Python client then aborts the
    // degraded canary: the console re-lists and sees the abort.
    let r = reqwest::Client::new().post(format!("{url}/v1/kube/expire")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(r.status().is_success());
    // Abort the degraded canary from the Python client, and see it here.
    let py = Command::new("/usr/bin/python3")
        .args(["-c", PY, &kc.display().to_string(), "us-east-1", "checkout"])
        .output()
        .unwrap_or_else(|e| panic!("python3 (apt-get install -y python3-kubernetes): {e}"));
    assert!(py.status.success(), "python client: {}", String::from_utf8_lossy(&py.stderr));
    let out: Value = serde_json::from_slice(&py.stdout).unwrap_or_default();
    assert_eq!(out["abort"], true, "{out}");
    assert!(out["names"].as_array().is_some_and(|n| n.iter().any(|x| x == "checkout")), "{out}");
    assert!(out["watched"].as_array().is_some_and(|w| !w.is_empty() && w[0][0] == "ADDED"), "{out}");
    common::snapshot_where(
        &mut snaps,
        30,
        "the console sees the abort",
        |s| deployment(s, "checkout/us-east-1").is_some_and(|d| d.phase == CanaryPhase::Aborted),
        |s| format!("{:?}", deployment(s, "checkout/us-east-1")),
    )
    .await;
    // Asked to abort it again: read first, nothing sent.
    let before = patches(&url).await.unwrap_or(0);
    let e = act(&exec, &mut rx, Action::Rollback { deployment: "checkout/us-east-1".into() }).await;
    assert!(e.message.contains("already in effect"), "{}", e.message);
    assert_eq!(patches(&url).await.unwrap_or(0), before, "no patch");
    // Retry it: the aborted revision starts again from the first step.
    let e = act(&exec, &mut rx, Action::Retry { deployment: "checkout/us-east-1".into() }).await;
    assert_eq!(e.status, warroom::model::ActionStatus::Succeeded, "{}", e.message);
    let k = rollout(&kc, "us-east-1", "checkout");
    assert_eq!(
        (k["status"]["abort"].as_bool(), k["status"]["currentStepIndex"].as_u64()),
        (Some(false), Some(0)),
        "{}",
        k["status"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blue_green_switch_and_a_switch_back_within_the_window() {
    use warroom::actions::Action;
    use warroom::model::{ActionStatus, CanaryPhase};
    let (_sim, url) = common::spawn_sim(&["--scenario", "bad-green", "--at", "1m"]);
    let d = dir("bluegreen");
    let kc = kubeconfig(&d, &url);
    let (plane, exec, mut rx) = console(&kc, &d).await;
    let mut snaps = plane.snapshots.clone();
    let bg =
        |s: &warroom::model::Snapshot| s.fleet.deployments.items().iter().find(|d| d.blue_green.is_some()).cloned();
    let snap = common::snapshot_where(
        &mut snaps,
        30,
        "green waiting on standby",
        |s| bg(s).is_some_and(|d| d.phase == CanaryPhase::Paused),
        |s| format!("{:?} {:?}", s.fleet.deployments.error_text(), bg(s)),
    )
    .await;
    let d0 = bg(&snap).unwrap_or_else(|| panic!("no blue-green"));
    let b = d0.blue_green.clone().unwrap_or_default();
    assert_eq!(
        (b.active.revision.as_str(), b.preview.as_ref().map(|p| p.revision.as_str())),
        ("7", Some("8")),
        "{b:?}"
    );
    assert_eq!(b.pre_analysis.as_deref(), Some("Successful"));
    let switch = Action::Promote { deployment: d0.id.clone(), full: false };
    let p = switch.preview(&snap).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.effect[0].starts_with("starts serving: revision 8 (registry.example.com/"), "{:?}", p.effect);
    assert!(p.effect[1].contains("keeps running for 5m") && p.effect[1].contains("revision 7"), "{:?}", p.effect);
    let e = act(&exec, &mut rx, switch).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    // Green serves; its post-promotion analysis fails (bad-green); blue still runs.
    let snap = common::snapshot_where(
        &mut snaps,
        60,
        "green serving, analysis failed, blue kept",
        |s| {
            bg(s).and_then(|d| d.blue_green).is_some_and(|b| {
                b.active.revision == "8" && b.post_analysis.as_deref() == Some("Failed") && b.previous.is_some()
            })
        },
        |s| format!("{:?}", bg(s)),
    )
    .await;
    let back = Action::Rollback { deployment: d0.id.clone() };
    let p = back.preview(&snap).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.title, format!("Switch {} back?", d0.id));
    assert!(p.effect[0].contains("revision 7") && p.effect[0].contains("still running"), "{:?}", p.effect);
    let e = act(&exec, &mut rx, back).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    common::snapshot_where(
        &mut snaps,
        30,
        "blue serving again",
        |s| {
            bg(s).is_some_and(|d| {
                d.phase == CanaryPhase::Aborted && d.blue_green.is_some_and(|b| b.active.revision == "7")
            })
        },
        |s| format!("{:?}", bg(s)),
    )
    .await;
    // Each colour's replicas are its own ReplicaSet's, and the old colour's
    // scale-down deadline is the annotation on it: 5 minutes after the switch.
    let b = bg(&snap).and_then(|d| d.blue_green).unwrap_or_default();
    assert_eq!((b.active.ready, b.previous.as_ref().and_then(|p| p.ready)), (Some((10, 10)), Some((10, 10))), "{b:?}");
    let left = b.scale_down_at.map(|at| (at - chrono::Utc::now()).num_seconds()).unwrap_or(-1);
    assert!((200..=300).contains(&left), "blue scaled down in {left}s: {b:?}");
    // kubectl agrees.
    let name = d0.service.clone();
    let r = tokio::task::spawn_blocking(move || rollout(&kc, "us-east-1", &name)).await.unwrap_or_default();
    assert_eq!(r["status"]["blueGreen"]["activeSelector"], format!("{}-7", d0.service), "{}", r["status"]);
}

/// Promote a canary at each of its pauses until it is Healthy: one patch
/// per promote, each outcome read back. Returns the last snapshot.
async fn promote_step_by_step(
    url: &str,
    exec: &warroom::actions::executor::Executor,
    rx: &mut tokio::sync::mpsc::Receiver<warroom::sources::Update>,
    snaps: &mut tokio::sync::watch::Receiver<std::sync::Arc<warroom::model::Snapshot>>,
    mut snap: std::sync::Arc<warroom::model::Snapshot>,
    id: &str,
) -> std::sync::Arc<warroom::model::Snapshot> {
    use warroom::actions::Action;
    use warroom::model::CanaryPhase;
    let mut weights = vec![deployment(&snap, id).map(|x| x.weight).unwrap_or(-1.0)];
    for _ in 0..4 {
        let d = deployment(&snap, id).cloned().unwrap_or_else(|| panic!("no search"));
        if d.phase == CanaryPhase::Healthy {
            break;
        }
        assert_eq!(d.phase, CanaryPhase::Paused, "promoted only at a pause: {d:?}");
        let promote = Action::Promote { deployment: id.into(), full: false };
        assert!(promote.preview(&snap).is_ok());
        let before = patches(url).await.unwrap_or(0);
        let e = act(exec, rx, promote).await;
        assert_eq!(e.status, warroom::model::ActionStatus::Succeeded, "{}", e.message);
        assert!(e.message.contains("search in us-west-2"), "{}", e.message);
        assert_eq!(patches(url).await.unwrap_or(0) - before, 1, "one patch per promote");
        let step = d.step_index;
        snap = common::snapshot_where(
            snaps,
            30,
            "the next step",
            |s| deployment(s, id).is_some_and(|x| x.step_index > step || x.phase == CanaryPhase::Healthy),
            |s| format!("{:?}", deployment(s, id)),
        )
        .await;
        weights.push(deployment(&snap, id).map(|x| x.weight).unwrap_or(-1.0));
    }
    let done = deployment(&snap, id).cloned().unwrap_or_else(|| panic!("no {id}"));
    assert_eq!(done.phase, CanaryPhase::Healthy, "promoted to the end: weights {weights:?}");
    snap
}

/// Submit an action of alice's and wait for its outcome.
async fn act(
    exec: &warroom::actions::executor::Executor,
    rx: &mut tokio::sync::mpsc::Receiver<warroom::sources::Update>,
    action: warroom::actions::Action,
) -> warroom::model::ActionEntry {
    let i = alice(action);
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    common::action_outcome(rx, &key, 30).await
}

/// An intent of operator alice, to go now.
fn alice(action: warroom::actions::Action) -> warroom::actions::executor::Intent {
    warroom::actions::executor::Intent {
        action,
        key: warroom::actions::executor::new_key(),
        operator: warroom::actions::Operator { name: "alice".into(), role: warroom::actions::Role::Operator },
        disposition: warroom::actions::executor::Disposition::Go,
    }
}

/// Patches the simulator's Kubernetes API has received so far.
async fn patches(url: &str) -> Option<u64> {
    let v: Value = reqwest::get(format!("{url}/v1/stats")).await.ok()?.json().await.ok()?;
    v["requests"]["PATCH /k8s"].as_u64()
}

const PY_RS: &str = r#"
import json, sys
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1], context=sys.argv[2])
items = client.AppsV1Api().list_namespaced_replica_set("default").items
print(json.dumps([[i.metadata.name, i.metadata.annotations["rollout.argoproj.io/revision"], i.status.ready_replicas or 0] for i in items]))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_to_a_revision_from_its_replica_set() {
    use warroom::actions::Action;
    use warroom::model::{ActionStatus, CanaryPhase};
    let (_sim, url) = common::spawn_sim(&["--scenario", "bad-canary", "--at", "5m"]);
    let d = dir("undo");
    let kc = kubeconfig(&d, &url);
    let (plane, exec, mut rx) = console(&kc, &d).await;
    let mut snaps = plane.snapshots.clone();
    let snap = common::snapshot_where(
        &mut snaps,
        30,
        "checkout's revisions",
        |s| deployment(s, "checkout/us-east-1").is_some_and(|d| d.revisions.len() >= 3),
        |s| format!("{:?}", deployment(s, "checkout/us-east-1")),
    )
    .await;
    let checkout = deployment(&snap, "checkout/us-east-1").cloned().unwrap_or_else(|| panic!("no checkout"));
    let canary = checkout.canary_revision.clone().unwrap_or_else(|| panic!("no canary: {checkout:?}"));
    // kubectl and the Python client list the same ReplicaSets.
    let kc2 = kc.clone();
    let text = tokio::task::spawn_blocking(move || {
        kubectl(&kc2, &["--context", "us-east-1", "get", "replicasets", "-o", "json"])
    })
    .await
    .unwrap_or_default();
    let list: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let mut theirs: Vec<(String, u64)> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| rs["metadata"]["ownerReferences"][0]["name"] == "checkout")
        .map(|rs| {
            let rev = rs["metadata"]["annotations"]["rollout.argoproj.io/revision"].as_str().unwrap_or("");
            (rev.to_string(), rs["status"]["readyReplicas"].as_u64().unwrap_or(0))
        })
        .collect();
    theirs.sort();
    let mut ours: Vec<(String, u64)> =
        checkout.revisions.iter().map(|r| (r.revision.clone(), u64::from(r.ready))).collect();
    ours.sort();
    assert_eq!(ours, theirs, "the console's revisions are kubectl's ReplicaSets");
    let py = Command::new("/usr/bin/python3")
        .args(["-c", PY_RS, &kc.display().to_string(), "us-east-1"])
        .output()
        .unwrap_or_else(|e| panic!("python3 (apt-get install -y python3-kubernetes): {e}"));
    assert!(py.status.success(), "python client: {}", String::from_utf8_lossy(&py.stderr));
    let py: Value = serde_json::from_slice(&py.stdout).unwrap_or_default();
    assert!(py.as_array().is_some_and(|a| a.iter().any(|x| x[0] == format!("checkout-{canary}"))), "{py}");
    // Undo to the stable revision: the degraded canary is gone at once.
    let stable = checkout.stable_revision.clone();
    let undo = Action::Undo { deployment: checkout.id.clone(), revision: stable.clone() };
    let p = undo.preview(&snap).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.effect[0].contains(&format!("revision {canary} → revision {stable}")), "{:?}", p.effect);
    assert!(p.effect[1].contains("dropped"), "{:?}", p.effect);
    let unknown = Action::Undo { deployment: checkout.id.clone(), revision: "999".into() };
    assert!(unknown.preview(&snap).is_err_and(|e| e.contains("no revision 999")));
    let before = patches(&url).await.unwrap_or(0);
    let e = act(&exec, &mut rx, undo).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    assert_eq!(patches(&url).await.unwrap_or(0) - before, 1, "one JSON patch");
    common::snapshot_where(
        &mut snaps,
        30,
        "checkout back on its stable revision",
        |s| {
            deployment(s, "checkout/us-east-1")
                .is_some_and(|d| d.phase == CanaryPhase::Healthy && d.canary_revision.is_none())
        },
        |s| format!("{:?}", deployment(s, "checkout/us-east-1")),
    )
    .await;
    let kc3 = kc.clone();
    let k = tokio::task::spawn_blocking(move || rollout(&kc3, "us-east-1", "checkout")).await.unwrap_or_default();
    assert_eq!(k["status"]["currentPodHash"], format!("checkout-{stable}"), "{}", k["status"]);
    // Undo the paused canary of search to the revision before its stable
    // one: that one rolls out again, as a new canary from the first step.
    let search = deployment(&snap, "search/us-west-2").cloned().unwrap_or_else(|| panic!("no search"));
    let older = search
        .revisions
        .iter()
        .map(|r| r.revision.clone())
        .find(|r| *r != search.stable_revision && Some(r) != search.canary_revision.as_ref())
        .unwrap_or_else(|| panic!("no older revision: {search:?}"));
    let e = act(&exec, &mut rx, Action::Undo { deployment: search.id.clone(), revision: older.clone() }).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    common::snapshot_where(
        &mut snaps,
        30,
        "search rolling out the older revision",
        |s| {
            deployment(s, "search/us-west-2").is_some_and(|d| {
                d.canary_revision.as_deref() == Some(older.as_str())
                    && d.step_index == 0
                    && d.phase == CanaryPhase::Progressing
            })
        },
        |s| format!("{:?}", deployment(s, "search/us-west-2")),
    )
    .await;
}

/// The sim behind a TLS terminator nobody here wrote (socat with OpenSSL),
/// which asks for a client certificate signed by the test's CA.
fn tls_front(certs: &Path, sim: &str) -> (common::KillOnDrop, String) {
    common::need("socat", "socat");
    let port = sim.rsplit(':').next().unwrap_or("0");
    let mut cmd = Command::new("socat");
    cmd.args([
        "OPENSSL-LISTEN:0,bind=127.0.0.1,reuseaddr,fork,cert=srv.pem,key=srv.key,cafile=ca.pem,verify=1",
        &format!("TCP:127.0.0.1:{port}"),
    ])
    .current_dir(certs);
    let (proc_, port) = common::start_on_port_zero(&mut cmd, &certs.join("socat.log"), "socat");
    (proc_, format!("https://127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollouts_over_tls_with_the_cluster_ca_and_a_client_certificate() {
    use warroom::actions::Action;
    use warroom::model::{ActionStatus, CanaryPhase};
    let (_sim, url) = common::spawn_sim(&["--scenario", "bad-canary", "--at", "5m"]);
    let certs = common::tls_certificates("kube");
    let (_tls, https) = tls_front(&certs, &url);
    let c = |f: &str| certs.join(f).display().to_string();
    // Without the cluster CA: refused, and the feed says why.
    let d = dir("tls-no-ca");
    let user = format!("    client-certificate: {}\n    client-key: {}\n", c("client.pem"), c("client.key"));
    let kc = kubeconfig_with(&d, &https, "", &user);
    let (plane, _exec, _rx) = console(&kc, &d).await;
    let mut snaps = plane.snapshots.clone();
    common::snapshot_where(
        &mut snaps,
        30,
        "a certificate error",
        |s| s.fleet.deployments.error_text().is_some_and(|e| e.to_lowercase().contains("certificate")),
        |s| format!("{:?}", s.fleet.deployments.error_text()),
    )
    .await;
    // With the CA and the client certificate: the watch, and an abort.
    let d = dir("tls");
    let kc = kubeconfig_with(&d, &https, &format!("    certificate-authority: {}\n", c("ca.pem")), &user);
    let (plane, exec, mut rx) = console(&kc, &d).await;
    let mut snaps = plane.snapshots.clone();
    common::snapshot_where(
        &mut snaps,
        30,
        "rollouts over TLS",
        |s| deployment(s, "checkout/us-east-1").is_some_and(|d| d.phase == CanaryPhase::Degraded),
        |s| format!("{:?} {:?}", s.fleet.deployments.error_text(), deployment(s, "checkout/us-east-1")),
    )
    .await;
    let e = act(&exec, &mut rx, Action::Rollback { deployment: "checkout/us-east-1".into() }).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    common::snapshot_where(
        &mut snaps,
        30,
        "the abort over TLS",
        |s| deployment(s, "checkout/us-east-1").is_some_and(|d| d.phase == CanaryPhase::Aborted),
        |s| format!("{:?}", deployment(s, "checkout/us-east-1")),
    )
    .await;
}
