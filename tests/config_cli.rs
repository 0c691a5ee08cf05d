//! `warroom config init` and `warroom config check` as a user runs them.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("warroom-cfg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::create_dir_all(&d);
    d
}

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN).args(args).env_remove("WARROOM_CONFIG").output();
    let Ok(out) = out else { panic!("cannot run warroom") };
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn init_writes_a_valid_example_and_never_overwrites() {
    let d = dir("init");
    let path = d.join("warroom.toml");
    let p = path.to_string_lossy().to_string();
    let (ok, text) = run(&["config", "init", &p]);
    assert!(ok, "{text}");
    let (ok, text) = run(&["config", "check", &p]);
    assert!(ok && text.contains(": OK"), "{text}");
    let (ok, text) = run(&["config", "init", &p]);
    assert!(!ok && text.contains("already exists"), "{text}");
}

#[test]
fn check_reports_every_problem_with_its_place() {
    let d = dir("check");
    let path = d.join("bad.toml");
    std::fs::write(
        &path,
        "[[region]]\nname = \"r1\"\n[[service]]\nname = \"a\"\ndepends_on = [\"ghost\"]\n[health]\nliveness = \"http://{svc}/\"\n",
    )
    .unwrap_or_default();
    let p = path.to_string_lossy().to_string();
    let (ok, text) = run(&["config", "check", &p]);
    assert!(!ok);
    assert!(text.contains(&format!("{p}:5:15: service 'a' depends on undefined service 'ghost'")), "{text}");
    assert!(text.contains(&format!("{p}:7:12: unknown placeholder '{{svc}}'")), "{text}");
    assert!(text.contains("2 problem(s)"), "{text}");
}

#[test]
fn the_console_refuses_a_broken_configuration_with_the_place() {
    let d = dir("console");
    let path = d.join("warroom.toml");
    std::fs::write(&path, "[[region]]\nname = \"r1\"\nflavour = 1\n").unwrap_or_default();
    let p = path.to_string_lossy().to_string();
    let (ok, text) = run(&["--config", &p]);
    assert!(!ok);
    assert!(text.contains(&format!("{p}:3:1: unknown field `flavour`")), "{text}");
}

#[test]
fn a_missing_secret_names_the_variable_not_a_value() {
    let d = dir("secret");
    let path = d.join("warroom.toml");
    std::fs::write(&path, "[[region]]\nname = \"r1\"\n[control_plane]\nurl = \"http://127.0.0.1:1\"\ntoken_env = \"WARROOM_TEST_TOKEN_UNSET\"\n")
        .unwrap_or_default();
    let p = path.to_string_lossy().to_string();
    let (ok, text) = run(&["--config", &p]);
    assert!(!ok);
    assert!(text.contains("WARROOM_TEST_TOKEN_UNSET (named in the configuration) is not set"), "{text}");
}

#[test]
fn snapshot_writes_svg_in_any_theme_and_refuses_unknown_ones() {
    let d = dir("svg");
    let mut seen: Vec<(String, String)> = Vec::new();
    for theme in ["default", "light", "high-contrast", "colour-blind", "mono"] {
        // One file per theme (a stale file from the previous theme cannot pass).
        let out = d.join(format!("{theme}.svg"));
        let o = out.to_string_lossy().to_string();
        let mut args = vec!["--theme", theme, "snapshot", "--view", "wall"];
        args.extend(["--epoch", "2026-01-15T12:00:00Z", "--at", "5m", "--size", "100x30", "--format", "svg"]);
        args.extend(["--output", &o]);
        let (ok, text) = run(&args);
        assert!(ok, "{theme}: {text}");
        let svg = std::fs::read_to_string(&out).unwrap_or_default();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{theme}");
        // The theme was applied: each draws the same wall in other colours.
        let colours: std::collections::BTreeSet<&str> =
            svg.split("fill=\"").skip(1).filter_map(|s| s.split('"').next()).collect();
        let key = format!("{colours:?}");
        assert!(
            !seen.iter().any(|(_, k)| *k == key),
            "{theme} draws in the colours of {:?}",
            seen.iter().find(|(_, k)| *k == key)
        );
        seen.push((theme.to_string(), key));
    }
    let (ok, text) = run(&["--theme", "neon", "snapshot"]);
    assert!(!ok && text.contains("unknown theme 'neon'"), "{text}");
}

