//! Whole clusters created as the engine creates them, created again, and the join token's
//! path through them.

use labkube_testkit::lab::calls::{Call, calls_of, mutating, node_table};
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::lab::{FLANNEL_VERSION, HELM_VERSION, LOCAL_PATH_VERSION, Lab};

fn all_args(calls: &[Call]) -> Vec<&str> {
    calls
        .iter()
        .flat_map(|c| c.iter().map(String::as_str))
        .collect()
}

fn urls(calls: &[Call]) -> Vec<&str> {
    calls_of(calls, "curl", "")
        .iter()
        .map(|c| c.last().unwrap().as_str())
        .collect()
}

fn has(call: &Call, arg: &str) -> bool {
    call.iter().any(|a| a == arg)
}

/// A full create on three hosts of `flavours` ends with three Ready nodes, and every host's
/// recording shows the calls a careful install makes.
fn three_node_create(flavours: [Flavour; 3]) {
    let lab = Lab::new(&[
        ("cp1", flavours[0]),
        ("w1", flavours[1]),
        ("w2", flavours[2]),
    ]);
    let created = lab.create();
    let ready = [("cp1", "Ready"), ("w1", "Ready"), ("w2", "Ready")];
    assert_eq!(
        node_table(&created.nodes),
        ready.map(|(n, s)| (n.to_string(), s.to_string())),
        "{}",
        created.nodes
    );
    for (i, host) in lab.hosts.iter().enumerate() {
        // Each kubelet registers the address the cluster was given, whatever the default route.
        let env_file = host.flavour.kubelet_env_file();
        let env = lab.kubelet_env(i);
        assert!(
            env.contains(&format!("KUBELET_EXTRA_ARGS=--node-ip={}\n", host.ip)),
            "{}: {env_file}: {env:?}",
            host.name
        );
    }
    let flannel = std::fs::read_to_string(lab.cluster.join("applied/kube-flannel.yml")).unwrap();
    assert!(
        flannel.contains("        - --kube-subnet-mgr\n        - --iface-can-reach=10.0.0.1\n"),
        "flanneld reaches the control plane through the right interface"
    );
    for (i, host) in lab.hosts.iter().enumerate() {
        let calls = lab.calls(i);
        let args = all_args(&calls);
        let ctx = &host.name;
        assert!(
            !args.iter().any(|a| a.contains("ignore-preflight-errors")),
            "{ctx}: {calls:?}"
        );
        assert!(
            !args.iter().any(|a| a.contains("latest")),
            "{ctx}: unpinned: {calls:?}"
        );
        check_prepared(&lab, i, &calls);
        check_containerd(&lab, i);
        if host.flavour.is_debian() {
            check_apt_packages(&lab, i, &calls);
        } else {
            check_dnf_packages(&lab, i, &calls);
        }
        check_firewall(&lab, i, &calls);
        if i == 0 {
            check_control_plane(&lab, &calls);
        } else {
            assert!(calls_of(&calls, "kubeadm", "init").is_empty(), "{ctx}");
            assert_eq!(calls_of(&calls, "kubeadm", "join").len(), 1, "{ctx}");
            assert!(
                lab.read(i, "/usr/local/bin/helm").is_none(),
                "{ctx}: Helm is for the control plane"
            );
        }
    }
    // The token kubeadm init always creates was never printed.
    let init = created
        .runs
        .iter()
        .find(|r| r.step == "kubeadm_init")
        .unwrap();
    assert!(init.stdout.contains("--token <value withheld>"), "{init}");
    assert!(
        !init.stdout.contains("[bootstrap-token] Using token"),
        "{init}"
    );
}

