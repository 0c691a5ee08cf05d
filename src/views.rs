//! Declarative views: TOML files that lay panes out in columns or rows.
//! Built-in views live in `views/` and are embedded in the binary; users
//! add or override views in the config directory's `views/`. The format is
//! documented in docs/views.md.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use serde::Deserialize;
use toml::Spanned;

use crate::config::ConfigError;

/// (name, file text) of every built-in view.
pub const BUILT_IN: [(&str, &str); 7] = [
    ("overview", include_str!("../views/overview.toml")),
    ("noc", include_str!("../views/noc.toml")),
    ("latency", include_str!("../views/latency.toml")),
    ("slo", include_str!("../views/slo.toml")),
    ("deploy", include_str!("../views/deploy.toml")),
    ("dr", include_str!("../views/dr.toml")),
    ("changes", include_str!("../views/changes.toml")),
];

pub use crate::panes::Kind;

/// A size along the axis a pane or group is laid out on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Size {
    /// As much as the content asks for, shared fairly when short.
    Auto,
    /// Whatever is left over, shared among fills.
    Fill,
    /// Exactly this many cells (if there is room).
    Cells(u16),
    /// This share of the whole.
    Percent(f32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Groups side by side; each stacks its panes top to bottom.
    Columns,
    /// Groups top to bottom; each puts its panes side by side.
    Rows,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PaneSpec {
    pub kind: Kind,
    pub size: Size,
    pub title: Option<String>,
    /// Hide the pane while it has nothing to show (and no error).
    pub hide_empty: bool,
    /// latency-chart: which service (default: the one selected in the
    /// latency pane, else the worst p99).
    pub service: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub size: Size,
    pub panes: Vec<PaneSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub min_width: u16,
    pub min_height: u16,
    pub split: Split,
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ViewDef {
    pub name: String,
    pub title: String,
    pub description: String,
    /// Where it came from: "built-in" or a path.
    pub source: String,
    /// Services listed first in the matrix and latency panes, in this order.
    pub services_first: Vec<String>,
    /// Only those services.
    pub services_only: bool,
    pub layouts: Vec<Layout>,
}

impl ViewDef {
    /// The layout for a body of this size: the first whose minimums fit,
    /// else the last.
    pub fn layout_for(&self, width: u16, height: u16) -> Option<&Layout> {
        self.layouts.iter().find(|l| width >= l.min_width && height >= l.min_height).or(self.layouts.last())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewFile {
    title: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    services_first: Vec<String>,
    #[serde(default)]
    services_only: bool,
    #[serde(default)]
    layout: Vec<Spanned<LayoutFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutFile {
    #[serde(default)]
    min_width: u16,
    #[serde(default)]
    min_height: u16,
    #[serde(default)]
    column: Vec<Spanned<GroupFile>>,
    #[serde(default)]
    row: Vec<Spanned<GroupFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    size: Option<Spanned<SizeFile>>,
    panes: Vec<PaneFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaneFile {
    kind: Spanned<String>,
    size: Option<Spanned<SizeFile>>,
    title: Option<String>,
    #[serde(default)]
    hide_empty: bool,
    service: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeFile {
    Cells(i64),
    Text(String),
}

fn parse_size(s: &SizeFile) -> Result<Size, String> {
    const HELP: &str = "a size is \"auto\", \"fill\", a number of cells (e.g. 12) or a percentage (e.g. \"40%\")";
    match s {
        SizeFile::Cells(n) if (1..=1000).contains(n) => Ok(Size::Cells(*n as u16)),
        SizeFile::Cells(n) => Err(format!("size {n} out of range (1 to 1000 cells)")),
        SizeFile::Text(t) => match t.trim() {
            "auto" => Ok(Size::Auto),
            "fill" => Ok(Size::Fill),
            t => match t.strip_suffix('%').map(|p| p.trim().parse::<f32>()) {
                Some(Ok(p)) if p > 0.0 && p <= 100.0 => Ok(Size::Percent(p)),
                Some(_) => Err(format!("bad percentage '{t}' (more than 0, at most 100)")),
                None => Err(format!("bad size '{t}': {HELP}")),
            },
        },
    }
}

/// Parse a view file. `name` is the view's name (the file stem).
pub fn parse(name: &str, file: &Path, text: &str) -> Result<ViewDef, Vec<ConfigError>> {
    let err = |span: std::ops::Range<usize>, message: String| ConfigError::at(file, text, span, message);
    let parsed: ViewFile = crate::config::from_toml(file, text)?;
    let mut errors = Vec::new();
    let mut layouts = Vec::new();
    if parsed.layout.is_empty() {
        errors.push(err(0..0, "a view needs at least one [[layout]] with [[layout.column]] or [[layout.row]]".into()));
    }
    let size_of = |s: &Option<Spanned<SizeFile>>, default: Size, errors: &mut Vec<ConfigError>| match s {
        None => default,
        Some(s) => parse_size(s.get_ref()).unwrap_or_else(|m| {
            errors.push(err(s.span(), m));
            default
        }),
    };
    for l in &parsed.layout {
        let span = l.span();
        let l = l.get_ref();
        let (split, groups) = match (l.column.is_empty(), l.row.is_empty()) {
            (false, true) => (Split::Columns, &l.column),
            (true, false) => (Split::Rows, &l.row),
            (true, true) => {
                errors.push(err(span, "a layout needs [[layout.column]] or [[layout.row]] entries".into()));
                continue;
            }
            (false, false) => {
                errors.push(err(span, "a layout has either columns or rows, not both".into()));
                continue;
            }
        };
        let mut out_groups = Vec::new();
        let mut seen: Vec<Kind> = Vec::new();
        for g in groups {
            let gspan = g.span();
            let g = g.get_ref();
            if g.panes.is_empty() {
                errors.push(err(gspan, "a column or row needs at least one pane".into()));
            }
            let mut panes = Vec::new();
            for p in &g.panes {
                let Some(kind) = &Kind::parse(p.kind.get_ref()) else {
                    let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                    errors.push(err(
                        p.kind.span(),
                        format!("unknown pane kind '{}' (one of: {})", p.kind.get_ref(), names.join(", ")),
                    ));
                    continue;
                };
                if kind.focusable() && seen.contains(kind) {
                    errors.push(err(p.kind.span(), format!("pane '{}' appears twice in one layout", kind.name())));
                }
                seen.push(*kind);
                if let Some(s) = &p.service {
                    if *kind != Kind::LatencyChart {
                        errors.push(err(s.span(), "only a latency-chart pane takes a service".into()));
                    }
                }
                panes.push(PaneSpec {
                    kind: *kind,
                    size: size_of(&p.size, Size::Auto, &mut errors),
                    title: p.title.clone(),
                    hide_empty: p.hide_empty,
                    service: p.service.as_ref().map(|s| s.get_ref().clone()),
                });
            }
            out_groups.push(Group { size: size_of(&g.size, Size::Fill, &mut errors), panes });
        }
        layouts.push(Layout { min_width: l.min_width, min_height: l.min_height, split, groups: out_groups });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ViewDef {
        name: name.to_string(),
        title: parsed.title.unwrap_or_else(|| name.to_string()),
        description: parsed.description,
        source: file.display().to_string(),
        services_first: parsed.services_first,
        services_only: parsed.services_only,
        layouts,
    })
}

/// A view that always works: the matrix alone. Used only if a built-in
/// file were broken (a test keeps them parsing).
fn last_resort(name: &str) -> ViewDef {
    let pane = |kind| PaneSpec { kind, size: Size::Fill, title: None, hide_empty: false, service: None };
    ViewDef {
        name: name.to_string(),
        title: name.to_string(),
        description: String::new(),
        source: "built-in".into(),
        services_first: vec![],
        services_only: false,
        layouts: vec![Layout {
            min_width: 0,
            min_height: 0,
            split: Split::Columns,
            groups: vec![Group { size: Size::Fill, panes: vec![pane(Kind::Matrix)] }],
        }],
    }
}

static BUILT_IN_VIEWS: LazyLock<Vec<Arc<ViewDef>>> = LazyLock::new(|| {
    BUILT_IN
        .iter()
        .map(|(name, text)| {
            let mut v =
                parse(name, Path::new(&format!("views/{name}.toml")), text).unwrap_or_else(|_| last_resort(name));
            v.source = "built-in".into();
            Arc::new(v)
        })
        .collect()
});

/// A built-in view by name.
pub fn built_in(name: &str) -> Option<Arc<ViewDef>> {
    BUILT_IN_VIEWS.iter().find(|v| v.name == name).cloned()
}

/// The built-in overview.
pub fn overview() -> Arc<ViewDef> {
    built_in("overview").unwrap_or_else(|| Arc::new(last_resort("overview")))
}

/// Every view the console knows: built-ins, then the user's (a user file
/// with a built-in's name replaces it), and the errors of broken files.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub views: Vec<Arc<ViewDef>>,
    /// (view name, error lines) of files that did not parse.
    pub broken: Vec<(String, Vec<String>)>,
}

impl Catalog {
    /// Built-ins plus the `*.toml` files in `dir` (if given).
    pub fn load(dir: Option<&Path>) -> Catalog {
        let mut c = Catalog { views: BUILT_IN_VIEWS.clone(), broken: vec![] };
        let Some(dir) = dir else { return c };
        for (name, p) in crate::config::toml_files(dir) {
            let result = crate::config::read_config_file(&p)
                .map_err(|e| vec![format!("{}:1:1: {e}", p.display())])
                .and_then(|text| parse(&name, &p, &text).map_err(|es| es.iter().map(|e| e.to_string()).collect()));
            match result {
                Ok(v) => {
                    c.views.retain(|x| x.name != name);
                    c.views.push(Arc::new(v));
                }
                Err(lines) => c.broken.push((name, lines)),
            }
        }
        c
    }

    /// The catalog for this user: built-ins plus the config directory's views.
    pub fn for_user() -> Catalog {
        Catalog::load(user_dir().as_deref())
    }

    pub fn get(&self, name: &str) -> Option<Arc<ViewDef>> {
        self.views.iter().find(|v| v.name == name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        self.views.iter().map(|v| v.name.clone()).collect()
    }

    /// The view to open for `name`: it, or — if its file is broken or it
    /// does not exist — the built-in of that name or the overview, with
    /// the reason.
    pub fn open(&self, name: &str) -> (Arc<ViewDef>, Option<String>) {
        if let Some((_, lines)) = self.broken.iter().find(|(n, _)| n == name) {
            let fallback = built_in(name).unwrap_or_else(overview);
            let why = format!("view '{name}' is broken ({}); showing built-in '{}'", lines.join("; "), fallback.name);
            return (fallback, Some(why));
        }
        match self.get(name) {
            Some(v) => (v, None),
            None => (
                overview(),
                Some(format!("unknown view '{name}' (known: {}); showing overview", self.names().join(", "))),
            ),
        }
    }
}

/// The user's views directory.
pub fn user_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "warroom").map(|d| d.config_dir().join("views"))
}

/// Lay `total` cells out among items of the given sizes. `wants` is what
/// each `Auto` item asks for; with `auto_fills`, `Auto` behaves like
/// `Fill`. Every flexible item first gets up to 4 cells, then cells go
/// round-robin to those wanting more; the rest is shared among fills (or
/// given to the last flexible item when there is no fill).
pub fn distribute(total: u16, sizes: &[Size], wants: &[u16], auto_fills: bool) -> Vec<u16> {
    let n = sizes.len();
    let mut out = vec![0u16; n];
    let mut left = total;
    for (i, s) in sizes.iter().enumerate() {
        let fixed = match s {
            Size::Cells(c) => *c,
            Size::Percent(p) => ((total as f32) * p / 100.0).round() as u16,
            Size::Auto | Size::Fill => continue,
        };
        out[i] = fixed.min(left);
        left -= out[i];
    }
    let is_fill = |s: &Size| matches!(s, Size::Fill) || (auto_fills && matches!(s, Size::Auto));
    let flex: Vec<usize> = (0..n).filter(|i| matches!(sizes[*i], Size::Auto | Size::Fill)).collect();
    if flex.is_empty() {
        return out;
    }
    let want = |i: usize| wants.get(i).copied().unwrap_or(4).max(3);
    for &i in &flex {
        let give = want(i).min(4).min(left);
        out[i] = give;
        left -= give;
    }
    while left > 0 {
        let mut gave = false;
        for &i in &flex {
            if left > 0 && out[i] < want(i) {
                out[i] += 1;
                left -= 1;
                gave = true;
            }
        }
        if !gave {
            break;
        }
    }
    let fills: Vec<usize> = flex.iter().copied().filter(|i| is_fill(&sizes[*i])).collect();
    let takers = if fills.is_empty() { vec![flex[flex.len() - 1]] } else { fills };
    let share = left / takers.len() as u16;
    let mut extra = left - share * takers.len() as u16;
    for i in takers.into_iter().rev() {
        out[i] += share + std::mem::take(&mut extra);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_view_parses() {
        for (name, text) in BUILT_IN {
            let v = parse(name, Path::new(name), text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(!v.layouts.is_empty(), "{name}");
            assert!(!v.description.is_empty(), "{name} needs a description for `views list`");
        }
        assert_eq!(overview().name, "overview");
    }

    #[test]
    fn distribute_fits_exactly() {
        use Size::*;
        assert_eq!(distribute(22, &[Auto, Fill], &[11, 11], false), vec![11, 11]);
        assert_eq!(distribute(30, &[Auto, Fill], &[11, 11], false), vec![11, 19]);
        assert_eq!(distribute(22, &[Auto, Auto, Fill, Auto], &[11, 6, 7, 10], false), vec![6, 6, 5, 5]);
        let h = distribute(22, &[Auto, Auto, Fill, Auto], &[11, 6, 51, 10], false);
        assert_eq!(h.iter().sum::<u16>(), 22, "{h:?}");
        assert!(h.iter().all(|x| *x >= 4), "{h:?}");
        let tiny = distribute(5, &[Auto, Auto, Fill, Auto], &[11, 6, 51, 10], false);
        assert!(tiny.iter().sum::<u16>() <= 5, "{tiny:?}");
        assert_eq!(distribute(100, &[Percent(40.0), Fill, Fill], &[0, 0, 0], false), vec![40, 30, 30]);
        assert_eq!(distribute(101, &[Percent(40.0), Fill, Fill], &[0, 0, 0], false), vec![40, 30, 31]);
        assert_eq!(distribute(20, &[Cells(30), Fill], &[0, 0], false), vec![20, 0]);
        assert_eq!(distribute(50, &[Cells(10), Auto, Auto], &[0, 0, 0], true), vec![10, 20, 20]);
    }

    fn errors(text: &str) -> Vec<String> {
        parse("v", Path::new("v.toml"), text).err().unwrap_or_default().iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn broken_views_name_file_line_and_column() {
        let e = errors("title = \"x\"\n[[layout]]\n[[layout.column]]\npanes = [{ kind = \"matrx\" }]\n");
        assert!(e.iter().any(|x| x.starts_with("v.toml:4:19: unknown pane kind 'matrx'")), "{e:?}");
        let e = errors(
            "[[layout]]\n[[layout.column]]\nsize = \"40 %\"\npanes = [{ kind = \"matrix\", size = \"huge\" }]\n",
        );
        assert!(e.iter().any(|x| x.starts_with("v.toml:4:36: bad size 'huge'")), "{e:?}");
        assert!(e.len() == 1, "40 % is a fine percentage: {e:?}");
        let e = errors("[[layout]]\n[[layout.column]]\npanes = [{ kind = \"matrix\" }, { kind = \"matrix\" }]\n");
        assert!(e.iter().any(|x| x.starts_with("v.toml:3:40: pane 'matrix' appears twice")), "{e:?}");
        let e = errors("[[layout]]\nmin_width = 10\n");
        assert!(e.iter().any(|x| x.starts_with("v.toml:1:1: a layout needs")), "{e:?}");
        let e = errors("titel = 1\n");
        assert!(e.iter().any(|x| x.starts_with("v.toml:1:1: unknown field `titel`")), "{e:?}");
        let e = errors("title = \"unclosed\n");
        assert!(e.iter().any(|x| x.starts_with("v.toml:1:")), "{e:?}");
        let e = errors("[[layout]]\n[[layout.row]]\npanes = [{ kind = \"clock\", service = \"x\" }]\n");
        assert!(e.iter().any(|x| x.contains("only a latency-chart pane takes a service")), "{e:?}");
        assert!(errors("").iter().any(|x| x.contains("at least one [[layout]]")));
    }

    #[test]
    fn a_broken_user_view_falls_back_to_the_built_in() {
        let dir = std::env::temp_dir().join(format!("warroom-views-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("overview.toml"), "[[layout]]\n[[layout.column]]\npanes = [{ kind = 3 }]\n");
        let _ = std::fs::write(
            dir.join("payments.toml"),
            "title = \"Payments\"\nservices_first = [\"payments\"]\n[[layout]]\n[[layout.column]]\npanes = [{ kind = \"matrix\" }]\n",
        );
        let c = Catalog::load(Some(&dir));
        let _ = std::fs::remove_dir_all(&dir);
        let (v, why) = c.open("overview");
        assert_eq!(v.source, "built-in");
        let why = why.unwrap_or_default();
        assert!(why.contains("overview.toml:3:") && why.contains("showing built-in 'overview'"), "{why}");
        let (p, why) = c.open("payments");
        assert!(why.is_none());
        assert_eq!(p.services_first, vec!["payments".to_string()]);
        let (o, why) = c.open("nope");
        assert_eq!(o.name, "overview");
        assert!(why.is_some_and(|w| w.contains("unknown view 'nope'")));
    }
}
