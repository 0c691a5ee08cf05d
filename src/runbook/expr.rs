//! Check expressions over live state, e.g.
//! `region({region}).status == DOWN for 2m`,
//! `latency(checkout, us-west-2).p99 < 500ms`,
//! `slo(checkout-availability).burn_1h < 14.4`.
//! The grammar and every query are in docs/runbooks.md.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::model::slo::AlertState as BurnState;
use crate::model::{AlertState, RegionStatus, Snapshot};

/// An error at a character column (1-based) of the expression.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprError {
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// A query's argument: a literal name or a `{param}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Name(String, usize),
    Param(String, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Query { func: String, args: Vec<Arg>, field: String, column: usize },
    Num(f64),
    Word(String),
    Param(String, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, Op, Operand),
}

/// A parsed check: the condition and how long it must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub expr: Expr,
    pub hold_secs: Option<f64>,
    /// Set when the duration is a `{param}` (resolved at run time).
    pub hold_param: Option<String>,
}

/// What an argument position names (for lint and completion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Region,
    Service,
    Slo,
    Deployment,
    Flag,
    Environment,
    /// A database cluster.
    Database,
    /// A member of a database cluster.
    Member,
}

impl ArgKind {
    pub fn name(self) -> &'static str {
        match self {
            ArgKind::Region => "region",
            ArgKind::Service => "service",
            ArgKind::Slo => "slo",
            ArgKind::Deployment => "deployment",
            ArgKind::Flag => "flag",
            ArgKind::Environment => "environment",
            ArgKind::Database => "database",
            ArgKind::Member => "member",
        }
    }
}

/// Every query: name, argument kinds, fields.
pub const QUERIES: [(&str, &[ArgKind], &[&str]); 11] = [
    ("region", &[ArgKind::Region], &["status", "weight"]),
    ("service", &[ArgKind::Service, ArgKind::Region], &["status"]),
    ("latency", &[ArgKind::Service, ArgKind::Region], &["p50", "p95", "p99", "rps", "error_pct"]),
    (
        "slo",
        &[ArgKind::Slo],
        &["burn_5m", "burn_30m", "burn_1h", "burn_2h", "burn_6h", "burn_1d", "burn_3d", "remaining", "state"],
    ),
    ("canary", &[ArgKind::Deployment], &["phase", "weight", "step"]),
    ("circuit", &[ArgKind::Service, ArgKind::Service, ArgKind::Region], &["state", "failure_pct"]),
    ("flag", &[ArgKind::Flag, ArgKind::Environment], &["enabled"]),
    ("fleet", &[], &["serving_regions", "down_regions"]),
    ("alerts", &[], &["firing"]),
    ("database", &[ArgKind::Database], &["writer", "standbys", "lag_limit", "services"]),
    ("member", &[ArgKind::Database, ArgKind::Member], &["role", "state", "lag", "lag_state"]),
];

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// `not` and `(` currently open: bounded, so no file can overflow the stack.
    depth: usize,
    /// Comparisons so far: bounded, so `and`/`or` chains stay shallow trees.
    terms: usize,
}

/// Deepest nesting of `not` and parentheses a check may have.
pub const MAX_DEPTH: usize = 32;
/// Most comparisons in one check.
pub const MAX_TERMS: usize = 64;

fn err<T>(column: usize, message: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError { column: column + 1, message: message.into() })
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | '/' | '.' | ':')
}

