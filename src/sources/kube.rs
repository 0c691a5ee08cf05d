//! Kubernetes access the way kubectl users have it: a kubeconfig
//! (`KUBECONFIG`, else `~/.kube/config`; the first file of a `:`-separated
//! list that exists), contexts with their cluster, user and namespace;
//! bearer tokens (`token`, `tokenFile`), client certificates
//! (`client-certificate[-data]` + `client-key[-data]`), the cluster CA
//! (`certificate-authority[-data]`), `insecure-skip-tls-verify`; or, in a
//! pod, the service account (`KUBERNETES_SERVICE_HOST`, the token and CA
//! under `/var/run/secrets/kubernetes.io/serviceaccount`).
//!
//! We speak the REST API with reqwest (already here, rustls on ring)
//! rather than kube-rs: measured on these 2-core machines, kube 5 with
//! k8s-openapi 0.29 added 54 crates (a second tower-http among them) and
//! 88 s to `cargo check`, 172 s to `cargo build` (docs/performance.md);
//! one custom resource and a watch do not need it. Exec credential plugins
//! (`users[].user.exec`) are not run: such a context is an error that
//! says so.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

/// One context, ready to build a client from.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub name: String,
    pub server: String,
    pub namespace: String,
    pub token: Option<String>,
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate and key, PEM.
    pub identity_pem: Option<Vec<u8>>,
    pub insecure: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct KubeConfig {
    #[serde(default)]
    clusters: Vec<Named<ClusterWire>>,
    #[serde(default)]
    users: Vec<Named<UserWire>>,
    #[serde(default)]
    contexts: Vec<Named<ContextWire>>,
    #[serde(default)]
    current_context: Option<String>,
}

#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "cluster", alias = "user", alias = "context")]
    value: Option<T>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct ClusterWire {
    server: String,
    #[serde(default)]
    certificate_authority: Option<String>,
    #[serde(default)]
    certificate_authority_data: Option<String>,
    #[serde(default)]
    insecure_skip_tls_verify: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct UserWire {
    #[serde(default)]
    token: Option<String>,
    #[serde(default, rename = "tokenFile")]
    token_file: Option<String>,
    #[serde(default)]
    client_certificate: Option<String>,
    #[serde(default)]
    client_certificate_data: Option<String>,
    #[serde(default)]
    client_key: Option<String>,
    #[serde(default)]
    client_key_data: Option<String>,
    #[serde(default)]
    exec: Option<serde_json::Value>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize, Default)]
struct ContextWire {
    cluster: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

/// The kubeconfig kubectl would read: `KUBECONFIG` (first existing file of
/// the list), else `~/.kube/config`.
pub fn default_path() -> Option<PathBuf> {
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&list).find(|p| p.exists());
    }
    let home = std::env::var_os("HOME")?;
    let p = PathBuf::from(home).join(".kube/config");
    p.exists().then_some(p)
}

fn decode_data(what: &str, b64: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|e| format!("{what}: not base64 ({e})"))
}

/// A file a kubeconfig names, relative to the kubeconfig's directory.
fn read_rel(base: &Path, what: &str, file: &str) -> Result<Vec<u8>, String> {
    let p = Path::new(file);
    let p = if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
    std::fs::read(&p).map_err(|e| format!("{what} {}: {e}", p.display()))
}

/// Every context of a kubeconfig's text (`dir` resolves relative paths),
/// and the current one's name.
/// A kubeconfig's contexts (each usable or why not) and the current one.
pub type Contexts = (Vec<Result<Context, String>>, Option<String>);

pub fn parse(text: &str, dir: &Path) -> Result<Contexts, String> {
    let cfg: KubeConfig = serde_saphyr::from_str(text).map_err(|e| format!("not a kubeconfig: {e}"))?;
    let mut out = Vec::new();
    for c in &cfg.contexts {
        out.push(context(&cfg, c, dir).map_err(|e| format!("context {}: {e}", c.name)));
    }
    Ok((out, cfg.current_context))
}

