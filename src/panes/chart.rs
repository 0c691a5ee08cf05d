//! A drill-down chart's state in a viewer: the window (`[`/`]`), the week
//! earlier laid over it (`c`), the pause (Space) and the range queries the
//! last frame wanted. Kept here, with the panes that read it; the viewer
//! owns it (`ViewState::chart`).

use std::sync::Arc;

use crate::model::Snapshot;

/// The service drill-down's latency chart: its window (`[`/`]`), the week
/// earlier laid over it (`c`), and a pause (Space) that freezes the
/// drill-down on one snapshot while the data plane goes on.
#[derive(Debug, Clone)]
pub struct ChartView {
    /// Index into `range::SPANS`.
    pub span: usize,
    pub compare: bool,
    /// The snapshot the drill-down is frozen on, and when it was frozen.
    pub paused: Option<(Arc<Snapshot>, chrono::DateTime<chrono::Utc>)>,
    /// The metrics source ranges are asked of (None: none here).
    pub source: Option<String>,
    /// The range queries the last frame wanted: the viewer asks for them
    /// after drawing (the answers come back in later snapshots).
    pub wanted: std::cell::RefCell<Vec<crate::model::range::RangeQuery>>,
}

impl Default for ChartView {
    fn default() -> Self {
        ChartView {
            span: crate::model::range::LIVE_SPAN,
            compare: false,
            paused: None,
            source: None,
            wanted: Default::default(),
        }
    }
}

impl ChartView {
    pub fn span_secs(&self) -> u32 {
        crate::model::range::SPANS[self.span.min(crate::model::range::SPANS.len() - 1)].0
    }
    pub fn span_label(&self) -> &'static str {
        crate::model::range::SPANS[self.span.min(crate::model::range::SPANS.len() - 1)].1
    }
    /// Whether the chart needs a range query (not the live hour alone).
    pub fn needs_range(&self) -> bool {
        self.span != crate::model::range::LIVE_SPAN || self.compare
    }
}
