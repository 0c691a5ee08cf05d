//! Signed checkpoints of the audit trail (issue 22, item 6).
//!
//! The hash chain catches an edit, a deletion or a reordering, but not a
//! whole rewrite: recompute every hash and the head, and `audit verify`
//! passes. A checkpoint is the trail's record count and head hash at a
//! moment, signed with an Ed25519 key kept beside the trail
//! (`<trail>.signing-key`, PKCS#8, 0600). Checkpoints go to
//! `<trail>.checkpoints` (one JSON line each): every `EVERY_RECORDS`
//! records, on an append when the last one is `EVERY_SECS` old, and on
//! `warroom audit checkpoint`. A copy kept elsewhere (another host, a
//! ticket, a mail) then proves what the trail said up to that record:
//! `warroom audit verify --checkpoint FILE` fails if the record at the
//! checkpoint's count no longer has the signed hash.
//!
//! What this does not prove: that the trail was complete or honest before
//! the checkpoint was taken, or anything against someone who holds the
//! signing key and all the kept copies. docs/security.md has the model.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::audit::{beside, hex};

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};

/// A checkpoint every this many records…
pub const EVERY_RECORDS: u64 = 100;
/// …and on an append once the last checkpoint is this old (seconds).
pub const EVERY_SECS: u64 = 600;

/// One signed checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Records in the trail when it was signed (the last one's `seq`).
    pub seq: u64,
    /// That record's hash.
    pub head: String,
    pub ts: String,
    /// The signer's Ed25519 public key, hex.
    pub key: String,
    /// The signature over `message(seq, head, ts)`, hex.
    pub sig: String,
}

/// What is signed: versioned, one field per line.
fn message(seq: u64, head: &str, ts: &str) -> String {
    format!("warroom audit checkpoint v1\n{seq}\n{head}\n{ts}\n")
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Where the signing key of a trail is.
pub fn key_path(trail: &Path) -> PathBuf {
    beside(trail, ".signing-key")
}

/// Where a trail's own checkpoints go.
pub fn checkpoints_path(trail: &Path) -> PathBuf {
    beside(trail, ".checkpoints")
}

/// The trail's signing key, made (0600) on first use.
pub fn signing_key(trail: &Path) -> Result<Ed25519KeyPair, String> {
    let path = key_path(trail);
    match std::fs::read(&path) {
        Ok(der) => {
            Ed25519KeyPair::from_pkcs8(&der).map_err(|e| format!("{}: not an Ed25519 PKCS#8 key ({e})", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| "cannot generate a signing key".to_string())?;
            let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
            let mut f = {
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::OpenOptions::new().create_new(true).write(true).mode(0o600).open(&path).map_err(err)?
            };
            f.write_all(der.as_ref()).and_then(|_| f.sync_all()).map_err(err)?;
            Ed25519KeyPair::from_pkcs8(der.as_ref()).map_err(|e| format!("{}: {e}", path.display()))
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Sign the trail as it is now (it must verify) and append the checkpoint
/// to `<trail>.checkpoints`.
pub fn sign_now(trail: &Path) -> Result<Checkpoint, String> {
    let (seq, head) = match crate::audit::verify(trail)? {
        crate::audit::Verdict::Ok { records, last } => (records, last),
        crate::audit::Verdict::Bad(why) => {
            return Err(format!("{}: not signed, it fails verification: {why}", trail.display()))
        }
    };
    let key = signing_key(trail)?;
    let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let sig = key.sign(message(seq, &head, &ts).as_bytes());
    let cp = Checkpoint { seq, head, ts, key: hex(key.public_key().as_ref()), sig: hex(sig.as_ref()) };
    let mut line = serde_json::to_string(&cp).map_err(|e| e.to_string())?;
    line.push('\n');
    let path = checkpoints_path(trail);
    let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let mut f = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&path).map_err(err)?
    };
    f.write_all(line.as_bytes()).and_then(|_| f.sync_all()).map_err(err)?;
    Ok(cp)
}

/// After an append of record `seq`: a checkpoint if it is due.
pub fn due(trail: &Path, seq: u64) -> bool {
    if seq.is_multiple_of(EVERY_RECORDS) {
        return true;
    }
    match std::fs::metadata(checkpoints_path(trail)).and_then(|m| m.modified()) {
        Ok(t) => t.elapsed().is_ok_and(|a| a.as_secs() >= EVERY_SECS),
        // None yet: the trail's first record gets one.
        Err(_) => true,
    }
}

/// Read checkpoints (one JSON line each); a bad line is named by number.
pub fn read(path: &Path) -> Result<Vec<Checkpoint>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let cp =
            serde_json::from_str(line).map_err(|e| format!("{}:{}: not a checkpoint ({e})", path.display(), i + 1))?;
        out.push(cp);
    }
    if out.is_empty() {
        return Err(format!("{}: no checkpoints in it", path.display()));
    }
    Ok(out)
}

/// Whether a checkpoint's signature is its key's (and, when `pinned`, the
/// key is that one).
pub fn signed(cp: &Checkpoint, pinned: Option<&str>) -> Result<(), String> {
    if let Some(k) = pinned {
        if !k.trim().eq_ignore_ascii_case(&cp.key) {
            return Err(format!("checkpoint of record {} ({}) is signed by another key ({})", cp.seq, cp.ts, cp.key));
        }
    }
    let (Some(key), Some(sig)) = (unhex(&cp.key), unhex(&cp.sig)) else {
        return Err(format!("checkpoint of record {} ({}): key or signature is not hex", cp.seq, cp.ts));
    };
    UnparsedPublicKey::new(&ED25519, key).verify(message(cp.seq, &cp.head, &cp.ts).as_bytes(), &sig).map_err(|_| {
        format!("checkpoint of record {} ({}): the signature does not verify (forged or edited)", cp.seq, cp.ts)
    })
}

/// Check a trail against checkpoints kept elsewhere: each must be signed,
/// and the trail's record at its count must still have the signed hash.
/// The first problem, or how many checkpoints hold.
pub fn verify(trail: &Path, kept: &[Checkpoint], pinned: Option<&str>) -> Result<Result<usize, String>, String> {
    let records = crate::audit::records(trail)?;
    for cp in kept {
        if let Err(e) = signed(cp, pinned) {
            return Ok(Err(e));
        }
        if cp.seq == 0 {
            continue;
        }
        let at = records.iter().find(|r| r.seq == cp.seq);
        match at {
            None => {
                return Ok(Err(format!(
                    "the trail has {} records, but a checkpoint signed at {} counted {} (records removed)",
                    records.len(),
                    cp.ts,
                    cp.seq
                )))
            }
            Some(r) if r.hash.as_deref() != Some(cp.head.as_str()) => {
                return Ok(Err(format!(
                    "record {} is not the one signed at {} (the trail was rewritten up to there)",
                    cp.seq, cp.ts
                )))
            }
            Some(_) => {}
        }
    }
    Ok(Ok(kept.len()))
}

/// One line of an export: a record as stored, or a checkpoint that signs
/// the record before it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum ExportLine {
    Record(Box<crate::audit::Record>),
    Checkpoint(Checkpoint),
}

