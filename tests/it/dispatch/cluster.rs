//! The cluster commands through the dispatcher: the config checked before a job is queued,
//! `/cluster delete`'s confirmation code, `/cluster use` and `status`, `/host forget`, cancel of
//! a queued job, the address rules, what another room may see, and control-plane counts.

use super::*;

#[tokio::test]
async fn cluster_commands_queue_jobs_and_check_the_config_first() {
    let r = rig();
    r.dispatcher
        .handle(&msg(
            "ada",
            "e1",
            "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3",
        ))
        .await;
    r.dispatcher
        .handle(&msg("ada", "e2", "/cluster create 10.0.0.1 10.0.0.2"))
        .await;
    r.dispatcher
        .handle(&msg(
            "ada",
            "e3",
            "/cluster create 10.0.0.4 10.0.0.5 10.0.0.6 name=edge dry-run",
        ))
        .await;
    r.dispatcher
        .handle(&msg("ada", "e4", "/ge install orion"))
        .await;
    let t = texts(&r.chat);
    assert!(
        t[0].starts_with("queued job #1: cluster create lab-1 (3 hosts)"),
        "{}",
        t[0]
    );
    assert!(t[1].contains("needs at least 3 hosts"), "{}", t[1]);
    assert!(
        t[2].starts_with("queued job #2: cluster plan edge (3 hosts)"),
        "dry-run is a plan: {}",
        t[2]
    );
    // The cluster is only queued, not created: GE commands are refused, nothing is queued.
    assert!(
        t[3].starts_with("this room has no current cluster"),
        "{}",
        t[3]
    );
    let jobs = r.store.recent(10).unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(
        matches!(&jobs[1].kind, JobKind::Cluster(ClusterJob::Create(s)) if s.hosts.len() == 3 && s.name == "lab-1")
    );
    assert!(matches!(&jobs[0].kind, JobKind::Cluster(ClusterJob::Plan(s)) if s.name == "edge"));
    // The plan is fixed at enqueue, so a queued job already lists its steps.
    assert_eq!(jobs[0].plan, labkube::jobs::plan(&jobs[0].kind));
    let audit = r.store.recent_audit(10).unwrap();
    assert_eq!(audit.len(), 4);
    r.dispatcher.handle(&msg("ada", "e5", "/job 2")).await;
    let t = texts(&r.chat);
    let job = t.last().unwrap();
    assert!(
        job.contains("steps:\n  1. connect: waiting") && job.contains("5. plan: waiting"),
        "{job}"
    );
}

fn register(r: &Rig, name: &str, room: &str) {
    r.store
        .put_cluster(ClusterRecord {
            name: name.into(),
            owner_platform: "t".into(),
            owner_room: room.into(),
            created_ms: 1,
            k8s_version: "v1.33.4".into(),
            nodes: vec![NodeRecord {
                addr: "10.0.0.1".parse().unwrap(),
                port: 22,
                user: "root".into(),
                role: "control-plane".into(),
                hostname: "cp1".into(),
                avx: None,
            }],
            creating: None,
            pod_cidr: None,
            endpoint: None,
        })
        .unwrap();
}