#[test]
fn completions_and_a_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let (ok, text) = run(&["completions", shell]);
        assert!(ok && text.contains("serve-ssh") && text.contains("snapshot"), "{shell}: {text}");
    }
    let (ok, text) = run(&["man"]);
    assert!(ok && text.contains(".TH warroom") && text.contains("serve\\-ssh"), "{text}");
}

#[test]
fn subcommands_take_only_their_own_options_and_demo_flags_need_the_demo() {
    let (ok, text) = run(&["paths", "--theme", "mono"]);
    assert!(!ok && text.contains("unexpected argument '--theme'"), "{text}");
    let (ok, text) = run(&["sim", "--api", "http://127.0.0.1:1"]);
    assert!(!ok && text.contains("unexpected argument '--api'"), "{text}");
    let (ok, text) = run(&["snapshot", "--help"]);
    assert!(ok && text.contains("Terminal size COLSxROWS"), "every option says what it is: {text}");
    let d = dir("demoflags");
    let path = d.join("warroom.toml");
    let p = path.to_string_lossy().to_string();
    assert!(run(&["config", "init", &p]).0);
    let (ok, text) = run(&["--config", &p, "--scenario", "bad-canary", "wall"]);
    assert!(!ok && text.contains("shape the embedded demo fleet"), "{text}");
}

#[test]
fn audit_tail_on_nothing_escapes_hostile_text_and_prints_json() {
    let d = dir("tail");
    let st = d.to_string_lossy().to_string();
    let tail = |args: &[&str]| {
        let out = Command::new(BIN).arg("audit").arg("tail").args(args).env("WARROOM_STATE_DIR", &st).output();
        let Ok(out) = out else { panic!("cannot run warroom") };
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let (ok, text) = tail(&[]);
    assert!(ok && text.starts_with("no audit records yet"), "{text}");
    let Ok(mut log) = warroom::audit::AuditLog::open(&d.join("audit.jsonl")) else { panic!("trail") };
    let evil = "evil\u{1b}[2K\u{1b}]52;c;aGk=\u{7}\u{202e}";
    let e = warroom::audit::Entry {
        event: "denied",
        operator: evil.into(),
        role: "viewer".into(),
        action: serde_json::json!({}),
        summary: "ssh login".into(),
        key: String::new(),
        result: "denied",
        message: "unknown key".into(),
        backend: String::new(),
    };
    assert!(log.append(e).is_ok());
    let (ok, text) = tail(&[]);
    assert!(ok && !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202e}'), "{text:?}");
    assert!(text.contains("evil\\u{1b}[2K"), "shown, escaped: {text}");
    let (ok, json) = tail(&["--json"]);
    assert!(ok && json.trim_start().starts_with('{') && !json.contains('\u{1b}'), "{json:?}");
}

#[test]
fn config_check_warns_when_a_host_does_not_resolve() {
    let d = dir("dns");
    let path = d.join("warroom.toml");
    let text = "[[region]]\nname = \"r1\"\n\n[alertmanager]\nurl = \"http://no-such-host.invalid:9093\"\n";
    assert!(std::fs::write(&path, text).is_ok());
    let p = path.to_string_lossy().to_string();
    let (ok, out) = run(&["config", "check", &p]);
    assert!(ok, "a warning, not an error: {out}");
    assert!(out.contains(":5:7: warning: host 'no-such-host.invalid' does not resolve"), "{out}");
    let (ok, out) = run(&["config", "check", "--offline", &p]);
    assert!(ok && !out.contains("warning"), "{out}");
}

#[test]
fn config_check_warns_of_a_token_over_plain_http() {
    let d = dir("cleartoken");
    let path = d.join("warroom.toml");
    let text =
        "[[region]]\nname = \"r1\"\n\n[control_plane]\nurl = \"http://10.1.2.3:8080\"\ntoken_env = \"CP_TOKEN\"\n\n\
                [prometheus]\nurl = \"http://127.0.0.1:9090\"\nbearer_token_env = \"PROM_TOKEN\"\n";
    assert!(std::fs::write(&path, text).is_ok());
    let p = path.to_string_lossy().to_string();
    let (ok, out) = run(&["config", "check", "--offline", &p]);
    assert!(ok, "a warning, not an error: {out}");
    assert!(out.contains(":5:7: warning: [control_plane] sends its token over plain http://"), "{out}");
    assert!(!out.contains("[prometheus] sends"), "loopback is this machine: {out}");
}

#[test]
fn serve_ssh_does_not_start_without_its_audit_trail() {
    let d = dir("sshaudit");
    let keys = d.join("authorized_keys");
    assert!(std::fs::write(&keys, "").is_ok());
    let out = Command::new(BIN)
        .args(["--api", "http://127.0.0.1:1", "serve-ssh", "--listen", "127.0.0.1:0", "--host-key"])
        .arg(d.join("host_key"))
        .arg("--authorized-keys")
        .arg(&keys)
        .env("WARROOM_STATE_DIR", "/dev/null/state")
        .output();
    let Ok(out) = out else { panic!("cannot run warroom") };
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("serve-ssh cannot keep its audit trail, so it does not start"), "{err}");
}

