use super::*;

#[test]
fn example_config_is_valid_and_matches_defaults() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
        .unwrap();
    let cfg = Config::parse(&text, "config.example.toml").unwrap();
    assert_eq!(
        cfg,
        Config::default(),
        "config.example.toml must show the defaults"
    );
}

#[test]
fn example_config_documents_every_key() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
        .unwrap();
    let keys = [
        "data_dir",
        "[store]",
        "backend",
        "endpoints",
        "prefix",
        "timeout_secs",
        "lease_secs",
        "replica",
        "secret_key",
        "concurrent_jobs",
        "progress_interval_ms",
        "shutdown_grace_secs",
        "min_cluster_hosts",
        "job_log_lines",
        "[intake]",
        "user_burst",
        "user_per_minute",
        "room_burst",
        "room_per_minute",
        "room_jobs",
        "max_age_secs",
        "onboard_every_secs",
        "user",
        "port",
        "key_path",
        "key_passphrase",
        "known_hosts",
        "connect_timeout_secs",
        "command_timeout_secs",
        "keepalive_secs",
        "remote_env",
        "allowed_networks",
        "k8s",
        "pod_cidr",
        "parallel_hosts",
        "step_retries",
        "retry_backoff_ms",
        "nodes_ready_timeout_secs",
        "nodes_poll_ms",
        "flannel_version",
        "helm_version",
        "local_path_version",
        "registry_mirrors",
        "metrics_server_version",
        "kube_vip_version",
        "[kube]",
        "request_timeout_secs",
        "unreachable_secs",
        "rollout_timeout_secs",
        "failure_grace_secs",
        "auto_rollback",
        "history_max",
        "catalogue_dir",
        "namespace",
        "[matrix]",
        "homeserver",
        "password",
        "access_token",
        "device_name",
        "invites",
        "sync_timeout_secs",
        "request_attempts",
        "retry_max_secs",
        "[telegram]",
        "token",
        "api_url",
        "poll_timeout_secs",
        "edit_interval_ms",
        "group_edit_interval_ms",
        "max_retry_after_secs",
        "publish_commands",
        "[[users]]",
        "role",
        "[[rooms]]",
        "[[clusters]]",
        "kubeconfig",
        "owner",
    ];
    for k in keys {
        assert!(text.contains(k), "config.example.toml does not mention {k}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
        data_dir = ""
        colour = "blue"
        [limits]
        concurrent_jobs = 0
        progress_interval_ms = 10
        bogus = 1
        [ssh]
        port = "twenty-two"
        [cluster]
        k8s = "2.0"
        [[users]]
        platform = "matrix"
        id = "@a:x"
        role = "superuser"
        [[rooms]]
        platform = "matrix"
        id = "!r:x"
        namespace = "Bad_NS"
        [[rooms]]
        platform = "matrix"
        id = "!r:x"
        [[clusters]]
        name = "lab"
        kubeconfig = "/nonexistent/kubeconfig"
    "#;
    let err = Config::parse(text, "t.toml").unwrap_err();
    let ConfigError::Invalid { problems, .. } = &err else {
        panic!("expected Invalid, got {err}")
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for want in [
        "data_dir",
        "colour",
        "limits.concurrent_jobs",
        "limits.progress_interval_ms",
        "limits.bogus",
        "ssh.port",
        "cluster.k8s",
        "users[0].role",
        "rooms[0].namespace",
        "rooms[1]",
        "clusters[0].kubeconfig",
    ] {
        assert!(
            keys.contains(&want),
            "missing problem for {want}; got {keys:?}"
        );
    }
    let shown = err.to_string();
    assert!(shown.contains("superuser"), "{shown}");
    assert!(shown.contains("accepted: 1 to 64"), "{shown}");
}

#[test]
fn syntax_errors_name_the_line() {
    let err = Config::parse("[limits\nx=1", "bad.toml").unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }));
    assert!(err.to_string().contains("bad.toml"));
    assert!(err.to_string().contains("line"), "{err}");
}