impl Parser {
    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).copied()
    }

    /// The next bare word (letters, digits, `_`), without consuming it.
    fn peek_word(&mut self) -> String {
        self.skip_ws();
        self.chars[self.pos..].iter().take_while(|c| c.is_alphanumeric() || **c == '_').collect()
    }

    fn keyword(&mut self, kw: &str) -> bool {
        let w = self.peek_word();
        if w.eq_ignore_ascii_case(kw) {
            self.pos += w.chars().count();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char, what: &str) -> Result<(), ExprError> {
        match self.peek() {
            Some(x) if x == c => {
                self.pos += 1;
                Ok(())
            }
            Some(x) => err(self.pos, format!("expected {what}, found '{x}'")),
            None => err(self.pos, format!("expected {what}, found the end")),
        }
    }

    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        let at = self.pos;
        if self.keyword("not") {
            self.enter(at)?;
            let e = self.unary();
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e?)));
        }
        if self.peek() == Some('(') {
            self.enter(at)?;
            self.pos += 1;
            let e = self.or();
            self.depth -= 1;
            let e = e?;
            self.expect(')', "')'")?;
            return Ok(e);
        }
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return err(at, format!("more than {MAX_TERMS} comparisons in one check; split it into steps"));
        }
        let left = self.operand()?;
        self.skip_ws();
        let at = self.pos;
        let two: String = self.chars[self.pos..].iter().take(2).collect();
        let op = match two.as_str() {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<=" => Op::Le,
            ">=" => Op::Ge,
            _ if two.starts_with('<') => Op::Lt,
            _ if two.starts_with('>') => Op::Gt,
            _ if two.starts_with('=') => return err(at, "use '==' to compare"),
            _ => return err(at, "expected a comparison (==, !=, <, <=, >, >=)"),
        };
        self.pos += op.text().len();
        let right = self.operand()?;
        if !matches!(left, Operand::Query { .. }) && !matches!(right, Operand::Query { .. }) {
            return err(at, "a comparison needs a query on one side, e.g. region(us-east-1).status");
        }
        Ok(Expr::Cmp(left, op, right))
    }

    fn enter(&mut self, at: usize) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return err(at, format!("nested more than {MAX_DEPTH} deep (`not` and parentheses)"));
        }
        Ok(())
    }

    fn param(&mut self) -> Result<(String, usize), ExprError> {
        let at = self.pos;
        self.pos += 1; // '{'
        let name: String = self.chars[self.pos..].iter().take_while(|c| c.is_alphanumeric() || **c == '_').collect();
        if name.is_empty() {
            return err(at, "expected a parameter name after '{'");
        }
        self.pos += name.chars().count();
        self.expect('}', "'}'")?;
        Ok((name, at + 1))
    }

    fn operand(&mut self) -> Result<Operand, ExprError> {
        let Some(c) = self.peek() else {
            return err(self.pos, "expected a query, number or word, found the end");
        };
        let at = self.pos;
        if c == '{' {
            let (name, col) = self.param()?;
            return Ok(Operand::Param(name, col));
        }
        if c.is_ascii_digit() || c == '.' || c == '-' {
            return self.number();
        }
        let word = self.peek_word();
        if word.is_empty() {
            return err(at, format!("unexpected '{c}'"));
        }
        self.pos += word.chars().count();
        match self.chars.get(self.pos) {
            Some('(') => {
                self.pos += 1;
                let mut args = Vec::new();
                if self.peek() != Some(')') {
                    loop {
                        self.skip_ws();
                        if self.chars.get(self.pos) == Some(&'{') {
                            let (n, col) = self.param()?;
                            args.push(Arg::Param(n, col));
                        } else {
                            let start = self.pos;
                            let name: String =
                                self.chars[self.pos..].iter().take_while(|c| is_name_char(**c)).collect();
                            if name.is_empty() {
                                return err(self.pos, "expected a name or {param}");
                            }
                            self.pos += name.chars().count();
                            args.push(Arg::Name(name, start + 1));
                        }
                        match self.peek() {
                            Some(',') => self.pos += 1,
                            _ => break,
                        }
                    }
                }
                self.expect(')', "')' or ','")?;
                self.expect('.', "'.' and a field, e.g. .status")?;
                let field = self.peek_word();
                if field.is_empty() {
                    return err(self.pos, "expected a field name after '.'");
                }
                self.pos += field.chars().count();
                Ok(Operand::Query { func: word, args, field, column: at + 1 })
            }
            Some('.') if QUERIES.iter().any(|(n, a, _)| *n == word && a.is_empty()) => {
                self.pos += 1;
                let field = self.peek_word();
                self.pos += field.chars().count();
                Ok(Operand::Query { func: word, args: vec![], field, column: at + 1 })
            }
            _ => Ok(Operand::Word(word)),
        }
    }

    fn number(&mut self) -> Result<Operand, ExprError> {
        let at = self.pos;
        let text: String = self.chars[self.pos..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '%' | '×'))
            .collect();
        self.pos += text.chars().count();
        match parse_quantity(&text) {
            Some(v) => Ok(Operand::Num(v)),
            None => err(at, format!("bad number '{text}' (e.g. 500ms, 0.5s, 14.4, 5%, 2x)")),
        }
    }
}

