//! Missing AWS credentials, in a process of its own (credentials come
//! from the environment, which the other CloudWatch tests set).

use warroom::sources::cloudwatch::{asks, get_metric_data, make_client, Target};
use warroom_sim::{Scenario, SimConfig};

#[tokio::test]
async fn missing_credentials_are_an_error_not_a_panic() {
    for v in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ] {
        std::env::remove_var(v);
    }
    std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/warroom-test-config");
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/warroom-test-credentials");
    // No instance metadata here either: the SDK must give up quickly.
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let cfg = SimConfig { scenario: Scenario::Calm, time_scale: 1.0, at_secs: 600.0, ..SimConfig::default() };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim") };
    let client = make_client("us-east-1", Some(&sim.url()), None).await;
    let t = Target::alb("checkout", "us-east-1", "app/checkout/1", None);
    let end = chrono::Utc::now().timestamp();
    let e = get_metric_data(&client, &[&t], &asks(&[&t], false), end - 600, end).await.err().unwrap_or_default();
    let shown = warroom::sources::cloudwatch::explain("us-east-1", &e);
    assert!(shown.starts_with("AWS credentials for us-east-1:"), "{shown}");
    sim.shutdown().await;
}