/// `warroom audit export --since DATE`: the records from the first one at
/// or after `since` (RFC 3339 or a date), each followed by the trail's
/// checkpoints that sign it, as JSON lines.
pub fn export(trail: &Path, since: chrono::DateTime<chrono::Utc>) -> Result<Vec<String>, String> {
    if let crate::audit::Verdict::Bad(why) = crate::audit::verify(trail)? {
        return Err(format!("{}: not exported, it fails verification: {why}", trail.display()));
    }
    let records = crate::audit::records(trail)?;
    let own = match read(&checkpoints_path(trail)) {
        Ok(c) => c,
        Err(_) if !checkpoints_path(trail).exists() => Vec::new(),
        Err(e) => return Err(e),
    };
    let from = records.iter().position(|r| {
        chrono::DateTime::parse_from_rfc3339(&r.ts).map(|t| t.with_timezone(&chrono::Utc) >= since).unwrap_or(false)
    });
    let mut out = Vec::new();
    for r in from.map(|i| &records[i..]).unwrap_or(&[]) {
        out.push(serde_json::to_string(&ExportLine::Record(Box::new(r.clone()))).map_err(|e| e.to_string())?);
        for c in own.iter().filter(|c| c.seq == r.seq) {
            out.push(serde_json::to_string(&ExportLine::Checkpoint(c.clone())).map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}

/// Check an export on its own: each record's hash is its own, each
/// follows the one before (the first may follow anything: the export
/// starts mid-trail), sequence numbers run on, and each checkpoint is
/// signed (by `pinned`, if given) over the record before it. Records
/// after the last checkpoint are vouched for by the chain only: said.
pub fn verify_export(path: &Path, pinned: Option<&str>) -> Result<Result<String, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut last: Option<crate::audit::Record> = None;
    let (mut n, mut signed_up_to, mut first) = (0u64, None, None);
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = format!("line {}", i + 1);
        match serde_json::from_str::<ExportLine>(line) {
            Err(e) => return Ok(Err(format!("{at}: not an export line ({e})"))),
            Ok(ExportLine::Record(r)) => {
                if r.hash.as_deref() != Some(r.digest().as_str()) {
                    return Ok(Err(format!("{at}: record {} was modified (hash mismatch)", r.seq)));
                }
                if let Some(p) = &last {
                    if r.seq != p.seq + 1 || Some(r.prev.as_str()) != p.hash.as_deref() {
                        return Ok(Err(format!("{at}: record {} does not follow record {}", r.seq, p.seq)));
                    }
                }
                first.get_or_insert(r.seq);
                n += 1;
                last = Some(*r);
            }
            Ok(ExportLine::Checkpoint(c)) => {
                if let Err(e) = signed(&c, pinned) {
                    return Ok(Err(format!("{at}: {e}")));
                }
                let Some(r) = &last else { return Ok(Err(format!("{at}: a checkpoint before any record"))) };
                if c.seq != r.seq || r.hash.as_deref() != Some(c.head.as_str()) {
                    return Ok(Err(format!("{at}: the checkpoint of record {} does not sign record {}", c.seq, r.seq)));
                }
                signed_up_to = Some(c.seq);
            }
        }
    }
    let (Some(a), Some(b)) = (first, last.map(|r| r.seq)) else {
        return Ok(Err(format!("{}: no records", path.display())));
    };
    let tail = match signed_up_to {
        Some(s) if s == b => "all signed".to_string(),
        Some(s) => format!("signed up to record {s}; records {}..{b} by the chain only", s + 1),
        None => "no checkpoint in it: the chain only".to_string(),
    };
    Ok(Ok(format!("{n} records ({a}..{b}), chain intact, {tail}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_odd_or_bad_hex_is_refused() {
        assert_eq!(unhex(&hex(&[0, 1, 254, 255])), Some(vec![0, 1, 254, 255]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é1"), None);
    }
}