#[tokio::test]
async fn delete_asks_for_a_code_and_queues_only_with_the_right_one() {
    let r = rig();
    register(&r, "lab-1", "lab");
    r.dispatcher
        .handle(&msg("ada", "e1", "/cluster delete lab-1"))
        .await;
    let t = texts(&r.chat);
    let code = t[0].rsplit("confirm=").next().unwrap().trim().to_string();
    assert!(
        t[0].contains("kubeadm reset") && t[0].contains("10.0.0.1 (control-plane)"),
        "{}",
        t[0]
    );
    assert_eq!(code.len(), 6, "{}", t[0]);
    assert!(
        r.store.recent(10).unwrap().is_empty(),
        "nothing queued without confirmation"
    );
    r.dispatcher
        .handle(&msg("ada", "e2", "/cluster delete lab-1 confirm=wrong1"))
        .await;
    r.dispatcher
        .handle(&msg(
            "ada",
            "e3",
            &format!("/cluster delete lab-1 confirm={code}"),
        ))
        .await;
    r.dispatcher
        .handle(&msg(
            "ada",
            "e4",
            &format!("/cluster delete lab-1 confirm={code}"),
        ))
        .await;
    r.dispatcher
        .handle(&msg("ada", "e5", "/cluster delete nope"))
        .await;
    let t = texts(&r.chat);
    assert!(t[1].contains("wrong or has expired"), "{}", t[1]);
    assert!(
        t[2].starts_with("queued job #1: cluster delete lab-1"),
        "{}",
        t[2]
    );
    assert!(
        t[3].contains("wrong or has expired"),
        "a code works once: {}",
        t[3]
    );
    assert!(t[4].contains("there is no cluster named nope"), "{}", t[4]);
    let audit = r.store.recent_audit(10).unwrap();
    assert!(
        audit.iter().all(|a| !a.command.contains(&code)),
        "codes are redacted in the audit"
    );
}

#[tokio::test]
async fn use_status_and_host_forget() {
    let r = rig();
    register(&r, "lab-1", "lab");
    register(&r, "lab-2", "lab");
    r.dispatcher
        .handle(&msg("ada", "e1", "/cluster status"))
        .await;
    r.dispatcher
        .handle(&msg("ada", "e2", "/cluster use lab-1"))
        .await;
    r.dispatcher
        .handle(&msg("ada", "e3", "/cluster status"))
        .await;
    settled(&r.chat, 3).await;
    r.store
        .kv_put(Space::HostKeys, "10.0.0.1:22", "ssh-ed25519 AAAA")
        .unwrap();
    r.store
        .kv_put(Space::HostKeys, "10.0.0.1:2222", "ssh-ed25519 BBBB")
        .unwrap();
    r.store
        .kv_put(Space::HostKeys, "10.0.0.10:22", "ssh-ed25519 CCCC")
        .unwrap();
    r.dispatcher
        .handle(&msg("ada", "e4", "/host forget 10.0.0.1"))
        .await;
    r.dispatcher
        .handle(&msg("ada", "e5", "/cluster list"))
        .await;
    let t = settled(&r.chat, 5).await;
    assert!(t[0].contains("no current cluster"), "{}", t[0]);
    assert!(
        t[1].contains("lab-1 is now this room's current cluster"),
        "{}",
        t[1]
    );
    // No credentials are stored for these records: what was registered is shown, and why
    // nothing live is.
    assert!(
        t[2].starts_with("cluster lab-1: owned by this room; its API server could not be asked: cannot use the kubeconfig of cluster lab-1: labkube holds no credentials for it")
            && t[2].contains("Its nodes as registered at 1970-01-01T00:00:00Z (Kubernetes v1.33.4):\n  10.0.0.1 control-plane cp1 (ssh user root)"),
        "{}",
        t[2]
    );
    assert!(
        t[3].contains("forgot 2 pinned SSH host key(s) of 10.0.0.1"),
        "{}",
        t[3]
    );
    assert!(
        t[4].starts_with("2 cluster(s); * marks this room's current one:\n* lab-1: its API server could not be asked")
            && t[4].contains("\n  lab-2: its API server could not be asked")
            && t[4].ends_with("; owner: this room"),
        "{}",
        t[4]
    );
    assert_eq!(
        r.store.kv_list(Space::HostKeys).unwrap().len(),
        1,
        "10.0.0.10 is another host"
    );
}

