//! Database clusters: one row per member — where it is, its role, its
//! state, its lag behind the writer — and a row that says so when a
//! cluster has no writer accepting writes.

use warroom_ui::{Align, Cell, Column, LazyRows};

use super::common::feed_badge;
use super::{ActsOn, Ctx, Kind, Pane, PaneContent, Spec};
use crate::model::infra::bytes_words;
use crate::model::{Database, DbMember, DbRole, Snapshot};

/// The rows: every member of every cluster, and `None` in place of the
/// writer of a cluster that has none up.
pub fn rows(snap: &Snapshot) -> Vec<(&Database, Option<&DbMember>)> {
    let mut out = Vec::new();
    for db in snap.fleet.databases.items() {
        if db.writer().is_none() {
            out.push((db, None));
        }
        let mut members: Vec<&DbMember> = db.members.iter().collect();
        members.sort_by_key(|m| (m.role, m.name.clone()));
        out.extend(members.into_iter().map(|m| (db, Some(m))));
    }
    out
}

/// The `databases` pane kind.
pub struct DatabasesPane;

impl Pane for DatabasesPane {
    fn kind(&self) -> Kind {
        Kind::Databases
    }
    fn name(&self) -> &'static str {
        "databases"
    }
    fn title(&self) -> &'static str {
        "Databases"
    }
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        rows(ctx.snap).len()
    }
    fn is_empty(&self, snap: &Snapshot) -> bool {
        snap.fleet.databases.items().is_empty() && snap.fleet.databases.error.is_none()
    }
    fn acts_on(&self) -> Option<ActsOn> {
        Some(ActsOn::Database)
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, _width: u16) -> Option<PaneContent<'a>> {
        let (snap, theme, now) = (ctx.snap, ctx.theme, ctx.now);
        let f = &snap.fleet;
        let columns = vec![
            // Narrow, the timeline goes first, then the region, the state
            // (the lag carries ▲/✖), then the cluster (member names often
            // carry it); member, role and lag stay.
            Column::new("cluster", 10, Align::Left, 1),
            Column::new("member", 14, Align::Left, 0),
            Column::new("region", 10, Align::Left, 3),
            Column::new("role", 12, Align::Left, 0),
            Column::new("state", 12, Align::Left, 2),
            Column::new("lag", 10, Align::Right, 0),
            Column::new("tl", 3, Align::Right, 4),
        ];
        let (ok, bad) = if theme.ascii { ("ok", "X") } else { ("●", "✖") };
        let items = rows(snap);
        let rows = LazyRows {
            len: items.len(),
            make: move |i: usize| {
                let (db, m) = items[i];
                let Some(m) = m else {
                    // The cluster's name in the member column too: narrow,
                    // the cluster column is the one left out.
                    return vec![
                        Cell::new(db.name.clone(), theme.text),
                        Cell::new(db.name.clone(), theme.critical),
                        Cell::new("", theme.muted),
                        Cell::new(format!("{bad} NO WRITER"), theme.critical),
                        Cell::new("writes fail", theme.critical),
                        Cell::new("", theme.muted),
                        Cell::new("", theme.muted),
                    ];
                };
                let state_style = if m.up { theme.text } else { theme.critical };
                let glyph = if m.up { ok } else { bad };
                // The glyph as well as the colour (▲ at half the limit, ✖
                // over it): bytes against the lag limit (Patroni), else
                // seconds against the tier's RPO (RDS/Aurora, CloudWatch).
                let mark = |over: bool, warn: bool| {
                    if over {
                        (theme.critical, format!("{bad} "))
                    } else if warn {
                        (theme.warn, if theme.ascii { "^ ".to_string() } else { "▲ ".to_string() })
                    } else {
                        (theme.text, String::new())
                    }
                };
                let lag = match (m.role, m.lag_bytes, m.lag_seconds) {
                    // Narrow, the state column goes first: a member that
                    // is down says so where the lag would be.
                    _ if !m.up => Cell::new(format!("{bad} down"), theme.critical),
                    (DbRole::Writer, _, _) => Cell::new("—", theme.muted),
                    (_, Some(b), _) => {
                        let over = db.max_lag_bytes.is_some_and(|max| b > max);
                        let warn = db.max_lag_bytes.is_some_and(|max| b * 2 > max);
                        let (style, mark) = mark(over, warn);
                        Cell::new(format!("{mark}{}", bytes_words(b)), style)
                    }
                    (_, None, Some(secs)) => {
                        let obj = super::dr::objective(db, snap).1;
                        let frac = crate::model::infra::lag_fraction(m, db, &obj).unwrap_or(0.0);
                        let (style, mark) = mark(frac > 1.0, frac >= 0.5);
                        Cell::new(format!("{mark}{}", secs_short(secs)), style)
                    }
                    (_, None, None) => Cell::new("unknown", theme.warn),
                };
                vec![
                    Cell::new(db.name.clone(), theme.text),
                    Cell::new(m.name.clone(), theme.text),
                    Cell::new(m.region.clone().unwrap_or_else(|| "?".into()), theme.muted),
                    Cell::new(m.role.word(), if m.role == DbRole::Writer { theme.info } else { theme.text }),
                    Cell::new(format!("{glyph} {}", m.state), state_style),
                    lag,
                    Cell::new(m.timeline.map(|t| t.to_string()).unwrap_or_default(), theme.muted),
                ]
            },
        };
        Some(PaneContent {
            rows: Box::new(rows),
            title: "Databases".into(),
            badge: Some(feed_badge(&f.databases, now, theme)),
            error: f.databases.error_text(),
            columns,
            selected: Some(ctx.row(Kind::Databases)),
            selected_col: None,
            empty: super::common::pane_empty(ctx, &f.databases, now, "no database clusters reported"),
            sort_cols: Vec::new(),
        })
    }
}

/// Seconds of lag, short: `850ms`, `1.2s`, `3m`.
fn secs_short(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0}ms", (s * 1000.0).max(0.0))
    } else {
        super::dr::secs_words(s)
    }
}