/// A number with an optional unit: ms (the unit of latency), s, %, x.
fn parse_quantity(text: &str) -> Option<f64> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: f64 = num.parse().ok()?;
    let v = match unit {
        "" | "ms" | "%" | "x" | "×" => n,
        "s" => n * 1000.0,
        _ => return None,
    };
    v.is_finite().then_some(v)
}

/// Parse "2m", "90s", "1h" (seconds).
pub fn parse_secs(s: &str) -> Option<f64> {
    crate::duration::positive(s).map(|d| d.as_secs_f64())
}

/// Parse a check: an expression, optionally followed by `for DURATION`.
pub fn parse(text: &str) -> Result<Check, ExprError> {
    let mut p = Parser { chars: text.chars().collect(), pos: 0, depth: 0, terms: 0 };
    let expr = p.or()?;
    let mut hold_secs = None;
    let mut hold_param = None;
    if p.keyword("for") {
        p.skip_ws();
        let at = p.pos;
        if p.chars.get(p.pos) == Some(&'{') {
            hold_param = Some(p.param()?.0);
        } else {
            let d: String = p.chars[p.pos..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == '.').collect();
            p.pos += d.chars().count();
            match parse_secs(&d) {
                Some(s) => hold_secs = Some(s),
                None => return err(at, format!("bad duration '{d}' after 'for' (e.g. 90s, 2m, 1h)")),
            }
        }
    }
    if let Some(c) = p.peek() {
        return err(p.pos, format!("unexpected '{c}' (and, or, not, for?)"));
    }
    check_shape(&expr)?;
    Ok(Check { expr, hold_secs, hold_param })
}

/// Query names, arities and fields exist.
fn check_shape(e: &Expr) -> Result<(), ExprError> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check_shape(a)?;
            check_shape(b)
        }
        Expr::Not(a) => check_shape(a),
        Expr::Cmp(l, _, r) => {
            for o in [l, r] {
                if let Operand::Query { func, args, field, column } = o {
                    let Some((_, kinds, fields)) = QUERIES.iter().find(|(n, _, _)| n == func) else {
                        let names: Vec<&str> = QUERIES.iter().map(|(n, _, _)| *n).collect();
                        return err(column - 1, format!("unknown query '{func}' (one of: {})", names.join(", ")));
                    };
                    if args.len() != kinds.len() {
                        let want: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                        return err(
                            column - 1,
                            format!("{func}({}) takes {} argument(s)", want.join(", "), kinds.len()),
                        );
                    }
                    if !fields.contains(&field.as_str()) {
                        return err(
                            column - 1,
                            format!("{func}(…) has no field '{field}' (one of: {})", fields.join(", ")),
                        );
                    }
                }
            }
            Ok(())
        }
    }
}