#[test]
fn timeout_flag_is_checked_and_belongs_to_api_and_the_demo() {
    let (ok, text) = run(&["--timeout", "50ms", "paths"]);
    assert!(!ok && text.contains("'50ms' is not between 100ms and 5m"), "{text}");
    let d = dir("timeout");
    let path = d.join("warroom.toml");
    let p = path.to_string_lossy().to_string();
    let (ok, text) = run(&["config", "init", &p]);
    assert!(ok, "{text}");
    // A configuration sets each source's own timeout: the flag says where.
    let out = Command::new(BIN).args(["--config", &p, "--timeout", "5s"]).env_remove("WARROOM_CONFIG").output();
    let Ok(out) = out else { panic!("cannot run warroom") };
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success() && text.contains("set `timeout` in [control_plane], [prometheus] or [alertmanager]"),
        "{text}"
    );
}

#[test]
fn the_control_planes_timeout_covers_its_feeds_and_a_prometheus_keeps_its_own() {
    let text = "[[region]]\nname = \"r1\"\n[control_plane]\nurl = \"http://c\"\ntimeout = \"8s\"\n[prometheus]\nurl = \"http://p:9090\"\n[alertmanager]\nurl = \"http://a:9093\"\ntimeout = \"3s\"\n";
    let cfg = match warroom::config::Config::parse(std::path::Path::new("w.toml"), text) {
        Ok(c) => c,
        Err(e) => panic!("{e:?}"),
    };
    let setup = match warroom::wiring::setup(&cfg) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let t = |f| setup.intervals.timeout(f);
    use std::time::Duration;
    use warroom::model::FeedId;
    assert_eq!(t(FeedId::Regions), Duration::from_secs(8));
    assert_eq!(t(FeedId::Deployments), Duration::from_secs(8));
    // Prometheus supplies the metrics here, with no timeout of its own:
    // 0.8 × its 15 s interval capped at 10 s, not the control plane's.
    assert_eq!(t(FeedId::Metrics), Duration::from_secs(10));
    assert_eq!(t(FeedId::Alerts), Duration::from_secs(3));
}

#[test]
fn the_probe_rate_default_is_the_data_planes() {
    assert_eq!(warroom::config::default_probe_rate(), warroom::dataplane::PROBE_MAX_RATE);
}
