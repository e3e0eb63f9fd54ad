//! Steps that fail: injected tool failures, bad parameters, truncated uploads, kubeadm's
//! preflight, bad downloads, another Kubernetes minor.

use labkube_testkit::lab::Lab;
use labkube_testkit::lab::calls::{JoinLine, mutating, node_table, parse_facts};
use labkube_testkit::lab::hosts::Flavour;

#[test]
fn injected_failures_fail_the_step_with_the_tools_message() {
    let cases = [
        (
            Flavour::Debian,
            "apt-get install",
            "install_containerd",
            "Could not resolve 'prod-cdn.packages.k8s.io'",
        ),
        (
            Flavour::Rocky,
            "dnf",
            "install_containerd",
            "Failed to download metadata for repo",
        ),
        (
            Flavour::Ubuntu,
            "curl",
            "install_kube",
            "curl: (6) Could not resolve host: pkgs.k8s.io",
        ),
        (
            Flavour::Ubuntu,
            "systemctl restart",
            "install_containerd",
            "Job for containerd.service failed",
        ),
        (
            Flavour::Rocky,
            "setenforce",
            "prepare_host",
            "setenforce() failed",
        ),
        (
            Flavour::Debian,
            "modprobe br_netfilter",
            "prepare_host",
            "could not insert 'br_netfilter'",
        ),
        (
            Flavour::Ubuntu,
            "kubeadm init",
            "kubeadm_init",
            "error execution phase wait-control-plane",
        ),
        (
            Flavour::Rocky,
            "kubectl apply",
            "install_flannel",
            "The connection to the server 10.0.0.1:6443 was refused",
        ),
        (
            Flavour::Debian,
            "curl",
            "install_helm",
            "Could not resolve host: get.helm.sh",
        ),
    ];
    for (flavour, what, step, message) in cases {
        let lab = Lab::ready_for(flavour, step);
        lab.inject(0, what);
        let run = lab.step(0, step, &[]);
        assert!(!run.ok(), "{what} injected: {run}");
        assert!(
            run.stderr.contains(message),
            "{what}: expected {message:?} on stderr: {run}"
        );
        // Fixed, the same step converges.
        lab.heal(0);
        lab.must(0, step, &[]);
    }
}

#[test]
fn a_failing_join_shows_kubeadms_error_but_not_the_token() {
    let lab = Lab::cluster_of(Flavour::Ubuntu);
    for step in ["prepare_host", "install_containerd", "install_kube"] {
        for i in 0..3 {
            lab.must(i, step, &[]);
        }
    }
    lab.must(0, "kubeadm_init", &[]);
    lab.must(0, "install_flannel", &[]);
    let join = JoinLine::parse(&lab.must(0, "join_command", &[]).stdout);
    let env = [
        ("JOIN_ENDPOINT", join.endpoint.as_str()),
        ("JOIN_TOKEN", join.token.as_str()),
        ("JOIN_CA_HASH", join.ca_hash.as_str()),
    ];
    lab.inject(2, "kubeadm join");
    let failed = lab.step(2, "kubeadm_join", &env);
    assert!(!failed.ok());
    assert!(
        failed
            .stderr
            .contains("couldn't validate the identity of the API Server"),
        "{failed}"
    );
    let secret = join.token.split_once('.').unwrap().1;
    assert!(
        !failed.stderr.contains(secret) && !failed.stdout.contains(secret),
        "{failed}"
    );
    lab.must(1, "kubeadm_join", &env);
    assert_eq!(parse_facts(&lab.must(2, "facts", &[]).stdout)["joined"], "");
    // A wrong token or CA hash is kubeadm's error too, and still not echoed by the script.
    lab.heal(2);
    let wrong = "abcdef.0123456789abcdef";
    let bad = lab.step(2, "kubeadm_join", &[env[0], ("JOIN_TOKEN", wrong), env[2]]);
    assert!(
        bad.stderr.contains(
            "could not find a JWS signature in the cluster-info ConfigMap for token ID \"abcdef\""
        ),
        "{bad}"
    );
    assert!(!bad.stderr.contains("0123456789abcdef"), "{bad}");
    lab.must(2, "kubeadm_join", &env);
    let nodes = node_table(&lab.must(0, "nodes", &[]).stdout);
    assert_eq!(
        nodes.iter().filter(|(_, s)| s == "Ready").count(),
        3,
        "{nodes:?}"
    );
}

