//! What `facts` reports, before and after a create.

use labkube_testkit::lab::Lab;
use labkube_testkit::lab::calls::{mutating, parse_facts};
use labkube_testkit::lab::hosts::Flavour;

#[test]
fn facts_report_the_host_and_its_busy_ports() {
    let lab = Lab::new(&[
        ("cp1", Flavour::Ubuntu),
        ("w1", Flavour::Rocky),
        ("w2", Flavour::Debian),
    ]);
    lab.write(0, "/.standin/listening", "10250\n2379\n8080\n");
    let out = lab.must(0, "facts", &[]).stdout;
    let keys: Vec<&str> = out.lines().map(|l| l.split_once('=').unwrap().0).collect();
    assert_eq!(
        keys,
        [
            "hostname",
            "cpus",
            "mem_mb",
            "swap_mb",
            "kernel",
            "arch",
            "product_uuid",
            "ports_busy",
            "firewall",
            "containerd",
            "kubeadm",
            "control_plane",
            "joined",
            "addrs",
            "addr_devs",
            "machine_id",
            "time",
            "avx"
        ]
    );
    let f = parse_facts(&out);
    assert_eq!(f["hostname"], "cp1");
    assert_eq!(f["cpus"], "4");
    assert_eq!(f["mem_mb"], "7957");
    assert_eq!(f["swap_mb"], "2047");
    assert_eq!(f["product_uuid"], "4c4c4544-0038-5a10-8044-b4c04f5a3300");
    assert_eq!(f["ports_busy"], "10250,2379");
    assert_eq!(f["firewall"], "ufw");
    assert!(!f["kernel"].is_empty());
    assert_eq!(f["addrs"], "10.0.0.1/24");
    assert_eq!(f["addr_devs"], "eth0");
    assert_eq!(f["machine_id"], "5d1e0a3c9b7f4e21a8c6d0f2b4e6a800");
    assert_eq!(f["avx"], "yes");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let host_time: u64 = f["time"].parse().unwrap();
    assert!(host_time.abs_diff(now) < 60, "{host_time} vs {now}");
    for key in ["containerd", "kubeadm", "control_plane", "joined"] {
        assert_eq!(f[key], "", "{key}");
    }
    assert!(mutating(&lab.calls(0)).is_empty(), "facts is read-only");
    let rocky = parse_facts(&lab.must(1, "facts", &[]).stdout);
    assert_eq!(
        (rocky["firewall"].as_str(), rocky["ports_busy"].as_str()),
        ("firewalld", "")
    );
    assert_eq!(
        rocky["product_uuid"],
        "4c4c4544-0038-5a10-8044-b4c04f5a3301"
    );
    // A CPU without AVX (a hypervisor's default CPU model), several NICs, a skewed clock.
    lab.write(
        2,
        "/proc/cpuinfo",
        "processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt\n",
    );
    lab.write(2, "/.standin/addrs", "eth0 10.0.0.3/24\neth1 fd00::3/64\n");
    lab.write(2, "/.standin/clock-offset", "-300\n");
    let debian = parse_facts(&lab.must(2, "facts", &[]).stdout);
    assert_eq!(debian["firewall"], "none");
    assert_eq!(debian["avx"], "no");
    assert_eq!(debian["addrs"], "10.0.0.3/24,fd00::3/64");
    assert_eq!(debian["addr_devs"], "eth0,eth1");
    let skewed: u64 = debian["time"].parse().unwrap();
    assert!(now.abs_diff(skewed + 300) < 60, "{skewed}");

    // After a create: versions, roles, no swap, and the cluster's own ports.
    let lab = Lab::cluster_of(Flavour::Rocky);
    lab.create();
    let cp = parse_facts(&lab.must(0, "facts", &[]).stdout);
    assert_eq!(cp["ports_busy"], "6443,10250,2379,2380");
    assert_eq!(
        (
            cp["control_plane"].as_str(),
            cp["joined"].as_str(),
            cp["swap_mb"].as_str()
        ),
        ("yes", "yes", "0")
    );
    assert_eq!(
        (cp["kubeadm"].as_str(), cp["containerd"].as_str()),
        ("v1.35.5", "2.2.1")
    );
    let w = parse_facts(&lab.must(1, "facts", &[]).stdout);
    assert_eq!(
        (
            w["control_plane"].as_str(),
            w["joined"].as_str(),
            w["ports_busy"].as_str()
        ),
        ("", "yes", "10250")
    );
}
