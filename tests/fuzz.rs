//! A bounded mutation fuzzer for every parser and decoder that reads what a
//! user or a backend wrote (issue 14.22). No nightly toolchain here, so no
//! cargo-fuzz: seeds are the real files and real simulator answers,
//! mutated by a seeded generator (byte flips, inserts of hostile tokens,
//! deletions, duplications, truncations). Each input must give a value or
//! an error, never a panic; what decodes is rendered, and the frame must
//! hold no control character. A panicking input is written to
//! `target/fuzz-crashes/` and named in the failure, to become a regression
//! test. `WARROOM_FUZZ_ITERS` (default 1500 per target) sets the effort.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use warroom::model::FeedId;

/// xorshift64*: deterministic, so a failure reproduces with its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// What hostile input looks like: structure, huge numbers, control and
/// format characters, deep nesting.
const TOKENS: [&str; 24] = [
    "[",
    "]",
    "{",
    "}",
    "\"",
    "(",
    ")",
    "not ",
    " and ",
    "=",
    "\n",
    "\\",
    "\u{1b}[2J",
    "\u{1b}]52;c;eA==\u{7}",
    "\u{202e}",
    "\u{0}",
    "1e308",
    "-1",
    "NaN",
    "99999999999999999999999",
    "((((((((((",
    "é",
    "\u{fffd}",
    "𝕏",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => v.insert(at, rng.next() as u8),
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            3 if !v.is_empty() => {
                let end = (at + 1 + rng.below(32)).min(v.len());
                v.drain(at.min(end)..end);
            }
            4 if !v.is_empty() => {
                let from = rng.below(v.len());
                let end = (from + 1 + rng.below(64)).min(v.len());
                let piece: Vec<u8> = v[from..end].to_vec();
                v.splice(at..at, piece);
            }
            5 => v.truncate(at),
            _ => {
                let t = TOKENS[rng.below(TOKENS.len())].repeat(1 + rng.below(200));
                v.splice(at..at, t.bytes());
            }
        }
    }
    v
}

fn iterations() -> usize {
    std::env::var("WARROOM_FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1500)
}

fn crash_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("fuzz-crashes");
    let _ = std::fs::create_dir_all(&d);
    d
}

/// Run `f` on mutations of every seed; a panic fails with the input saved.
fn fuzz(name: &str, seeds: &[Vec<u8>], mut f: impl FnMut(&[u8])) {
    assert!(!seeds.is_empty(), "{name}: no seeds");
    let mut rng = Rng(0x5EED_0000 ^ name.len() as u64 ^ (name.as_bytes()[0] as u64) << 32);
    for i in 0..iterations() {
        let seed = &seeds[i % seeds.len()];
        let input = if i < seeds.len() { seed.clone() } else { mutate(&mut rng, seed) };
        if catch_unwind(AssertUnwindSafe(|| f(&input))).is_err() {
            let path = crash_dir().join(format!("{name}-{i}.bin"));
            let _ = std::fs::write(&path, &input);
            panic!("{name}: input {i} panicked; saved as {}", path.display());
        }
    }
}

fn files(dir: &str) -> Vec<Vec<u8>> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<Vec<u8>> =
        std::fs::read_dir(&d).into_iter().flatten().flatten().filter_map(|e| std::fs::read(e.path()).ok()).collect();
    out.sort();
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn configuration_files_never_panic() {
    let example = include_bytes!("../src/config/example.toml").to_vec();
    let p = Path::new("warroom.toml");
    fuzz("config", &[example], |b| {
        let _ = warroom::config::Config::parse(p, &text(b));
    });
    fuzz("views", &files("views"), |b| {
        let _ = warroom::views::parse("fuzzed", Path::new("fuzzed.toml"), &text(b));
    });
    fuzz("themes", &files("themes"), |b| {
        let _ = warroom::themes::parse(Path::new("fuzzed.toml"), &text(b));
    });
    let keymap = b"[keys]\nquit = [\"q\", \"ctrl-c\"]\nfailover = [\"ctrl-f\"]\nsort = [\"s\"]\n".to_vec();
    fuzz("keymap", &[keymap], |b| {
        let _ = warroom::keymap::parse_keymap(Path::new("keymap.toml"), &text(b));
    });
    fuzz("runbooks", &files("runbooks"), |b| {
        let _ = warroom::runbook::parse("fuzzed", Path::new("fuzzed.toml"), &text(b), None);
    });
}

