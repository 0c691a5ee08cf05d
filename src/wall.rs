//! Wall mode: a read-only, self-rotating, large-type view for NOC screens.
//! It never binds an action; its state is small and bounded (one entry per
//! region), so it can run for weeks.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use warroom_ui::{big_height, big_width, BigText, Level, Panel, Theme};

use crate::app::view::ViewState;
use crate::model::{RegionStatus, Snapshot};
use crate::panes::common::{fmt_age, region_level};

/// How long a changed region stays highlighted.
pub const HIGHLIGHT_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq)]
pub enum WallView {
    /// Big status banner, clocks and one tile per region.
    Summary,
    /// Any view (built-in or the user's), read-only.
    View(std::sync::Arc<crate::views::ViewDef>),
}

impl WallView {
    /// `summary`, or the name of any view in `catalog`.
    pub fn parse_in(s: &str, catalog: &crate::views::Catalog) -> Result<WallView, String> {
        match s.trim() {
            "summary" => Ok(WallView::Summary),
            name => match catalog.get(name) {
                Some(def) => Ok(WallView::View(def)),
                None => Err(format!("unknown wall view '{name}' (summary or a view: {})", catalog.names().join(", "))),
            },
        }
    }

    /// A comma-separated rotation (`summary,noc,overview`).
    pub fn parse_list(s: &str, catalog: &crate::views::Catalog) -> Result<Vec<WallView>, String> {
        s.split(',').filter(|p| !p.trim().is_empty()).map(|p| WallView::parse_in(p, catalog)).collect()
    }

    pub fn name(&self) -> &str {
        match self {
            WallView::Summary => "summary",
            WallView::View(def) => &def.name,
        }
    }
}

/// Per-screen wall state.
#[derive(Debug, Clone)]
pub struct WallState {
    pub views: Vec<WallView>,
    pub rotate: Duration,
    pub started: DateTime<Utc>,
    /// Region → (last status seen, when it last changed).
    pub changes: HashMap<String, (RegionStatus, Option<DateTime<Utc>>)>,
    /// The overview's view state (viewer role, no dialogs).
    pub view: ViewState,
    /// Runbook runs in progress (from the state directory), and when they
    /// were last read.
    pub runs: Vec<crate::runbook::run::RunRecord>,
    pub runs_read: Option<DateTime<Utc>>,
}

impl WallState {
    pub fn new(views: Vec<WallView>, rotate: Duration, now: DateTime<Utc>) -> WallState {
        let views =
            if views.is_empty() { vec![WallView::Summary, WallView::View(crate::views::overview())] } else { views };
        WallState {
            views,
            rotate,
            started: now,
            changes: HashMap::new(),
            view: ViewState::default(),
            runs: vec![],
            runs_read: None,
        }
    }

    /// The view on screen at `now`.
    pub fn current(&self, now: DateTime<Utc>) -> (usize, &WallView) {
        let secs = (now - self.started).num_milliseconds().max(0) as u128;
        let period = self.rotate.as_millis().max(1000);
        let i = ((secs / period) % self.views.len() as u128) as usize;
        (i, &self.views[i])
    }

    /// When the view next changes.
    pub fn next_rotation(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let period = self.rotate.as_millis().max(1000) as i64;
        let elapsed = (now - self.started).num_milliseconds().max(0);
        self.started + chrono::Duration::milliseconds((elapsed / period + 1) * period)
    }

