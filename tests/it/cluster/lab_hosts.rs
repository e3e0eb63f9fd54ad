//! Hosts as a shared lab has them: several NICs, floating addresses, cloned VMs, drifting
//! clocks. Preflight refuses what would break the cluster, every host's problems at once, and
//! changes nothing.

use labkube::store::{ClusterJob, JobKind, JobState};

use super::{Site, failure};
use labkube_testkit::lab::hosts::Flavour;

fn write(site: &Site, host: usize, path: &str, text: &str) {
    let p = site.lab.hosts[host].root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_floating_address_a_cloned_vm_and_a_skewed_clock_are_refused_together() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky]);
    let ips = site.ips();
    // The worker was given a floating address: the VM itself only has private ones.
    write(
        &site,
        1,
        ".standin/addrs",
        "eth0 192.168.10.7/24\neth1 172.16.0.4/16\n",
    );
    // The third host is a clone of the first, and its clock runs two minutes ahead.
    let cp_id = std::fs::read_to_string(site.lab.hosts[0].root.join("etc/machine-id")).unwrap();
    write(&site, 2, "etc/machine-id", &cp_id);
    write(&site, 2, ".standin/clock-offset", "120\n");
    let job = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("lab-f"))))
        .await;
    let reason = failure(&job);
    assert!(reason.contains("(preflight) failed"), "{reason}");
    let host = |i: usize| format!("{}:{}", ips[i], site.sshd[i].port);
    for want in [
        format!(
            "{}: {} is not an address of this VM; its addresses are 192.168.10.7, 172.16.0.4: \
             give the private address",
            host(1),
            ips[1]
        ),
        format!(
            "{} and {} share the machine-id {}",
            host(0),
            host(2),
            cp_id.trim()
        ),
    ] {
        assert!(reason.contains(&want), "{want}\n---\n{reason}");
    }
    // Two minutes ahead, as measured over SSH: whole seconds, and the round trip may take one.
    let clock = format!("{}: its clock is ", host(2));
    let ahead: u64 = reason
        .split(&clock)
        .nth(1)
        .and_then(|rest| rest.split(" s ahead").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no clock line for {}\n---\n{reason}", host(2)));
    assert!((115..=125).contains(&ahead), "{ahead} s\n---\n{reason}");
    for (host, calls) in site.take_mutating() {
        assert!(calls.is_empty(), "{host} was changed: {calls:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_with_several_nics_given_its_private_address_passes() {
    let site = Site::new(&[Flavour::Ubuntu, Flavour::Ubuntu]);
    let ips = site.ips();
    write(
        &site,
        0,
        ".standin/addrs",
        &format!(
            "eth0 203.0.113.20/28\neth1 {}/24\ndocker0 172.17.0.1/16\n",
            ips[0]
        ),
    );
    let job = site
        .run(JobKind::Cluster(ClusterJob::Create(site.spec("lab-m"))))
        .await;
    assert_eq!(job.state, JobState::Succeeded, "{:?}", job.state);
}
