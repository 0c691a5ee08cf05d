//! `warroom incident`: the incidents this fleet's consoles opened, and the
//! postmortem draft of one (`export ID --format md|json`).

use clap::Subcommand;

#[derive(Subcommand)]
pub enum IncidentCmd {
    /// List the incidents, newest first.
    List {
        /// The embedded demo fleet's incidents instead of the real ones.
        #[arg(long)]
        demo: bool,
    },
    /// Write the postmortem draft of an incident to stdout.
    Export {
        /// The incident's id (`warroom incident list`), or `latest`.
        id: String,
        /// md (Markdown, to paste into a postmortem document) or json.
        #[arg(long, default_value = "md")]
        format: String,
        /// The embedded demo fleet's incidents instead of the real ones.
        #[arg(long)]
        demo: bool,
        /// Where the incidents are (default: the state directory's).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
}

fn dir_of(demo: bool, dir: Option<std::path::PathBuf>) -> Result<std::path::PathBuf, String> {
    if let Some(d) = dir {
        return Ok(d);
    }
    if demo {
        warroom::paths::set_demo();
    }
    Ok(warroom::paths::state_dir()?.join("incidents"))
}

pub fn run(what: IncidentCmd) -> Result<(), String> {
    match what {
        IncidentCmd::List { demo } => {
            let dir = dir_of(demo, None)?;
            let (all, bad) = warroom::history::incidents(&dir);
            for b in &bad {
                eprintln!("warroom: skipped {b}");
            }
            if all.is_empty() {
                println!("no incidents in {}", dir.display());
            }
            for i in all {
                let state = match i.resolved_at {
                    Some(r) => format!("resolved {}", r.format("%Y-%m-%d %H:%M")),
                    None => "OPEN".into(),
                };
                println!(
                    "{}  {}  {}  opened {} by {}  {}",
                    i.id,
                    i.severity,
                    state,
                    i.opened_at.format("%Y-%m-%d %H:%M"),
                    i.commander,
                    i.title
                );
            }
            Ok(())
        }
        IncidentCmd::Export { id, format, demo, dir } => {
            let dir = dir_of(demo, dir)?;
            let (all, bad) = warroom::history::incidents(&dir);
            let found = if id == "latest" { all.first() } else { all.iter().find(|i| i.id == id) };
            let Some(inc) = found else {
                let known: Vec<&str> = all.iter().map(|i| i.id.as_str()).take(5).collect();
                let why = bad.first().map(|b| format!("; unreadable: {b}")).unwrap_or_default();
                return Err(format!("no incident {id} in {} (known: {}){why}", dir.display(), known.join(", ")));
            };
            let report = inc.report(chrono::Utc::now());
            match format.as_str() {
                "md" | "markdown" => print!("{}", report.markdown()),
                "json" => println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?),
                other => return Err(format!("unknown format '{other}': md or json")),
            }
            Ok(())
        }
    }
}
