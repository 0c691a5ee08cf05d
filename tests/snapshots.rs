//! Insta snapshots of the overview (and a region screen) for a fixed seed,
//! scenario and time, rendered through the same path as `warroom snapshot`.

use warroom::snapshot_cmd::{run, SnapshotArgs};
use warroom_sim::Scenario;

/// 2026-01-15T12:00:00Z: a fixed epoch so the clock and daily shape are stable.
const EPOCH: f64 = 1_768_478_400.0;

fn args(view: &str, w: u16, h: u16, scenario: Scenario, at: f64) -> SnapshotArgs {
    SnapshotArgs {
        config: None,
        view: view.into(),
        width: w,
        height: h,
        seed: 7,
        scenario,
        at_secs: at,
        start_unix: Some(EPOCH),
        regions: 4,
        services: 8,
        api: None,
        runbook: None,
    }
}

async fn frame(a: SnapshotArgs) -> String {
    match run(&a, &warroom_ui::Theme::ansi()).await {
        Ok(t) => t,
        Err(e) => panic!("snapshot failed: {e}"),
    }
}

#[tokio::test]
async fn overview_80x24() {
    insta::assert_snapshot!(frame(args("overview", 80, 24, Scenario::Calm, 600.0)).await);
}

#[tokio::test]
async fn overview_120x40() {
    insta::assert_snapshot!(frame(args("overview", 120, 40, Scenario::Calm, 600.0)).await);
}

#[tokio::test]
async fn overview_200x60() {
    insta::assert_snapshot!(frame(args("overview", 200, 60, Scenario::Calm, 600.0)).await);
}

/// Every built-in view at three sizes (the overview is above).
#[tokio::test]
async fn built_in_views_at_three_sizes() {
    for (name, _) in warroom::views::BUILT_IN {
        if name == "overview" {
            continue;
        }
        for (w, h) in [(80, 24), (120, 40), (200, 60)] {
            let text = frame(args(name, w, h, Scenario::DependencyStorm, 300.0)).await;
            insta::assert_snapshot!(format!("view_{name}_{w}x{h}"), text);
        }
    }
}

#[tokio::test]
async fn a_runbook_beside_the_view() {
    let mut a = args("overview", 140, 40, Scenario::RegionOutage, 300.0);
    a.runbook = Some(vec!["regional-failover".into(), "region=us-west-2".into()]);
    let text = frame(a).await;
    assert!(text.contains("Runbook · Regional failover") && text.contains("▶ 1. The region is down"), "{text}");
    assert!(text.contains("region(us-west-2).status = DOWN"), "the check's live value: {text}");
    assert!(text.contains("▶ regional-failover 1/7"), "the header: {text}");
    let mut bad = args("overview", 80, 24, Scenario::Calm, 0.0);
    bad.runbook = Some(vec!["regional-failover".into()]);
    // Without region=, the region defaults to the one DOWN, else the selected column.
    let calm = warroom::snapshot_cmd::run(&bad, &warroom_ui::Theme::ansi()).await.unwrap_or_default();
    assert!(calm.contains("region(us-east-1)"), "the selected column: {calm}");
    let mut outage = args("overview", 140, 40, Scenario::RegionOutage, 300.0);
    outage.runbook = Some(vec!["regional-failover".into()]);
    let text = frame(outage).await;
    assert!(text.contains("region(us-west-2).status = DOWN"), "the region that is down: {text}");
}

#[tokio::test]
async fn overview_region_outage_120x40() {
    insta::assert_snapshot!(frame(args("overview", 120, 40, Scenario::RegionOutage, 300.0)).await);
}

