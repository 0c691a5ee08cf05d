//! `warroom config`.

use clap::Subcommand;

use super::Cli;

#[derive(Subcommand)]
pub enum ConfigCmd {
    /// Write a commented example configuration (never overwrites).
    Init {
        /// Where to write it (default: the user config directory).
        path: Option<std::path::PathBuf>,
    },
    /// Validate a configuration; prints every problem as file:line:column.
    Check {
        /// The file (default: --config, $WARROOM_CONFIG, the user config directory's).
        file: Option<std::path::PathBuf>,
        /// Do not look the URLs' hosts up in DNS.
        #[arg(long)]
        offline: bool,
    },
}

pub fn run(cli: &Cli, what: ConfigCmd) -> Result<(), String> {
    match what {
        ConfigCmd::Init { path } => init(cli, path),
        ConfigCmd::Check { file, offline } => check(cli, file, offline),
    }
}

fn init(cli: &Cli, path: Option<std::path::PathBuf>) -> Result<(), String> {
    let path = match path.or(cli.config.clone()) {
        Some(p) => p,
        None => warroom::config::default_path()?,
    };
    if path.exists() {
        return Err(format!("{} already exists; not overwriting it", path.display()));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&path, warroom::config::EXAMPLE).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}; edit it, then run `warroom config check`", path.display());
    Ok(())
}

fn check(cli: &Cli, file: Option<std::path::PathBuf>, offline: bool) -> Result<(), String> {
    let path = file
        .or_else(|| warroom::config::locate(cli.config.as_deref()))
        .ok_or("no configuration found: pass a FILE, --config, or set WARROOM_CONFIG")?;
    match warroom::config::Config::load(&path) {
        Ok(cfg) => {
            for w in cfg.tokens_in_clear(&path) {
                println!("{w}");
            }
            if !offline {
                for w in cfg.unresolved_hosts(&path) {
                    println!("{w}");
                }
            }
            println!("{}: OK", path.display());
            Ok(())
        }
        Err(errors) => {
            for e in &errors {
                println!("{e}");
            }
            Err(format!("{} problem(s) in {}", errors.len(), path.display()))
        }
    }
}