/// Swap off now and at boot, modules and sysctls persisted and applied.
fn check_prepared(lab: &Lab, i: usize, calls: &[Call]) {
    let ctx = &lab.hosts[i].name;
    assert_eq!(calls_of(calls, "swapoff", "-a").len(), 1, "{ctx}");
    let fstab = lab.read(i, "/etc/fstab").unwrap();
    for line in fstab
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some("swap"))
    {
        assert!(line.starts_with('#'), "{ctx}: swap still in fstab: {line}");
    }
    assert!(
        lab.read(i, "/etc/fstab.pre-labkube")
            .unwrap()
            .contains("swap"),
        "{ctx}"
    );
    let modules = lab.read(i, "/etc/modules-load.d/k8s.conf").unwrap();
    let modules: Vec<&str> = modules.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(modules, ["overlay", "br_netfilter"], "{ctx}");
    let sysctl = lab.read(i, "/etc/sysctl.d/k8s.conf").unwrap();
    for key in [
        "net.bridge.bridge-nf-call-iptables = 1",
        "net.bridge.bridge-nf-call-ip6tables = 1",
        "net.ipv4.ip_forward = 1",
    ] {
        assert!(sysctl.contains(key), "{ctx}: {sysctl}");
    }
    assert_eq!(
        lab.read(i, "/proc/sys/net/ipv4/ip_forward").unwrap().trim(),
        "1",
        "{ctx}"
    );
    // The API endpoint's name resolves to the control plane, the image's own lines kept.
    let hosts = lab.read(i, "/etc/hosts").unwrap();
    assert!(
        hosts.starts_with("127.0.0.1 localhost\n")
            && hosts.ends_with(
                "\n10.0.0.1 api.labkube.internal # labkube: the cluster's API endpoint\n"
            ),
        "{ctx}: {hosts}"
    );
    // Every kubelet reaches the API through that name.
    let kubelet = lab.read(i, "/etc/kubernetes/kubelet.conf").unwrap();
    assert!(
        kubelet.contains("server: https://api.labkube.internal:6443"),
        "{ctx}: {kubelet}"
    );
}

/// containerd with the systemd cgroup driver, and running that config.
fn check_containerd(lab: &Lab, i: usize) {
    let ctx = &lab.hosts[i].name;
    let config = lab.read(i, "/etc/containerd/config.toml").unwrap();
    assert!(config.contains("SystemdCgroup = true"), "{ctx}");
    assert!(!config.contains("SystemdCgroup = false"), "{ctx}");
    // containerd.io 2.2 (config version 3), kubeadm's sandbox image.
    for line in [
        "bin_dirs = ['/opt/cni/bin']",
        "sandbox = 'registry.k8s.io/pause:3.10.1'",
    ] {
        assert!(config.contains(line), "{ctx}: {line}");
    }
    let loaded = lab.read(i, "/.standin/containerd-loaded.toml");
    assert_eq!(
        loaded.as_deref(),
        Some(config.as_str()),
        "{ctx}: containerd runs the config"
    );
}

/// The pkgs.k8s.io deb repository of the minor, its key dearmored, the packages held.
fn check_apt_packages(lab: &Lab, i: usize, calls: &[Call]) {
    let ctx = &lab.hosts[i].name;
    let list = lab
        .read(i, "/etc/apt/sources.list.d/kubernetes.list")
        .unwrap();
    let line = "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] \
                https://pkgs.k8s.io/core:/stable:/v1.35/deb/ /";
    assert!(list.contains(line), "{ctx}: {list}");
    let key = std::fs::read(lab.path(i, "/etc/apt/keyrings/kubernetes-apt-keyring.gpg")).unwrap();
    assert!(
        !key.starts_with(b"-----BEGIN"),
        "{ctx}: the keyring is dearmored"
    );
    let urls = urls(calls);
    assert!(
        urls.contains(&"https://pkgs.k8s.io/core:/stable:/v1.35/deb/Release.key"),
        "{ctx}: {urls:?}"
    );
    let holds = calls_of(calls, "apt-mark", "hold");
    assert_eq!(holds.len(), 1, "{ctx}");
    assert_eq!(&holds[0][2..], ["kubelet", "kubeadm", "kubectl"], "{ctx}");
    assert!(
        calls
            .iter()
            .any(|c| c[0] == "apt-get" && has(c, "containerd.io")),
        "{ctx}"
    );
}

/// The pkgs.k8s.io rpm repository of the minor (excluded from upgrades), Docker's repository
/// for containerd.io only, SELinux permissive.
fn check_dnf_packages(lab: &Lab, i: usize, calls: &[Call]) {
    let ctx = &lab.hosts[i].name;
    let repo = lab.read(i, "/etc/yum.repos.d/kubernetes.repo").unwrap();
    assert!(
        repo.contains("baseurl=https://pkgs.k8s.io/core:/stable:/v1.35/rpm/"),
        "{ctx}: {repo}"
    );
    assert!(
        repo.contains("exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni"),
        "{ctx}: {repo}"
    );
    let installs = calls_of(calls, "dnf", "install");
    let kube = installs.iter().find(|c| has(c, "kubeadm")).unwrap();
    assert!(
        has(kube, "--disableexcludes=kubernetes"),
        "{ctx}: {installs:?}"
    );
    let docker = lab.read(i, "/etc/yum.repos.d/docker-ce.repo").unwrap();
    let baseurl = "https://download.docker.com/linux/centos/$releasever/$basearch/stable";
    assert!(
        docker.contains(baseurl) && docker.contains("includepkgs=containerd.io"),
        "{docker}"
    );
    assert_eq!(calls_of(calls, "setenforce", "0").len(), 1, "{ctx}");
    let selinux = lab.read(i, "/etc/selinux/config").unwrap();
    assert!(
        selinux.contains("\nSELINUX=permissive\n"),
        "{ctx}: {selinux}"
    );
    let enable = calls_of(calls, "systemctl", "enable");
    assert!(
        enable.iter().any(|c| c.last().unwrap() == "kubelet"),
        "{ctx}: {enable:?}"
    );
}