#[tokio::test]
async fn region_screen_during_outage() {
    // Probe latencies are measured for real, so this screen is checked by content.
    let text = frame(args("region:us-west-2", 120, 20, Scenario::RegionOutage, 300.0)).await;
    assert!(text.contains("Region us-west-2  ✖ DOWN  traffic 25%  zones us-west-2a, us-west-2b, us-west-2c"), "{text}");
    for svc in ["api-gateway", "auth", "checkout", "notifications"] {
        let line = text.lines().find(|l| l.contains(&format!("│{svc} "))).unwrap_or_default();
        assert!(line.contains("✖ DOWN     ✖ DOWN ✖ DOWN"), "{svc}: {line}");
        // The failing probe's own words (its components) come with it (#13.26).
        assert!(line.contains("health DOWN: 503 DOWN ("), "{svc}: {line}");
    }
}

#[tokio::test]
async fn same_arguments_same_frame() {
    let a = frame(args("overview", 120, 40, Scenario::DependencyStorm, 420.0)).await;
    let b = frame(args("overview", 120, 40, Scenario::DependencyStorm, 420.0)).await;
    assert_eq!(a, b);
    assert!(a.contains("OPEN"), "the storm opens circuits:\n{a}");
}

#[tokio::test]
async fn every_size_renders_without_panic() {
    // One fetch, then many sizes: the renderer must cope with any terminal.
    let text = frame(args("overview", 30, 8, Scenario::BadCanary, 400.0)).await;
    assert!(text.contains("WARROOM"));
    let tiny = frame(args("overview", 10, 3, Scenario::Calm, 0.0)).await;
    assert!(tiny.contains("terminal"), "{tiny}");
}

#[tokio::test]
async fn a_page_level_burn_appears_and_clears() {
    // dependency-storm: payments fails 45% of requests from 1 to 15 minutes.
    let before = frame(args("slo:payments-availability", 120, 30, Scenario::DependencyStorm, 30.0)).await;
    assert!(before.contains("state ✔ OK"), "{before}");
    let during = frame(args("overview", 140, 50, Scenario::DependencyStorm, 300.0)).await;
    let row = during.lines().find(|l| l.contains("payments avail")).unwrap_or_default();
    assert!(row.contains("✖ PAGE"), "budgets pane: {row}");
    let detail = frame(args("slo:payments-availability", 120, 30, Scenario::DependencyStorm, 300.0)).await;
    assert!(detail.contains("state ✖ PAGE"), "{detail}");
    let page_1h = detail.lines().find(|l| l.contains("page          1h")).unwrap_or_default();
    // payments' budget is the calendar month: January has 31 days, so the
    // 2%-in-1h factor is 0.02 × 744 h / 1 h = 14.88, not 30-day 14.4.
    assert!(page_1h.contains("14.9×") && page_1h.contains("✖ YES"), "{page_1h}");
    assert!(detail.contains("budget left, last 30 days"), "{detail}");
    let after = frame(args("slo:payments-availability", 120, 30, Scenario::DependencyStorm, 3600.0)).await;
    assert!(after.contains("state ▲ TICKET"), "the page clears, a ticket remains: {after}");
    assert!(!after.lines().any(|l| l.starts_with("│page") && l.contains("YES")), "{after}");
}

/// The frame as text, after checking no cell holds a control character
/// (what a hostile backend string would smuggle onto a terminal).
fn printable(buf: &ratatui::buffer::Buffer, what: &str) -> String {
    for c in buf.content() {
        assert!(!c.symbol().chars().any(|ch| ch.is_control()), "{what}: a control character on screen");
    }
    warroom::snapshot_cmd::buffer_to_text(buf)
}

/// Every console frame: the header (or the too-small message) on top, the
/// status never claiming OK during the storm, and no control characters.
fn check_console_frame(buf: &ratatui::buffer::Buffer, what: &str) {
    let text = printable(buf, what);
    let first = text.lines().next().unwrap_or_default();
    let (w, h) = (buf.area.width, buf.area.height);
    if w < MIN_W || h < MIN_H {
        assert!(first.starts_with("terminal too small") || w < 18, "{what}: {first:?}");
        return;
    }
    assert!(first.starts_with("WARROOM"), "{what}: the header is the first line: {first:?}");
    assert!(!first.contains("ALL OK"), "{what}: the storm is never OK: {first:?}");
}

