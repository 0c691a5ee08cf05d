//! Health probes over real TLS: an `openssl s_server` with a certificate
//! from a throwaway CA. The CA is trusted only when configured; turning
//! verification off works and is marked on every result.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use warroom::model::{ProbeKind, ProbeStatus};
use warroom::sources::health::{probe_all, probe_client, ProbeTemplates};

fn openssl(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| {
            panic!("openssl is not installed ({e}): run scripts/test as root or apt-get install openssl")
        });
    assert!(ok.success(), "openssl {args:?} failed");
}

/// A CA, and a server certificate for 127.0.0.1 signed by it.
fn certificates() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warroom-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=warroom test CA",
        ],
    );
    openssl(
        &dir,
        &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1"],
    );
    let _ =
        std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n");
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "srv.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "srv.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    dir
}

fn serve(dir: &Path) -> (common::KillOnDrop, u16) {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-accept", "127.0.0.1:0", "-cert", "srv.pem", "-key", "srv.key", "-www", "-quiet"])
        .current_dir(dir);
    common::start_on_port_zero(&mut cmd, &dir.join("s_server.log"), "openssl s_server")
}

#[tokio::test]
async fn a_private_ca_is_trusted_only_when_configured() {
    let dir = certificates();
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
