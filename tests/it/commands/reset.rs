//! `reset`: what it removes, what it keeps, and that it is idempotent.

use labkube_testkit::lab::Lab;
use labkube_testkit::lab::calls::{calls_of, mutating, parse_facts};
use labkube_testkit::lab::hosts::Flavour;

/// After a create (and flannel having run on every node), reset on every host removes what
/// the install steps added; a second reset changes nothing.
fn reset_after_create(flavour: Flavour) {
    let lab = Lab::cluster_of(flavour);
    lab.create();
    for i in 0..3 {
        lab.simulate_flannel_running(i);
    }
    let before: Vec<Vec<String>> = (0..3).map(|i| lab.packages(i)).collect();
    assert!(before.iter().all(|p| p.contains(&"kubeadm".to_string())));
    lab.clear_calls();
    for i in [1, 2, 0] {
        lab.must(i, "reset", &[]);
    }
    for (i, host) in lab.hosts.iter().enumerate() {
        let ctx = format!("{flavour:?} {}", host.name);
        assert_eq!(
            lab.packages(i),
            Vec::<String>::new(),
            "{ctx}: every package install_* added is gone"
        );
        for gone in [
            "/etc/kubernetes",
            "/var/lib/kubelet",
            "/var/lib/etcd",
            "/etc/cni",
            "/var/lib/cni",
            "/run/flannel",
            "/opt/cni",
            "/etc/containerd",
            "/var/lib/labkube",
            "/usr/local/bin/helm",
            "/etc/apt/sources.list.d/kubernetes.list",
            "/etc/apt/keyrings/kubernetes-apt-keyring.gpg",
            "/etc/apt/sources.list.d/docker.list",
            "/etc/apt/preferences.d/labkube-docker",
            "/etc/apt/keyrings/docker.asc",
            "/etc/containerd/certs.d",
            "/etc/systemd/system/containerd.service.d",
            "/etc/yum.repos.d/kubernetes.repo",
            "/etc/yum.repos.d/docker-ce.repo",
            "/.standin/links/cni0",
            "/.standin/links/flannel.1",
        ] {
            assert!(!lab.path(i, gone).exists(), "{ctx}: {gone} is left");
        }
        // The API endpoint's name is gone from /etc/hosts; the image's own lines stay.
        let hosts = lab.read(i, "/etc/hosts").unwrap();
        assert!(
            !hosts.contains("api.labkube.internal")
                && hosts.starts_with("127.0.0.1 localhost\n")
                && hosts.contains("::1 localhost ip6-localhost ip6-loopback\n"),
            "{ctx}: {hosts}"
        );
        let calls = lab.take_calls(i);
        assert_eq!(calls_of(&calls, "kubeadm", "reset").len(), 1, "{ctx}");
        if flavour.is_debian() {
            assert!(
                calls_of(&calls, "apt-mark", "unhold").len() >= 3,
                "{ctx}: held packages are unheld first"
            );
        }
        let facts = parse_facts(&lab.must(i, "facts", &[]).stdout);
        for key in [
            "containerd",
            "kubeadm",
            "control_plane",
            "joined",
            "ports_busy",
        ] {
            assert_eq!(facts[key], "", "{ctx}: {key}");
        }
    }
    lab.clear_calls();
    for i in 0..3 {
        let again = lab.must(i, "reset", &[]);
        assert_eq!(again.stdout, "reset: done\n", "{again}");
        let changed = mutating(&lab.take_calls(i));
        assert!(
            changed.is_empty(),
            "{flavour:?}: the second reset changed: {changed:?}"
        );
    }
    // And the hosts can be set up again.
    lab.create();
}

#[test]
fn reset_removes_what_ubuntu_installs_added() {
    reset_after_create(Flavour::Ubuntu);
}

#[test]
fn reset_removes_what_debian_installs_added() {
    reset_after_create(Flavour::Debian);
}

#[test]
fn reset_removes_what_rocky_installs_added() {
    reset_after_create(Flavour::Rocky);
}

#[test]
fn reset_of_a_host_never_set_up_changes_nothing() {
    for flavour in Flavour::ALL {
        let lab = Lab::new(&[("h1", flavour)]);
        let run = lab.must(0, "reset", &[]);
        assert_eq!(run.stdout, "reset: done\n", "{run}");
        let changed = mutating(&lab.calls(0));
        assert!(changed.is_empty(), "{flavour:?}: {changed:?}");
    }
}

