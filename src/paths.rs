//! Where warroom keeps its files. `WARROOM_STATE_DIR` overrides the state
//! directory (tests, containers); otherwise the platform's state directory.

use std::path::PathBuf;

static DEMO: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// This process runs the embedded demo fleet: its audit trail and runbook
/// runs go to `<state>/demo/`, never beside a real fleet's.
pub fn set_demo() {
    DEMO.store(true, std::sync::atomic::Ordering::SeqCst);
}

pub fn is_demo() -> bool {
    DEMO.load(std::sync::atomic::Ordering::SeqCst)
}

/// The state directory of real fleets (`WARROOM_STATE_DIR`, else the platform's).
pub fn base_state_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("WARROOM_STATE_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let dirs = directories::ProjectDirs::from("", "", "warroom")
        .ok_or("cannot find a home directory; set WARROOM_STATE_DIR")?;
    Ok(dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir()).to_path_buf())
}

/// Directory for the audit trail and other state (the demo's own under `demo/`).
pub fn state_dir() -> Result<PathBuf, String> {
    let base = base_state_dir()?;
    Ok(if is_demo() { base.join("demo") } else { base })
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
    let demo = base_state_dir().map(|d| d.join("demo"));
    vec![
        format!("state dir:    {}", show(state_dir())),
        format!("audit trail:  {}", show(audit_file())),
        format!("demo state:   {} (the embedded demo fleet's trail and runs)", show(demo)),
    ]
}
