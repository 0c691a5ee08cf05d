//! Host key (persisted, generated once, mode 0600) and the authorized_keys
//! file with a role per key.

use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use chrono::{DateTime, Utc};

use russh::keys::ssh_key::{self, HashAlg, LineEnding, PrivateKey, PublicKey};

use crate::actions::Role;

/// Load the host key, or generate an Ed25519 key there (mode 0600) if the
/// file does not exist.
pub fn host_key(path: &Path) -> Result<PrivateKey, String> {
    if path.exists() {
        // As sshd does: a private key others can read is refused.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| format!("cannot read host key {}: {e}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "host key {} is open to others (mode {:04o}); it must be 0600: chmod 600 {}",
                path.display(),
                mode & 0o7777,
                path.display()
            ));
        }
        return russh::keys::load_secret_key(path, None)
            .map_err(|e| format!("cannot load host key {}: {e}", path.display()));
    }
    let mut seed = [0u8; 32];
    let mut f = std::fs::File::open("/dev/urandom").map_err(|e| format!("no randomness: {e}"))?;
    std::io::Read::read_exact(&mut f, &mut seed).map_err(|e| format!("no randomness: {e}"))?;
    let pair = ssh_key::private::Ed25519Keypair::from_seed(&seed);
    let key = PrivateKey::from(pair);
    let text = key.to_openssh(LineEnding::LF).map_err(|e| format!("cannot encode host key: {e}"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write host key {}: {e}", path.display()))?;
    out.write_all(text.as_bytes()).map_err(|e| format!("cannot write host key {}: {e}", path.display()))?;
    Ok(key)
}

/// One allowed key, the role it grants, and the restrictions its
/// authorized_keys options put on it.
#[derive(Debug, Clone)]
pub struct AllowedKey {
    pub key: PublicKey,
    pub role: Role,
    pub comment: String,
    /// `from="pattern-list"`: the client addresses it may log in from.
    pub from: Option<String>,
    /// `expiry-time="…"`: not accepted at or after this instant.
    pub expires: Option<DateTime<Utc>>,
    /// A terminal is allowed (`restrict` and `no-pty` take it away, `pty`
    /// gives it back); the console and the wall need one.
    pub pty: bool,
    /// The line of the file it came from.
    pub line: usize,
}

impl AllowedKey {
    /// Whether this key may log in from `ip` at `now`, and why not.
    pub fn admits(&self, ip: Option<IpAddr>, now: DateTime<Utc>) -> Result<(), String> {
        if let Some(t) = self.expires {
            if now >= t {
                return Err(format!("key expired at {} (expiry-time, line {})", t.to_rfc3339(), self.line));
            }
        }
        if let Some(list) = &self.from {
            let ok = ip.is_some_and(|ip| from_matches(list, ip));
            if !ok {
                let at = ip.map(|i| i.to_string()).unwrap_or_else(|| "an unknown address".into());
                return Err(format!("{at} is not allowed by from=\"{list}\" (line {})", self.line));
            }
        }
        Ok(())
    }
}

/// What reading an authorized_keys file gave: the keys that may be used,
/// and one message (`path:line:column: …`) per line that was refused.
#[derive(Debug, Default)]
pub struct KeyFile {
    pub keys: Vec<AllowedKey>,
    pub refused: Vec<String>,
}

/// Largest authorized_keys file read (OpenSSH has no limit; ours is far
/// above any real file).
const MAX_KEYS_FILE: u64 = 4 << 20;

/// Read an OpenSSH authorized_keys file (sshd(8), AUTHORIZED_KEYS FILE
/// FORMAT). A key is a viewer unless its options include
/// `environment="WARROOM_ROLE=operator"`. Options follow OpenSSH's grammar
/// (comma-separated, double-quoted values with `\"` for a quote, names in
/// any case); `from=` and `expiry-time=` are enforced, `restrict`/`pty`/
/// `no-pty` decide whether a terminal is allowed, forwarding options are
/// accepted (nothing is ever forwarded here), and a key with any other
/// option (`command=`, `cert-authority`, `principals=`, `permitopen=`,
/// `permitlisten=`, `tunnel=`, …) or a malformed one is refused, with its
/// line and column in `refused`.
pub fn authorized_keys(path: &Path) -> Result<KeyFile, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read authorized keys {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("authorized keys {} is not a regular file", path.display()));
    }
    if meta.len() > MAX_KEYS_FILE {
        return Err(format!("authorized keys {} is larger than {} bytes", path.display(), MAX_KEYS_FILE));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read authorized keys {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut out = KeyFile::default();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_start_matches([' ', '\t']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let indent = raw.len() - line.len();
        match parse_line(line, i + 1) {
            Ok(k) => out.keys.push(k),
            Err((col, why)) => out.refused.push(format!(
                "{}:{}:{}: key refused: {}",
                path.display(),
                i + 1,
                indent + col + 1,
                crate::audit::escape_terminal(&why)
            )),
        }
    }
    Ok(out)
}

/// Does the first word look like a key type (then there are no options)?
fn is_key_type(word: &str) -> bool {
    word.parse::<ssh_key::Algorithm>().is_ok() || word.ends_with("-cert-v01@openssh.com")
}

/// One line: `[options] keytype base64 [comment]`. `Err` carries the
/// 0-based byte column of the problem.
fn parse_line(line: &str, n: usize) -> Result<AllowedKey, (usize, String)> {
    let first = line.split([' ', '\t']).next().unwrap_or("");
    let (opts, rest_at) = if is_key_type(first) { (Options::default(), 0) } else { parse_options(line)? };
    let rest = line[rest_at..].trim_start_matches([' ', '\t']);
    let key_at = line.len() - rest.len();
    let mut words = rest.splitn(3, [' ', '\t']);
    let (kind, data) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let comment = words.next().unwrap_or("").trim();
    if kind.ends_with("-cert-v01@openssh.com") {
        return Err((key_at, format!("certificates are not supported ({kind})")));
    }
    let key =
        PublicKey::from_openssh(&format!("{kind} {data}")).map_err(|e| (key_at, format!("not a public key: {e}")))?;
    let role = match opts.role.as_deref() {
        None | Some("viewer") => Role::Viewer,
        Some("operator") => Role::Operator,
        Some(other) => return Err((0, format!("WARROOM_ROLE={other}: the roles are operator and viewer"))),
    };
    let comment = comment.chars().take(256).collect();
    Ok(AllowedKey { key, role, comment, from: opts.from, expires: opts.expires, pty: opts.pty, line: n })
}

#[derive(Debug)]
struct Options {
    role: Option<String>,
    from: Option<String>,
    expires: Option<DateTime<Utc>>,
    pty: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { role: None, from: None, expires: None, pty: true }
    }
}

