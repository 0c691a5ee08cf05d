//! The registries are complete: every pane kind is registered once, parses
//! from a view file by its name and draws at every size from 1×1 to 300×100
//! (focused, with its selection moved past the end); every feed has its
//! poll interval and source slot. A new kind or feed that misses a line
//! fails here, not at 3 a.m.

use std::sync::Arc;

use chrono::Utc;
use warroom::app::view::ViewState;
use warroom::dataplane::{default_interval, fetch_once, not_configured, Intervals};
use warroom::model::{FeedId, FEEDS};
use warroom::panes::Kind;
use warroom::snapshot_cmd::{buffer_to_text, render_to_buffer};
use warroom::sources::Clock;
use warroom_sim::{Scenario, SimConfig};

/// Widths and heights around the thresholds the layouts and panes use.
const SIDES: [u16; 14] = [1, 2, 3, 5, 8, 9, 12, 24, 29, 30, 31, 80, 120, 300];

fn exhaustive(k: Kind) -> usize {
    // A new kind does not compile until it is listed here (and in ALL).
    match k {
        Kind::Matrix
        | Kind::Latency
        | Kind::LatencyChart
        | Kind::Budgets
        | Kind::Canaries
        | Kind::Circuits
        | Kind::Flags
        | Kind::Alerts
        | Kind::Actions
        | Kind::BigStatus
        | Kind::Clock
        | Kind::Databases
        | Kind::Dr
        | Kind::Silences
        | Kind::BlueGreen
        | Kind::Changes => Kind::ALL.iter().filter(|x| **x == k).count(),
    }
}

#[test]
fn every_pane_kind_is_registered_once_under_its_own_name() {
    let mut names: Vec<&str> = Vec::new();
    for k in Kind::ALL {
        assert_eq!(exhaustive(k), 1, "{k:?} is in Kind::ALL once");
        assert_eq!(k.pane().kind(), k, "{k:?}: the registry gives its own module");
        assert_eq!(Kind::parse(k.name()), Some(k), "{k:?} parses from its name");
        assert!(!k.title().is_empty());
        assert!(!names.contains(&k.name()), "{} is one kind's name", k.name());
        names.push(k.name());
        // A focusable kind has something to sort or select by; a tile none.
        if !k.focusable() {
            assert!(k.pane().sort_columns(4).is_empty(), "{k:?} is not a table: nothing to sort");
        }
    }
    assert_eq!(Kind::parse("no-such-pane"), None);
}

#[test]
fn every_feed_has_an_interval_and_a_slot() {
    let iv = Intervals::default();
    for f in FEEDS {
        assert!(default_interval(f) > std::time::Duration::ZERO, "{f:?} has a default interval");
        assert_eq!(iv.get(f), default_interval(f), "{f:?} has its own slot");
        assert!(not_configured(f).starts_with("not configured: add ["), "{f:?} says how to add a source");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_has_a_source_for_every_feed_but_traffic() {
    // The demo's registry (one control plane, and the database clusters it
    // lists, through their Patroni API) has a source for every feed;
    // probes follow the fleet and run beside the registry.
    let sim = warroom_sim::start(SimConfig::default(), ([127, 0, 0, 1], 0).into()).await.expect("sim");
    let (demo, routes) = warroom::wiring::control_plane_with_databases(&sim.url()).await.expect("sources");
    assert!(routes.get(warroom::actions::TargetKind::Database).is_some_and(|p| p.label() == "patroni"));
    assert!(
        routes.get(warroom::actions::TargetKind::Alert).is_some_and(|p| p.label().starts_with("alertmanager ")),
        "the sim's Alertmanager API owns the demo's silences"
    );
    for f in FEEDS {
        match demo.for_feed(f) {
            Some(s) => assert!(s.feeds().contains(&f), "{f:?}: {} says it supplies it", s.name()),
            // Traffic (Route 53) comes from the system that holds it; the
            // sim does not serve Route 53.
            None if f == FeedId::Traffic => {}
            None => assert!(f == FeedId::Probes && demo.probes.is_some(), "{f:?} has no source in the demo"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pane_kind_parses_from_toml_and_draws_at_any_size() {
    let start = Utc::now().timestamp_millis() as f64 / 1000.0 - 600.0;
    let cfg = SimConfig {
        scenario: Scenario::BadCanary,
        time_scale: 0.0,
        start_unix: Some(start),
        at_secs: 600.0,
        ..SimConfig::default()
    };
    let sim = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await.expect("the simulator starts");
    let now = Utc::now();
    let clock: Clock = Arc::new(move || now);
    let snap = fetch_once(&sim.url(), &Intervals::default(), clock).await.expect("a snapshot of the demo fleet");
    sim.shutdown().await;
    let theme = warroom_ui::Theme::ansi();
    for k in Kind::ALL {
        let text = format!("title = \"one\"\n[[layout]]\n[[layout.column]]\npanes = [{{ kind = \"{}\" }}]\n", k.name());
        let def = warroom::views::parse("one", std::path::Path::new("one.toml"), &text)
            .unwrap_or_else(|e| panic!("{}: {e:?}", k.name()));
        assert_eq!(def.layouts[0].groups[0].panes[0].kind, k);
        let mut view = ViewState { def: Arc::new(def), ..ViewState::default() };
        if k.focusable() {
            view.focus = k;
            view.rows.insert(k, usize::MAX / 2);
            assert_eq!(view.focus_order(&snap), vec![k], "{k:?} takes focus");
        } else {
            assert!(view.focus_order(&snap).is_empty(), "{k:?} never takes focus");
        }
        for w in SIDES {
            for h in SIDES.iter().copied().filter(|h| *h <= 100) {
                let buf = render_to_buffer(&snap, &view, now, &theme, w, h);
                assert_eq!((buf.area.width, buf.area.height), (w, h));
            }
        }
        let big = buffer_to_text(&render_to_buffer(&snap, &view, now, &theme, 300, 100));
        assert!(big.contains(k.title()) || !k.focusable(), "{k:?} draws its title:\n{big}");
    }
}