#[test]
fn reset_keeps_a_containerd_labkube_did_not_install() {
    let lab = Lab::new(&[("cp1", Flavour::Debian)]);
    // A host that already ran Docker's containerd with its own config.
    let site_config = "# site config\nversion = 2\ndisabled_plugins = [\"cri\"]\n";
    lab.write(0, "/.standin/pkgs/containerd.io", "1.7.28-1\n");
    lab.write(0, "/.standin/systemd/containerd.enabled", "");
    lab.write(0, "/.standin/systemd/containerd.active", "");
    lab.write(0, "/etc/containerd/config.toml", site_config);
    let run = lab.must(0, "install_containerd", &[]);
    assert!(run.stdout.contains("already installed"), "{run}");
    assert!(
        run.stdout.contains("restarted with the new config"),
        "{run}"
    );
    assert_eq!(
        lab.read(0, "/etc/containerd/config.toml.pre-labkube")
            .as_deref(),
        Some(site_config)
    );
    assert!(
        calls_of(&lab.calls(0), "apt-get", "").is_empty(),
        "nothing installed"
    );
    lab.clear_calls();
    lab.must(0, "reset", &[]);
    assert_eq!(
        lab.read(0, "/etc/containerd/config.toml").as_deref(),
        Some(site_config)
    );
    assert!(
        !lab.path(0, "/etc/containerd/config.toml.pre-labkube")
            .exists()
    );
    assert_eq!(lab.packages(0), ["containerd.io"]);
    let calls = lab.calls(0);
    assert!(
        calls
            .iter()
            .any(|c| c.join(" ") == "systemctl restart containerd"),
        "{calls:?}"
    );
    assert!(calls_of(&calls, "apt-get", "").is_empty(), "{calls:?}");
}

#[test]
fn reset_keeps_a_containerd_that_other_software_came_to_need() {
    for (flavour, user_package, kept) in [
        (Flavour::Debian, "docker-ce", vec!["containerd.io"]),
        (
            Flavour::Rocky,
            "docker-ce",
            vec!["container-selinux", "containerd.io"],
        ),
    ] {
        let lab = Lab::new(&[("cp1", flavour)]);
        for step in ["prepare_host", "install_containerd", "install_kube"] {
            lab.must(0, step, &[]);
        }
        // Later, someone installs Docker on top of labkube's containerd.
        lab.write(0, &format!("/.standin/pkgs/{user_package}"), "28.5.1-1\n");
        lab.write(
            0,
            "/var/lib/containerd/io.containerd.content.v1.content/blobs/sha256/ab12",
            "layer\n",
        );
        let run = lab.must(0, "reset", &[]);
        assert!(run.stdout.contains("reset: keeping"), "{run}");
        let mut left = kept.clone();
        left.push(user_package);
        left.sort_unstable();
        assert_eq!(
            lab.packages(0),
            left,
            "{flavour:?}: Kubernetes goes, containerd stays for {user_package}"
        );
        assert!(
            lab.path(0, "/var/lib/containerd/io.containerd.content.v1.content")
                .exists(),
            "Docker's images stay"
        );
        assert!(
            lab.read(0, "/etc/containerd/config.toml").is_none(),
            "labkube's config goes"
        );
        let calls = lab.calls(0);
        assert!(
            calls
                .iter()
                .any(|c| c.join(" ") == "systemctl restart containerd"),
            "{calls:?}"
        );
        assert!(mutating(&calls).iter().all(|c| !c.contains(user_package)));
    }
}

#[test]
fn reset_refuses_to_delete_through_mounted_volumes() {
    let lab = Lab::new(&[("w1", Flavour::Debian)]);
    lab.write(
        0,
        "/var/lib/kubelet/pods/0f1e/volumes/kubernetes.io~nfs/data/important",
        "keep me\n",
    );
    let mounts = lab.read(0, "/proc/mounts").unwrap()
        + "nfs.lab:/export /var/lib/kubelet/pods/0f1e/volumes/kubernetes.io~nfs/data nfs4 rw 0 0\n";
    lab.write(0, "/proc/mounts", &mounts);
    let run = lab.step(0, "reset", &[]);
    assert_eq!(run.status, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("volumes are still mounted under /var/lib/kubelet"),
        "{run}"
    );
    assert!(
        lab.read(
            0,
            "/var/lib/kubelet/pods/0f1e/volumes/kubernetes.io~nfs/data/important"
        )
        .is_some()
    );
}
