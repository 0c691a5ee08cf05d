//! Frame render and store derive cost for a 6-region × 40-service fleet,
//! and every built-in view at 80×24, 200×60 and 400×120 over 6 × 10,
//! 100 and 1,000 services (`cargo bench --bench render -- views/`).
//! Run: `cargo bench --bench render`.

use std::sync::Arc;

use chrono::Utc;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use warroom::app::view::ViewState;
use warroom::dataplane::{fetch_once, Intervals};
use warroom::keymap::DEFAULT_KEYMAP;
use warroom::model::{derive, Snapshot};
use warroom::sources::Clock;
use warroom_sim::{Scenario, SimConfig};

fn fleet_snapshot() -> Arc<Snapshot> {
    fleet_of(40)
}

fn fleet_of(services: usize) -> Arc<Snapshot> {
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    rt.block_on(async {
        let cfg = SimConfig {
            seed: 7,
            scenario: Scenario::DependencyStorm,
            regions: 6,
            services,
            time_scale: 0.0,
            start_unix: Some(1_768_478_400.0),
            at_secs: 420.0,
        };
        let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim") };
        let clock: Clock = Arc::new(Utc::now);
        let snap = fetch_once(&sim.url(), &Intervals::default(), clock).await;
        sim.shutdown().await;
        match snap {
            Ok(s) => s,
            Err(e) => panic!("fetch: {e}"),
        }
    })
}

fn benches(c: &mut Criterion) {
    let snap = fleet_snapshot();
    let theme = warroom_ui::Theme::ansi();
    let view = ViewState::default();
    let now = Utc::now();
    let mut buf = Buffer::empty(Rect::new(0, 0, 200, 60));
    c.bench_function("render overview 200x60, 6 regions x 40 services", |b| {
        b.iter(|| {
            buf.reset();
            warroom::render::render(&snap, &view, DEFAULT_KEYMAP, now, &theme, buf.area, &mut buf);
            black_box(&buf);
        })
    });
    let mut small = Buffer::empty(Rect::new(0, 0, 80, 24));
    c.bench_function("render overview 80x24, 6 regions x 40 services", |b| {
        b.iter(|| {
            small.reset();
            warroom::render::render(&snap, &view, DEFAULT_KEYMAP, now, &theme, small.area, &mut small);
            black_box(&small);
        })
    });
    for name in ["noc", "latency"] {
        let Some(def) = warroom::views::built_in(name) else { continue };
        let v = ViewState { def, ..ViewState::default() };
        c.bench_function(&format!("render view {name} 200x60, 6 regions x 40 services"), |b| {
            b.iter(|| {
                buf.reset();
                warroom::render::render(&snap, &v, DEFAULT_KEYMAP, now, &theme, buf.area, &mut buf);
                black_box(&buf);
            })
        });
    }
    let fleet = snap.fleet.clone();
    c.bench_function("store derive, 6 regions x 40 services", |b| b.iter(|| black_box(derive(fleet.clone(), 1))));
}

/// Every built-in view at three sizes over three fleet sizes (short runs:
/// 63 benchmarks; the figures go into docs/performance.md).
fn views(c: &mut Criterion) {
    let theme = warroom_ui::Theme::ansi();
    let now = Utc::now();
    let mut g = c.benchmark_group("views");
    g.sample_size(20).warm_up_time(std::time::Duration::from_millis(300));
    g.measurement_time(std::time::Duration::from_secs(1));
    for services in [10, 100, 1_000] {
        let snap = fleet_of(services);
        for (name, _) in warroom::views::BUILT_IN {
            let Some(def) = warroom::views::built_in(name) else { continue };
            let v = ViewState { def, ..ViewState::default() };
            for (w, h) in [(80u16, 24u16), (200, 60), (400, 120)] {
                let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
                g.bench_function(format!("{name} {w}x{h} 6x{services}"), |b| {
                    b.iter(|| {
                        buf.reset();
                        warroom::render::render(&snap, &v, DEFAULT_KEYMAP, now, &theme, buf.area, &mut buf);
                        black_box(&buf);
                    })
                });
            }
        }
        let fleet = snap.fleet.clone();
        g.bench_function(format!("store derive 6x{services}"), |b| b.iter(|| black_box(derive(fleet.clone(), 1))));
    }
    g.finish();
}

/// The store's cost per update at fleet scale: a metrics update (cells and
/// SLOs derived again, changes diffed) and a flags update (nothing derived
/// again: the cells and SLOs are the previous snapshot's).
fn store(c: &mut Criterion) {
    use warroom::model::FeedId;
    use warroom::sources::{Payload, Update};
    let mut g = c.benchmark_group("store");
    g.sample_size(20).warm_up_time(std::time::Duration::from_millis(300));
    g.measurement_time(std::time::Duration::from_secs(2));
    for services in [100, 1_000] {
        let snap = fleet_of(services);
        let f = &snap.fleet;
        let mut store = warroom::store::Store::new(&Intervals::default());
        let mut at = Utc::now();
        let up = |feed, p, at| Update { source: None, feed, at, result: Ok(p) };
        store.apply(up(FeedId::Regions, Payload::Regions(f.regions.items().to_vec()), at));
        store.apply(up(FeedId::Services, Payload::Services(f.services.items().to_vec()), at));
        store.apply(up(FeedId::Deployments, Payload::Deployments(f.deployments.items().to_vec()), at));
        store.apply(up(FeedId::Metrics, Payload::Metrics(f.metrics.items().to_vec()), at));
        store.apply(up(FeedId::Probes, Payload::Probes(f.probes.items().to_vec()), at));
        black_box(store.snapshot());
        let traffic = f.metrics.items().to_vec();
        g.bench_function(format!("metrics update 6x{services}"), |b| {
            b.iter_batched(
                || traffic.clone(),
                |t| {
                    at += chrono::Duration::seconds(2);
                    store.apply(up(FeedId::Metrics, Payload::Metrics(t), at));
                    black_box(store.snapshot())
                },
                criterion::BatchSize::LargeInput,
            )
        });
        let flags = f.flags.items().to_vec();
        g.bench_function(format!("flags update 6x{services}"), |b| {
            b.iter_batched(
                || flags.clone(),
                |fl| {
                    store.apply(up(FeedId::Flags, Payload::Flags(fl), at));
                    black_box(store.snapshot())
                },
                criterion::BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(render, benches, views, store);
criterion_main!(render);