    /// Note region status changes (a region seen for the first time is not
    /// a change), and every few seconds which runbook runs are in progress.
    pub fn observe(&mut self, snap: &Snapshot, now: DateTime<Utc>) {
        if self.runs_read.is_none_or(|t| (now - t).num_seconds() >= 2) {
            self.runs_read = Some(now);
            if let Some(dir) = &self.view.runs_dir {
                self.runs = crate::runbook::run::running_cached(dir).to_vec();
            }
        }
        for r in snap.fleet.regions.items() {
            let status = crate::model::rollup::region_of(snap, r, now).status;
            match self.changes.get_mut(&r.name) {
                // Leaving UNKNOWN (no data yet at start) is a first sight, not a change.
                Some((last, _)) if *last == RegionStatus::Unknown => *last = status,
                Some((last, at)) if *last != status => {
                    *last = status;
                    *at = Some(now);
                }
                Some(_) => {}
                None => {
                    self.changes.insert(r.name.clone(), (status, None));
                }
            }
        }
        // Forget regions that disappeared, so the map never grows.
        let known: Vec<&str> = snap.fleet.regions.items().iter().map(|r| r.name.as_str()).collect();
        self.changes.retain(|k, _| known.contains(&k.as_str()));
    }

    /// Seconds since the region changed, while it is still highlighted.
    pub fn highlight(&self, region: &str, now: DateTime<Utc>) -> Option<i64> {
        let (_, at) = self.changes.get(region)?;
        let secs = (now - (*at)?).num_seconds();
        (secs < HIGHLIGHT_SECS).then_some(secs)
    }
}

/// Draw the wall at `now`.
pub fn render(snap: &Snapshot, wall: &WallState, now: DateTime<Utc>, theme: &Theme, area: Rect, buf: &mut Buffer) {
    if area.width < 20 || area.height < 6 {
        if area.height > 0 {
            warroom_ui::put(buf, area.x, area.y, "terminal too small for the wall", area.width as usize, theme.warn);
        }
        return;
    }
    let (i, view) = wall.current(now);
    let footer = Rect::new(area.x, area.y + area.height - 1, area.width, 1);
    let left = (wall.next_rotation(now) - now).num_seconds().max(0);
    let local = now.with_timezone(&Local);
    let name = view.name();
    let info = format!(
        "{} WALL read-only · {}/{} {name} · next {left}s · {} UTC · {} local",
        if wall.view.demo.is_some() { " DEMO ·" } else { "" },
        i + 1,
        wall.views.len(),
        now.format("%H:%M:%S"),
        local.format("%H:%M:%S")
    );
    warroom_ui::put(buf, footer.x, footer.y, info, footer.width as usize, theme.muted);
    let mut body = Rect::new(area.x, area.y, area.width, area.height - 1);
    // The ticker: the open incident and the newest note of the last hour.
    if let Some((text, style)) = ticker(snap, now, theme).filter(|_| body.height > 8) {
        body.height -= 1;
        warroom_ui::put(buf, body.x, body.y + body.height, text, body.width as usize, style);
    }
    match view {
        WallView::Summary => summary(snap, wall, now, theme, body, buf),
        WallView::View(def) => {
            // The wall's own footer replaces the view's key hints: it binds no keys.
            let mut v = wall.view.clone();
            v.def = def.clone();
            v.focus = v.focus_order(snap).first().copied().unwrap_or(v.focus);
            crate::render::render_wall_page(snap, &v, now, theme, body, buf);
        }
    }
}

/// The wall's ticker line: the open incident, then the newest operator
/// note of the last hour (none: no line).
fn ticker(snap: &Snapshot, now: DateTime<Utc>, theme: &Theme) -> Option<(String, ratatui::style::Style)> {
    let src = snap.source_now(now);
    let note = snap
        .changes
        .newest()
        .take(500)
        .find(|c| c.kind == crate::model::changes::ChangeKind::Note && (src - c.at).num_minutes() < 60)
        .map(|c| format!("NOTE {} {}: {}", c.at.format("%H:%M"), c.source, c.after));
    let incident = snap.incident.as_ref().map(|i| {
        let age = fmt_age((src - i.opened_at).num_seconds().max(0) as f64);
        format!("INCIDENT {} · {} · {age} · commander {}", i.severity, i.title, i.commander)
    });
    match (incident, note) {
        (Some(i), Some(n)) => Some((format!(" {i}   {n}"), theme.critical)),
        (Some(i), None) => Some((format!(" {i}"), theme.critical)),
        (None, Some(n)) => Some((format!(" {n}"), theme.info)),
        (None, None) => None,
    }
}