fn context(cfg: &KubeConfig, c: &Named<ContextWire>, dir: &Path) -> Result<Context, String> {
    let ctx = c.value.as_ref().ok_or("no context body")?;
    let cluster = cfg
        .clusters
        .iter()
        .find(|x| x.name == ctx.cluster)
        .and_then(|x| x.value.as_ref())
        .ok_or_else(|| format!("cluster {} is not in the kubeconfig", ctx.cluster))?;
    let user = match &ctx.user {
        Some(u) => cfg
            .users
            .iter()
            .find(|x| &x.name == u)
            .and_then(|x| x.value.as_ref())
            .ok_or_else(|| format!("user {u} is not in the kubeconfig"))?,
        None => &UserWire::default(),
    };
    if user.exec.is_some() {
        return Err(
            "its user runs an exec credential plugin, which warroom does not run: use a token or a client certificate"
                .into(),
        );
    }
    if user.username.is_some() {
        return Err("basic authentication is not supported by Kubernetes since 1.19: use a token".into());
    }
    let ca_pem = match (&cluster.certificate_authority_data, &cluster.certificate_authority) {
        (Some(d), _) => Some(decode_data("certificate-authority-data", d)?),
        (None, Some(f)) => Some(read_rel(dir, "certificate-authority", f)?),
        _ => None,
    };
    let token = match (&user.token, &user.token_file) {
        (Some(t), _) => Some(t.trim().to_string()),
        (None, Some(f)) => Some(String::from_utf8_lossy(&read_rel(dir, "tokenFile", f)?).trim().to_string()),
        _ => None,
    };
    let cert = match (&user.client_certificate_data, &user.client_certificate) {
        (Some(d), _) => Some(decode_data("client-certificate-data", d)?),
        (None, Some(f)) => Some(read_rel(dir, "client-certificate", f)?),
        _ => None,
    };
    let key = match (&user.client_key_data, &user.client_key) {
        (Some(d), _) => Some(decode_data("client-key-data", d)?),
        (None, Some(f)) => Some(read_rel(dir, "client-key", f)?),
        _ => None,
    };
    let identity_pem = match (cert, key) {
        (Some(mut c), Some(k)) => {
            c.push(b'\n');
            c.extend_from_slice(&k);
            Some(c)
        }
        (None, None) => None,
        _ => return Err("a client certificate needs both the certificate and the key".into()),
    };
    let server = cluster.server.trim_end_matches('/').to_string();
    if !(server.starts_with("https://") || server.starts_with("http://")) {
        return Err(format!("cluster server '{server}' is not an http(s) URL"));
    }
    Ok(Context {
        name: c.name.clone(),
        server,
        namespace: ctx.namespace.clone().unwrap_or_else(|| "default".into()),
        token,
        ca_pem,
        identity_pem,
        insecure: cluster.insecure_skip_tls_verify,
    })
}

/// The service account of the pod we run in, if we do.
pub fn in_cluster() -> Option<Context> {
    let host = std::env::var("KUBERNETES_SERVICE_HOST").ok()?;
    let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
    let dir = Path::new("/var/run/secrets/kubernetes.io/serviceaccount");
    let token = std::fs::read_to_string(dir.join("token")).ok()?.trim().to_string();
    let host = if host.contains(':') { format!("[{host}]") } else { host };
    Some(Context {
        name: "in-cluster".into(),
        server: format!("https://{host}:{port}"),
        namespace: std::fs::read_to_string(dir.join("namespace"))
            .map(|s| s.trim().to_string())
            .unwrap_or("default".into()),
        token: Some(token),
        ca_pem: std::fs::read(dir.join("ca.crt")).ok(),
        identity_pem: None,
        insecure: false,
    })
}

impl Context {
    /// An HTTP client for this context: its CA, client certificate and
    /// TLS settings (the token goes on each request). No redirects: a
    /// write never follows one to another host.
    pub fn client(&self) -> Result<reqwest::Client, String> {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(5))
            .tcp_keepalive(std::time::Duration::from_secs(30));
        if let Some(pem) = &self.ca_pem {
            for cert in
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| format!("{}: cluster CA: {e}", self.name))?
            {
                b = b.add_root_certificate(cert);
            }
        }
        if let Some(pem) = &self.identity_pem {
            let id = reqwest::Identity::from_pem(pem).map_err(|e| format!("{}: client certificate: {e}", self.name))?;
            b = b.identity(id);
        }
        if self.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        b.build().map_err(|e| format!("{}: {e}", self.name))
    }

    /// A request to `path` on this context's server, with its token.
    pub fn request(&self, client: &reqwest::Client, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = client.request(method, format!("{}{path}", self.server));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KC: &str = "apiVersion: v1
kind: Config
current-context: use1
clusters:
- name: c-use1
  cluster:
    server: https://k8s.use1.example:6443/
    certificate-authority-data: aGVsbG8=
- name: c-euw1
  cluster:
    server: http://127.0.0.1:8700/k8s/eu-west-1
    insecure-skip-tls-verify: true
users:
- name: ops
  user:
    token: abc
- name: plugin
  user:
    exec:
      command: aws
contexts:
- name: use1
  context:
    cluster: c-use1
    user: ops
    namespace: shop
- name: euw1
  context:
    cluster: c-euw1
    user: ops
- name: eks
  context:
    cluster: c-use1
    user: plugin
";

    #[test]
    fn contexts_read_as_kubectl_reads_them() {
        let (ctxs, current) = parse(KC, Path::new("/nonexistent")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(current.as_deref(), Some("use1"));
        let use1 = ctxs[0].as_ref().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(use1.server, "https://k8s.use1.example:6443");
        assert_eq!(use1.namespace, "shop");
        assert_eq!(use1.token.as_deref(), Some("abc"));
        assert_eq!(use1.ca_pem.as_deref(), Some(&b"hello"[..]));
        let euw1 = ctxs[1].as_ref().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((euw1.namespace.as_str(), euw1.insecure), ("default", true));
        let eks = ctxs[2].as_ref().err().cloned().unwrap_or_default();
        assert!(eks.contains("context eks") && eks.contains("exec credential plugin"), "{eks}");
        assert!(parse("clusters: [", Path::new("/")).is_err_and(|e| e.contains("not a kubeconfig")));
    }
}