use warroom::render::{MIN_HEIGHT as MIN_H, MIN_WIDTH as MIN_W};

#[tokio::test]
async fn every_screen_renders_at_every_size() {
    use std::sync::Arc;
    use warroom::app::view::{Screen, ViewState};
    use warroom::snapshot_cmd::render_to_buffer;
    let cfg = warroom_sim::SimConfig {
        scenario: Scenario::DependencyStorm,
        time_scale: 0.0,
        start_unix: Some(EPOCH),
        at_secs: 300.0,
        ..warroom_sim::SimConfig::default()
    };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim") };
    let now = chrono::DateTime::from_timestamp(EPOCH as i64 + 300, 0).unwrap_or_default();
    let clock: warroom::sources::Clock = Arc::new(move || now);
    let snap = match warroom::dataplane::fetch_once(&sim.url(), &warroom::dataplane::Intervals::default(), clock).await
    {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    sim.shutdown().await;
    let theme = warroom_ui::Theme::ansi();
    let screens = [
        Screen::Overview,
        Screen::Region("us-west-2".into()),
        Screen::Slo("payments-availability".into()),
        Screen::Service("payments".into()),
        Screen::Deployment("checkout/us-east-1".into()),
    ];
    let wall = warroom::wall::WallState::new(vec![], std::time::Duration::from_secs(20), now);
    for w in (0..=300u16).step_by(13).chain([1, 2, 3, 4, 5, 300]) {
        for h in (0..=100u16).step_by(7).chain([1, 2, 3, 100]) {
            let (w1, h1) = (w.max(1), h.max(1));
            for s in &screens {
                for help in [false, true] {
                    let view = ViewState { screen: s.clone(), help, ..ViewState::default() };
                    let buf = render_to_buffer(&snap, &view, now, &theme, w1, h1);
                    check_console_frame(&buf, &format!("{s:?} help={help} {w1}×{h1}"));
                }
            }
            for (name, _) in warroom::views::BUILT_IN {
                let Some(def) = warroom::views::built_in(name) else { panic!("{name}") };
                let view = ViewState { def, ..ViewState::default() };
                let buf = render_to_buffer(&snap, &view, now, &theme, w1, h1);
                check_console_frame(&buf, &format!("view {name} {w1}×{h1}"));
            }
            let mut buf = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, w, h));
            warroom::wall::render(&snap, &wall, now, &theme, buf.area, &mut buf);
            let text = printable(&buf, &format!("wall {w}×{h}"));
            if w >= 20 && h >= 6 {
                // The storm degrades every region at 5 minutes: the level's
                // glyph is on the wall at any size, the regions when they fit.
                assert!(text.contains('▲') && !text.contains('✔'), "wall {w}×{h}:\n{text}");
                if w >= 100 && h >= 20 {
                    assert!(text.contains("us-west-2") && text.contains("DEGRADED"), "wall {w}×{h}:\n{text}");
                }
            } else if h > 0 && w >= 31 {
                assert!(text.starts_with("terminal too small for the wall"), "wall {w}×{h}:\n{text}");
            }
        }
    }
}

#[tokio::test]
async fn the_service_screen_shows_latency_regions_slos_and_circuits() {
    let text = frame(args("service:payments", 120, 44, Scenario::DependencyStorm, 600.0)).await;
    assert!(text.contains("Service payments"), "{text}");
    assert!(text.contains("latency in ") && text.contains("(worst p99), last 1h, ms"), "{text}");
    assert!(text.contains("SLA 100 / 200 / 500 ms"), "{text}");
    assert!(text.lines().any(|l| l.contains("ap-southeast-1") && l.contains("DOWN")), "{text}");
    assert!(text.contains("SLO 99.95 avail month") && text.contains("PAGE"), "{text}");
    assert!(text.contains("circuit → auth in us-east-1"), "{text}");
    let missing = frame(args("service:nope", 80, 24, Scenario::Calm, 0.0)).await;
    assert!(missing.contains("service nope is not reported"), "{missing}");
}