/// One region's tile: its state in words, traffic, services, and a mark
/// while it has just changed.
fn region_tile(
    snap: &Snapshot,
    wall: &WallState,
    r: &crate::model::Region,
    now: DateTime<Utc>,
    theme: &Theme,
    rect: Rect,
    buf: &mut Buffer,
) {
    let roll = crate::model::rollup::region_of(snap, r, now);
    let lv = if roll.stale && roll.status == RegionStatus::Unknown { Level::Stale } else { region_level(roll.status) };
    let changed = wall.highlight(&r.name, now);
    let inner = Panel { title: &r.name, focused: changed.is_some(), badge: None, theme }.render(rect, buf);
    if inner.height == 0 {
        return;
    }
    let mut st = theme.level(lv);
    if changed.is_some() {
        st = st.patch(theme.selection);
    }
    warroom_ui::put(
        buf,
        inner.x,
        inner.y,
        format!("{} {}", lv.glyph(theme.ascii), lv.word()),
        inner.width as usize,
        st,
    );
    let (down, degr) = (roll.down, roll.degraded);
    if inner.height > 1 {
        warroom_ui::put(
            buf,
            inner.x,
            inner.y + 1,
            format!("traffic {:.0}%", r.weight),
            inner.width as usize,
            theme.text,
        );
    }
    if let (Some(secs), true) = (changed, inner.height > 3) {
        let text = format!(" CHANGED {} ago ", fmt_age(secs as f64));
        warroom_ui::put(buf, inner.x, inner.y + 3, text, inner.width as usize, theme.level(lv).patch(theme.selection));
    }
    if inner.height > 2 {
        let (svc, s) = if down + degr > 0 {
            let s = if down > 0 { theme.critical } else { theme.warn };
            (format!("{down} down · {degr} degraded"), s)
        } else if roll.stale {
            ("health data stale".to_string(), theme.stale)
        } else if roll.unknown > 0 {
            (format!("{} of {} unknown", roll.unknown, roll.total), theme.muted)
        } else if roll.total == 0 {
            ("no services reported".to_string(), theme.muted)
        } else {
            ("all services OK".to_string(), theme.ok)
        };
        warroom_ui::put(buf, inner.x, inner.y + 2, svc, inner.width as usize, s);
    }
}

