//! The change timeline and the incidents on disk, in the state directory:
//! `changes-FLEET.jsonl` (one event per line, appended as they happen,
//! rewritten to the last `keep` once it holds twice that) and
//! `incidents/ID.json` (each written whole, through a temporary file).
//!
//! One process writes a fleet's journal: the first takes a lock on
//! `changes-FLEET.jsonl.lock` for its lifetime; another console on the same
//! fleet reads the history at start and keeps its own events in memory
//! (its snapshot says so).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::model::changes::{Change, ChangeLog};
use crate::model::incident::Incident;

/// The journal's file for a fleet (`what` names it: a configuration path,
/// a control-plane URL, `demo`), in `dir`.
pub fn journal_path(dir: &Path, what: &str) -> PathBuf {
    // FNV-1a: a short stable name, not a secret.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in what.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    dir.join(format!("changes-{:08x}.jsonl", h as u32))
}

/// The last `keep` events of a journal, oldest first, and a note when some
/// lines could not be read (they are skipped, never fatal).
pub fn load(path: &Path, keep: usize) -> (Vec<Change>, Option<String>) {
    let Ok(f) = File::open(path) else { return (Vec::new(), None) };
    let mut out = std::collections::VecDeque::new();
    let mut bad = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let Ok(line) = line else {
            bad.push(i + 1);
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Change>(&line) {
            Ok(c) => {
                out.push_back(c);
                if out.len() > keep {
                    out.pop_front();
                }
            }
            Err(_) => bad.push(i + 1),
        }
    }
    let note = (!bad.is_empty()).then(|| {
        let first: Vec<String> = bad.iter().take(3).map(|n| format!("{}:{n}", path.display())).collect();
        format!("{} unreadable line(s) of the change history skipped ({})", bad.len(), first.join(", "))
    });
    (out.into(), note)
}

pub struct Journal {
    path: PathBuf,
    file: File,
    lines: usize,
    keep: usize,
    /// Held for the process's lifetime: this process writes the journal.
    _lock: File,
}

impl Journal {
    /// Open for appending, if no other process holds the journal.
    pub fn open(path: &Path, keep: usize) -> Result<Journal, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let lock_path = path.with_extension("jsonl.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        if lock.try_lock().is_err() {
            return Err(format!(
                "another warroom process keeps this fleet's change history ({}): this console's events stay in memory",
                path.display()
            ));
        }
        let lines = File::open(path).map(|f| BufReader::new(f).lines().count()).unwrap_or(0);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(Journal { path: path.to_path_buf(), file, lines, keep, _lock: lock })
    }

    /// Append `new`; once the file holds twice `keep`, rewrite it with what
    /// the log holds.
    pub fn append(&mut self, new: &[Change], log: &ChangeLog) -> Result<(), String> {
        if new.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for c in new {
            if serde_json::to_writer(&mut buf, c).is_ok() {
                buf.push(b'\n');
            }
        }
        let err = |e: std::io::Error| format!("cannot write the change history {}: {e}", self.path.display());
        self.file.write_all(&buf).map_err(err)?;
        self.lines += new.len();
        if self.lines > 2 * self.keep {
            self.compact(log)?;
        }
        Ok(())
    }

    fn compact(&mut self, log: &ChangeLog) -> Result<(), String> {
        let tmp = self.path.with_extension("jsonl.tmp");
        let err = |e: std::io::Error| format!("cannot rewrite the change history {}: {e}", self.path.display());
        let mut buf = Vec::new();
        let mut n = 0;
        for c in log.iter() {
            if serde_json::to_writer(&mut buf, c).is_ok() {
                buf.push(b'\n');
                n += 1;
            }
        }
        std::fs::write(&tmp, &buf).map_err(err)?;
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        self.file = OpenOptions::new().append(true).open(&self.path).map_err(err)?;
        self.lines = n;
        Ok(())
    }
}

/// Write an incident whole (temporary file, then rename).
pub fn write_incident(dir: &Path, inc: &Incident) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{}.json", inc.id));
    let tmp = dir.join(format!(".{}.json.tmp", inc.id));
    let body = serde_json::to_vec_pretty(inc).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, body).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Every incident in `dir`, newest first, and the files that could not be read.
pub fn incidents(dir: &Path) -> (Vec<Incident>, Vec<String>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "json")
            || p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        match std::fs::read(&p).map_err(|e| e.to_string()).and_then(|b| {
            serde_json::from_slice::<Incident>(&b).map_err(|e| format!("line {} column {}: {e}", e.line(), e.column()))
        }) {
            Ok(i) => out.push(i),
            Err(e) => bad.push(format!("{}: {e}", p.display())),
        }
    }
    out.sort_by_key(|i| std::cmp::Reverse(i.opened_at));
    (out, bad)
}

/// The incident still open in `dir`, if one is.
pub fn open_incident(dir: &Path) -> Option<Incident> {
    incidents(dir).0.into_iter().find(|i| i.resolved_at.is_none())
}
