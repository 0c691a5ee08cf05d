//! Alertmanager's active and pending silences: what they mute, who set
//! them and why, until when, and how many alerts they mute now.

use warroom_ui::{Align, Cell, Column, LazyRows};

use super::common::feed_badge;
use super::{ActsOn, Ctx, Kind, Pane, PaneContent, Spec};
use crate::model::{Silence, Snapshot};

/// Silences, ending soonest first (as read).
pub fn rows(snap: &Snapshot) -> &[Silence] {
    &snap.fleet.silences
}

pub struct SilencesPane;

impl Pane for SilencesPane {
    fn kind(&self) -> Kind {
        Kind::Silences
    }
    fn name(&self) -> &'static str {
        "silences"
    }
    fn title(&self) -> &'static str {
        "Silences"
    }
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        rows(ctx.snap).len()
    }
    fn is_empty(&self, snap: &Snapshot) -> bool {
        snap.fleet.silences.is_empty()
    }
    fn acts_on(&self) -> Option<ActsOn> {
        Some(ActsOn::Silence)
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, _width: u16) -> Option<PaneContent<'a>> {
        let (snap, theme, now) = (ctx.snap, ctx.theme, ctx.now);
        let f = &snap.fleet;
        let columns = vec![
            Column::new("until", 11, Align::Left, 0),
            Column::new("mutes", 18, Align::Left, 0).flex(),
            Column::new("now", 4, Align::Right, 2),
            Column::new("by", 8, Align::Left, 1),
            Column::new("why", 12, Align::Left, 3).flex(),
            Column::new("id", 8, Align::Left, 4),
        ];
        let items = rows(snap);
        let alerts = f.alerts.items();
        let rows = LazyRows {
            len: items.len(),
            make: move |i: usize| {
                let s = &items[i];
                let left = s.ends_at.map(|e| (e - now).num_seconds()).unwrap_or(0).max(0) as f64;
                let until = match s.state.as_str() {
                    "pending" => "pending".to_string(),
                    _ => format!("{} left", super::dr::secs_words(left)),
                };
                // What Alertmanager says it mutes (its `silencedBy`).
                let mutes = alerts.iter().filter(|a| a.silenced_by.contains(&s.id)).count();
                vec![
                    Cell::new(until, if left < 900.0 { theme.warn } else { theme.text }),
                    Cell::new(s.matchers_words(), theme.text),
                    Cell::new(mutes.to_string(), theme.muted),
                    Cell::new(s.created_by.clone(), theme.muted),
                    Cell::new(crate::actions::alertmanager::untagged(&s.comment), theme.muted),
                    Cell::new(s.id.clone(), theme.muted),
                ]
            },
        };
        Some(PaneContent {
            rows: Box::new(rows),
            title: format!("Silences · {}", items.len()),
            badge: Some(feed_badge(&f.alerts, now, theme)),
            error: f.alerts.error_text(),
            columns,
            selected: Some(ctx.row(Kind::Silences)),
            selected_col: None,
            empty: super::common::pane_empty(ctx, &f.alerts, now, "no active silences"),
            sort_cols: Vec::new(),
        })
    }
}