fn summary(snap: &Snapshot, wall: &WallState, now: DateTime<Utc>, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let roll = crate::model::rollup::fleet(snap, now);
    let level = crate::render::overall_level(roll.state);
    let word = roll.state.word().to_string();
    let reason = roll.reason(3);
    let style = theme.level(level);
    // As large as fits: scale 1 at 80×24, more on big screens.
    let mut scale = 1;
    for s in (1..=4).rev() {
        if big_width(&word, s) + 4 <= area.width && big_height(s) * 2 + 8 <= area.height {
            scale = s;
            break;
        }
    }
    let glyph = format!("{} ", level.glyph(theme.ascii));
    buf.set_stringn(area.x + 1, area.y + 1, &glyph, 2, style);
    let banner = Rect::new(area.x + 3, area.y, area.width.saturating_sub(3), big_height(scale));
    BigText { text: &word, style: Theme::solid(style), scale }.render(banner, buf);
    let mut y = area.y + big_height(scale) + 1;
    if y >= area.y + area.height {
        return;
    }
    // Where: the worst place in large type too, so the room reads it.
    if let Some(place) = roll.places.first() {
        let big = place.to_uppercase();
        let fits = (1..=scale)
            .rev()
            .find(|s| big_width(&big, *s) + 4 <= area.width && y + big_height(*s) + 6 <= area.y + area.height);
        if let Some(s) = fits {
            let rect = Rect::new(area.x + 3, y, area.width.saturating_sub(3), big_height(s));
            BigText { text: &big, style: Theme::solid(style), scale: s }.render(rect, buf);
            y += big_height(s) + 1;
        }
    }
    let clock = format!("{} UTC", now.format("%Y-%m-%d %H:%M:%S"));
    let demo = if wall.view.demo.is_some() { "DEMO fleet  ·  " } else { "" };
    let line = if reason.is_empty() { format!("{demo}{clock}") } else { format!("{demo}{clock}  ·  {reason}") };
    let w = area.width.saturating_sub(2) as usize;
    buf.set_stringn(area.x + 1, y, warroom_ui::ellipsize(&line, w), w, theme.title);
    y += 2;
    // Runbooks in progress, one line each.
    for r in &wall.runs {
        if y + 1 >= area.y + area.height {
            break;
        }
        let step = r.steps.get(r.current).map(|s| s.title.as_str()).unwrap_or("");
        let text = format!(
            " ▶ RUNBOOK {} · step {}/{}: {step} · started by {} ",
            r.title,
            r.current + 1,
            r.steps.len(),
            r.started_by
        );
        warroom_ui::put(
            buf,
            area.x + 1,
            y,
            text,
            area.width.saturating_sub(2) as usize,
            theme.info.patch(theme.selection),
        );
        y += 2;
    }
    // One tile per region, in a row (wrapping when narrow).
    let regions = snap.fleet.regions.items();
    if regions.is_empty() || y >= area.y + area.height {
        return;
    }
    let room = area.y + area.height - y;
    let per_row = ((area.width / 20).max(1) as usize).min(regions.len());
    let rows = warroom_ui::cells(regions.len().div_ceil(per_row)).max(1);
    let tile_w = area.width / warroom_ui::cells(per_row).max(1);
    let tile_h = (room / rows).clamp(3, 9);
    // Only the rows that fit are laid out (65,536 regions cost no more).
    let fit = (room / tile_h).max(1) as usize * per_row;
    let mut drawn: usize = 0;
    for (k, r) in regions.iter().enumerate().take(fit) {
        let (col, row) = ((k % per_row) as u16, (k / per_row) as u16);
        let rect = Rect::new(area.x + col * tile_w, y + row * tile_h, tile_w, tile_h);
        if rect.y + rect.height > area.y + area.height {
            break;
        }
        drawn += 1;
        region_tile(snap, wall, r, now, theme, rect, buf);
    }
    // Pages and firing alerts under the tiles, if there is room; regions
    // that did not fit are counted there (the banner counts them all).
    let used = warroom_ui::cells(drawn.div_ceil(per_row)).saturating_mul(tile_h);
    let hidden = regions.len() - drawn;
    let mut y = y.saturating_add(used);
    if hidden > 0 {
        // Never silently: on the last line even if a tile's border goes.
        y = y.min(area.y + area.height - 1);
    }
    if y < area.y + area.height {
        let more = if hidden > 0 { format!("+{hidden} more regions not shown · ") } else { String::new() };
        let pages: Vec<&str> = snap
            .slos
            .iter()
            .filter(|s| s.state == crate::model::slo::AlertState::Page)
            .map(|s| s.service.as_str())
            .collect();
        let alerts = alerts_phrase(snap, now);
        let text = if pages.is_empty() {
            format!("{more}error budgets: no page-level burn · {alerts}")
        } else {
            format!("{more}{} PAGE burn: {} · {alerts}", Level::Critical.glyph(theme.ascii), pages.join(", "))
        };
        let s = if pages.is_empty() { theme.muted } else { theme.critical };
        warroom_ui::put(buf, area.x + 1, y, text, area.width.saturating_sub(2) as usize, s);
    }
}

