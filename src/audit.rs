//! The audit trail: append-only JSON lines, each carrying the SHA-256 of the
//! record before it and of itself, plus a head file naming the last record,
//! so an edit, deletion, insertion, reordering or truncation is detected by
//! `warroom audit verify`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Hash that precedes the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit record. Field order is the serialisation order, which the hash
/// is computed over; unknown fields make a record invalid.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub seq: u64,
    pub ts: String,
    /// `intent`, `outcome`, `denied` or `refused`.
    pub event: String,
    pub operator: String,
    pub role: String,
    pub host: String,
    pub action: serde_json::Value,
    pub summary: String,
    pub key: String,
    /// `pending`, `succeeded`, `failed`, `refused` or `denied`.
    pub result: String,
    pub message: String,
    /// Where the action was sent (`http://cp.internal:8080`, `demo
    /// http://127.0.0.1:41234`); absent for logins and older records.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub backend: String,
    pub prev: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

impl Record {
    /// SHA-256 (hex) over the record without its own hash.
    pub fn digest(&self) -> String {
        let mut bare = self.clone();
        bare.hash = None;
        let bytes = serde_json::to_vec(&bare).unwrap_or_default();
        hex(&Sha256::digest(&bytes))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a caller supplies; sequence and hashes are the log's business.
#[derive(Debug, Clone)]
pub struct Entry {
    pub event: &'static str,
    pub operator: String,
    pub role: String,
    pub action: serde_json::Value,
    pub summary: String,
    pub key: String,
    pub result: &'static str,
    pub message: String,
    /// Where the action goes (empty for events that send nothing anywhere).
    pub backend: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Head {
    seq: u64,
    hash: String,
}

/// An open audit trail. Appends are serialised by the caller (one owner).
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    seq: u64,
    last: String,
    host: String,
}

fn head_path(path: &Path) -> PathBuf {
    beside(path, ".head")
}

/// The trail's path with `suffix` added: its head, key and checkpoints.
pub(crate) fn beside(trail: &Path, suffix: &str) -> PathBuf {
    let mut p = trail.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

impl AuditLog {
    /// Open (or create) the trail at `path`. An existing trail must verify,
    /// so new records never chain onto a tampered history.
    pub fn open(path: &Path) -> Result<AuditLog, String> {
        // A new state directory is the owner's only (0700); an existing one
        // is left as it is.
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let created = !path.exists();
        // Verified and repaired under the writers' lock: never half a record.
        let lock = {
            use std::os::unix::fs::OpenOptionsExt;
            OpenOptions::new().create(true).read(true).append(true).mode(0o600).open(path)
        }
        .map_err(|e| format!("cannot open audit trail {}: {e}", path.display()))?;
        lock.lock().map_err(|e| format!("cannot lock audit trail {}: {e}", path.display()))?;
        if created {
            // The new file's name is durable before any record is: fsync the directory.
            if let Some(dir) = dir {
                File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| format!("cannot sync {}: {e}", dir.display()))?;
            }
        }
        let mut lock = lock;
        // A partial last line (a crash mid-write) was never acknowledged: cut it.
        if lock.metadata().map(|m| m.len() > 0).unwrap_or(false) {
            let _ = tail_state(&mut lock, path);
        }
        // An empty trail with a head is a trail emptied after the fact:
        // verify names it (found by cargo mutants: it was opened as new).
        let nonempty = lock.metadata().map(|m| m.len() > 0).unwrap_or(false);
        let (seq, last) = if nonempty || head_path(path).exists() {
            match verify(path)? {
                Verdict::Ok { records, last } => {
                    // Bring a head left one behind by an interrupted write up to date.
                    write_head(path, records, &last)?;
                    (records, last)
                }
                Verdict::Bad(why) => return Err(format!("audit trail {} fails verification: {why}", path.display())),
            }
        } else {
            (0, GENESIS.to_string())
        };
        Ok(AuditLog { path: path.to_path_buf(), seq, last, host: host_name() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record and fsync it (and the head) before returning.
    ///
    /// Several processes may write one trail (a console and `serve-ssh` on
    /// one state directory): each append holds an exclusive lock on the
    /// file, re-reads the last record under it and chains onto that, so
    /// the chain never forks. A partial last line (a write cut short by a
    /// full disk or a crash, never acknowledged) is cut off first.
    pub fn append(&mut self, e: Entry) -> Result<Record, String> {
        let err = |e: std::io::Error| format!("cannot write audit trail {}: {e}", self.path.display());
        let mut f = {
            use std::os::unix::fs::OpenOptionsExt;
            OpenOptions::new().create(true).read(true).append(true).mode(0o600).open(&self.path).map_err(err)?
        };
        f.lock().map_err(err)?;
        let (seq, last) = tail_state(&mut f, &self.path)?;
        self.seq = seq;
        self.last = last;
        let mut rec = Record {
            seq: self.seq + 1,
            ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            event: e.event.into(),
            operator: e.operator,
            role: e.role,
            host: self.host.clone(),
            action: e.action,
            summary: e.summary,
            key: e.key,
            result: e.result.into(),
            message: e.message,
            backend: e.backend,
            prev: self.last.clone(),
            hash: None,
        };
        let hash = rec.digest();
        rec.hash = Some(hash.clone());
        let mut line = serde_json::to_string(&rec).map_err(|e| format!("cannot encode audit record: {e}"))?;
        line.push('\n');
        if let Err(e) = f.write_all(line.as_bytes()).and_then(|_| f.sync_all()) {
            // Not durable: leave no partial line behind for the next record.
            let _ = tail_state(&mut f, &self.path);
            return Err(err(e));
        }
        // The record is durable from here. A head that lags one record
        // behind is what verify accepts and the next append repairs.
        let head = write_head(&self.path, rec.seq, &hash);
        self.seq = rec.seq;
        self.last = hash;
        // A signed checkpoint when one is due (crate::checkpoint). Best
        // effort: the record is durable either way, and `warroom audit
        // checkpoint` signs one on demand.
        if head.is_ok() && crate::checkpoint::due(&self.path, rec.seq) {
            drop(f);
            let _ = crate::checkpoint::sign_now(&self.path);
        }
        head.map(|_| rec)
    }
}

/// Under the lock: the last complete record's (seq, hash), cutting off a
/// partial last line first. An empty file is the genesis.
fn tail_state(f: &mut File, path: &Path) -> Result<(u64, String), String> {
    use std::io::{Read, Seek, SeekFrom};
    let err = |e: std::io::Error| format!("cannot read audit trail {}: {e}", path.display());
    let len = f.metadata().map_err(err)?.len();
    if len == 0 {
        return Ok((0, GENESIS.to_string()));
    }
    // Read back from the end until the last complete line is in hand.
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        f.seek(SeekFrom::Start(start)).map_err(err)?;
        let mut buf = Vec::with_capacity((len - start) as usize);
        Read::take(&mut *f, len - start).read_to_end(&mut buf).map_err(err)?;
        let complete = match buf.iter().rposition(|b| *b == b'\n') {
            Some(i) => i + 1,
            None if start == 0 => 0,
            None => {
                window *= 4;
                continue;
            }
        };
        if complete < buf.len() {
            // A partial line: never fsynced as a whole, never acknowledged.
            f.set_len(start + complete as u64).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        let body = &buf[..complete];
        let body = body.strip_suffix(b"\n").unwrap_or(body);
        if body.is_empty() {
            return Ok((0, GENESIS.to_string()));
        }
        let line_start = body.iter().rposition(|b| *b == b'\n').map(|i| i + 1);
        let line = match line_start {
            Some(i) => &body[i..],
            None if start == 0 => body,
            None => {
                window *= 4;
                continue;
            }
        };
        let rec: Record = serde_json::from_slice(line)
            .map_err(|e| format!("audit trail {}: the last record is unreadable ({e})", path.display()))?;
        let hash =
            rec.hash.clone().ok_or_else(|| format!("audit trail {}: the last record has no hash", path.display()))?;
        return Ok((rec.seq, hash));
    }
}

/// Write the head file atomically (temp file, fsync, rename).
fn write_head(path: &Path, seq: u64, hash: &str) -> Result<(), String> {
    if seq == 0 {
        return Ok(());
    }
    let err = |e: std::io::Error| format!("cannot write audit head for {}: {e}", path.display());
    let head = serde_json::to_string(&Head { seq, hash: hash.to_string() }).unwrap_or_default();
    let tmp = head_path(path).with_extension("head.tmp");
    let mut h = {
        use std::os::unix::fs::OpenOptionsExt;
        OpenOptions::new().create(true).write(true).truncate(true).mode(0o600).open(&tmp).map_err(err)?
    };
    h.write_all(head.as_bytes()).map_err(err)?;
    h.sync_all().map_err(err)?;
    std::fs::rename(&tmp, head_path(path)).map_err(err)
}

#[derive(Debug, PartialEq)]
pub enum Verdict {
    Ok {
        records: u64,
        last: String,
    },
    /// What is wrong, naming the first bad record.
    Bad(String),
}

/// Check the whole trail: every line parses, sequence numbers run 1, 2, 3…,
/// each `prev` is the previous record's hash, each `hash` matches its
/// record, and the head file names the last record.
pub fn verify(path: &Path) -> Result<Verdict, String> {
    let f = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut prev = GENESIS.to_string();
    let mut second_last = String::new();
    let mut n = 0u64;
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let lineno = i + 1;
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let rec: Record = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => return Ok(Verdict::Bad(format!("line {lineno}: not a valid record ({e})"))),
        };
        let expect = n + 1;
        if rec.seq != expect {
            return Ok(Verdict::Bad(format!(
                "line {lineno}: record {} where record {expect} was expected (deleted, inserted or reordered records)",
                rec.seq
            )));
        }
        if rec.prev != prev {
            return Ok(Verdict::Bad(format!(
                "line {lineno}: record {} does not follow record {n} (chain broken)",
                rec.seq
            )));
        }
        let digest = rec.digest();
        if rec.hash.as_deref() != Some(digest.as_str()) {
            return Ok(Verdict::Bad(format!("line {lineno}: record {} was modified (hash mismatch)", rec.seq)));
        }
        second_last = std::mem::replace(&mut prev, digest);
        n = rec.seq;
    }
    match std::fs::read_to_string(head_path(path)) {
        Ok(text) => {
            let head: Head = match serde_json::from_str(&text) {
                Ok(h) => h,
                Err(_) => return Ok(Verdict::Bad("head file is not valid".into())),
            };
            // A crash between appending a record and updating the head leaves
            // the head exactly one behind a record that chains onto it.
            let one_behind = head.seq + 1 == n && head.hash == second_last;
            if (head.seq != n || head.hash != prev) && !one_behind {
                return Ok(Verdict::Bad(format!(
                    "the trail ends at record {n} but its head names record {} (records removed from the end)",
                    head.seq
                )));
            }
        }
        Err(_) if n == 0 => {}
        Err(_) => return Ok(Verdict::Bad("head file is missing".into())),
    }
    Ok(Verdict::Ok { records: n, last: prev })
}

/// The last `n` records as display lines.
/// Every record of the trail, in order (unreadable lines skipped; `verify`
/// is what judges them).
pub fn records(path: &Path) -> Result<Vec<Record>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

/// Intents with no later record of how they ended (a crash, or a quit
/// before the outcome): what the next start must reconcile by key.
pub fn unfinished(records: &[Record]) -> Vec<Record> {
    let ended: std::collections::HashSet<&str> =
        records.iter().filter(|r| r.event != "intent").map(|r| r.key.as_str()).collect();
    records.iter().filter(|r| r.event == "intent" && !ended.contains(r.key.as_str())).cloned().collect()
}

pub fn tail(path: &Path, n: usize) -> Result<Vec<String>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        // No trail yet is not an error: nothing has been recorded.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(format!("cannot open {}: {e}", path.display())),
    };
    let lines: Vec<&str> = text.lines().collect();
    Ok(lines[lines.len().saturating_sub(n)..].iter().map(|l| human(l)).collect())
}

/// One record as a line for a terminal: every field escaped, so a hostile
/// user name or backend message cannot move the cursor or set the clipboard.
pub fn human(line: &str) -> String {
    match serde_json::from_str::<Record>(line) {
        Ok(r) => {
            let e = |s: &str| escape_terminal(s);
            format!(
                "#{:<4} {} {:<8} {:<9} {}@{} ({}) {} — {}{}",
                r.seq,
                e(&r.ts),
                e(&r.event),
                e(&r.result),
                e(&r.operator),
                e(&r.host),
                e(&r.role),
                e(&r.summary),
                e(&r.message),
                if r.backend.is_empty() { String::new() } else { format!(" → {}", e(&r.backend)) }
            )
        }
        Err(_) => format!("(unreadable line) {}", escape_terminal(line)),
    }
}

/// Control characters (C0, DEL, C1) and bidirectional/zero-width format
/// characters written as visible escapes (`\u{1b}`); everything else as is.
pub fn escape_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let format_char =
            matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}');
        if c.is_control() || format_char {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> Entry {
        Entry {
            event: "intent",
            operator: "alice".into(),
            role: "operator".into(),
            action: serde_json::json!({"kind": "failover", "region": "us-east-1"}),
            summary: format!("fail over us-east-1 #{i}"),
            key: format!("k{i}"),
            result: "pending",
            backend: String::new(),
            message: String::new(),
        }
    }

    fn trail(dir: &Path) -> PathBuf {
        let path = dir.join("audit.jsonl");
        let mut log = match AuditLog::open(&path) {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        };
        for i in 0..5 {
            assert!(log.append(entry(i)).is_ok());
        }
        path
    }

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("warroom-audit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::create_dir_all(&d);
        d
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path).unwrap_or_default().lines().map(String::from).collect()
    }

    fn write(path: &Path, lines: &[String]) {
        let _ = std::fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>());
    }

    fn bad(path: &Path) -> String {
        match verify(path) {
            Ok(Verdict::Bad(why)) => why,
            other => panic!("expected a bad verdict, got {other:?}"),
        }
    }

    #[test]
    fn two_writers_on_one_trail_keep_one_chain() {
        let d = tmpdir("two");
        let path = d.join("audit.jsonl");
        let (Ok(mut a), Ok(mut b)) = (AuditLog::open(&path), AuditLog::open(&path)) else { panic!("open") };
        for i in 0..4 {
            assert!(a.append(entry(i)).is_ok());
            assert!(b.append(entry(100 + i)).is_ok());
        }
        assert!(matches!(verify(&path), Ok(Verdict::Ok { records: 8, .. })), "{:?}", verify(&path));
        // And at once, from threads in parallel.
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let Ok(mut log) = AuditLog::open(&path) else { return false };
                    (0..25).all(|i| log.append(entry(t * 1000 + i)).is_ok())
                })
            })
            .collect();
        assert!(handles.into_iter().all(|h| h.join().unwrap_or(false)));
        assert!(matches!(verify(&path), Ok(Verdict::Ok { records: 108, .. })), "{:?}", verify(&path));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode, 0o600, "the trail is private to its owner");
    }

    #[test]
    fn a_partial_last_line_is_cut_not_glued_to_the_next_record() {
        let d = tmpdir("partial");
        let path = trail(&d);
        let Ok(mut log) = AuditLog::open(&path) else { panic!("open") };
        // A write cut short (a full disk): half a record, no newline.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap_or_else(|e| panic!("{e}"));
        let _ = f.write_all(b"{\"seq\":6,\"ts\":\"2026-");
        drop(f);
        assert_eq!(log.append(entry(6)).map(|r| r.seq).ok(), Some(6));
        assert!(matches!(verify(&path), Ok(Verdict::Ok { records: 6, .. })), "{:?}", verify(&path));
    }

    #[test]
    fn opening_cuts_a_partial_last_line_and_chains_on() {
        let d = tmpdir("open-partial");
        let path = trail(&d);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap_or_else(|e| panic!("{e}"));
        let _ = f.write_all(b"{\"seq\":6,\"ts\":\"2026-");
        drop(f);
        // The next start (not the next append) repairs it.
        let Ok(mut log) = AuditLog::open(&path) else { panic!("a partial tail is repaired, not refused") };
        assert!(matches!(verify(&path), Ok(Verdict::Ok { records: 5, .. })), "{:?}", verify(&path));
        assert_eq!(log.append(entry(6)).map(|r| r.seq).ok(), Some(6));
    }

    #[test]
    fn an_emptied_trail_is_refused_not_started_afresh() {
        let d = tmpdir("emptied");
        let path = trail(&d);
        write(&path, &[]);
        let e = AuditLog::open(&path).err().unwrap_or_default();
        assert!(e.contains("fails verification"), "five records gone, the head says so: {e}");
    }

    #[test]
    fn a_new_trail_is_the_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let d = tmpdir("perms").join("state");
        let path = trail(&d);
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode(&d), 0o700, "a new state directory");
        assert_eq!(mode(&path), 0o600, "the trail");
        assert_eq!(mode(&head_path(&path)), 0o600, "its head");
    }

    #[test]
    fn unfinished_is_the_intents_without_an_outcome() {
        let rec = |event: &str, key: &str| Record { event: event.into(), key: key.into(), ..Record::default() };
        let all = vec![rec("intent", "k1"), rec("outcome", "k1"), rec("intent", "k2"), rec("denied", "k3")];
        let keys: Vec<String> = unfinished(&all).into_iter().map(|r| format!("{} {}", r.event, r.key)).collect();
        assert_eq!(keys, ["intent k2"]);
    }

    #[test]
    fn a_real_trail_verifies_and_reopens() {
        let d = tmpdir("ok");
        let path = trail(&d);
        assert!(matches!(verify(&path), Ok(Verdict::Ok { records: 5, .. })));
        let mut log = AuditLog::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(log.append(entry(9)).map(|r| r.seq).ok(), Some(6));
        assert!(matches!(verify(&path), Ok(Verdict::Ok { records: 6, .. })));
        assert_eq!(tail(&path, 2).map(|v| v.len()).ok(), Some(2));
    }

    #[test]
    fn an_edit_is_detected() {
        let d = tmpdir("edit");
        let path = trail(&d);
        let mut l = lines(&path);
        l[2] = l[2].replace("alice", "mallory");
        write(&path, &l);
        assert!(bad(&path).contains("record 3 was modified"), "{}", bad(&path));
    }

    #[test]
    fn an_edit_of_the_last_record_is_detected() {
        let d = tmpdir("edit-last");
        let path = trail(&d);
        let mut l = lines(&path);
        l[4] = l[4].replace("us-east-1", "eu-west-1");
        write(&path, &l);
        assert!(bad(&path).contains("record 5 was modified"));
    }

    #[test]
    fn a_deletion_is_detected() {
        let d = tmpdir("delete");
        let path = trail(&d);
        let mut l = lines(&path);
        l.remove(1);
        write(&path, &l);
        assert!(bad(&path).contains("record 3 where record 2 was expected"), "{}", bad(&path));
    }

    #[test]
    fn truncation_is_detected_by_the_head() {
        let d = tmpdir("truncate");
        let path = trail(&d);
        let mut l = lines(&path);
        l.pop();
        write(&path, &l);
        assert!(bad(&path).contains("head names record 5"), "{}", bad(&path));
    }

    #[test]
    fn a_head_one_behind_is_an_interrupted_write_not_tampering() {
        let d = tmpdir("interrupted");
        let path = trail(&d);
        let records = lines(&path);
        // Simulate a crash after appending record 5 but before its head.
        let head4: Record = serde_json::from_str(&records[3]).unwrap_or_else(|e| panic!("{e}"));
        let _ =
            std::fs::write(head_path(&path), format!("{{\"seq\":4,\"hash\":\"{}\"}}", head4.hash.unwrap_or_default()));
        assert!(matches!(verify(&path), Ok(Verdict::Ok { records: 5, .. })));
        // Two behind is truncation-shaped and stays an error.
        let head3: Record = serde_json::from_str(&records[2]).unwrap_or_else(|e| panic!("{e}"));
        let _ =
            std::fs::write(head_path(&path), format!("{{\"seq\":3,\"hash\":\"{}\"}}", head3.hash.unwrap_or_default()));
        assert!(matches!(verify(&path), Ok(Verdict::Bad(_))));
    }

    #[test]
    fn an_insertion_is_detected() {
        let d = tmpdir("insert");
        let path = trail(&d);
        let mut l = lines(&path);
        let forged = l[1].clone();
        l.insert(2, forged);
        write(&path, &l);
        assert!(bad(&path).contains("record 2 where record 3 was expected"), "{}", bad(&path));
    }

    #[test]
    fn reordering_is_detected() {
        let d = tmpdir("reorder");
        let path = trail(&d);
        let mut l = lines(&path);
        l.swap(1, 2);
        write(&path, &l);
        assert!(bad(&path).contains("line 2"), "{}", bad(&path));
    }

    #[test]
    fn an_added_field_is_detected() {
        let d = tmpdir("field");
        let path = trail(&d);
        let mut l = lines(&path);
        l[0] = l[0].replacen('{', "{\"approved\":true,", 1);
        write(&path, &l);
        assert!(bad(&path).contains("line 1: not a valid record"), "{}", bad(&path));
    }

    #[test]
    fn a_tampered_trail_is_not_extended() {
        let d = tmpdir("reopen");
        let path = trail(&d);
        let mut l = lines(&path);
        l[0] = l[0].replace("alice", "eve");
        write(&path, &l);
        assert!(AuditLog::open(&path).is_err());
    }
}