/// Options at the start of `line`, and the byte offset where they end.
fn parse_options(line: &str) -> Result<(Options, usize), (usize, String)> {
    let b = line.as_bytes();
    let mut o = Options::default();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'_') {
            i += 1;
        }
        let name = line[start..i].to_ascii_lowercase();
        if name.is_empty() {
            return Err((start, "expected an option or a key type".into()));
        }
        let value = if b.get(i) == Some(&b'=') {
            let (v, end) = dequote(line, i + 1)?;
            i = end;
            Some(v)
        } else {
            None
        };
        match (name.as_str(), value) {
            ("restrict", None) => o.pty = false,
            ("pty", None) => o.pty = true,
            ("no-pty", None) => o.pty = false,
            // Nothing is ever forwarded and no rc file is run here.
            (
                "port-forwarding"
                | "no-port-forwarding"
                | "agent-forwarding"
                | "no-agent-forwarding"
                | "x11-forwarding"
                | "no-x11-forwarding"
                | "user-rc"
                | "no-user-rc",
                None,
            ) => {}
            ("environment", Some(v)) => {
                let Some((k, val)) = v.split_once('=') else {
                    return Err((start, "invalid environment string (NAME=value)".into()));
                };
                if k.is_empty() || !k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                    return Err((start, "invalid environment string (NAME=value)".into()));
                }
                if k == "WARROOM_ROLE" {
                    if o.role.is_some() {
                        return Err((start, "WARROOM_ROLE given twice".into()));
                    }
                    o.role = Some(val.to_string());
                }
            }
            ("from", Some(v)) => {
                if o.from.is_some() {
                    return Err((start, "multiple \"from\" clauses".into()));
                }
                o.from = Some(v);
            }
            ("expiry-time", Some(v)) => {
                let t = expiry_time(&v).ok_or_else(|| (start, format!("invalid expiry-time \"{v}\"")))?;
                // The earliest of several wins, as in sshd.
                o.expires = Some(o.expires.map_or(t, |e| e.min(t)));
            }
            (n @ ("restrict" | "pty" | "no-pty"), Some(_)) => return Err((start, format!("{n} takes no value"))),
            (n @ ("environment" | "from" | "expiry-time"), None) => {
                return Err((start, format!("{n} needs a value ({n}=\"…\")")))
            }
            (n, _) => return Err((start, format!("option {n} is not supported here"))),
        }
        match b.get(i) {
            None => return Err((i, "options with no key after them".into())),
            Some(b' ' | b'\t') => return Ok((o, i)),
            Some(b',') if i + 1 < b.len() => i += 1,
            Some(b',') => return Err((i, "unexpected end of options".into())),
            Some(_) => return Err((i, "unknown key option".into())),
        }
    }
}