#[tokio::test]
async fn cancel_of_a_queued_job_is_immediate_and_audited_with_redaction() {
    let r = rig();
    register(&r, "lab-1", "lab");
    r.dispatcher.handle(&msg("ada", "e1", "/selftest")).await;
    r.dispatcher.handle(&msg("ada", "e2", "/cancel #1")).await;
    r.dispatcher.handle(&msg("ada", "e3", "/cancel 1")).await;
    r.dispatcher.handle(&msg("ada", "e4", "/cancel 99")).await;
    r.dispatcher
        .handle(&msg("ada", "e5", "/cluster delete lab-1 confirm=s3cr3t"))
        .await;
    let t = texts(&r.chat);
    assert!(
        t.iter()
            .any(|x| x.contains("cancelled job #1 (selftest (3 steps)) before it started")),
        "{t:?}"
    );
    assert!(
        t.iter()
            .any(|x| x.contains("job #1 already cancelled; nothing to cancel")),
        "{t:?}"
    );
    assert!(t.iter().any(|x| x.contains("there is no job #99")), "{t:?}");
    assert_eq!(r.store.get(1).unwrap().unwrap().state, JobState::Cancelled);
    let audit = r.store.recent_audit(10).unwrap();
    assert!(
        audit.iter().all(|a| !a.command.contains("s3cr3t")),
        "{audit:?}"
    );
    assert!(
        audit.iter().any(|a| a.command.contains("confirm=***")),
        "{audit:?}"
    );
}

#[tokio::test]
async fn loopback_is_refused_by_default_and_mapped_addresses_are_their_ipv4_host() {
    let r = rig();
    // The default allowed_networks (empty) admits ordinary addresses, not the bot's own machine.
    r.dispatcher
        .handle(&msg(
            "ada",
            "e1",
            "/cluster create 10.0.0.1 ::ffff:127.0.0.1 169.254.169.254",
        ))
        .await;
    r.dispatcher
        .handle(&msg(
            "ada",
            "e2",
            "/cluster plan 10.0.0.1 ::ffff:10.0.0.2 10.0.0.3",
        ))
        .await;
    r.store
        .kv_put(Space::HostKeys, "10.0.0.2:22", "ssh-ed25519 AAAA")
        .unwrap();
    r.dispatcher
        .handle(&msg("ada", "e3", "/host forget ::ffff:10.0.0.2"))
        .await;
    let t = texts(&r.chat);
    assert!(
        t[0].contains(
            "127.0.0.1 is a loopback address: the bot provisions such an address only when \
             [ssh] allowed_networks names it explicitly (such as 127.0.0.0/8)"
        ) && t[0].contains("169.254.169.254 is a link-local address")
            && t[0].ends_with("nothing was contacted"),
        "{}",
        t[0]
    );
    assert!(t[1].starts_with("queued job #1: cluster plan"), "{}", t[1]);
    let jobs = r.store.recent(10).unwrap();
    assert_eq!(jobs.len(), 1, "the refused create queued nothing");
    let JobKind::Cluster(ClusterJob::Plan(spec)) = &jobs[0].kind else {
        panic!("{:?}", jobs[0].kind)
    };
    let hosts: Vec<String> = spec.hosts.iter().map(ToString::to_string).collect();
    assert_eq!(hosts, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]); // same host, same pin
    assert!(
        t[2].contains("forgot 1 pinned SSH host key(s) of 10.0.0.2"),
        "{}",
        t[2]
    );
}

#[tokio::test]
async fn another_rooms_cluster_status_hides_its_hosts_except_from_admins() {
    let r = rig();
    register(&r, "theirs", "elsewhere");
    register(&r, "ours", "lab");
    for (i, (who, name)) in [("vic", "theirs"), ("ada", "theirs"), ("vic", "ours")]
        .into_iter()
        .enumerate()
    {
        r.dispatcher
            .handle(&msg(
                who,
                &format!("e{i}"),
                &format!("/cluster status {name}"),
            ))
            .await;
        settled(&r.chat, i + 1).await;
    }
    let t = texts(&r.chat);
    assert!(
        t[0].starts_with(
            "cluster theirs: Kubernetes v1.33.4 when registered, owned by another room; 1 node(s)"
        ) && t[0].ends_with(
            "; node addresses and SSH users are shown only to the owning room and admins"
        ) && !t[0].contains("10.0.0.1")
            && !t[0].contains("root")
            && !t[0].contains("cp1"),
        "{}",
        t[0]
    );
    assert!(
        t[1].contains("10.0.0.1 control-plane cp1 (ssh user root)"),
        "admin: {}",
        t[1]
    );
    assert!(
        t[2].contains("10.0.0.1 control-plane cp1 (ssh user root)"),
        "owner: {}",
        t[2]
    );
}

