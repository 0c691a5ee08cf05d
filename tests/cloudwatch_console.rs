//! The console with a configuration that reads latency and errors from
//! CloudWatch in four regions (the simulator's CBOR GetMetricData on
//! loopback), in a pseudo-terminal: latency per region, the budgets fed by
//! CloudWatch's counts, and the request rate and cost on screen.

mod common;

use common::{spawn_sim, Pty};

#[test]
fn latency_budgets_and_cost_from_cloudwatch_in_four_regions() {
    let (mut sim, url) = spawn_sim(&["--scenario", "calm", "--at", "1h"]);
    let dir = std::env::temp_dir().join(format!("warroom-cw-console-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let regions = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"];
    let mut cfg = String::new();
    for r in regions {
        cfg.push_str(&format!("[[region]]\nname = \"{r}\"\n"));
    }
    cfg.push_str("[[service]]\nname = \"checkout\"\ntier = \"critical\"\n[service.slo]\nobjective = 99.9\n");
    cfg.push_str(
        "[[service]]\nname = \"search\"\n[service.slo]\nkind = \"latency\"\nobjective = 99.0\nthreshold_ms = 300.0\n",
    );
    cfg.push_str("[cloudwatch]\ninterval = \"60s\"\n");
    for r in regions {
        cfg.push_str(&format!("[[cloudwatch.region]]\nname = \"{r}\"\nendpoint = \"{url}\"\n"));
        cfg.push_str(&format!("[[cloudwatch.target]]\nservice = \"checkout\"\nregion = \"{r}\"\npreset = \"alb\"\nload_balancer = \"app/checkout/50dc6c495c0c9188\"\n"));
        cfg.push_str(&format!("[[cloudwatch.target]]\nservice = \"search\"\nregion = \"{r}\"\npreset = \"apigateway\"\napi_name = \"search\"\nstage = \"prod\"\n"));
    }
    let path = dir.join("warroom.toml");
    std::fs::write(&path, cfg).unwrap_or_else(|e| panic!("{e}"));
    let p = path.to_string_lossy().to_string();
    let state = dir.to_string_lossy().to_string();
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDWARROOMTEST"),
        ("AWS_SECRET_ACCESS_KEY", "warroom-test-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("WARROOM_STATE_DIR", state.as_str()),
    ];
    let mut pty = Pty::spawn_env(&["--config", &p, "--poll-factor", "0.1"], &env, 160, 40);
    // The latency row (the matrix's row has statuses instead of numbers).
    let row_of =
        |s: &str| s.lines().find(|l| l.starts_with("│checkout ") && !l.contains("OK")).unwrap_or_default().to_string();
    let numbers = |row: &str| row.split_whitespace().filter(|w| w.parse::<f64>().is_ok()).count();
    // Waits for all three percentiles: under load they may land a poll apart.
    let screen = pty.wait_for("latency and budgets from CloudWatch", 60, |s| {
        s.contains("checkout avail") && s.contains("search lat") && s.contains("CW 44/min") && numbers(&row_of(s)) >= 3
    });
    // A minute: 4 regions × (checkout's ALB 5 + search's API Gateway 6 with
    // its latency SLO's PR) = 44; an hour: 4 × (2 + 3) = 20, i.e. 0.33 a
    // minute. 44.33 × 43,200 min × $0.01 / 1,000 = $19.15 a month.
    assert!(screen.contains("Latency ms · CW 44/min ≈ $19.15/mo"), "{screen}");
    let row = row_of(&screen);
    assert!(numbers(&row) >= 3, "checkout's p50/p95/p99 from CloudWatch: {row}\n{screen}");
    let budgets = screen.lines().find(|l| l.contains("checkout avail")).unwrap_or_default();
    assert!(budgets.contains('%') && budgets.contains("OK"), "a budget computed from CloudWatch counts: {budgets}");
    // The region screen shows each region's numbers.
    pty.send("\r");
    pty.wait_for("the region screen", 20, |s| s.contains("Services in us-east-1"));
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    let _ = sim.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