#[test]
fn the_api_name_must_resolve_and_a_line_labkube_did_not_write_is_left_alone() {
    let lab = Lab::cluster_of(Flavour::Ubuntu);
    let hosts_of = |i: usize| lab.hosts[i].root.join("etc/hosts");
    // The VM owner mapped the name elsewhere: prepare_host stops before changing anything.
    let original = std::fs::read_to_string(hosts_of(2)).unwrap();
    std::fs::write(
        hosts_of(2),
        format!("{original}192.0.2.7 api.labkube.internal\n"),
    )
    .unwrap();
    for i in 0..2 {
        lab.must(i, "prepare_host", &[]);
    }
    let refused = lab.step(2, "prepare_host", &[]);
    assert!(
        !refused.ok()
            && refused.stderr.contains(
                "/etc/hosts maps api.labkube.internal in a line labkube did not write (192.0.2.7 api.labkube.internal)"
            ),
        "{refused}"
    );
    assert!(mutating(&lab.take_calls(2)).is_empty(), "nothing changed");
    std::fs::write(hosts_of(2), &original).unwrap();
    lab.must(2, "prepare_host", &[]);
    for step in ["install_containerd", "install_kube"] {
        for i in 0..3 {
            lab.must(i, step, &[]);
        }
    }
    lab.must(0, "kubeadm_init", &[]);
    let join = JoinLine::parse(&lab.must(0, "join_command", &[]).stdout);
    assert_eq!(join.endpoint, "api.labkube.internal:6443");
    let env = [
        ("JOIN_ENDPOINT", join.endpoint.as_str()),
        ("JOIN_TOKEN", join.token.as_str()),
        ("JOIN_CA_HASH", join.ca_hash.as_str()),
    ];
    // A worker where the name does not resolve cannot join: Go's resolver error, via kubeadm.
    std::fs::write(hosts_of(1), &original).unwrap();
    let failed = lab.step(1, "kubeadm_join", &env);
    assert!(
        !failed.ok()
            && failed.stderr.contains(
                "failed to request the cluster-info ConfigMap: Get \"https://api.labkube.internal:6443/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s\": dial tcp: lookup api.labkube.internal on 127.0.0.53:53: no such host"
            ),
        "{failed}"
    );
    // prepare_host puts the line back; the join then goes through the name.
    lab.must(1, "prepare_host", &[]);
    lab.must(1, "kubeadm_join", &env);
    lab.must(2, "kubeadm_join", &env);
    let nodes = node_table(&lab.must(0, "nodes", &[]).stdout);
    assert_eq!(nodes.len(), 3, "{nodes:?}");
}