/// Every (argument kind, literal-or-param, column) in the expression, for lint.
pub fn arguments(e: &Expr) -> Vec<(ArgKind, Arg)> {
    let mut out = Vec::new();
    fn walk(e: &Expr, out: &mut Vec<(ArgKind, Arg)>) {
        match e {
            Expr::And(a, b) | Expr::Or(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            Expr::Not(a) => walk(a, out),
            Expr::Cmp(l, _, r) => {
                for o in [l, r] {
                    if let Operand::Query { func, args, .. } = o {
                        if let Some((_, kinds, _)) = QUERIES.iter().find(|(n, _, _)| n == func) {
                            out.extend(kinds.iter().copied().zip(args.iter().cloned()));
                        }
                    }
                }
            }
        }
    }
    walk(e, &mut out);
    out
}

/// Parameters used as plain operands (not query arguments), for lint.
pub fn operand_params(e: &Expr) -> Vec<(String, usize)> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            let mut v = operand_params(a);
            v.extend(operand_params(b));
            v
        }
        Expr::Not(a) => operand_params(a),
        Expr::Cmp(l, _, r) => [l, r]
            .into_iter()
            .filter_map(|o| if let Operand::Param(n, c) = o { Some((n.clone(), *c)) } else { None })
            .collect(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Num(f64),
    Word(String),
}

impl Value {
    fn show(&self) -> String {
        match self {
            Value::Num(n) if n.fract() == 0.0 => format!("{n:.0}"),
            Value::Num(n) => format!("{n:.1}"),
            Value::Word(w) => w.clone(),
        }
    }
}

/// The unit a query's field is in, as shown after its value.
fn unit_of(label: &str) -> &'static str {
    let field = label.rsplit('.').next().unwrap_or("");
    match field {
        "p50" | "p95" | "p99" => "\u{a0}ms",
        "rps" => "\u{a0}rps",
        "weight" | "remaining" | "error_pct" | "failure_pct" => "%",
        f if f.starts_with("burn_") => "×",
        _ => "",
    }
}

fn region_word(s: RegionStatus) -> &'static str {
    s.word()
}

fn resolve_arg(a: &Arg, params: &BTreeMap<String, String>) -> Result<String, String> {
    match a {
        Arg::Name(n, _) => Ok(n.clone()),
        Arg::Param(p, _) => params.get(p).cloned().ok_or_else(|| format!("parameter {{{p}}} has no value")),
    }
}

/// `database(DB).…` and `member(DB, M).…`.
fn query_database(func: &str, args: &[String], field: &str, snap: &Snapshot) -> Result<Value, String> {
    let f = &snap.fleet;
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let num = |v: Option<f64>, what: String| v.map(Value::Num).ok_or(format!("no data for {what}"));
    let db = f.databases.items().iter().find(|d| d.name == a(0)).ok_or(format!("database {} not reported", a(0)))?;
    if func == "member" {
        let m = db.member(a(1)).ok_or(format!("{} is not a member of {}", a(1), a(0)))?;
        return match field {
            "lag" => num(m.lag_bytes.map(|b| b as f64), format!("lag of {}", a(1))),
            "state" => Ok(Value::Word(m.state.clone())),
            // Whatever the backend measures lag in: bytes against
            // the lag limit, seconds against the tier's RPO.
            "lag_state" => {
                use crate::model::infra::{lag_fraction, objective};
                let obj = objective(db, snap).1;
                let word = match lag_fraction(m, db, &obj) {
                    _ if m.role == crate::model::DbRole::Writer => "WRITER",
                    _ if !m.up => "DOWN",
                    None => "UNKNOWN",
                    Some(f) if f > 1.0 => "OVER",
                    Some(_) => "WITHIN",
                };
                Ok(Value::Word(word.into()))
            }
            _ => Ok(Value::Word(m.role.word().to_ascii_uppercase().replace(' ', "_"))),
        };
    }
    match field {
        "writer" => Ok(Value::Word(db.writer().map(|w| w.name.clone()).unwrap_or_else(|| "NONE".into()))),
        "standbys" => {
            Ok(Value::Num(db.members.iter().filter(|m| m.role != crate::model::DbRole::Writer && m.up).count() as f64))
        }
        "lag_limit" => num(db.max_lag_bytes.map(|b| b as f64), format!("{}'s lag limit", a(0))),
        _ => {
            // The worst health of its services over every region.
            let mut worst = None;
            for s in &db.services {
                for r in f.regions.items() {
                    let st = snap.cell(s, &r.name).map(|c| c.status).unwrap_or(RegionStatus::Unknown);
                    let rank = |x: RegionStatus| match x {
                        RegionStatus::Ok => 0,
                        RegionStatus::Degraded => 1,
                        RegionStatus::Unknown => 2,
                        RegionStatus::Down => 3,
                    };
                    if worst.is_none_or(|w| rank(st) > rank(w)) {
                        worst = Some(st);
                    }
                }
            }
            let w = worst.ok_or(format!("{} names no services ([[patroni]] services)", a(0)))?;
            Ok(Value::Word(region_word(w).into()))
        }
    }
}

