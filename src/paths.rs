//! Where warroom keeps its files. `WARROOM_STATE_DIR` overrides the state
//! directory (tests, containers); otherwise the platform's state directory.

use std::path::PathBuf;

/// Directory for the audit trail and other state.
pub fn state_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("WARROOM_STATE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let dirs = directories::ProjectDirs::from("", "", "warroom")
        .ok_or("cannot find a home directory; set WARROOM_STATE_DIR")?;
    Ok(dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir()).to_path_buf())
}

/// The audit trail file.
pub fn audit_file() -> Result<PathBuf, String> {
    Ok(state_dir()?.join("audit.jsonl"))
}

/// Lines for `warroom paths`.
pub fn describe() -> Vec<String> {
    let show = |r: Result<PathBuf, String>| match r {
        Ok(p) => p.display().to_string(),
        Err(e) => format!("(unavailable: {e})"),
    };
    vec![format!("state dir:    {}", show(state_dir())), format!("audit trail:  {}", show(audit_file()))]
}