#[test]
fn secrets_in_problems_are_not_shown() {
    let text = r#"
        [ssh]
        key_passphrase = { value = "hunter2", env = "X" }
    "#;
    let err = Config::parse(text, "t.toml").unwrap_err().to_string();
    assert!(err.contains("ssh.key_passphrase"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn users_rooms_and_clusters_decode() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kc");
    std::fs::write(&kc, "apiVersion: v1").unwrap();
    let text = format!(
        r#"
        [[users]]
        platform = "telegram"
        id = "42"
        role = "operator"
        [[rooms]]
        platform = "telegram"
        id = "-100"
        [[clusters]]
        name = "fiware-lab"
        kubeconfig = "{}"
        owner = {{ platform = "telegram", room = "-100" }}
        "#,
        kc.display()
    );
    let cfg = Config::parse(&text, "t.toml").unwrap();
    assert_eq!(cfg.users[0].role, Role::Operator);
    assert_eq!(cfg.rooms[0].namespace, "default");
    assert_eq!(cfg.clusters[0].owner.as_ref().unwrap().room, "-100");
}

#[test]
fn matrix_section_decodes_and_is_checked() {
    let text = r#"
        [matrix]
        homeserver = "http://127.0.0.1:8008"
        user = "@bot:localhost"
        password = { value = "pw" }
        invites = "any_room"
    "#;
    let cfg = Config::parse(text, "t.toml").unwrap();
    let m = cfg.matrix.unwrap();
    assert_eq!(m.invites, Invites::AnyRoom);
    assert_eq!(m.request_attempts, 5);
    let bad = r#"
        [matrix]
        homeserver = "matrix.example"
        user = "@bot"
        password = { value = "hunter2" }
        access_token = { env = "LABKUBE_TEST_SURELY_UNSET_VAR" }
        retry_max_secs = 0
        invites = "sometimes"
    "#;
    let err = Config::parse(bad, "t.toml").unwrap_err().to_string();
    for want in ["matrix.invites", "sometimes"] {
        assert!(err.contains(want), "{want}: {err}");
    }
    let bad = bad.replace("invites = \"sometimes\"", "");
    let err = Config::parse(&bad, "t.toml").unwrap_err().to_string();
    for want in [
        "matrix.homeserver",
        "matrix.user",
        "matrix.access_token",
        "matrix.retry_max_secs",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    assert!(!err.contains("hunter2"), "{err}");
    let none = "[matrix]\nhomeserver = \"http://127.0.0.1:1\"\nuser = \"bot\"\n";
    let err = Config::parse(none, "t.toml").unwrap_err().to_string();
    assert!(err.contains("matrix.password"), "{err}");
}

#[test]
fn telegram_section_decodes_and_is_checked() {
    let text = r#"
        [telegram]
        token = { value = "123:abc" }
        api_url = "http://127.0.0.1:8081"
    "#;
    let cfg = Config::parse(text, "t.toml").unwrap();
    let t = cfg.telegram.unwrap();
    assert_eq!(t.api_url, "http://127.0.0.1:8081");
    assert_eq!(t.poll_timeout_secs, 25);
    assert_eq!(t.edit_interval_ms, 1000);
    let bad = r#"
        [telegram]
        token = { env = "LABKUBE_TEST_SURELY_UNSET_VAR" }
        api_url = "http://127.0.0.1:8081/"
        poll_timeout_secs = 0
        edit_interval_ms = 10
        group_edit_interval_ms = 100000
        colour = "blue"
    "#;
    let err = Config::parse(bad, "t.toml").unwrap_err().to_string();
    for want in [
        "telegram.token",
        "LABKUBE_TEST_SURELY_UNSET_VAR",
        "telegram.api_url",
        "telegram.poll_timeout_secs",
        "telegram.edit_interval_ms",
        "telegram.group_edit_interval_ms",
        "telegram.colour",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    let none = "[telegram]\napi_url = \"ftp://x\"\n";
    let err = Config::parse(none, "t.toml").unwrap_err().to_string();
    assert!(err.contains("telegram.token"), "{err}");
    assert!(err.contains("telegram.api_url"), "{err}");
    let secret = "[telegram]\ntoken = { value = \"123:hunter2\" }\napi_url = \"x\"\n";
    let err = Config::parse(secret, "t.toml").unwrap_err().to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn user_and_room_ids_are_per_platform() {
    let text = r#"
        [[users]]
        platform = "matrix"
        id = "@a:x"
        role = "admin"
        [[users]]
        platform = "telegram"
        id = "77"
        role = "viewer"
        [[rooms]]
        platform = "matrix"
        id = "!r:x"
        [[rooms]]
        platform = "telegram"
        id = "-1009"
    "#;
    let cfg = Config::parse(text, "t.toml").unwrap();
    let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
    assert_eq!(cfg.user_ids("matrix"), set(&["@a:x"]));
    assert_eq!(cfg.room_ids("telegram"), set(&["-1009"]));
    assert!(cfg.user_ids("console").is_empty());
}

#[test]
fn names_in_the_config_follow_the_chat_rules() {
    // `k8s = "1.9"` used to pass check-config while `k8s=1.9` was refused in chat; an
    // end-of-life minor is refused by both.
    let err = Config::parse("[cluster]\nk8s = \"1.33\"\n", "t.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "cluster.k8s: \"1.33\": 1.33 is past its end of life upstream, so no longer \
             installed; the oldest supported minor is 1.35; expected a Kubernetes minor version \
             upstream still supports: 1.35, 1.36 or 1.37"
        ),
        "{err}"
    );
    for (text, want) in [
        (
            "[cluster]\npod_cidr = \"10.244.0.1/16\"\n",
            "cluster.pod_cidr: \"10.244.0.1/16\": host bits are set; the network is 10.244.0.0/16",
        ),
        (
            "[cluster]\npod_cidr = \"a/b\"\n",
            "cluster.pod_cidr: \"a/b\" is not an IPv4 network",
        ),
        (
            "[ssh]\nuser = \"Ubuntu\"\n",
            "ssh.user: \"Ubuntu\": user names are lowercase: ubuntu; expected a user name",
        ),
        (
            "[console]\nnamespace = \"-x\"\n",
            "console.namespace: \"-x\": it must start and end with a letter or digit; \
             expected a DNS label",
        ),
        (
            "[[rooms]]\nplatform = \"matrix\"\nid = \"!r:x\"\nnamespace = \"a\\nb\"\n",
            "rooms[0].namespace: \"a\\nb\": '\\n' is not allowed",
        ),
    ] {
        let err = Config::parse(text, "t.toml").unwrap_err().to_string();
        assert!(err.contains(want), "{want}\n{err}");
    }
    let ok = "[cluster]\nk8s = \"1.37\"\npod_cidr = \"fd00::/64\"\n[ssh]\nuser = \"_ci-1\"\n";
    let cfg = Config::parse(ok, "t.toml").unwrap();
    assert_eq!(cfg.cluster.k8s, "1.37");
}

#[test]
fn pinned_releases_must_be_release_tags() {
    let cfg = Config::parse("", "t.toml").unwrap();
    assert_eq!(cfg.cluster.metrics_server_version, "v0.9.0");
    let text = "[cluster]\nmetrics_server_version = \"latest\"\nlocal_path_version = \"v0.0.37\"\n";
    let err = Config::parse(text, "t.toml").unwrap_err().to_string();
    assert!(
        err.contains("cluster.metrics_server_version")
            && err.contains("\"latest\" is not a release tag such as v1.2.3"),
        "{err}"
    );
    assert!(!err.contains("cluster.local_path_version"), "{err}");
}

#[test]
fn loopback_and_link_local_need_a_network_that_names_them() {
    use std::net::IpAddr;
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let ssh = |nets: &[&str]| Ssh {
        allowed_networks: nets.iter().map(|n| n.to_string()).collect(),
        ..Ssh::default()
    };
    let any = ssh(&[]);
    assert_eq!(any.admits(ip("10.0.0.1")), Ok(()));
    assert_eq!(any.admits(ip("2001:db8::1")), Ok(()));
    for (addr, kind) in [
        ("127.0.0.1", Special::Loopback),
        ("::ffff:127.0.0.1", Special::Loopback),
        ("::1", Special::Loopback),
        ("169.254.169.254", Special::LinkLocal),
        ("fe80::1", Special::LinkLocal),
    ] {
        assert_eq!(any.admits(ip(addr)), Err(Refused::Special(kind)), "{addr}");
    }
    let everything = ssh(&["0.0.0.0/0", "::/0"]);
    assert_eq!(
        everything.admits(ip("127.0.0.1")),
        Err(Refused::Special(Special::Loopback)),
        "0.0.0.0/0 does not name loopback explicitly"
    );
    let lab = ssh(&["127.0.0.0/8", "10.0.0.0/16"]);
    assert_eq!(lab.admits(ip("127.0.0.3")), Ok(()));
    assert_eq!(lab.admits(ip("::ffff:127.0.0.3")), Ok(()));
    assert_eq!(lab.admits(ip("10.0.9.9")), Ok(()));
    assert_eq!(lab.admits(ip("10.1.0.1")), Err(Refused::Outside));
    assert_eq!(
        lab.admits(ip("169.254.0.1")),
        Err(Refused::Special(Special::LinkLocal))
    );
    assert_eq!(
        ssh(&["127.0.0.2/32"]).admits(ip("127.0.0.3")),
        Err(Refused::Special(Special::Loopback))
    );
}

#[test]
fn mapped_networks_are_refused_with_the_ipv4_form() {
    let text = "[ssh]\nallowed_networks = [\"::ffff:10.0.0.0/104\", \"fd00::/64\"]\n";
    let err = Config::parse(text, "t.toml").unwrap_err();
    let ConfigError::Invalid { problems, .. } = &err else {
        panic!("expected Invalid, got {err}")
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].key, "ssh.allowed_networks[0]");
    assert!(
        err.to_string()
            .contains("write it as IPv4, such as 10.0.0.0/8"),
        "{err}"
    );
}

#[test]
fn quiet_hours_are_checked_and_wrap_midnight() {
    use super::QuietHours;
    let q = QuietHours::parse("22:00-07:00").unwrap();
    let at = |h: u64, m: u64| (h * 60 + m) * 60_000 + 3 * 86_400_000;
    assert!(q.holds(at(23, 30)) && q.holds(at(0, 0)) && q.holds(at(6, 59)));
    assert!(!q.holds(at(7, 0)) && !q.holds(at(12, 0)) && !q.holds(at(21, 59)));
    let day = QuietHours::parse("12:00-13:30").unwrap();
    assert!(day.holds(at(13, 29)) && !day.holds(at(13, 30)) && !day.holds(at(11, 59)));
    for bad in ["22-07", "25:00-07:00", "22:00-22:00", "22:00"] {
        assert!(QuietHours::parse(bad).is_err(), "{bad}");
    }
    let text = "[[rooms]]\nplatform = \"console\"\nid = \"console\"\nquiet_hours = \"late\"\n\
                alerts_min_severity = \"critical\"\n";
    let err = Config::parse(text, "x.toml").unwrap_err().to_string();
    assert!(
        err.contains(
            "rooms[0].quiet_hours: \"late\" is not HH:MM-HH:MM in UTC, such as 22:00-07:00"
        ),
        "{err}"
    );
}

#[test]
fn a_rooms_namespace_quota_is_read_and_checked() {
    let text = "[[rooms]]\nplatform = \"console\"\nid = \"console\"\n\
                quota = { cpu = \"0.5\", memory = \"8Gi\", pods = 40 }\n";
    let cfg = Config::parse(text, "x.toml").unwrap();
    let q = &cfg.rooms[0].quota;
    assert_eq!(q.to_string(), "cpu 0.5, memory 8Gi, 40 pods");
    assert_eq!(
        q.hard(),
        vec![
            ("requests.cpu", "0.5".to_string()),
            ("requests.memory", "8Gi".to_string()),
            ("pods", "40".to_string())
        ]
    );
    let text = "[[rooms]]\nplatform = \"console\"\nid = \"console\"\n\
                quota = { cpu = \"lots\", pods = 0, disk = 1 }\n";
    let err = Config::parse(text, "x.toml").unwrap_err().to_string();
    assert!(
        err.contains("rooms[0].quota.cpu: \"lots\" is not a number of CPUs such as 2, 0.5 or 500m"),
        "{err}"
    );
    let text = "[[rooms]]\nplatform = \"console\"\nid = \"console\"\n\
                quota = { pods = 0, disk = 1 }\n";
    let err = Config::parse(text, "x.toml").unwrap_err().to_string();
    assert!(err.contains("rooms[0].quota.disk: unknown key"), "{err}");
    assert!(
        err.contains("rooms[0].quota.pods: 0 is out of range; accepted: 1 to 10000"),
        "{err}"
    );
}