/// A double-quoted value starting at byte `at`: `\"` is a quote, any other
/// character is itself. Returns the value and the offset after the quote.
fn dequote(line: &str, at: usize) -> Result<(String, usize), (usize, String)> {
    let rest = &line[at..];
    let Some(body) = rest.strip_prefix('"') else {
        return Err((at, "a value must be in double quotes".into()));
    };
    let mut v = String::new();
    let mut it = body.char_indices().peekable();
    while let Some((j, c)) = it.next() {
        match c {
            '\\' if it.peek().is_some_and(|&(_, n)| n == '"') => {
                it.next();
                v.push('"');
            }
            '"' => return Ok((v, at + 1 + j + 1)),
            c => v.push(c),
        }
    }
    Err((at, "missing end quote".into()))
}

/// OpenSSH's absolute time: YYYYMMDD or YYYYMMDDHHMM[SS], local time, or UTC
/// with a trailing `Z`.
fn expiry_time(s: &str) -> Option<DateTime<Utc>> {
    let (digits, utc) = match s.strip_suffix(['Z', 'z']) {
        Some(d) => (d, true),
        None => (s, false),
    };
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let padded = match digits.len() {
        8 => format!("{digits}000000"),
        12 => format!("{digits}00"),
        14 => digits.to_string(),
        _ => return None,
    };
    let naive = chrono::NaiveDateTime::parse_from_str(&padded, "%Y%m%d%H%M%S").ok()?;
    if utc {
        Some(naive.and_utc())
    } else {
        naive.and_local_timezone(chrono::Local).earliest().map(|t| t.with_timezone(&Utc))
    }
}

/// sshd's `from=` match against the client's address (no DNS: host-name
/// patterns are matched against the address text, as with `UseDNS no`):
/// a negated pattern that matches refuses; otherwise one positive match
/// admits. Patterns take `*` and `?`, or an address with a `/bits` mask.
pub fn from_matches(list: &str, ip: IpAddr) -> bool {
    let text = ip.to_string();
    let mut admitted = false;
    for pat in list.split(',') {
        let (neg, pat) = match pat.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pat),
        };
        let hit = if pat.contains('/') { cidr_contains(pat, ip) } else { glob(pat.as_bytes(), text.as_bytes()) };
        if hit && neg {
            return false;
        }
        admitted |= hit;
    }
    admitted
}

fn cidr_contains(pat: &str, ip: IpAddr) -> bool {
    let Some((net, bits)) = pat.split_once('/') else { return false };
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else { return false };
    // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// `*` any run, `?` one character; otherwise byte for byte, ignoring case.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi].eq_ignore_ascii_case(&s[si])) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// The entry for an offered key (comments are ignored when comparing).
pub fn find<'a>(keys: &'a [AllowedKey], offered: &PublicKey) -> Option<&'a AllowedKey> {
    keys.iter().find(|k| k.key.key_data() == offered.key_data())
}

pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    fn one(line: &str) -> Result<AllowedKey, (usize, String)> {
        parse_line(line, 1)
    }

    #[test]
    fn options_follow_openssh_quoting_and_a_smuggled_role_is_refused() {
        // One forced command to sshd; not an environment option here either.
        let evil = format!("command=\"a\\\",environment=WARROOM_ROLE=operator,b=\\\"c\" {K1} x");
        assert!(one(&evil).is_err_and(|(_, e)| e.contains("command is not supported")), "{evil}");
        let op = one(&format!("environment=\"WARROOM_ROLE=operator\" {K1} alice@laptop")).map(|k| (k.role, k.comment));
        assert_eq!(op.ok(), Some((Role::Operator, "alice@laptop".to_string())));
        // Names in any case; other environment strings are allowed and ignored.
        let k = one(&format!("Environment=\"TZ=UTC\",ENVIRONMENT=\"WARROOM_ROLE=operator\" {K1}"));
        assert_eq!(k.map(|k| k.role).ok(), Some(Role::Operator));
        assert_eq!(one(&format!("{K1} bob")).map(|k| k.role).ok(), Some(Role::Viewer));
        // A quote inside a value: \" is a quote, a lone backslash itself.
        let k = one(&format!("from=\"127.0.0.1,\\x\\\"y\" {K1}")).map(|k| k.from);
        assert_eq!(k.ok().flatten().as_deref(), Some("127.0.0.1,\\x\"y"));
        for (bad, col, word) in [
            (format!("cert-authority {K1}"), 0, "not supported"),
            (format!("no-pty,principals=\"x\" {K1}"), 7, "not supported"),
            (format!("from=127.0.0.1 {K1}"), 5, "double quotes"),
            (format!("from=\"127.0.0.1 {K1}"), 5, "missing end quote"),
            (format!("from=\"a\",from=\"b\" {K1}"), 9, "multiple"),
            (format!("environment=\"WARROOM_ROLE=root\" {K1}"), 0, "operator and viewer"),
            (format!("environment=\"=x\" {K1}"), 0, "invalid environment"),
            (format!("expiry-time=\"2020-01-01\" {K1}"), 0, "invalid expiry-time"),
            (format!("no-pty, {K1}"), 7, "expected an option"),
            (format!("no-pty;x {K1}"), 6, "unknown key option"),
            ("no-pty".to_string(), 6, "no key after"),
            ("ssh-ed25519 AAAA-not-base64".to_string(), 0, "not a public key"),
        ] {
            let got = one(&bad);
            assert!(got.as_ref().is_err_and(|(c, e)| *c == col && e.contains(word)), "{bad}: {got:?}");
        }
    }

    #[test]
    fn from_expiry_and_pty_are_enforced_as_sshd_does() {
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        let now = Utc::now();
        let k = one(&format!("from=\"10.9.9.9\" {K1}")).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(k.admits(ip("127.0.0.1"), now).is_err_and(|e| e.contains("127.0.0.1 is not allowed")));
        assert!(k.admits(ip("10.9.9.9"), now).is_ok());
        assert!(k.admits(None, now).is_err(), "an unknown peer is not admitted by a from= list");
        assert!(from_matches("10.0.0.0/8,!10.1.2.3", "10.200.0.1".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(!from_matches("10.0.0.0/8,!10.1.2.3", "10.1.2.3".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(from_matches("192.168.?.*", "192.168.1.77".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(!from_matches("192.168.?.*", "192.168.10.7".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(from_matches("127.0.0.0/8", "::ffff:127.0.0.1".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(from_matches("::1/128", "::1".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(!from_matches("*.example.com", "127.0.0.1".parse().unwrap_or(IpAddr::from([0; 4]))));
        let old = one(&format!("expiry-time=\"20200101\" {K1}")).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(old.admits(ip("127.0.0.1"), now).is_err_and(|e| e.contains("expired")));
        let later = one(&format!("expiry-time=\"209912312359Z\",expiry-time=\"20990101\" {K1}"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(later.admits(ip("127.0.0.1"), now).is_ok());
        assert!(later.expires.is_some_and(|t| *t.format("%Y%m%d").to_string() <= *"20990101"), "the earliest wins");
        let exact = expiry_time("20300102030405Z").map(|t| t.to_rfc3339());
        assert_eq!(exact.as_deref(), Some("2030-01-02T03:04:05+00:00"));
        assert!(!one(&format!("restrict {K1}")).is_ok_and(|k| k.pty));
        assert!(one(&format!("restrict,pty {K1}")).is_ok_and(|k| k.pty));
        assert!(!one(&format!("no-pty {K1}")).is_ok_and(|k| k.pty));
        assert!(one(&format!("no-port-forwarding,no-agent-forwarding,no-X11-forwarding {K1}")).is_ok_and(|k| k.pty));
    }

    #[test]
    fn a_file_reports_each_refused_line_with_its_position() {
        let dir = std::env::temp_dir().join(format!("warroom-keys-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("authorized_keys");
        let text = format!("# team\n\n  command=\"x\" {K1} c\n{K1} ok\nbroken\n");
        assert!(std::fs::write(&path, text).is_ok());
        let f = authorized_keys(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.keys.len(), 1);
        assert_eq!(f.keys[0].line, 4);
        assert_eq!(f.refused.len(), 2, "{:?}", f.refused);
        assert!(
            f.refused[0].ends_with("authorized_keys:3:3: key refused: option command is not supported here"),
            "{:?}",
            f.refused
        );
        assert!(f.refused[1].contains("authorized_keys:5:"), "{:?}", f.refused);
        assert!(authorized_keys(&dir).is_err_and(|e| e.contains("not a regular file")));
        // A host key others can read is refused.
        let hk = dir.join("host_key");
        let _ = std::fs::remove_file(&hk);
        assert!(host_key(&hk).is_ok(), "generated");
        use std::os::unix::fs::PermissionsExt;
        assert!(std::fs::set_permissions(&hk, std::fs::Permissions::from_mode(0o644)).is_ok());
        assert!(host_key(&hk).is_err_and(|e| e.contains("mode 0644") && e.contains("chmod 600")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