fn query(func: &str, args: &[String], field: &str, snap: &Snapshot) -> Result<Value, String> {
    let f = &snap.fleet;
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let num = |v: Option<f64>, what: String| v.map(Value::Num).ok_or(format!("no data for {what}"));
    match func {
        "region" => {
            let r = f.regions.items().iter().find(|r| r.name == a(0)).ok_or(format!("region {} not reported", a(0)))?;
            Ok(match field {
                "weight" => Value::Num(r.weight),
                _ => Value::Word(region_word(r.status).into()),
            })
        }
        "service" => {
            let c = snap.cell(a(0), a(1)).ok_or(format!("no health for {} in {}", a(0), a(1)))?;
            Ok(Value::Word(region_word(c.status).into()))
        }
        "latency" => {
            let t = snap.traffic(a(0), a(1)).ok_or(format!("no traffic for {} in {}", a(0), a(1)))?;
            Ok(Value::Num(match field {
                "p50" => t.p50_ms,
                "p95" => t.p95_ms,
                "p99" => t.p99_ms,
                "rps" => t.rps,
                _ => t.error_ratio * 100.0,
            }))
        }
        "slo" => {
            let s = snap.slos.iter().find(|s| s.name == a(0)).ok_or(format!("SLO {} not reported", a(0)))?;
            match field {
                "remaining" => num(s.remaining.map(|r| r * 100.0), format!("{} budget", a(0))),
                "state" => Ok(Value::Word(
                    match s.state {
                        BurnState::Exhausted => "EXHAUSTED",
                        BurnState::Page => "PAGE",
                        BurnState::Ticket => "TICKET",
                        BurnState::Low => "LOW",
                        BurnState::Ok => "OK",
                        BurnState::NoData => "NO_DATA",
                    }
                    .into(),
                )),
                w => {
                    let window = w.trim_start_matches("burn_");
                    num(s.burn(window), format!("{} {window} burn rate", a(0)))
                }
            }
        }
        "canary" => {
            let d = f
                .deployments
                .items()
                .iter()
                .find(|d| d.id == a(0))
                .ok_or(format!("deployment {} not reported", a(0)))?;
            Ok(match field {
                "weight" => Value::Num(d.weight),
                "step" => Value::Num((d.step_index + 1) as f64),
                _ => Value::Word(d.phase.word().into()),
            })
        }
        "circuit" => {
            let c = f
                .circuits
                .items()
                .iter()
                .find(|c| c.from == a(0) && c.to == a(1) && c.region == a(2))
                .ok_or(format!("circuit {}→{} in {} not reported", a(0), a(1), a(2)))?;
            match field {
                "failure_pct" => num(c.failure_rate_pct, format!("circuit {}→{} failure rate", a(0), a(1))),
                _ => Ok(Value::Word(c.state.word().into())),
            }
        }
        "flag" => {
            let fl = f.flags.items().iter().find(|x| x.name == a(0) && x.environment == a(1)).ok_or(format!(
                "flag {} in {} not reported",
                a(0),
                a(1)
            ))?;
            Ok(Value::Word(if fl.enabled { "on" } else { "off" }.into()))
        }
        "database" | "member" => query_database(func, args, field, snap),
        "fleet" => {
            let regions = f.regions.items();
            if regions.is_empty() {
                return Err("no regions reported".into());
            }
            Ok(Value::Num(match field {
                "down_regions" => regions.iter().filter(|r| r.status == RegionStatus::Down).count() as f64,
                _ => regions.iter().filter(|r| r.weight > 0.0 && r.status != RegionStatus::Down).count() as f64,
            }))
        }
        _ => {
            if f.alerts.items().is_empty() && f.alerts.error.is_some() {
                return Err("alerts unavailable".into());
            }
            Ok(Value::Num(f.alerts.items().iter().filter(|x| x.state == AlertState::Firing).count() as f64))
        }
    }
}