#[test]
fn malformed_parameters_are_refused_before_anything_changes() {
    let lab = Lab::new(&[("cp1", Flavour::Debian)]);
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let hash = format!("sha256:{}", "0".repeat(64));
    // kubeadm_init's parameters that are checked before the networks, all valid, then `rest`.
    let init = |rest: &[(&'static str, &'static str)]| {
        let mut env = vec![
            ("ADVERTISE_ADDRESS", "10.0.0.1"),
            ("POD_CIDR", "10.244.0.0/16"),
            ("K8S_MINOR", "1.35"),
            ("CONTROL_PLANE_ENDPOINT", "api.labkube.internal:6443"),
            ("SCHEDULE_ON_CONTROL_PLANE", "no"),
        ];
        env.extend_from_slice(rest);
        env
    };
    let cases: [Case; 28] = [
        (
            "prepare_host",
            vec![("ROLE", "master")],
            "ROLE must be control-plane or worker",
        ),
        ("prepare_host", vec![], "ROLE must be"),
        (
            "prepare_host",
            vec![
                ("ROLE", "worker"),
                ("POD_CIDR", "10.244.0.0/16"),
                ("SERVICE_CIDR", "10.96.0.0/12"),
                ("API_NAME", "api.labkube.internal evil.example"),
                ("API_ADDRESS", "10.0.0.1"),
            ],
            "API_NAME must be a DNS name",
        ),
        (
            "kubeadm_init",
            vec![
                ("ADVERTISE_ADDRESS", "10.0.0.1"),
                ("POD_CIDR", "10.244.0.0/16"),
                ("K8S_MINOR", "1.35"),
                ("CONTROL_PLANE_ENDPOINT", "$(reboot):6443"),
            ],
            "CONTROL_PLANE_ENDPOINT must be name:port",
        ),
        (
            "install_kube",
            vec![("K8S_MINOR", "1.35; reboot")],
            "K8S_MINOR must be",
        ),
        (
            "kubeadm_init",
            vec![
                ("ADVERTISE_ADDRESS", "$(reboot)"),
                ("POD_CIDR", "10.244.0.0/16"),
                ("K8S_MINOR", "1.35"),
            ],
            "ADVERTISE_ADDRESS must be",
        ),
        (
            "kubeadm_init",
            vec![
                ("ADVERTISE_ADDRESS", "10.0.0.1"),
                ("POD_CIDR", "10.244.0.0"),
                ("K8S_MINOR", "1.35"),
            ],
            "POD_CIDR must be",
        ),
        (
            "kubeadm_init",
            init(&[("SERVICE_CIDR", "10.96.0.0/12,")]),
            "SERVICE_CIDR must be a network",
        ),
        (
            "kubeadm_init",
            init(&[("SERVICE_CIDR", "10.96.0.0/12"), ("NODE_IP", "10.0.0.9")]),
            "NODE_IP must be ADVERTISE_ADDRESS",
        ),
        (
            "install_flannel",
            vec![("FLANNEL_VERSION", "latest"), ("POD_CIDR", "10.244.0.0/16")],
            "FLANNEL_VERSION must be",
        ),
        (
            "install_helm",
            vec![("HELM_VERSION", "v3.19.0/../../x")],
            "HELM_VERSION must be",
        ),
        (
            "kubeadm_init",
            vec![
                ("ADVERTISE_ADDRESS", "10.0.0.1"),
                ("POD_CIDR", "10.244.0.0/16"),
                ("K8S_MINOR", "1.35"),
                ("CONTROL_PLANE_ENDPOINT", "api.labkube.internal:6443"),
                ("SCHEDULE_ON_CONTROL_PLANE", "true"),
            ],
            "SCHEDULE_ON_CONTROL_PLANE must be yes or no",
        ),
        (
            "install_storage",
            vec![("LOCAL_PATH_VERSION", "master")],
            "LOCAL_PATH_VERSION must be a release tag",
        ),
        (
            "install_metrics_server",
            vec![("METRICS_SERVER_VERSION", "main")],
            "METRICS_SERVER_VERSION must be a release tag",
        ),
        (
            "approve_csrs",
            vec![("NODES", "cp1")],
            "NODES: 'cp1' must be <name>=<IP address>",
        ),
        (
            "approve_csrs",
            vec![("NODES", "cp1=10.0.0.1 $(reboot)=10.0.0.2")],
            "NODES: '$(reboot)' is not a node name",
        ),
        (
            "kubeadm_join",
            vec![
                ("JOIN_ENDPOINT", "10.0.0.1:6443"),
                ("JOIN_TOKEN", "abcdef.0123456789abcdeX"),
                ("JOIN_CA_HASH", "sha256:00"),
                ("NODE_IP", "10.0.0.2"),
                ("CONTROL_PLANE", "no"),
            ],
            "JOIN_TOKEN is malformed",
        ),
        (
            "kubeadm_join",
            vec![("NODE_IP", "10.0.0.2"), ("CONTROL_PLANE", "maybe")],
            "CONTROL_PLANE must be yes or no",
        ),
        (
            "kubeadm_join",
            vec![
                ("JOIN_ENDPOINT", "api.labkube.internal:6443"),
                ("JOIN_TOKEN", "abcdef.0123456789abcdef"),
                ("JOIN_CA_HASH", &hash),
                ("NODE_IP", "10.0.0.2"),
                ("CONTROL_PLANE", "yes"),
                ("API_NAME", "api.labkube.internal"),
                ("SCHEDULE_ON_CONTROL_PLANE", "no"),
                ("CERTIFICATE_KEY", "0123456789abcdeX"),
            ],
            "CERTIFICATE_KEY is malformed",
        ),
        (
            "api_proxy",
            vec![
                ("API_SERVERS", "10.0.0.1,$(reboot)"),
                ("API_NAME", "api.labkube.internal"),
            ],
            "API_SERVERS must be the control planes' addresses",
        ),
        (
            "kubeadm_join",
            vec![("NODE_IP", "10.0.0.2 --v=9")],
            "NODE_IP must be an IPv4 or IPv6 address",
        ),
        (
            "install_flannel",
            vec![
                ("FLANNEL_VERSION", "v0.27.4"),
                ("POD_CIDR", "10.244.0.0/16"),
                ("CONTROL_PLANE_ADDRESS", "cp1"),
            ],
            "CONTROL_PLANE_ADDRESS must be",
        ),
        (
            "kubeadm_init",
            init(&[
                ("SERVICE_CIDR", "10.96.0.0/12"),
                ("EXTRA_SANS", "10.0.0.10 --v=9"),
            ]),
            "EXTRA_SANS must be empty or an IPv4 or IPv6 address",
        ),
        (
            "vip_probe",
            vec![("ACTION", "hold"), ("VIP", "10.0.0.10; reboot")],
            "VIP must be an IPv4 or IPv6 address",
        ),
        (
            "vip_probe",
            vec![
                ("ACTION", "hold"),
                ("VIP", "10.0.0.10"),
                ("VIP_INTERFACE", "eth0 up"),
            ],
            "VIP_INTERFACE must be a network interface name",
        ),
        (
            "vip_probe",
            vec![
                ("ACTION", "hold"),
                ("VIP", "10.0.0.10"),
                ("VIP_INTERFACE", "eth0"),
                ("HOLD_SECONDS", "0"),
            ],
            "HOLD_SECONDS must be a number of seconds from 5 to 600",
        ),
        (
            "vip_probe",
            vec![
                ("ACTION", "move"),
                ("VIP", "10.0.0.10"),
                ("VIP_INTERFACE", "eth0"),
            ],
            "ACTION must be reach, hold or release",
        ),
        (
            "kube_vip",
            vec![
                ("VIP", "10.0.0.10"),
                ("VIP_INTERFACE", "eth0"),
                ("KUBE_VIP_VERSION", "latest"),
                ("WAIT_SECONDS", "60"),
            ],
            "KUBE_VIP_VERSION must be a release tag",
        ),
    ];
    for (step, env, message) in cases {
        let run = lab.run(0, step, &env);
        assert_eq!(run.status, Some(1), "{run}");
        assert!(run.stderr.contains(message), "{run}");
        assert!(
            !run.stderr.contains("0123456789abcdeX"),
            "the token is not echoed: {run}"
        );
        let changed = mutating(&lab.take_calls(0));
        assert!(changed.is_empty(), "{step}: {changed:?}");
    }
}