#[tokio::test]
async fn the_deployment_screen_shows_steps_analysis_and_history() {
    let text = frame(args("deployment:checkout/us-east-1", 110, 24, Scenario::BadCanary, 600.0)).await;
    assert!(text.contains("phase ✖ Degraded"), "{text}");
    assert!(text.contains("steps 10% → [25%] → 50% → 100%   (step 2/4)"), "{text}");
    assert!(text.contains("analysis ✖ Failing"), "{text}");
    let errors = text.lines().find(|l| l.contains("│errors")).unwrap_or_default();
    assert!(errors.contains("12.0") && !errors.contains(" 0.000%"), "baseline is the stable version's: {errors}");
    assert!(text.contains("history (what this console has seen"), "{text}");
}

/// At every size, each region is either a column of the health matrix or
/// counted by its `+N→` marker: none disappears unmarked (#15.7).
#[tokio::test]
async fn every_region_is_shown_or_counted_at_every_size() {
    let names = [("us-east-1", "use1"), ("us-west-2", "usw2"), ("eu-west-1", "euw1"), ("ap-southeast-1", "apse1")];
    let mut checked = 0;
    for view in ["overview", "noc", "deploy", "latency"] {
        for w in (40..=220).step_by(9) {
            for h in [12u16, 24, 40] {
                let text = frame(args(view, w, h, Scenario::RegionOutage, 300.0)).await;
                let Some(head) = text.lines().find(|l| l.contains("│service ") && l.contains("use1")) else {
                    continue;
                };
                // The matrix is the pane whose header row holds region names.
                let shown = names.iter().filter(|(full, short)| head.contains(full) || head.contains(short)).count();
                let marked = head
                    .split('+')
                    .nth(1)
                    .and_then(|rest| rest.split('→').next())
                    .and_then(|n| n.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                assert_eq!(shown + marked, 4, "{view} {w}×{h}: {head}");
                // The DOWN region is never the one dropped.
                assert!(head.contains("usw2") || head.contains("us-west-2"), "{view} {w}×{h}: {head}");
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "the matrix header was found at {checked} sizes only");
}

/// The header never claims OK while the sources fail (#15.7).
#[tokio::test]
async fn the_header_says_sources_fail_when_they_do() {
    use warroom::model::{derive, FeedId, Fleet};
    let snap = {
        let mut f = Fleet::default();
        let now = chrono::Utc::now();
        for feed in [FeedId::Regions, FeedId::Services, FeedId::Metrics, FeedId::Probes] {
            match feed {
                FeedId::Regions => f.regions.set(now, Err("dns error: no such host".into())),
                FeedId::Services => f.services.set(now, Err("dns error: no such host".into())),
                FeedId::Metrics => f.metrics.set(now, Err("dns error: no such host".into())),
                _ => f.probes.set(now, Err("dns error: no such host".into())),
            }
        }
        derive(f, 1)
    };
    let view = warroom::app::view::ViewState::default();
    for (w, h) in [(80u16, 24u16), (120, 40), (200, 60)] {
        let buf =
            warroom::snapshot_cmd::render_to_buffer(&snap, &view, chrono::Utc::now(), &warroom_ui::Theme::ansi(), w, h);
        let text = warroom::snapshot_cmd::buffer_to_text(&buf);
        let header = text.lines().next().unwrap_or_default();
        assert!(header.contains("✖ SOURCES FAILING") && !header.contains("OK ·"), "{w}×{h}: {header}");
        assert!(!text.contains("no alerts firing"), "a failing or absent source never looks calm:\n{text}");
    }
    let empty = derive(Fleet::default(), 1);
    let buf =
        warroom::snapshot_cmd::render_to_buffer(&empty, &view, chrono::Utc::now(), &warroom_ui::Theme::ansi(), 120, 40);
    let header = warroom::snapshot_cmd::buffer_to_text(&buf).lines().next().unwrap_or_default().to_string();
    assert!(header.contains("? NO DATA"), "the first second of a start: {header}");
}