fn value_of(o: &Operand, snap: &Snapshot, params: &BTreeMap<String, String>) -> Result<(Value, String), String> {
    match o {
        Operand::Num(n) => Ok((Value::Num(*n), String::new())),
        Operand::Word(w) => Ok((Value::Word(w.clone()), String::new())),
        Operand::Param(p, _) => {
            let v = params.get(p).ok_or_else(|| format!("parameter {{{p}}} has no value"))?;
            Ok((parse_quantity(v).map(Value::Num).unwrap_or_else(|| Value::Word(v.clone())), String::new()))
        }
        Operand::Query { func, args, field, .. } => {
            let args: Vec<String> = args.iter().map(|a| resolve_arg(a, params)).collect::<Result<_, _>>()?;
            let label = if args.is_empty() {
                format!("{func}.{field}")
            } else {
                format!("{func}({}).{field}", args.join(", "))
            };
            let v = query(func, &args, field, snap)?;
            Ok((v, label))
        }
    }
}

fn compare(l: &Value, op: Op, r: &Value) -> Result<bool, String> {
    match (l, r) {
        (Value::Num(a), Value::Num(b)) => Ok(match op {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }),
        (Value::Word(a), Value::Word(b)) => {
            let norm = |s: &str| match s.to_ascii_lowercase().as_str() {
                "true" | "enabled" => "on".to_string(),
                "false" | "disabled" => "off".to_string(),
                other => other.replace('-', "_"),
            };
            match op {
                Op::Eq => Ok(norm(a) == norm(b)),
                Op::Ne => Ok(norm(a) != norm(b)),
                _ => Err(format!("'{a}' and '{b}' are words: only == and != compare them")),
            }
        }
        _ => Err(format!("cannot compare {} with {}", l.show(), r.show())),
    }
}

/// The result of evaluating an expression now: whether it holds, and the
/// live values it looked at ("region(us-west-2).status = DOWN").
#[derive(Debug, Clone, PartialEq)]
pub struct Eval {
    pub holds: bool,
    pub values: Vec<String>,
    /// Why it could not be judged (missing data), if so.
    pub error: Option<String>,
    /// Since when it has held, in the source's clock, when the source says
    /// (a region's status since, a circuit's state since, a canary's phase
    /// since): a `for 2m` that was already true before the run began is
    /// met at once, as Alertmanager's `for` would be.
    pub since: Option<DateTime<Utc>>,
}

pub fn eval(e: &Expr, snap: &Snapshot, params: &BTreeMap<String, String>) -> Eval {
    let mut values = Vec::new();
    match eval_inner(e, snap, params, &mut values) {
        Ok(holds) => {
            let since = if holds { held_since(e, snap, params) } else { None };
            Eval { holds, values, error: None, since }
        }
        Err(m) => Eval { holds: false, values, error: Some(m), since: None },
    }
}

