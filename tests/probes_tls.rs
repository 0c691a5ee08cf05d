//! Health probes over real TLS: an `openssl s_server` with a certificate
//! from a throwaway CA. The CA is trusted only when configured; turning
//! verification off works and is marked on every result.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use warroom::model::{ProbeKind, ProbeStatus};
use warroom::sources::health::{probe_all, probe_client, ProbeTemplates};

fn certificates(name: &str) -> PathBuf {
    common::tls_certificates(name)
}

fn serve(dir: &Path) -> (common::KillOnDrop, u16) {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-accept", "127.0.0.1:0", "-cert", "srv.pem", "-key", "srv.key", "-www", "-quiet"])
        .current_dir(dir);
    common::start_on_port_zero(&mut cmd, &dir.join("s_server.log"), "openssl s_server")
}

#[tokio::test]
async fn a_private_ca_is_trusted_only_when_configured() {
    let dir = certificates("probes");
    let (_server, port) = serve(&dir);
    let templates =
        ProbeTemplates { health: Some(format!("https://127.0.0.1:{port}/{{service}}")), ready: None, insecure: false };
    let pairs = vec![("svc".to_string(), "r1".to_string())];
    let run = |client: reqwest::Client, t: ProbeTemplates| {
        let pairs = pairs.clone();
        async move { probe_all(&client, &t, pairs, 1, Duration::from_secs(5), Duration::ZERO).await }
    };

    let Ok(plain) = probe_client(None, false) else { panic!("client") };
    let p = run(plain, templates.clone()).await;
    assert_eq!(p[0].kind, ProbeKind::Health);
    assert_eq!(p[0].status, ProbeStatus::Unknown, "an unknown CA is refused: {:?}", p[0]);
    assert!(p[0].http_status.is_none());

    let Ok(with_ca) = probe_client(Some(&dir.join("ca.pem")), false) else { panic!("client with CA") };
    let p = run(with_ca, templates.clone()).await;
    assert_eq!((p[0].status, p[0].http_status), (ProbeStatus::Up, Some(200)), "{:?}", p[0]);
    assert!(!p[0].detail.contains("NOT VERIFIED"));

    let Ok(insecure) = probe_client(None, true) else { panic!("insecure client") };
    let p = run(insecure, ProbeTemplates { insecure: true, ..templates }).await;
    assert_eq!(p[0].status, ProbeStatus::Up);
    assert!(p[0].detail.starts_with("TLS NOT VERIFIED"), "{}", p[0].detail);

    assert!(probe_client(Some(&dir.join("srv.key")), false).is_err(), "a key is not a CA bundle");
}

/// Prometheus, Alertmanager and the control plane behind an internal CA:
/// the platform's roots refuse it, `ca_bundle` on the source trusts it, and
/// `config check` reads the bundle (a key is not a bundle).
#[tokio::test]
async fn every_source_can_trust_an_internal_ca_and_the_bundle_is_checked() {
    let dir = certificates("sources");
    let (_server, port) = serve(&dir);
    let url = format!("https://127.0.0.1:{port}/api/v1/query");
    let Ok(plain) = warroom::dataplane::http_client() else { panic!("client") };
    let e = plain.get(&url).send().await.err().map(|e| format!("{e:?}")).unwrap_or_default();
    assert!(e.to_lowercase().contains("certificate") || e.contains("UnknownIssuer"), "refused: {e}");
    let Ok(with_ca) = warroom::dataplane::http_client_with(Some(&dir.join("ca.pem"))) else { panic!("client") };
    let r = with_ca.get(&url).send().await;
    assert!(r.as_ref().is_ok_and(|r| r.status().as_u16() == 200), "{r:?}");
    let base = "[[region]]\nname = \"r1\"\n[[service]]\nname = \"s\"\n";
    let ca = dir.join("ca.pem").display().to_string();
    let key = dir.join("srv.key").display().to_string();
    for (section, extra) in [("prometheus", ""), ("alertmanager", ""), ("control_plane", "")] {
        let good = format!("{base}[{section}]\nurl = \"https://127.0.0.1:{port}\"\nca_bundle = \"{ca}\"\n{extra}");
        let path = dir.join(format!("{section}.toml"));
        assert!(std::fs::write(&path, good).is_ok());
        let cfg = warroom::config::Config::load(&path);
        assert!(cfg.as_ref().is_ok_and(|c| warroom::wiring::setup(c).is_ok()), "{section}: {:?}", cfg.err());
        let bad = format!("{base}[{section}]\nurl = \"https://127.0.0.1:{port}\"\nca_bundle = \"{key}\"\n");
        assert!(std::fs::write(&path, bad).is_ok());
        let errs = warroom::config::Config::load(&path).err().unwrap_or_default();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(
            text.iter().any(|t| t.contains(":7:13:") && t.contains("CA bundle") && t.contains("no certificate")),
            "{section}: {text:?}"
        );
    }
}