#[tokio::test]
async fn control_plane_counts_are_odd_and_no_more_than_the_hosts() {
    let r = rig();
    let t = say_all(
        &r,
        &[
            "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 control-planes=2",
            "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 control-planes=3 name=ha",
            "/cluster create 10.0.0.5 10.0.0.6 10.0.0.7 control-planes=5",
        ],
    )
    .await;
    assert_eq!(t.len(), 3, "{t:?}");
    assert!(
        t[0].contains(
            "2 control planes run 2 etcd members, and etcd writes only while a majority (2)"
        ) && t[0].contains("use 1 or 3")
            && t[0].contains("usage: /cluster create"),
        "{}",
        t[0]
    );
    assert!(
        t[1].starts_with("queued job #1: cluster create ha (4 hosts)"),
        "{}",
        t[1]
    );
    assert!(
        t[2].contains("control-planes=5 needs at least 5 addresses"),
        "{}",
        t[2]
    );
    let jobs = r.store.recent(10).unwrap();
    assert_eq!(jobs.len(), 1, "only the valid create is queued");
    assert!(matches!(
        &jobs[0].kind,
        JobKind::Cluster(ClusterJob::Create(s)) if s.control_planes == Some(3)
    ));
}

#[tokio::test]
async fn a_virtual_ip_must_be_a_free_address_beside_the_hosts() {
    let r = rig();
    let t = say_all(
        &r,
        &[
            "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3 endpoint=10.0.0.2",
            "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3 endpoint=10.96.0.9",
            "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3 endpoint=10.244.0.9",
            "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3 endpoint=fd00::9",
            "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3 endpoint=10.0.0.300",
            "/cluster create 10.0.0.1 10.0.0.2 10.0.0.3 control-planes=3 endpoint=10.0.0.9 name=vip",
        ],
    )
    .await;
    assert_eq!(t.len(), 6, "{t:?}");
    for (reply, want) in [
        (&t[0], "endpoint=10.0.0.2 is one of the hosts' addresses"),
        (&t[1], "lies in the cluster's network 10.96.0.0/12"),
        (&t[2], "lies in the cluster's network 10.244.0.0/16"),
        (
            &t[3],
            "not of the family of the control planes' addresses (10.0.0.1)",
        ),
        (&t[4], "endpoint="),
    ] {
        assert!(reply.contains(want), "{reply}");
    }
    assert!(
        t[4].contains("an IPv4 or IPv6 address such as 10.0.0.1"),
        "{}",
        t[4]
    );
    assert!(
        t[5].starts_with("queued job #1: cluster create vip (3 hosts)"),
        "{}",
        t[5]
    );
    let jobs = r.store.recent(10).unwrap();
    assert_eq!(jobs.len(), 1, "only the valid create is queued");
    assert!(matches!(
        &jobs[0].kind,
        JobKind::Cluster(ClusterJob::Create(s)) if s.endpoint == Some("10.0.0.9".parse().unwrap())
    ));
    let JobKind::Cluster(job) = &jobs[0].kind else {
        panic!("a cluster job")
    };
    assert_eq!(
        labkube::provision::plan(job)[3],
        labkube::store::ClusterStep::ProbeEndpoint,
        "the probe comes right after the facts"
    );
}