/// The role's ports of the "Ports and Protocols" page, opened in the active firewall only;
/// with firewalld the pod and service networks trusted.
fn check_firewall(lab: &Lab, i: usize, calls: &[Call]) {
    let ctx = &lab.hosts[i].name;
    let every_node = [
        "10250/tcp",
        "10256/tcp",
        "30000-32767/tcp",
        "30000-32767/udp",
        "8472/udp",
    ];
    let control_plane = ["6443/tcp", "2379-2380/tcp", "10257/tcp", "10259/tcp"];
    let ports: Vec<&str> = if i == 0 {
        control_plane.iter().chain(&every_node).copied().collect()
    } else {
        every_node.to_vec()
    };
    match lab.hosts[i].flavour {
        Flavour::Ubuntu => {
            let allowed: Vec<&str> = calls_of(calls, "ufw", "allow")
                .iter()
                .map(|c| c[2].as_str())
                .collect();
            let want: Vec<String> = ports.iter().map(|p| p.replace('-', ":")).collect();
            assert_eq!(allowed, want, "{ctx}");
        }
        Flavour::Rocky => {
            for port in ports {
                let add = format!("--add-port={port}");
                let now = calls.iter().any(|c| c[0] == "firewall-cmd" && c[1] == add);
                let boot = calls
                    .iter()
                    .any(|c| c[0] == "firewall-cmd" && c[1] == "--permanent" && c[2] == add);
                assert!(now && boot, "{ctx}: {port}");
            }
            for net in ["10.244.0.0/16", "10.96.0.0/12"] {
                let add = format!("--add-source={net}");
                let trusted = calls
                    .iter()
                    .filter(|c| c[0] == "firewall-cmd" && c.contains(&add))
                    .filter(|c| c.iter().any(|a| a == "--zone=trusted"))
                    .count();
                assert_eq!(trusted, 2, "{ctx}: {net} trusted now and at boot");
            }
        }
        Flavour::Debian => {
            assert!(calls_of(calls, "ufw", "allow").is_empty(), "{ctx}");
            assert!(
                calls_of(calls, "firewall-cmd", "--add-port").is_empty(),
                "{ctx}"
            );
        }
    }
}

/// kubeadm init with every preflight check, the installed release, no printed token; pinned
/// flannel and Helm downloads; one apply; one join token.
fn check_control_plane(lab: &Lab, calls: &[Call]) {
    let init = calls_of(calls, "kubeadm", "init");
    assert_eq!(init.len(), 1);
    assert_eq!(
        &init[0][2..],
        [
            "--apiserver-advertise-address=10.0.0.1",
            "--control-plane-endpoint=api.labkube.internal:6443",
            "--pod-network-cidr=10.244.0.0/16",
            "--service-cidr=10.96.0.0/12",
            "--kubernetes-version=v1.35.5",
            "--cri-socket=unix:///run/containerd/containerd.sock",
            "--token-ttl=15m",
            "--skip-token-print",
            "--patches=/etc/kubernetes/patches",
        ]
    );
    let urls = urls(calls);
    let flannel = "https://github.com/flannel-io/flannel/releases/download";
    for url in [
        format!("{flannel}/{FLANNEL_VERSION}/kube-flannel.yml"),
        format!("https://get.helm.sh/helm-{HELM_VERSION}-linux-amd64.tar.gz"),
        format!("https://get.helm.sh/helm-{HELM_VERSION}-linux-amd64.tar.gz.sha256sum"),
        format!(
            "https://raw.githubusercontent.com/rancher/local-path-provisioner/{LOCAL_PATH_VERSION}/deploy/local-path-storage.yaml"
        ),
    ] {
        assert!(urls.contains(&url.as_str()), "{url} in {urls:?}");
    }
    let applies: Vec<&Call> = calls
        .iter()
        .filter(|c| c[0] == "kubectl" && has(c, "apply"))
        .collect();
    // flannel's manifest, then local-path-provisioner's, whose class is then made the default
    // and its rollout awaited, then metrics-server's (tests/it/commands/metrics.rs).
    assert_eq!(applies.len(), 3, "{applies:?}");
    assert!(
        applies[1]
            .iter()
            .any(|a| a.ends_with("/local-path-storage.yaml"))
    );
    let annotate: Vec<&Call> = calls
        .iter()
        .filter(|c| c[0] == "kubectl" && has(c, "annotate"))
        .collect();
    assert_eq!(annotate.len(), 1, "{annotate:?}");
    assert!(has(
        annotate[0],
        "storageclass.kubernetes.io/is-default-class=true"
    ));
    assert_eq!(calls_of(calls, "kubeadm", "token").len(), 1);
    assert!(lab.read(0, "/usr/local/bin/helm").is_some());
}

