//! Every command of the grammar once (or more), as typed, as parsed and as rendered back:
//! the table the parse, round-trip and coverage tests of `tests.rs` walk.

use super::tests::{ip, name};
use super::*;

fn scope(ns: Option<&str>, cluster: Option<&str>) -> GeScope {
    GeScope {
        ns: ns.map(name),
        cluster: cluster.map(name),
    }
}

pub(super) fn cluster_args(hosts: &[&str]) -> ClusterArgs {
    ClusterArgs {
        hosts: hosts.iter().map(|h| ip(h)).collect(),
        name: None,
        user: None,
        port: None,
        k8s: None,
        pod_cidr: None,
        control_planes: None,
        endpoint: None,
        dry_run: false,
    }
}

/// (input, expected command, canonical redacted form)
pub(super) fn cases() -> Vec<(&'static str, Command, &'static str)> {
    let full = ClusterArgs {
        name: Some(name("lab-1")),
        user: Some(UserName::parse("ubuntu").unwrap()),
        port: Some(2222),
        k8s: Some(K8sMinor::parse("1.36").unwrap()),
        pod_cidr: Some(Cidr::parse("10.244.0.0/16").unwrap()),
        dry_run: true,
        ..cluster_args(&["10.0.0.11", "10.0.0.12", "fd00::13"])
    };
    vec![
        ("/help", Command::Help { topic: vec![] }, "/help"),
        (
            "/help /Cluster create",
            Command::Help {
                topic: vec!["cluster".into(), "create".into()],
            },
            "/help cluster create",
        ),
        (
            "!help ge",
            Command::Help {
                topic: vec!["ge".into()],
            },
            "/help ge",
        ),
        (
            "/cluster create 10.0.0.11 10.0.0.12 fd00::13 name=lab-1 user=ubuntu port=2222 \
             k8s=1.36 pod-cidr=10.244.0.0/16 dry-run",
            Command::ClusterCreate(full.clone()),
            "/cluster create 10.0.0.11 10.0.0.12 fd00::13 name=lab-1 user=ubuntu port=2222 \
             k8s=1.36 pod-cidr=10.244.0.0/16 dry-run",
        ),
        (
            "/CLUSTER Create DRY-RUN Pod-Cidr=10.244.0.0/16 10.0.0.11 K8S=1.36 10.0.0.12 \
             USER=ubuntu fd00::13 port=2222 name=lab-1",
            Command::ClusterCreate(full.clone()),
            "/cluster create 10.0.0.11 10.0.0.12 fd00::13 name=lab-1 user=ubuntu port=2222 \
             k8s=1.36 pod-cidr=10.244.0.0/16 dry-run",
        ),
        (
            "/cluster create 10.0.0.11 10.0.0.12 10.0.0.13 control-planes=3 Endpoint=10.0.0.10",
            Command::ClusterCreate(ClusterArgs {
                control_planes: Some(3),
                endpoint: Some(ip("10.0.0.10")),
                ..cluster_args(&["10.0.0.11", "10.0.0.12", "10.0.0.13"])
            }),
            "/cluster create 10.0.0.11 10.0.0.12 10.0.0.13 control-planes=3 endpoint=10.0.0.10",
        ),
        (
            "/cluster create 127.0.0.1",
            Command::ClusterCreate(cluster_args(&["127.0.0.1"])),
            "/cluster create 127.0.0.1",
        ),
        (
            "/cluster plan 127.0.0.2 127.0.0.3 name=lab-2",
            Command::ClusterPlan(ClusterArgs {
                name: Some(name("lab-2")),
                dry_run: true,
                ..cluster_args(&["127.0.0.2", "127.0.0.3"])
            }),
            "/cluster plan 127.0.0.2 127.0.0.3 name=lab-2",
        ),
        ("/cluster list", Command::ClusterList, "/cluster list"),
        (
            "/cluster status",
            Command::ClusterStatus { name: None },
            "/cluster status",
        ),
        (
            "/cluster status lab-1",
            Command::ClusterStatus {
                name: Some(name("lab-1")),
            },
            "/cluster status lab-1",
        ),
        (
            "/cluster use lab-1",
            Command::ClusterUse {
                name: name("lab-1"),
            },
            "/cluster use lab-1",
        ),
        (
            "/cluster delete lab-1",
            Command::ClusterDelete {
                name: name("lab-1"),
                confirm: None,
            },
            "/cluster delete lab-1",
        ),
        (
            "/cluster delete lab-1 confirm=k3x9p2",
            Command::ClusterDelete {
                name: name("lab-1"),
                confirm: Some("k3x9p2".into()),
            },
            "/cluster delete lab-1 confirm=***",
        ),
        (
            "/cluster upgrade lab-1 confirm=k3x9p2 k8s=1.36",
            Command::ClusterUpgrade {
                name: name("lab-1"),
                k8s: Some(K8sMinor::parse("1.36").unwrap()),
                confirm: Some("k3x9p2".into()),
            },
            "/cluster upgrade lab-1 k8s=1.36 confirm=***",
        ),
        ("/ge catalog", Command::GeCatalog, "/ge catalog"),
        (
            "/ge install orion",
            Command::GeInstall {
                ge: name("orion"),
                scope: GeScope::default(),
                version: None,
                replicas: None,
                expose_nodeport: false,
                params: Default::default(),
            },
            "/ge install orion",
        ),
        (
            "/ge install expose=nodeport cluster=lab-1 replicas=2 orion version=4.1.0 ns=demo",
            Command::GeInstall {
                ge: name("orion"),
                scope: scope(Some("demo"), Some("lab-1")),
                version: Some(Version::parse("4.1.0").unwrap()),
                replicas: Some(2),
                expose_nodeport: true,
                params: Default::default(),
            },
            "/ge install orion ns=demo version=4.1.0 replicas=2 cluster=lab-1 expose=nodeport",
        ),
        (
            "/ge upgrade orion version=4.1.1_rc-2 ns=demo",
            Command::GeUpgrade {
                ge: name("orion"),
                scope: scope(Some("demo"), None),
                version: Version::parse("4.1.1_rc-2").unwrap(),
            },
            "/ge upgrade orion version=4.1.1_rc-2 ns=demo",
        ),
        (
            "/ge scale orion replicas=0",
            Command::GeScale {
                ge: name("orion"),
                scope: GeScope::default(),
                replicas: 0,
            },
            "/ge scale orion replicas=0",
        ),
        (
            "/ge autoscale orion max=4 MIN=1 ns=demo",
            Command::GeAutoscale {
                ge: name("orion"),
                scope: scope(Some("demo"), None),
                setting: Some(labkube_autoscale(1, 4, 80)),
            },
            "/ge autoscale orion min=1 max=4 cpu=80 ns=demo",
        ),
        (
            "/ge autoscale orion off cluster=lab-1",
            Command::GeAutoscale {
                ge: name("orion"),
                scope: scope(None, Some("lab-1")),
                setting: None,
            },
            "/ge autoscale orion cluster=lab-1 off",
        ),
        (
            "/ge status orion cluster=lab-1",
            Command::GeStatus {
                ge: name("orion"),
                scope: scope(None, Some("lab-1")),
            },
            "/ge status orion cluster=lab-1",
        ),
        (
            "/ge list",
            Command::GeList {
                scope: GeScope::default(),
            },
            "/ge list",
        ),
        (
            "/ge list ns=demo",
            Command::GeList {
                scope: scope(Some("demo"), None),
            },
            "/ge list ns=demo",
        ),
        (
            "/ge history orion",
            Command::GeHistory {
                ge: name("orion"),
                scope: GeScope::default(),
            },
            "/ge history orion",
        ),
        (
            "/ge uninstall orion Purge",
            Command::GeUninstall {
                ge: name("orion"),
                scope: GeScope::default(),
                purge: true,
            },
            "/ge uninstall orion purge",
        ),
        (
            "/ge rollback orion to=3",
            Command::Rollback {
                ge: name("orion"),
                scope: GeScope::default(),
                to: Some(3),
            },
            "/rollback orion to=3",
        ),
        (
            "/rollback orion ns=demo",
            Command::Rollback {
                ge: name("orion"),
                scope: scope(Some("demo"), None),
                to: None,
            },
            "/rollback orion ns=demo",
        ),
        ("/jobs", Command::Jobs { all: false }, "/jobs"),
        ("/jobs all", Command::Jobs { all: true }, "/jobs all"),
        ("/job 42", Command::Job { id: 42 }, "/job 42"),
        ("/job #42", Command::Job { id: 42 }, "/job 42"),
        (
            "/job 18446744073709551615",
            Command::Job { id: u64::MAX },
            "/job 18446744073709551615",
        ),
        ("/cancel #7", Command::Cancel { id: 7 }, "/cancel 7"),
        (
            "/ge logs orion previous lines=200 pod=orion-7d9f-x2 container=orion",
            Command::GeLogs {
                ge: name("orion"),
                scope: GeScope::default(),
                pod: Some(name("orion-7d9f-x2")),
                container: Some(name("orion")),
                lines: 200,
                previous: true,
            },
            "/ge logs orion pod=orion-7d9f-x2 container=orion lines=200 previous",
        ),
        (
            "/ge events mongodb ns=demo",
            Command::GeEvents {
                ge: name("mongodb"),
                scope: GeScope {
                    ns: Some(name("demo")),
                    cluster: None,
                },
            },
            "/ge events mongodb ns=demo",
        ),
        ("/alerts", Command::Alerts { cluster: None }, "/alerts"),
        (
            "/alerts cluster=lab-1",
            Command::Alerts {
                cluster: Some(name("lab-1")),
            },
            "/alerts cluster=lab-1",
        ),
        (
            "/silence orion 90min upgrading the broker, back at 3",
            Command::Silence {
                target: SilenceTarget::Ge(name("orion")),
                secs: 5400,
                reason: ["upgrading", "the", "broker,", "back", "at", "3"]
                    .map(String::from)
                    .to_vec(),
                scope: GeScope::default(),
            },
            "/silence orion 90m upgrading the broker, back at 3",
        ),
        (
            "/silence node/worker-2.lab 1h30m ns=demo",
            Command::Silence {
                target: SilenceTarget::Node("worker-2.lab".into()),
                secs: 5400,
                reason: Vec::new(),
                scope: GeScope {
                    ns: Some(name("demo")),
                    cluster: None,
                },
            },
            "/silence node/worker-2.lab 90m ns=demo",
        ),
        (
            "/silence cluster 1d cluster=lab-1",
            Command::Silence {
                target: SilenceTarget::Cluster,
                secs: 86_400,
                reason: Vec::new(),
                scope: GeScope {
                    ns: None,
                    cluster: Some(name("lab-1")),
                },
            },
            "/silence cluster 1d cluster=lab-1",
        ),
        (
            "/silence list",
            Command::SilenceList { cluster: None },
            "/silence list",
        ),
        (
            "/unsilence #3",
            Command::Unsilence { id: 3 },
            "/unsilence 3",
        ),
        (
            "/kubeconfig",
            Command::Kubeconfig {
                scope: GeScope::default(),
                ttl_secs: None,
                access: None,
            },
            "/kubeconfig",
        ),
        (
            "/kubeconfig access=view ttl=120m ns=demo cluster=lab-1",
            Command::Kubeconfig {
                scope: GeScope {
                    ns: Some(name("demo")),
                    cluster: Some(name("lab-1")),
                },
                ttl_secs: Some(7200),
                access: Some(crate::kube::access::Access::View),
            },
            "/kubeconfig cluster=lab-1 ns=demo ttl=2h access=view",
        ),
        (
            "/kubeconfig revoke",
            Command::KubeconfigRevoke {
                user: None,
                cluster: None,
            },
            "/kubeconfig revoke",
        ),
        (
            "/kubeconfig revoke matrix:@ada:lab.example cluster=lab-1",
            Command::KubeconfigRevoke {
                user: Some("matrix:@ada:lab.example".into()),
                cluster: Some(name("lab-1")),
            },
            "/kubeconfig revoke matrix:@ada:lab.example cluster=lab-1",
        ),
        (
            "/kubeconfig list",
            Command::KubeconfigList { cluster: None },
            "/kubeconfig list",
        ),
        (
            "/ns create team-a",
            Command::NsCreate {
                name: name("team-a"),
                cluster: None,
                cpu: None,
                memory: None,
                pods: None,
            },
            "/ns create team-a",
        ),
        (
            "/ns create team-a pods=40 memory=8Gi cpu=0.5 cluster=lab-1",
            Command::NsCreate {
                name: name("team-a"),
                cluster: Some(name("lab-1")),
                cpu: Some(crate::names::Cpu::parse("0.5").unwrap()),
                memory: Some(crate::names::Memory::parse("8Gi").unwrap()),
                pods: Some(40),
            },
            "/ns create team-a cluster=lab-1 cpu=0.5 memory=8Gi pods=40",
        ),
        (
            "/ns list cluster=lab-1",
            Command::NsList {
                cluster: Some(name("lab-1")),
            },
            "/ns list cluster=lab-1",
        ),
        (
            "/ns delete team-a confirm=k3x9p2",
            Command::NsDelete {
                name: name("team-a"),
                cluster: None,
                confirm: Some("k3x9p2".into()),
            },
            "/ns delete team-a confirm=***",
        ),
        ("/whoami", Command::Whoami, "/whoami"),
        ("/START", Command::Start, "/start"),
        ("/audit", Command::Audit { n: None }, "/audit"),
        ("/audit 100", Command::Audit { n: Some(100) }, "/audit 100"),
        (
            "/host forget 127.0.0.5",
            Command::HostForget {
                ip: ip("127.0.0.5"),
            },
            "/host forget 127.0.0.5",
        ),
        (
            "/node add lab-1 10.0.0.14",
            Command::NodeAdd(NodeAddArgs {
                cluster: name("lab-1"),
                hosts: vec![ip("10.0.0.14")],
                control_plane: false,
                user: None,
                port: None,
            }),
            "/node add lab-1 10.0.0.14",
        ),
        (
            "/node add lab-1 10.0.0.15 10.0.0.16 role=control-plane user=ubuntu port=2222",
            Command::NodeAdd(NodeAddArgs {
                cluster: name("lab-1"),
                hosts: vec![ip("10.0.0.15"), ip("10.0.0.16")],
                control_plane: true,
                user: Some(UserName::parse("ubuntu").unwrap()),
                port: Some(2222),
            }),
            "/node add lab-1 10.0.0.15 10.0.0.16 role=control-plane user=ubuntu port=2222",
        ),
        (
            "/node remove lab-1 10.0.0.14",
            Command::NodeRemove {
                cluster: name("lab-1"),
                ip: ip("10.0.0.14"),
                confirm: None,
            },
            "/node remove lab-1 10.0.0.14",
        ),
        (
            "/node remove lab-1 10.0.0.14 confirm=k3x9p2",
            Command::NodeRemove {
                cluster: name("lab-1"),
                ip: ip("10.0.0.14"),
                confirm: Some("k3x9p2".into()),
            },
            "/node remove lab-1 10.0.0.14 confirm=***",
        ),
        (
            "/selftest",
            Command::Selftest {
                steps: 3,
                step_ms: 1000,
            },
            "/selftest steps=3 ms=1000",
        ),
        (
            "/selftest steps=50 ms=0",
            Command::Selftest {
                steps: 50,
                step_ms: 0,
            },
            "/selftest steps=50 ms=0",
        ),
    ]
}

fn labkube_autoscale(min: u32, max: u32, cpu: u32) -> crate::store::Autoscale {
    crate::store::Autoscale { min, max, cpu }
}
