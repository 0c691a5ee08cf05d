//! `warroom audit`.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Check the hash chain; exits non-zero naming the first bad record.
    Verify {
        /// Trail to check (default: the state directory's).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// The embedded demo fleet's trail instead of the real one.
        #[arg(long)]
        demo: bool,
        /// Signed checkpoints kept elsewhere (JSON lines, as `audit
        /// checkpoint` prints them): a rewrite of the trail up to any of
        /// them fails, though the chain alone would pass.
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
        /// With --checkpoint or --export: the signer's public key (hex)
        /// the checkpoints must carry.
        #[arg(long)]
        key: Option<String>,
        /// Check an `audit export` file on its own instead of the trail.
        #[arg(long, conflicts_with_all = ["file", "demo", "checkpoint"])]
        export: Option<std::path::PathBuf>,
    },
    /// Records from a date on, each followed by the checkpoints that sign
    /// it, as JSON lines (`{"record": …}`, `{"checkpoint": …}`), for
    /// auditors; `audit verify --export FILE` checks such a file alone.
    Export {
        /// First day (`2026-12-01`) or instant (RFC 3339) to export.
        #[arg(long)]
        since: String,
        /// Output format (only `jsonl`).
        #[arg(long, default_value = "jsonl")]
        format: String,
        /// Trail to export (default: the state directory's).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// The embedded demo fleet's trail instead of the real one.
        #[arg(long)]
        demo: bool,
    },
    /// Sign a checkpoint of the trail now (count, head hash, time; Ed25519)
    /// and print it: keep the line somewhere the trail's host cannot write.
    Checkpoint {
        /// Trail to sign (default: the state directory's).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// The embedded demo fleet's trail instead of the real one.
        #[arg(long)]
        demo: bool,
    },
    /// Show the most recent records.
    Tail {
        /// How many records to show.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Keep printing records as they are appended (Ctrl-C ends).
        #[arg(short = 'f', long)]
        follow: bool,
        /// The records as JSON lines, exactly as stored.
        #[arg(long)]
        json: bool,
        /// Trail to read (default: the state directory's).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// The embedded demo fleet's trail instead of the real one.
        #[arg(long)]
        demo: bool,
    },
}

pub fn run(what: AuditCmd) -> Result<(), String> {
    match what {
        AuditCmd::Verify { export: Some(x), key, .. } => {
            match warroom::checkpoint::verify_export(&x, key.as_deref())? {
                Ok(words) => {
                    println!("{}: OK, {words}", x.display());
                    Ok(())
                }
                Err(why) => Err(format!("{}: TAMPERED: {why}", x.display())),
            }
        }
        AuditCmd::Verify { file, demo, checkpoint, key, .. } => verify(file, demo, checkpoint, key),
        AuditCmd::Export { since, format, file, demo } => {
            if format != "jsonl" {
                return Err(format!("--format {format}: only jsonl is supported"));
            }
            let at = chrono::DateTime::parse_from_rfc3339(&since)
                .map(|t| t.with_timezone(&chrono::Utc))
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(&since, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
                })
                .map_err(|_| format!("--since {since}: not a date (2026-12-01) or an RFC 3339 time"))?;
            let path = audit_path(file, demo)?;
            let lines = warroom::checkpoint::export(&path, at)?;
            for l in &lines {
                println!("{l}");
            }
            eprintln!("{} line(s) from {} since {}", lines.len(), path.display(), at.to_rfc3339());
            Ok(())
        }
        AuditCmd::Checkpoint { file, demo } => {
            let path = audit_path(file, demo)?;
            let cp = warroom::checkpoint::sign_now(&path)?;
            println!("{}", serde_json::to_string(&cp).map_err(|e| e.to_string())?);
            eprintln!(
                "signed record {} of {} (also appended to {}); keep this line elsewhere",
                cp.seq,
                path.display(),
                warroom::checkpoint::checkpoints_path(&path).display()
            );
            Ok(())
        }
        AuditCmd::Tail { lines, file, demo, follow, json } => tail(lines, file, demo, follow, json),
    }
}

fn audit_path(file: Option<std::path::PathBuf>, demo: bool) -> Result<std::path::PathBuf, String> {
    if demo {
        warroom::paths::set_demo();
    }
    match file {
        Some(f) => Ok(f),
        None => warroom::paths::audit_file(),
    }
}

fn verify(
    file: Option<std::path::PathBuf>,
    demo: bool,
    checkpoint: Option<std::path::PathBuf>,
    key: Option<String>,
) -> Result<(), String> {
    let path = audit_path(file, demo)?;
    let records = match warroom::audit::verify(&path)? {
        warroom::audit::Verdict::Ok { records, .. } => records,
        warroom::audit::Verdict::Bad(why) => return Err(format!("{}: TAMPERED: {why}", path.display())),
    };
    let Some(kept) = checkpoint else {
        if key.is_some() {
            return Err("--key pins the signer of --checkpoint or --export: give one of them".into());
        }
        println!("{}: OK, {records} records, chain intact", path.display());
        return Ok(());
    };
    let cps = warroom::checkpoint::read(&kept)?;
    match warroom::checkpoint::verify(&path, &cps, key.as_deref())? {
        Ok(n) => {
            let last = cps.iter().map(|c| c.seq).max().unwrap_or(0);
            println!(
                "{}: OK, {records} records, chain intact, {n} signed checkpoint(s) hold (up to record {last})",
                path.display()
            );
            Ok(())
        }
        Err(why) => Err(format!("{}: TAMPERED: {why}", path.display())),
    }
}

fn tail(lines: usize, file: Option<std::path::PathBuf>, demo: bool, follow: bool, json: bool) -> Result<(), String> {
    let path = audit_path(file, demo)?;
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let show = |l: &str| if json { l.to_string() } else { warroom::audit::human(l) };
    if all.is_empty() && !follow {
        println!("no audit records yet in {}", path.display());
        return Ok(());
    }
    for l in &all[all.len().saturating_sub(lines)..] {
        println!("{}", show(l));
    }
    if follow {
        use std::io::{BufRead, Seek};
        let mut at = text.len() as u64;
        loop {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let Ok(mut f) = std::fs::File::open(&path) else { continue };
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            if len < at {
                at = 0; // replaced (a repair): read it again from the start
            }
            if len == at || f.seek(std::io::SeekFrom::Start(at)).is_err() {
                continue;
            }
            let mut reader = std::io::BufReader::new(f);
            let mut line = String::new();
            // Whole lines only: a record still being written waits.
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line.ends_with('\n') {
                at += line.len() as u64;
                println!("{}", show(line.trim_end()));
                line.clear();
            }
        }
    }
    Ok(())
}