#[test]
fn a_truncated_upload_runs_nothing() {
    let lab = Lab::new(&[("cp1", Flavour::Ubuntu)]);
    let body = labkube::provision::scripts::resolve("prepare_host", &lab.hosts[0].os).unwrap();
    let cut = body.rfind("\n}\n").unwrap() - 10; // inside main's body
    let run = lab.run_script(0, &body[..cut], &[("ROLE", "worker")]);
    assert_eq!(run.status, Some(2), "a syntax error: {run}");
    assert!(lab.calls(0).is_empty(), "{:?}", lab.calls(0));
    assert!(lab.read(0, "/etc/sysctl.d/k8s.conf").is_none());
}

#[test]
fn kubeadm_preflight_is_never_bypassed() {
    // Skipping prepare_host leaves ip_forward off: kubeadm refuses, and the script lets it.
    let lab = Lab::new(&[("cp1", Flavour::Ubuntu)]);
    lab.must(0, "install_containerd", &[]);
    lab.must(0, "install_kube", &[]);
    let run = lab.step(0, "kubeadm_init", &[]);
    assert_eq!(run.status, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("[ERROR FileContent--proc-sys-net-ipv4-ip_forward]"),
        "{run}"
    );
    assert!(lab.read(0, "/etc/kubernetes/admin.conf").is_none());
    lab.must(0, "prepare_host", &[]);
    lab.must(0, "kubeadm_init", &[]);
}

#[test]
fn helm_is_not_installed_from_a_download_that_fails_its_checksum() {
    let lab = Lab::ready_for(Flavour::Debian, "install_helm");
    lab.write(
        0,
        "/.corrupt",
        "https://get.helm.sh/helm-v*-linux-*.tar.gz\n",
    );
    let run = lab.step(0, "install_helm", &[]);
    assert_eq!(run.status, Some(1), "{run}");
    assert!(run.stderr.contains("but get.helm.sh publishes"), "{run}");
    assert!(lab.read(0, "/usr/local/bin/helm").is_none());
    std::fs::remove_file(lab.path(0, "/.corrupt")).unwrap();
    // A digest the engine pins wins over the published one.
    let run = lab.step(0, "install_helm", &[("HELM_SHA256", &"0".repeat(64))]);
    assert_eq!(run.status, Some(1), "{run}");
    assert!(run.stderr.contains("expected HELM_SHA256="), "{run}");
    assert!(lab.read(0, "/usr/local/bin/helm").is_none());
    lab.must(0, "install_helm", &[]);
    assert!(
        lab.read(0, "/var/lib/labkube/installed")
            .unwrap()
            .lines()
            .any(|l| l == "helm")
    );
}

#[test]
fn another_minor_is_refused_not_silently_upgraded() {
    for flavour in [Flavour::Debian, Flavour::Rocky] {
        let lab = Lab::new(&[("cp1", flavour)]);
        lab.must(0, "install_kube", &[]);
        lab.clear_calls();
        let run = lab.run(0, "install_kube", &[("K8S_MINOR", "1.34")]);
        assert_eq!(run.status, Some(1), "{run}");
        assert!(
            run.stderr.contains("is installed but K8S_MINOR is 1.34"),
            "{run}"
        );
        assert!(mutating(&lab.take_calls(0)).is_empty());
    }
}