#[test]
fn ubuntu_cluster_is_created() {
    three_node_create([Flavour::Ubuntu; 3]);
}

#[test]
fn debian_cluster_is_created() {
    three_node_create([Flavour::Debian; 3]);
}

#[test]
fn rocky_cluster_is_created() {
    three_node_create([Flavour::Rocky; 3]);
}

#[test]
fn mixed_cluster_is_created() {
    three_node_create([Flavour::Rocky, Flavour::Ubuntu, Flavour::Debian]);
}

#[test]
fn a_second_create_changes_nothing() {
    for flavour in Flavour::ALL {
        let lab = Lab::cluster_of(flavour);
        lab.create();
        lab.clear_calls();
        let again = lab.create();
        assert!(
            again.tokens.is_empty(),
            "{flavour:?}: no join command is made when every worker has joined"
        );
        for (i, host) in lab.hosts.iter().enumerate() {
            let calls = lab.take_calls(i);
            assert!(!calls.is_empty());
            let changed = mutating(&calls);
            assert!(
                changed.is_empty(),
                "{flavour:?} {}: the second run changed things:\n{}",
                host.name,
                changed.join("\n")
            );
        }
        assert_eq!(
            node_table(&again.nodes)
                .iter()
                .filter(|(_, s)| s == "Ready")
                .count(),
            3
        );
        for run in &again.runs {
            let quiet = ["already", "nothing to do"]
                .iter()
                .any(|w| run.stdout.contains(w));
            if [
                "kubeadm_init",
                "install_flannel",
                "install_helm",
                "install_storage",
                "install_metrics_server",
            ]
            .contains(&run.step.as_str())
            {
                assert!(quiet, "{run}");
            }
        }
    }
}

#[test]
fn the_join_token_is_never_written_or_echoed() {
    let lab = Lab::new(&[
        ("cp1", Flavour::Ubuntu),
        ("w1", Flavour::Rocky),
        ("w2", Flavour::Debian),
    ]);
    let created = lab.create();
    assert_eq!(created.tokens.len(), 1);
    let token = &created.tokens[0];
    let secret = token.split_once('.').unwrap().1;
    for file in lab.files() {
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(secret),
            "the join token is in {}",
            file.display()
        );
    }
    for run in &created.runs {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{} {} echoed the token",
            run.host,
            run.step
        );
    }
    for (i, host) in lab.hosts.iter().enumerate() {
        for call in lab.calls(i) {
            if call.iter().any(|a| a.contains(secret)) {
                assert!(
                    i > 0 && call[0] == "kubeadm" && call[1] == "join",
                    "{}: token in {call:?}",
                    host.name
                );
                let at = call.iter().position(|a| a == "--token").unwrap();
                assert_eq!(&call[at + 1], token);
            }
        }
    }
}

#[test]
fn a_new_flannel_release_is_applied_over_the_old_one() {
    let lab = Lab::ready_for(Flavour::Ubuntu, "install_flannel");
    lab.must(0, "install_flannel", &[]);
    let run = lab.must(0, "install_flannel", &[("FLANNEL_VERSION", "v0.27.5")]);
    assert!(
        run.stdout
            .contains("daemonset.apps/kube-flannel-ds configured"),
        "{run}"
    );
    let calls = lab.calls(0);
    assert!(calls.iter().any(|c| {
        c[0] == "curl"
            && c.last()
                .unwrap()
                .contains("/download/v0.27.5/kube-flannel.yml")
    }));
    let quiet = lab.must(0, "install_flannel", &[("FLANNEL_VERSION", "v0.27.5")]);
    assert!(quiet.stdout.contains("nothing to do"), "{quiet}");
}