/// Since when a holding expression has held, if every part it rests on
/// says so. `and`: the later of both; `or`: the earlier of the sides that
/// hold; `not` and numbers: unknown (a number's history is not kept).
fn held_since(e: &Expr, snap: &Snapshot, params: &BTreeMap<String, String>) -> Option<DateTime<Utc>> {
    match e {
        Expr::And(a, b) => Some(held_since(a, snap, params)?.max(held_since(b, snap, params)?)),
        Expr::Or(a, b) => {
            let side = |x: &Expr| {
                let holds = eval_inner(x, snap, params, &mut Vec::new()).unwrap_or(false);
                if holds {
                    held_since(x, snap, params)
                } else {
                    None
                }
            };
            match (side(a), side(b)) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            }
        }
        Expr::Not(_) => None,
        Expr::Cmp(l, _, r) => match (l, r) {
            (Operand::Query { .. }, Operand::Query { .. }) => None,
            (q @ Operand::Query { .. }, _) | (_, q @ Operand::Query { .. }) => query_since(q, snap, params),
            _ => None,
        },
    }
}

/// Since when a word-valued query has had its value, from the source.
fn query_since(o: &Operand, snap: &Snapshot, params: &BTreeMap<String, String>) -> Option<DateTime<Utc>> {
    let Operand::Query { func, args, field, .. } = o else { return None };
    let args: Vec<String> = args.iter().map(|a| resolve_arg(a, params)).collect::<Result<_, _>>().ok()?;
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let f = &snap.fleet;
    match (func.as_str(), field.as_str()) {
        ("region", "status") => f.regions.items().iter().find(|r| r.name == a(0))?.since,
        ("circuit", "state") => {
            f.circuits.items().iter().find(|c| c.from == a(0) && c.to == a(1) && c.region == a(2))?.since
        }
        ("canary", "phase") => f.deployments.items().iter().find(|d| d.id == a(0))?.since,
        _ => None,
    }
}

