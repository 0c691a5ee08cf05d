//! Views and command mode through the real binary: `warroom views list`,
//! a user's view file, a broken one falling back to the built-in, and
//! `:view` / `:theme` typed with Tab completion in a pseudo-terminal.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Pty, BIN};

/// A config home with `warroom/views/` holding a good and a broken view.
fn config_home(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("warroom-views-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let views = d.join("warroom/views");
    std::fs::create_dir_all(&views).unwrap_or_else(|e| panic!("{e}"));
    let good = "title = \"Payments team\"\ndescription = \"Our services first\"\nservices_first = [\"payments\", \"checkout\"]\n\n[[layout]]\n[[layout.column]]\nsize = \"60%\"\npanes = [{ kind = \"latency\", title = \"Payments latency\" }]\n[[layout.column]]\npanes = [{ kind = \"budgets\" }]\n";
    std::fs::write(views.join("payments.toml"), good).unwrap_or_else(|e| panic!("{e}"));
    let broken = "title = \"NOC, broken\"\n[[layout]]\n[[layout.row]]\npanes = [{ kind = \"big-staus\" }]\n";
    std::fs::write(views.join("noc.toml"), broken).unwrap_or_else(|e| panic!("{e}"));
    d
}

#[test]
fn views_list_names_every_view_and_the_broken_file_precisely() {
    let home = config_home("list");
    let out = Command::new(BIN)
        .args(["views", "list"])
        .env("XDG_CONFIG_HOME", &home)
        .output()
        .unwrap_or_else(|e| panic!("cannot run warroom: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a broken view file fails the listing:\n{text}");
    for built_in in ["overview", "latency", "slo", "deploy"] {
        assert!(text.lines().any(|l| l.starts_with(built_in) && l.contains("built-in")), "{built_in}:\n{text}");
    }
    assert!(text.lines().any(|l| l.starts_with("payments") && l.contains("yours") && l.contains("Our services first")));
    assert!(text.contains("noc            BROKEN"), "{text}");
    assert!(text.contains("noc.toml:4:19: unknown pane kind 'big-staus'"), "file:line:column of the error:\n{text}");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn command_mode_switches_views_and_themes_and_a_broken_view_falls_back() {
    let home = config_home("pty");
    let home_s = home.display().to_string();
    let mut pty = Pty::spawn_env(&["--view", "noc", "--poll-factor", "0.25"], &[("XDG_CONFIG_HOME", &home_s)], 120, 40);
    let first = pty.wait_for("the built-in NOC view with the reason", 30, |s| {
        s.contains("view 'noc' is broken") && s.contains("Clock (UTC)")
    });
    assert!(first.contains("Status"), "the built-in noc's big status:\n{first}");
    // `:view pay` + Tab completes the user's view; Enter switches.
    pty.send(":view pay");
    pty.wait_for("the completion list", 10, |s| s.contains("payments") && s.contains(":view pay▏"));
    pty.send("\t");
    pty.wait_for("completed", 10, |s| s.contains(":view payments ▏"));
    pty.send("\r");
    let pay = pty.wait_for_settled("the user's view", 20, |s| {
        s.contains("view payments") && s.contains("Payments latency") && s.contains("Error budgets")
    });
    let rows: Vec<&str> = pay.lines().filter(|l| l.starts_with("│payments ") || l.starts_with("│checkout ")).collect();
    assert_eq!(rows.len(), 2, "{pay}");
    assert!(rows[0].starts_with("│payments "), "services_first puts payments first:\n{pay}");
    // :theme with a bad name is refused with the reason; a good one applies.
    pty.send(":theme chartreuse\r");
    pty.wait_for("the refusal", 10, |s| s.contains("unknown theme 'chartreuse'"));
    pty.send(":theme hi\t\r");
    pty.wait_for("the theme switched", 10, |s| s.contains("theme high-contrast"));
    pty.send(":frobnicate\r");
    pty.wait_for("an unknown command", 10, |s| s.contains("unknown command 'frobnicate'"));
    pty.send(":region us-w\t\r");
    pty.wait_for("the region screen", 10, |s| s.contains("Services in us-west-2"));
    pty.send(":quit\r");
    assert_eq!(pty.wait_exit(15), 0);
    pty.assert_restored();
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn snapshot_with_a_configuration_renders_the_configured_fleet() {
    let (_sim, url) = common::spawn_sim(&["--scenario", "region-outage", "--at", "5m"]);
    let d = std::env::temp_dir().join(format!("warroom-snapcfg-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    let path = d.join("warroom.toml");
    let mut text = String::new();
    for (r, w) in [("us-east-1", 40), ("us-west-2", 25), ("eu-west-1", 20), ("ap-southeast-1", 15)] {
        text.push_str(&format!("[[region]]\nname = \"{r}\"\nweight = {w}\n\n"));
    }
    for s in ["api-gateway", "auth", "checkout", "payments", "catalog", "search", "inventory", "notifications"] {
        text.push_str(&format!("[[service]]\nname = \"{s}\"\n\n"));
    }
    text.push_str(&format!("[control_plane]\nurl = \"{url}\"\n\n[alertmanager]\nurl = \"{url}\"\n"));
    assert!(std::fs::write(&path, text).is_ok());
    let p = path.to_string_lossy().to_string();
    let out = std::process::Command::new(common::BIN)
        .args(["--config", &p, "snapshot", "--view", "noc", "--size", "120x40"])
        .env_remove("WARROOM_CONFIG")
        .output();
    let Ok(out) = out else { panic!("cannot run warroom") };
    let frame = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{frame}{}", String::from_utf8_lossy(&out.stderr));
    let header = frame.lines().next().unwrap_or_default();
    assert!(!header.contains("DEMO"), "the configured fleet, not the demo: {header}");
    assert!(header.contains("us-west-2 DOWN"), "fetched from the configured control plane: {header}");
    let svc = std::process::Command::new(common::BIN)
        .args(["--config", &p, "snapshot", "--view", "service:payments", "--size", "120x40"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    assert!(svc.contains("Service payments") && svc.contains("us-east-1"), "never a blank frame: {svc}");
    let _ = std::fs::remove_dir_all(&d);
}
