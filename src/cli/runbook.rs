//! `warroom runbook`.

use clap::Subcommand;

use super::Cli;

#[derive(Subcommand)]
pub enum RunbookCmd {
    /// The runbooks (shipped and yours) and the runs kept in the state directory.
    List {
        /// The embedded demo fleet's runs instead of the real ones.
        #[arg(long)]
        demo: bool,
    },
    /// Check a runbook file (or name): kinds, expressions, actions, and the
    /// regions and services it names against the configuration (or the demo fleet).
    Lint { file: String },
    /// Open the console with this runbook running (resumes its unfinished run).
    Run {
        name: String,
        /// Parameters, e.g. --set region=us-west-2
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// End an unfinished run without resuming it (RUN is an id or `latest`).
    Abort {
        run: String,
        /// Why (kept in the run's timeline).
        #[arg(long)]
        reason: String,
        /// A run of the embedded demo fleet.
        #[arg(long)]
        demo: bool,
    },
    /// Write a run's timeline for the postmortem (RUN is an id or `latest`).
    Export {
        run: String,
        /// md (a Markdown timeline for the postmortem) or json (the whole
        /// run, for tools; `format: warroom-run/1`).
        #[arg(long, default_value = "md")]
        format: String,
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        /// A run of the embedded demo fleet.
        #[arg(long)]
        demo: bool,
    },
}

pub async fn run(cli: Cli, what: RunbookCmd) -> Result<(), String> {
    match what {
        RunbookCmd::List { demo } => list(demo),
        RunbookCmd::Lint { file } => lint(&cli, &file),
        RunbookCmd::Export { run, format, output, demo } => export(&run, &format, &output, demo),
        RunbookCmd::Abort { run, reason, demo } => abort(&run, &reason, demo),
        RunbookCmd::Run { name, set } => {
            let mut args = vec![name];
            args.extend(set);
            super::console::run(cli, Some(args)).await
        }
    }
}

fn list(demo: bool) -> Result<(), String> {
    if demo {
        warroom::paths::set_demo();
    }
    let (books, broken) = warroom::runbook::catalog();
    for b in &books {
        let src = if b.source == "built-in" { "built-in" } else { "yours" };
        println!("{:<20} {:<9} {} ({} steps)", b.name, src, b.description, b.steps.len());
    }
    for (n, errs) in &broken {
        println!("{n:<20} BROKEN");
        for e in errs {
            println!("    {e}");
        }
    }
    let dir = warroom::runbook::run::runs_dir()?;
    let runs = warroom::runbook::run::all_runs(&dir);
    if !runs.is_empty() {
        println!("\nruns in {}:", dir.display());
        for r in runs.iter().rev().take(20) {
            let status = match r.status {
                warroom::runbook::run::RunStatus::Running => format!("in progress at step {}", r.current + 1),
                warroom::runbook::run::RunStatus::Completed => "completed".into(),
                warroom::runbook::run::RunStatus::Aborted => "aborted".into(),
            };
            println!("  {:<44} {status} (started by {})", r.id, r.started_by);
        }
    }
    Ok(())
}

fn lint(cli: &Cli, file: &str) -> Result<(), String> {
    let p = std::path::Path::new(file);
    let (name, path, text) = if p.is_file() {
        let text = warroom::config::read_config_file(p).map_err(|e| format!("{file}: {e}"))?;
        let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or("runbook").to_string();
        (name, p.to_path_buf(), text)
    } else if let Some((n, t)) = warroom::runbook::BUILT_IN.iter().find(|(n, _)| *n == file) {
        (n.to_string(), std::path::PathBuf::from(format!("runbooks/{n}.toml")), t.to_string())
    } else {
        return Err(format!("no runbook file {file}"));
    };
    let known = match warroom::config::locate(cli.config.as_deref()) {
        Some(cp) => {
            let cfg = warroom::config::Config::load(&cp).map_err(|errs| {
                let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
                format!("invalid configuration:\n{}", lines.join("\n"))
            })?;
            warroom::runbook::Known::from_config(&cfg, &cp)
        }
        None => warroom::runbook::Known::demo(),
    };
    match warroom::runbook::parse(&name, &path, &text, Some(&known)) {
        Ok(rb) => {
            println!("{}: OK, {} steps, checked against {}", path.display(), rb.steps.len(), known.from);
            Ok(())
        }
        Err(errs) => {
            for e in &errs {
                println!("{e}");
            }
            Err(format!("{}: {} problem(s)", path.display(), errs.len()))
        }
    }
}

fn export(run: &str, format: &str, output: &Option<std::path::PathBuf>, demo: bool) -> Result<(), String> {
    if demo {
        warroom::paths::set_demo();
    }
    let render = match format {
        "md" | "markdown" => warroom::runbook::run::export_markdown,
        "json" => warroom::runbook::run::export_json,
        other => return Err(format!("unknown format '{other}' (md or json)")),
    };
    let dir = warroom::runbook::run::runs_dir()?;
    let rec = warroom::runbook::run::load(&dir, run)?;
    let md = render(&rec);
    match output {
        Some(p) => std::fs::write(p, md).map_err(|e| format!("cannot write {}: {e}", p.display())),
        None => {
            print!("{md}");
            Ok(())
        }
    }
}

fn abort(run: &str, reason: &str, demo: bool) -> Result<(), String> {
    if demo {
        warroom::paths::set_demo();
    }
    let dir = warroom::runbook::run::runs_dir()?;
    let rec = warroom::runbook::run::load(&dir, run)?;
    let who = warroom::actions::Operator::local(false).name;
    // One writer per run: a console driving it holds its lock.
    let _lock = match warroom::runbook::run::lock_run(&dir, &rec.id, &format!("{who} (runbook abort)"))? {
        warroom::runbook::run::Lock::Got(f) => f,
        warroom::runbook::run::Lock::HeldBy(h) => {
            return Err(format!(
                "run {} is driven by {h}: abort it there (a), or close that console first",
                warroom::audit::escape_terminal(&rec.id),
                h = warroom::audit::escape_terminal(&h)
            ))
        }
    };
    // Re-read under the lock: the last driver may have changed it.
    let rec = warroom::runbook::run::load(&dir, &rec.id)?;
    let rec = warroom::runbook::run::abort_record(rec, &who, reason, chrono::Utc::now())?;
    warroom::runbook::run::save(&dir, &rec)?;
    println!("run {} aborted at step {}", rec.id, rec.current + 1);
    Ok(())
}