#[test]
fn runbook_expressions_never_panic() {
    let seeds: Vec<Vec<u8>> = [
        "region({region}).status == DOWN for 2m",
        "latency(checkout, us-west-2).p99 < 500ms and fleet.serving_regions >= 2",
        "not (canary(checkout/us-east-1).phase == Degraded) or alerts.firing == 0",
        "slo(checkout-availability).burn_1h < 14.4 for {down_for}",
        "circuit(checkout, payments, us-east-1).failure_pct <= 5%",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("expr", &seeds, |b| {
        let _ = warroom::runbook::expr::parse(&text(b));
    });
}

#[test]
fn ssh_input_never_panics() {
    let seeds: Vec<Vec<u8>> = [
        &b"\x1b[A\x1b[B\x1b[1;5C\x1bOP q"[..],
        b"\x1b[200~pasted text\x1b[201~",
        b"\x1b[<0;12;5M\x1b[<0;12;5m",
        b"\x03\x1b\x1b[3~:view noc\r",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    fuzz("ssh-input", &seeds, |b| {
        let _ = warroom::ssh::input::parse(b);
    });
}

#[test]
fn authorized_keys_files_never_panic() {
    let dir = std::env::temp_dir().join(format!("warroom-fuzz-keys-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("authorized_keys");
    let seed = b"environment=\"WARROOM_ROLE=operator\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Z7b1m0vA1x6o0ZB9qg6T5o0pV3m8w8yq1Xx3m2a9b alice@laptop\n\
ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3Z7b1m0vA1x6o0ZB9qg6T5o0pV3m8w8yq1Xx3m2a9c bob\n# a comment\n"
        .to_vec();
    fuzz("authorized-keys", &[seed], |b| {
        if std::fs::write(&file, b).is_ok() {
            let _ = warroom::ssh::keys::authorized_keys(&file);
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Real answers of the simulator, one per control-plane feed and
/// Alertmanager's alerts, as seeds.
fn backend_seeds() -> Vec<(Option<FeedId>, Vec<u8>)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let Ok(rt) = rt else { panic!("no runtime") };
    rt.block_on(async {
        let cfg = warroom_sim::SimConfig {
            scenario: warroom_sim::Scenario::DependencyStorm,
            time_scale: 0.0,
            start_unix: Some(1_768_478_400.0),
            at_secs: 300.0,
            ..warroom_sim::SimConfig::default()
        };
        let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim") };
        let feeds = [
            (Some(FeedId::Regions), "/v1/regions"),
            (Some(FeedId::Services), "/v1/services"),
            (Some(FeedId::Metrics), "/v1/metrics?windows=5m,1h,30d&days=3&points=5"),
            (
                Some(FeedId::Metrics),
                "/v1/metrics?windows=5m,1h,30d&days=3&points=5&format=rows&fine=2&shard=1/2&since=0",
            ),
            (Some(FeedId::Deployments), "/v1/deployments"),
            (Some(FeedId::Circuits), "/v1/circuits"),
            (Some(FeedId::Flags), "/v1/flags"),
            (None, "/api/v2/alerts"),
        ];
        let mut out = Vec::new();
        for (feed, path) in feeds {
            let body = match reqwest::get(format!("{}{path}", sim.url())).await {
                Ok(r) => r.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
                Err(e) => panic!("GET {path}: {e}"),
            };
            out.push((feed, body));
        }
        sim.shutdown().await;
        out
    })
}

#[test]
fn backend_answers_never_panic_and_never_reach_the_screen_raw() {
    use warroom::app::view::ViewState;
    use warroom::snapshot_cmd::render_to_buffer;
    let seeds = backend_seeds();
    let theme = warroom_ui::Theme::ansi();
    for (feed, seed) in seeds {
        let name = feed.map(|f| format!("{f:?}")).unwrap_or_else(|| "alerts".into());
        let mut n = 0usize;
        fuzz(&format!("decode-{name}"), &[seed], |b| {
            let payload = match feed {
                Some(f) => warroom::sources::control_plane::decode(f, b),
                None => warroom::sources::alertmanager::decode(b).map(warroom::sources::Payload::Alerts),
            };
            n += 1;
            // What decodes is drawn (every 25th input: rendering costs more):
            // a hostile string must never put a control character on screen.
            if n % 25 != 1 {
                return;
            }
            let Ok(p) = payload else { return };
            let mut store = warroom::store::Store::new(&warroom::dataplane::Intervals::default());
            let now = chrono::Utc::now();
            store.apply(warroom::sources::Update {
                source: None,
                feed: feed.unwrap_or(FeedId::Alerts),
                at: now,
                result: Ok(p),
            });
            let snap = store.snapshot();
            let buf = render_to_buffer(&snap, &ViewState::default(), now, &theme, 160, 48);
            for c in buf.content() {
                assert!(!c.symbol().chars().any(|ch| ch.is_control()), "a control character reached the screen");
            }
        });
    }
}