/// "3 alerts firing", "1 alert firing", "alerts not configured", "alerts unknown (source failing)".
fn alerts_phrase(snap: &Snapshot, now: DateTime<Utc>) -> String {
    use crate::model::FeedState;
    let f = &snap.fleet.alerts;
    let n = f.items().iter().filter(|a| a.state == crate::model::AlertState::Firing).count();
    match f.state(now) {
        FeedState::NotConfigured => "alerts not configured".into(),
        FeedState::Failing => format!("alerts unknown (source failing; {n} firing when last read)"),
        FeedState::Waiting => "alerts: waiting…".into(),
        FeedState::Stale => format!("{n} alert{} firing (stale)", if n == 1 { "" } else { "s" }),
        FeedState::Fresh => format!("{n} alert{} firing", if n == 1 { "" } else { "s" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{derive, Fleet, Region};

    fn snap(status: RegionStatus) -> Snapshot {
        let mut f = Fleet::default();
        let r = Region { name: "r1".into(), status, weight: 100.0, base_weight: None, zones: vec![], since: None };
        f.regions.set(Utc::now(), Ok(vec![r]));
        // One service probed in the region, so the tile has cells to judge.
        let probe = crate::model::Probe {
            service: "s".into(),
            region: "r1".into(),
            kind: crate::model::ProbeKind::Health,
            status: if status == RegionStatus::Down {
                crate::model::ProbeStatus::Down
            } else {
                crate::model::ProbeStatus::Up
            },
            http_status: Some(200),
            latency_ms: 1.0,
            detail: String::new(),
        };
        f.probes.set(Utc::now(), Ok(vec![probe]));
        derive(f, 1)
    }

    #[test]
    fn rotation_and_highlights() {
        let t0 = Utc::now();
        let mut w = WallState::new(vec![], Duration::from_secs(20), t0);
        assert_eq!(w.current(t0).1, &WallView::Summary);
        assert_eq!(w.current(t0 + chrono::Duration::seconds(21)).1.name(), "overview");
        assert_eq!(w.current(t0 + chrono::Duration::seconds(41)).1, &WallView::Summary);
        assert_eq!(w.next_rotation(t0 + chrono::Duration::seconds(5)), t0 + chrono::Duration::seconds(20));
        w.observe(&derive(Fleet::default(), 0), t0);
        w.observe(&snap(RegionStatus::Ok), t0);
        assert_eq!(w.highlight("r1", t0), None, "first sight is not a change");
        let t1 = t0 + chrono::Duration::seconds(3);
        w.observe(&snap(RegionStatus::Down), t1);
        assert_eq!(w.highlight("r1", t1 + chrono::Duration::seconds(10)), Some(10));
        assert_eq!(w.highlight("r1", t1 + chrono::Duration::seconds(61)), None);
        w.observe(&derive(Fleet::default(), 2), t1);
        assert!(w.changes.is_empty(), "state is bounded by the regions that exist");
    }

    #[test]
    fn any_view_may_rotate_on_the_wall_and_pages_show_no_key_hints() {
        let catalog = crate::views::Catalog::for_user();
        let views = WallView::parse_list("summary,noc,overview", &catalog);
        let names: Vec<String> = views.iter().flatten().map(|v| v.name().to_string()).collect();
        assert_eq!(names, vec!["summary", "noc", "overview"]);
        let err = WallView::parse_list("summary,bogus", &catalog).err().unwrap_or_default();
        assert!(err.contains("unknown wall view 'bogus'") && err.contains("noc"), "{err}");
        let t0 = Utc::now();
        let w =
            WallState::new(WallView::parse_list("overview", &catalog).unwrap_or_default(), Duration::from_secs(20), t0);
        let mut buf = Buffer::empty(Rect::new(0, 0, 120, 40));
        render(&snap(RegionStatus::Ok), &w, t0, &Theme::ansi(), buf.area, &mut buf);
        let text: String =
            (0..40).map(|y| (0..120).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>() + "\n").collect();
        assert!(!text.contains("hjkl") && !text.contains("q quit"), "the wall binds no keys:\n{text}");
        assert!(text.contains("WALL read-only · 1/1 overview"), "{text}");
    }

    #[test]
    fn the_ticker_shows_the_incident_and_the_newest_note() {
        use crate::model::changes::{Change, ChangeKind, Severity};
        let t0 = Utc::now();
        let mut s = snap(RegionStatus::Down);
        let note =
            Change::new(t0, ChangeKind::Note, "note by alice".into(), "drained r1".into(), "alice", Severity::Info);
        s.changes.push(note);
        let w = WallState::new(vec![], Duration::from_secs(20), t0);
        let text = |s: &Snapshot| {
            let mut buf = Buffer::empty(Rect::new(0, 0, 120, 30));
            render(s, &w, t0, &Theme::ansi(), buf.area, &mut buf);
            (0..30)
                .map(|y| (0..120).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>() + "\n")
                .collect::<String>()
        };
        assert!(text(&s).contains("alice: drained r1"), "{}", text(&s));
        s.incident = Some(std::sync::Arc::new(crate::model::incident::Incident {
            id: "INC-1".into(),
            title: "r1 down".into(),
            severity: "sev1".into(),
            commander: "alice".into(),
            opened_at: t0,
            impact_at: t0,
            resolved_at: None,
            resolved_by: None,
            slos_open: vec![],
            slos_end: vec![],
            metrics_open_at: None,
            metrics_end_at: None,
            down_at_impact: vec![],
            timeline: vec![],
            business: vec![],
        }));
        assert!(text(&s).contains("INCIDENT sev1 · r1 down"), "{}", text(&s));
    }

    #[test]
    fn any_size_renders() {
        let s = snap(RegionStatus::Down);
        let w = WallState::new(vec![], Duration::from_secs(20), Utc::now());
        for (wd, h) in [(0, 0), (10, 3), (20, 6), (80, 24), (400, 120)] {
            let mut buf = Buffer::empty(Rect::new(0, 0, wd, h));
            render(&s, &w, Utc::now(), &Theme::ansi(), buf.area, &mut buf);
            let text: String =
                (0..h).map(|y| (0..wd).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>() + "\n").collect();
            match (wd, h) {
                (0, 0) => assert!(text.is_empty()),
                // Too small: it says so (cut with `…`), never a garbled wall.
                (10, 3) => assert!(text.starts_with("terminal …"), "{text:?}"),
                // The smallest wall: the level's glyph at least.
                (20, 6) => assert!(text.contains('✖'), "{text}"),
                // The down region is named once there is room.
                _ => assert!(text.contains("r1") && text.contains('✖'), "{wd}×{h}:\n{text}"),
            }
        }
    }

    #[test]
    fn sixty_five_thousand_regions_are_counted_not_a_crash() {
        // 65,536·k regions once truncated to 0 as a u16 and divided by it.
        for n in [65_536usize, 131_072] {
            let mut f = Fleet::default();
            let regions = (0..n)
                .map(|i| Region {
                    name: format!("r{i}"),
                    status: RegionStatus::Ok,
                    weight: 100.0 / n as f64,
                    base_weight: None,
                    zones: vec![],
                    since: None,
                })
                .collect();
            f.regions.set(Utc::now(), Ok(regions));
            let snap = derive(f, 1);
            let now = Utc::now();
            let wall = WallState::new(vec![], Duration::from_secs(20), now);
            let view = crate::app::view::ViewState::default();
            let keymap = crate::keymap::DEFAULT_KEYMAP;
            for (w, h) in [(1u16, 1u16), (30, 10), (80, 24), (200, 60)] {
                let area = ratatui::layout::Rect::new(0, 0, w, h);
                let mut buf = ratatui::buffer::Buffer::empty(area);
                render(&snap, &wall, now, &Theme::default(), area, &mut buf);
                let text: String = buf.content().iter().map(|c| c.symbol()).collect();
                if h >= 24 {
                    assert!(text.contains("more regions not shown"), "{n} at {w}×{h}: the rest are counted");
                }
                let mut buf = ratatui::buffer::Buffer::empty(area);
                crate::render::render(&snap, &view, keymap, now, &Theme::default(), area, &mut buf);
            }
        }
    }
}
