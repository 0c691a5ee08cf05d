//! Signed audit checkpoints: a whole rewrite of the trail (every hash and
//! the head recomputed) passes the chain check, and fails against a
//! checkpoint kept elsewhere; forged and edited checkpoints are refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use warroom::audit::{AuditLog, Entry, Record, GENESIS};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("warroom-cp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    if let Err(e) = std::fs::create_dir_all(&d) {
        panic!("{}: {e}", d.display());
    }
    d
}

fn entry(i: usize) -> Entry {
    Entry {
        event: "outcome",
        operator: "alice".into(),
        role: "operator".into(),
        action: serde_json::json!({"kind": "flag", "n": i}),
        summary: format!("toggle flag {i}"),
        key: format!("k{i}"),
        result: "succeeded",
        message: "done".into(),
        backend: "demo".into(),
    }
}

/// A trail at `trail` with `n` records appended (its first record signs a
/// checkpoint by itself).
fn trail_with(trail: &Path, n: usize) -> AuditLog {
    let mut log = match AuditLog::open(trail) {
        Ok(l) => l,
        Err(e) => panic!("{e}"),
    };
    for i in 0..n {
        if let Err(e) = log.append(entry(i)) {
            panic!("{e}");
        }
    }
    log
}

fn warroom(args: &[&str]) -> (bool, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_warroom")).args(args).env("WARROOM_STATE_DIR", "/nonexistent-cp").output();
    let Ok(out) = out else { panic!("cannot run warroom") };
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// Rewrite the whole trail with `edit` applied, every hash and the head
/// recomputed: what someone with write access to the files can do.
fn rewrite(trail: &Path, edit: impl Fn(&mut Record)) {
    let text = std::fs::read_to_string(trail).unwrap_or_default();
    let mut prev = GENESIS.to_string();
    let mut out = String::new();
    let mut last = (0, String::new());
    for line in text.lines() {
        let Ok(mut r) = serde_json::from_str::<Record>(line) else { panic!("bad record") };
        edit(&mut r);
        r.prev = prev.clone();
        r.hash = None;
        let h = r.digest();
        r.hash = Some(h.clone());
        out.push_str(&serde_json::to_string(&r).unwrap_or_default());
        out.push('\n');
        prev = h.clone();
        last = (r.seq, h);
    }
    let _ = std::fs::write(trail, out);
    let mut head = trail.as_os_str().to_owned();
    head.push(".head");
    let _ = std::fs::write(PathBuf::from(head), format!("{{\"seq\":{},\"hash\":\"{}\"}}", last.0, last.1));
}

#[test]
fn a_whole_chain_rewrite_passes_the_chain_check_and_fails_the_checkpoint() {
    let d = dir("rewrite");
    let trail = d.join("audit.jsonl");
    let t = trail.to_string_lossy().to_string();
    let log = trail_with(&trail, 5);
    // The first record signed one by itself; the CLI signs the fifth.
    let own = warroom::checkpoint::read(&warroom::checkpoint::checkpoints_path(&trail)).unwrap_or_default();
    assert_eq!(own.first().map(|c| c.seq), Some(1));
    let (ok, line, err) = warroom(&["audit", "checkpoint", "--file", &t]);
    assert!(ok && err.contains("signed record 5"), "{line}{err}");
    let kept = d.join("kept-elsewhere.jsonl");
    let _ = std::fs::write(&kept, &line);
    let k = kept.to_string_lossy().to_string();
    let (ok, out, err) = warroom(&["audit", "verify", "--file", &t, "--checkpoint", &k]);
    assert!(ok && out.contains("1 signed checkpoint(s) hold (up to record 5)"), "{out}{err}");
    // Appending after the checkpoint changes nothing it signed.
    drop(log);
    drop(trail_with(&trail, 1));
    assert!(warroom(&["audit", "verify", "--file", &t, "--checkpoint", &k]).0);
    // Record 2's outcome turned into a failure, the chain recomputed.
    rewrite(&trail, |r| {
        if r.seq == 2 {
            r.result = "failed".into();
        }
    });
    let (ok, out, _) = warroom(&["audit", "verify", "--file", &t]);
    assert!(ok && out.contains("chain intact"), "the chain alone cannot tell: {out}");
    let (ok, out, err) = warroom(&["audit", "verify", "--file", &t, "--checkpoint", &k]);
    assert!(!ok && err.contains("TAMPERED: record 5 is not the one signed at"), "{out}{err}");
    // Records cut off after the rewrite: the checkpoint counted more.
    let text = std::fs::read_to_string(&trail).unwrap_or_default();
    let first3: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    let _ = std::fs::write(&trail, first3);
    rewrite(&trail, |_| {});
    let (ok, _, err) = warroom(&["audit", "verify", "--file", &t, "--checkpoint", &k]);
    assert!(!ok && err.contains("the trail has 3 records, but a checkpoint signed at"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn forged_edited_and_foreign_checkpoints_are_refused() {
    let d = dir("forged");
    let trail = d.join("audit.jsonl");
    let t = trail.to_string_lossy().to_string();
    let _log = trail_with(&trail, 3);
    let cp = match warroom::checkpoint::sign_now(&trail) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let kept = d.join("kept.jsonl");
    let k = kept.to_string_lossy().to_string();
    // The head edited to match a rewrite, the signature kept: refused.
    let mut edited = cp.clone();
    edited.head = "ab".repeat(32);
    let _ = std::fs::write(&kept, serde_json::to_string(&edited).unwrap_or_default());
    let (ok, _, err) = warroom(&["audit", "verify", "--file", &t, "--checkpoint", &k]);
    assert!(!ok && err.contains("the signature does not verify"), "{err}");
    // Signed, but by another key than the one pinned.
    let _ = std::fs::write(&kept, serde_json::to_string(&cp).unwrap_or_default());
    let other = "00".repeat(32);
    let (ok, _, err) = warroom(&["audit", "verify", "--file", &t, "--checkpoint", &k, "--key", &other]);
    assert!(!ok && err.contains("signed by another key"), "{err}");
    assert!(warroom(&["audit", "verify", "--file", &t, "--checkpoint", &k, "--key", &cp.key]).0);
    // Garbage in the checkpoint file: named with its line.
    let _ = std::fs::write(&kept, "{\"seq\": 1}\n");
    let (ok, _, err) = warroom(&["audit", "verify", "--file", &t, "--checkpoint", &k]);
    assert!(!ok && err.contains("kept.jsonl:1: not a checkpoint"), "{err}");
    // The signing key is the owner's only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(warroom::checkpoint::key_path(&trail)).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(mode.ok(), Some(0o600));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_checkpoint_is_signed_every_hundred_records() {
    let d = dir("every");
    let trail = d.join("audit.jsonl");
    let _log = trail_with(&trail, 200);
    let own = warroom::checkpoint::read(&warroom::checkpoint::checkpoints_path(&trail)).unwrap_or_default();
    let seqs: Vec<u64> = own.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, vec![1, 100, 200]);
    assert!(matches!(warroom::checkpoint::verify(&trail, &own, None), Ok(Ok(3))));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_export_since_a_date_verifies_on_its_own_and_names_what_was_changed() {
    let d = dir("export");
    let trail = d.join("audit.jsonl");
    let t = trail.to_string_lossy().to_string();
    drop(trail_with(&trail, 150));
    let (ok, out, err) = warroom(&["audit", "export", "--since", "2000-01-01", "--file", &t]);
    assert!(ok && err.contains("152 line(s)"), "150 records and 2 checkpoints: {err}");
    let x = d.join("export.jsonl");
    let xs = x.to_string_lossy().to_string();
    let _ = std::fs::write(&x, &out);
    let (ok, said, err) = warroom(&["audit", "verify", "--export", &xs]);
    assert!(
        ok && said.contains(
            "150 records (1..150), chain intact, signed up to record 100; records 101..150 by the chain only"
        ),
        "{said}{err}"
    );
    // One record's result edited in the export.
    let edited: String = out
        .lines()
        .map(|l| {
            if l.contains("\"seq\":3,") {
                l.replace("\"result\":\"succeeded\"", "\"result\":\"failed\"")
            } else {
                l.to_string()
            }
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let _ = std::fs::write(&x, edited);
    let (ok, _, err) = warroom(&["audit", "verify", "--export", &xs]);
    assert!(!ok && err.contains("record 3 was modified"), "{err}");
    // A record left out.
    let without: String = out.lines().filter(|l| !l.contains("\"seq\":50,")).map(|l| format!("{l}\n")).collect();
    let _ = std::fs::write(&x, without);
    let (ok, _, err) = warroom(&["audit", "verify", "--export", &xs]);
    assert!(!ok && err.contains("record 51 does not follow record 49"), "{err}");
    // Nothing since the future; a bad date and format are refused.
    let (ok, out, _) = warroom(&["audit", "export", "--since", "2999-01-01", "--file", &t]);
    assert!(ok && out.is_empty());
    let (ok, _, err) = warroom(&["audit", "export", "--since", "yesterday", "--file", &t]);
    assert!(!ok && err.contains("--since yesterday: not a date"), "{err}");
    let (ok, _, err) = warroom(&["audit", "export", "--since", "2000-01-01", "--format", "csv", "--file", &t]);
    assert!(!ok && err.contains("only jsonl"), "{err}");
    let (ok, _, err) = warroom(&["audit", "verify", "--file", &t, "--key", "00"]);
    assert!(!ok && err.contains("--key pins the signer"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}
