use super::*;

fn errors(text: &str) -> Vec<String> {
    match Config::parse(Path::new("w.toml"), text) {
        Ok(_) => vec![],
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

const MIN: &str = "[[region]]\nname = \"r1\"\n";

#[test]
fn the_example_is_valid() {
    let e = errors(EXAMPLE);
    assert!(e.is_empty(), "{e:?}");
}

#[test]
fn syntax_errors_have_line_and_column() {
    let e = errors("[[region]]\nname = \"r1\nzones = []\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("w.toml:2:"), "{e:?}");
}

#[test]
fn unknown_keys_are_named_with_their_place() {
    let e = errors("[[region]]\nname = \"r1\"\nzone = [\"a\"]\n");
    assert!(e[0].starts_with("w.toml:3:1: unknown field `zone`"), "{e:?}");
}

#[test]
fn duplicates_and_undefined_references() {
    let text = format!(
        "{MIN}[[region]]\nname = \"r1\"\n[[service]]\nname = \"a\"\ndepends_on = [\"ghost\"]\nregions = [\"r9\"]\n[[service]]\nname = \"a\"\n"
    );
    let e = errors(&text);
    assert!(e.iter().any(|x| x == "w.toml:4:8: duplicate region 'r1'"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:7:15: service 'a' depends on undefined service 'ghost'"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:8:12: service 'a' runs in undefined region 'r9'"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:10:8: duplicate service 'a'"), "{e:?}");
}

#[test]
fn bad_urls_templates_and_durations() {
    let text = format!(
        "{MIN}[health]\nliveness = \"https://{{svc}}.example.com/\"\nreadiness = \"ftp://{{service}}/ready\"\ninterval = \"soon\"\n[prometheus]\nurl = \"not a url\"\n"
    );
    let e = errors(&text);
    assert!(e.iter().any(|x| x.starts_with("w.toml:4:12: unknown placeholder '{svc}'")), "{e:?}");
    assert!(
        e.iter().any(|x| x.starts_with("w.toml:5:13: template 'ftp://{service}/ready' does not make a valid URL")),
        "{e:?}"
    );
    assert!(e.iter().any(|x| x.starts_with("w.toml:6:12: bad duration 'soon'")), "{e:?}");
    assert!(e.iter().any(|x| x.starts_with("w.toml:8:7: bad URL 'not a url'")), "{e:?}");
}

#[test]
fn bad_values_are_explained() {
    let text = format!("{MIN}[[service]]\nname = \"a\"\ntier = \"gold\"\nslo = {{ objective = 100.0 }}\n[operator]\nrole = \"admin\"\n");
    let e = errors(&text);
    assert!(e.iter().any(|x| x == "w.toml:5:8: tier 'gold' is not 'critical' or 'standard'"), "{e:?}");
    assert!(e.iter().any(|x| x.starts_with("w.toml:6:21: objective 100 must be a percentage")), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:8:8: role 'admin' is not 'viewer' or 'operator'"), "{e:?}");
}

#[test]
fn an_empty_file_needs_a_region() {
    let e = errors("");
    assert_eq!(e, vec!["w.toml:1:1: no [[region]] defined: add at least one"]);
}

#[test]
fn secrets_are_read_from_the_environment_or_a_file() {
    assert_eq!(Config::secret(None, None), Ok(None));
    assert!(Config::secret(Some("WARROOM_TEST_SURELY_UNSET_VAR"), None).is_err_and(|e| e.contains("is not set")));
    let p = std::env::temp_dir().join(format!("warroom-token-{}", std::process::id()));
    let _ = std::fs::write(&p, "s3cret\n");
    assert_eq!(Config::secret(None, p.to_str()), Ok(Some("s3cret".into())));
}

#[test]
fn line_col_counts_characters() {
    assert_eq!(line_col("ab\ncd", 4), (2, 2));
    assert_eq!(line_col("é\nx", 3), (2, 1));
    assert_eq!(line_col("", 10), (1, 1));
}

#[test]
fn health_section_errors() {
    let text = format!("{MIN}[health]\ninterval = \"5s\"\nconcurrency = 0\nca_bundle = \"/nonexistent/ca.pem\"\n");
    let e = errors(&text);
    assert!(e.iter().any(|x| x == "w.toml:4:12: [health] needs a liveness or readiness URL template"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:4:12: concurrency must be at least 1"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:6:13: CA bundle '/nonexistent/ca.pem' is not a readable file"), "{e:?}");
    let e = errors(&(MIN.to_string() + "[health]\nreadiness = \"http://{service.x/\"\n"));
    assert!(e.iter().any(|x| x.starts_with("w.toml:4:13: unclosed '{' in template")), "{e:?}");
    let e = errors(&(MIN.to_string() + "[health]\nreadiness = \"http://x/{service}}\"\n"));
    assert!(e.iter().any(|x| x.contains("unmatched '}'")), "{e:?}");
}

#[test]
fn empty_names_and_self_dependencies() {
    let e = errors("[[region]]\nname = \"\"\n[[service]]\nname = \"a\"\ndepends_on = [\"a\"]\n");
    assert!(e.iter().any(|x| x == "w.toml:2:8: region name is empty"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:5:15: service 'a' depends on itself"), "{e:?}");
}

#[test]
fn slo_options_are_checked() {
    let text = format!(
        "{MIN}[[service]]\nname = \"a\"\nslos = [\n  {{ objective = 99.0, kind = \"latency\" }},\n  {{ objective = 99.9, window_days = 14 }},\n  {{ objective = 99.9, calendar = \"week\" }},\n  {{ objective = 99.9, kind = \"speed\" }},\n]\n"
    );
    let e = errors(&text);
    assert!(e.iter().any(|x| x == "w.toml:6:30: a latency SLO needs threshold_ms"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:7:37: window_days 14 is not 7, 28 or 30"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:8:34: calendar 'week' is not \"month\""), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:9:30: kind 'speed' is not 'availability' or 'latency'"), "{e:?}");
    let ok = format!(
        "{MIN}[[service]]\nname = \"a\"\nslos = [{{ objective = 99.0, kind = \"latency\", threshold_ms = 250 }}, {{ objective = 99.9, calendar = \"month\" }}]\n"
    );
    let cfg = Config::parse(Path::new("w.toml"), &ok).unwrap_or_else(|e| panic!("{e:?}"));
    let fixed = cfg.fleet();
    let slos = &fixed.1[0].slos;
    assert_eq!(slos[0].name, "a-latency");
    assert_eq!(slos[0].kind, crate::model::SloKind::Latency { threshold_ms: 250.0 });
    assert_eq!(slos[1].period, crate::model::SloPeriod::CalendarMonth);
}

#[test]
fn cloudwatch_is_checked() {
    let text = "[[region]]\nname = \"r\"\n[[service]]\nname = \"a\"\n[prometheus]\nurl = \"http://p:9090\"\n[cloudwatch]\ninterval = \"30s\"\n[[cloudwatch.region]]\nname = \"nowhere\"\n[[cloudwatch.target]]\nservice = \"b\"\nregion = \"r\"\npreset = \"alb\"\n[[cloudwatch.target]]\nservice = \"a\"\nregion = \"nowhere\"\npreset = \"elb\"\n[[cloudwatch.target]]\nservice = \"a\"\nregion = \"nowhere\"\npreset = \"custom\"\nnamespace = \"N\"\nlatency_metric = \"L\"\nrequests_metric = \"R\"\nerrors_metric = \"E\"\nlatency_unit = \"us\"\n";
    let e = errors(text);
    assert!(
        e.iter().any(|x| x == "w.toml:6:7: latency comes from one source: [prometheus] or [cloudwatch], not both"),
        "{e:?}"
    );
    assert!(e.iter().any(|x| x.starts_with("w.toml:8:12: CloudWatch metrics have a 60 s period")), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:10:8: 'nowhere' is not a [[region]]"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:12:11: 'b' is not a [[service]]"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:13:10: 'r' has no [[cloudwatch.region]]"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:14:10: preset alb needs load_balancer"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:18:10: preset 'elb' is not alb, apigateway or custom"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:27:16: latency_unit 'us' is not ms or s"), "{e:?}");
}

#[test]
fn a_service_sla_is_configurable_and_checked() {
    let ok = format!("{MIN}[[service]]\nname = \"a\"\nsla = {{ p99_ms = 800 }}\n");
    assert!(errors(&ok).is_empty(), "{:?}", errors(&ok));
    let Ok(cfg) = Config::parse(Path::new("w.toml"), &ok) else { panic!("valid") };
    let sla = cfg.services[0].sla.as_ref().map(|s| s.to_sla()).unwrap_or_default();
    assert_eq!((sla.p50_ms, sla.p95_ms, sla.p99_ms), (100.0, 200.0, 800.0), "unset percentiles keep the seed's");
    let bad = format!("{MIN}[[service]]\nname = \"a\"\nsla = {{ p95_ms = -1, p99_ms = 150 }}\n");
    let e = errors(&bad);
    assert!(e.iter().any(|x| x.starts_with("w.toml:5:") && x.contains("p95_ms = -1 must be a positive")), "{e:?}");
    assert!(e.iter().any(|x| x.contains("must rise with the percentile")), "{e:?}");
}

#[test]
fn bad_weights_and_files_that_are_not_files() {
    for w in ["nan", "-inf", "-40", "1e308"] {
        let e = errors(&format!("[[region]]\nname = \"r1\"\nweight = {w}\n"));
        assert!(
            e.iter().any(|x| x.starts_with("w.toml:3:10: weight") && x.contains("between 0 and 100")),
            "{w}: {e:?}"
        );
    }
    // A FIFO would hang and /dev/zero never ends: neither is read.
    let e = Config::load(Path::new("/dev/zero")).err().unwrap_or_default();
    assert!(e.iter().any(|x| x.to_string().contains("not a regular file")), "{e:?}");
    let d = std::env::temp_dir().join(format!("warroom-cfg-utf8-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    let p = d.join("bad.toml");
    let _ = std::fs::write(&p, b"[[region]]\nname = \"\xff\"\n");
    let e = Config::load(&p).err().unwrap_or_default();
    assert!(e.iter().any(|x| x.to_string().contains("not UTF-8 (byte 19)")), "{e:?}");
}

#[test]
fn actions_name_known_configured_providers() {
    let cp = "[control_plane]\nurl = \"http://127.0.0.1:9\"\n";
    let ok = format!("{MIN}{cp}[actions]\ntraffic = \"control-plane\"\nflag = \"none\"\n");
    assert!(errors(&ok).is_empty(), "{:?}", errors(&ok));
    let e = errors(&format!("{MIN}[actions]\ntraffic = \"control-plane\"\nflag = \"unleash\"\n"));
    assert!(e.iter().any(|x| x == "w.toml:4:11: traffic = \"control-plane\" needs a [control_plane] section"), "{e:?}");
    assert!(e.iter().any(|x| x.starts_with("w.toml:5:8: flag: unknown provider 'unleash'")), "{e:?}");
    let e = errors(&format!("{MIN}[actions]\ntraffic = \"route53\"\nflag = \"route53\"\n"));
    assert!(e.iter().any(|x| x == "w.toml:4:11: traffic = \"route53\" needs a [route53] section"), "{e:?}");
    assert!(e.iter().any(|x| x == "w.toml:5:8: flag: Route 53 owns traffic only"), "{e:?}");
    let e = errors(&format!("{MIN}[actions]\nflags = \"none\"\n"));
    assert!(e.iter().any(|x| x.starts_with("w.toml:4:1: unknown field `flags`")), "{e:?}");
}

#[test]
fn an_rds_entry_names_a_cluster_or_a_global_database() {
    let rds = |body: &str| format!("{MIN}[[rds]]\nname = \"orders\"\naws_region = \"us-east-1\"\n{body}");
    assert!(errors(&rds("cluster = \"orders-aurora\"\n")).is_empty());
    let ok = rds("global_cluster = \"orders-global\"\nregions = { \"us-east-1\" = \"r1\" }\n");
    assert!(errors(&ok).is_empty(), "{:?}", errors(&ok));
    let e = errors(&rds(""));
    assert!(e.iter().any(|x| x.starts_with("w.toml:4:8: [[rds]] needs cluster = \"ID\" or global_cluster")), "{e:?}");
    let e = errors(&rds("cluster = \"a\"\nglobal_cluster = \"b\"\n"));
    assert!(e.iter().any(|x| x.starts_with("w.toml:7:18: cluster and global_cluster: name one")), "{e:?}");
    let e = errors(&rds("global_cluster = \" \"\nregions = { \"us-east-1\" = \"nowhere\" }\n"));
    assert!(e.iter().any(|x| x.starts_with("w.toml:6:18: empty")), "{e:?}");
    assert!(e.iter().any(|x| x.contains("unknown region 'nowhere'")), "{e:?}");
}

#[test]
fn resilience4j_needs_a_prometheus_and_an_actuator_url() {
    let ok = format!("{MIN}[prometheus]\nurl = \"http://p:9090\"\n[resilience4j]\ninstance_label = \"pod\"\n");
    assert!(errors(&ok).is_empty(), "{:?}", errors(&ok));
    let e = errors(&format!("{MIN}[resilience4j]\nactuator = \"ftp://{{instance}}\"\ninterval = \"soon\"\n"));
    assert!(e.iter().any(|x| x.contains("set prometheus_url or a [prometheus] section")), "{e:?}");
    assert!(e.iter().any(|x| x.starts_with("w.toml:4:12: actuator: an http(s) URL template")), "{e:?}");
    assert!(e.iter().any(|x| x.starts_with("w.toml:5:12: not a duration")), "{e:?}");
    let e = errors(&format!("{MIN}[resilience4j]\nprometheus_url = \"p:9090\"\n"));
    assert!(e.iter().any(|x| x.starts_with("w.toml:4:18: not an http(s) URL")), "{e:?}");
}

#[test]
fn business_figures_are_positive_amounts_one_per_service() {
    let text = format!(
        "{MIN}[[business]]\nservice = \"checkout\"\nper_failed_request = 0.85\n[[business]]\nservice = \"checkout\"\nper_failed_request = -1.0\nunit = \"EUR\"\n"
    );
    let e = errors(&text);
    assert!(
        e.iter().any(|x| x == "w.toml:8:22: [[business]] per_failed_request: -1 is not a positive amount"),
        "{e:?}"
    );
    assert!(e.iter().any(|x| x == "w.toml:7:11: [[business]] checkout: a second figure for the same service"), "{e:?}");
    let ok = format!("{MIN}[[business]]\nservice = \"checkout\"\nper_failed_request = 0.85\nwhat = \"orders lost\"\n");
    assert!(errors(&ok).is_empty(), "{:?}", errors(&ok));
}

#[test]
fn request_timeouts_are_durations_between_100ms_and_5m() {
    let text = format!(
        "{MIN}[prometheus]\nurl = \"http://p:9090\"\ntimeout = \"50ms\"\n[alertmanager]\nurl = \"http://a:9093\"\ntimeout = \"soon\"\n[control_plane]\nurl = \"http://c\"\ntimeout = \"4s\"\n"
    );
    let e = errors(&text);
    assert!(e.iter().any(|x| x.starts_with("w.toml:5:11: [prometheus] timeout: '50ms' is not between")), "{e:?}");
    assert!(e.iter().any(|x| x.starts_with("w.toml:8:11: [alertmanager] timeout: bad duration")), "{e:?}");
    assert!(!e.iter().any(|x| x.contains("[control_plane] timeout")), "{e:?}");
}