fn eval_inner(
    e: &Expr,
    snap: &Snapshot,
    params: &BTreeMap<String, String>,
    values: &mut Vec<String>,
) -> Result<bool, String> {
    match e {
        Expr::And(a, b) => Ok(eval_inner(a, snap, params, values)? & eval_inner(b, snap, params, values)?),
        Expr::Or(a, b) => {
            let l = eval_inner(a, snap, params, values);
            let r = eval_inner(b, snap, params, values);
            match (l, r) {
                (Ok(x), Ok(y)) => Ok(x || y),
                (Ok(true), Err(_)) | (Err(_), Ok(true)) => Ok(true),
                (Err(m), _) | (_, Err(m)) => Err(m),
            }
        }
        Expr::Not(a) => Ok(!eval_inner(a, snap, params, values)?),
        Expr::Cmp(l, op, r) => {
            let (lv, ll) = value_of(l, snap, params)?;
            let (rv, rl) = value_of(r, snap, params)?;
            for (label, v) in [(ll, &lv), (rl, &rv)] {
                // The unit stays with its number: a no-break space keeps a
                // wrapped line from splitting `59.2 ms`.
                let line = match v {
                    Value::Num(_) => format!("{label} = {}{}", v.show(), unit_of(&label)),
                    Value::Word(_) => format!("{label} = {}", v.show()),
                };
                if !label.is_empty() && !values.contains(&line) {
                    values.push(line);
                }
            }
            compare(&lv, *op, &rv)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_nesting_is_an_error_with_its_column_not_a_crash() {
        let deep = format!("{}region(r).status == DOWN{}", "(".repeat(10_000), ")".repeat(10_000));
        let e = parse(&deep).err().map(|e| (e.column, e.message)).unwrap_or_default();
        assert_eq!(e.0, MAX_DEPTH + 1, "{e:?}");
        assert!(e.1.contains("nested more than"), "{e:?}");
        let nots = format!("{}region(r).status == DOWN", "not ".repeat(100_000));
        assert!(parse(&nots).is_err_and(|e| e.message.contains("nested more than")));
        let chain = vec!["region(r).status == DOWN"; 100_000].join(" and ");
        assert!(parse(&chain).is_err_and(|e| e.message.contains("comparisons in one check")));
        let ok = format!("{}region(r).status == DOWN{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn live_values_carry_their_units() {
        use crate::model::{derive, Fleet, Region, RegionStatus, Traffic};
        let mut f = Fleet::default();
        let now = chrono::Utc::now();
        let region = Region {
            name: "us-east-1".into(),
            status: RegionStatus::Ok,
            weight: 50.0,
            base_weight: None,
            zones: vec![],
            since: None,
        };
        f.regions.set(now, Ok(vec![region]));
        let t = Traffic {
            service: "checkout".into(),
            region: "us-east-1".into(),
            rps: 10.0,
            p99_ms: 59.2,
            ..Traffic::default()
        };
        f.metrics.set(now, Ok(vec![t]));
        let snap = derive(f, 1);
        let c = parse("latency(checkout, us-east-1).p99 < 5000ms and region(us-east-1).weight > 0")
            .unwrap_or_else(|e| panic!("{e:?}"));
        let ev = eval(&c.expr, &snap, &BTreeMap::new());
        assert!(
            ev.values.iter().any(|v| v.starts_with("latency(checkout, us-east-1).p99 = ") && v.ends_with("\u{a0}ms")),
            "{:?}",
            ev.values
        );
        assert!(
            ev.values.iter().any(|v| v.starts_with("region(us-east-1).weight = ") && v.ends_with('%')),
            "{:?}",
            ev.values
        );
    }

    #[test]
    fn parses_the_documented_examples() {
        let c = parse("region({region}).status == DOWN for 2m").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(c.hold_secs, Some(120.0));
        assert!(
            matches!(&c.expr, Expr::Cmp(Operand::Query { func, .. }, Op::Eq, Operand::Word(w)) if func == "region" && w == "DOWN")
        );
        let c = parse("latency(checkout, us-west-2).p99 < 500ms").unwrap_or_else(|e| panic!("{e:?}"));
        assert!(matches!(&c.expr, Expr::Cmp(_, Op::Lt, Operand::Num(n)) if *n == 500.0));
        assert!(parse("slo(checkout-availability).burn_1h < 14.4").is_ok());
        assert!(parse("not (canary(checkout/us-east-1).phase == Degraded) and fleet.serving_regions >= 2").is_ok());
        assert!(parse("flag(new-checkout-flow, production).enabled == off or alerts.firing == 0").is_ok());
        assert_eq!(parse("region(x).status == DOWN for {down_for}").map(|c| c.hold_param), Ok(Some("down_for".into())));
        assert_eq!(parse_quantity("0.5s"), Some(500.0));
    }

    #[test]
    fn errors_point_at_the_column() {
        let e = |t: &str| parse(t).err().map(|e| (e.column, e.message)).unwrap_or_default();
        assert_eq!(e("region(us-east-1).status = DOWN").0, 26);
        assert!(e("region(us-east-1).status = DOWN").1.contains("=="));
        let (col, msg) = e("regoin(us-east-1).status == DOWN");
        assert_eq!(col, 1);
        assert!(msg.starts_with("unknown query 'regoin'"), "{msg}");
        let (col, msg) = e("latency(checkout).p99 < 500ms");
        assert_eq!(col, 1);
        assert!(msg.contains("takes 2 argument"), "{msg}");
        let (col, msg) = e("slo(x).burn_2d < 1");
        assert_eq!(col, 1);
        assert!(msg.contains("no field 'burn_2d'"), "{msg}");
        let (col, msg) = e("latency(a, b).p99 < 5 parsecs");
        assert_eq!(col, 23);
        assert!(msg.contains("unexpected 'p'"), "{msg}");
        assert_eq!(e("region(a).status == DOWN for ever").0, 30);
        assert_eq!(e("DOWN == UP").0, 6);
        assert_eq!(e("(region(a).status == DOWN").1, "expected ')', found the end");
    }
}
