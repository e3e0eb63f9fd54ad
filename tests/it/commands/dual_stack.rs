//! The scripts of a dual-stack cluster (`pod-cidr=IPv4,IPv6`): kubeadm's own refusals of pod
//! and service networks it cannot use, and the settings each script makes for both families.

use labkube_testkit::lab::Lab;
use labkube_testkit::lab::calls::calls_of;
use labkube_testkit::lab::hosts::Flavour;

const DUAL: &str = "10.244.0.0/16,fd00:10:244::/56";
const SERVICES: &str = "10.96.0.0/12,fd00:10:96::/112";

#[test]
fn kubeadm_refuses_networks_it_cannot_use_in_its_own_words_and_changes_nothing() {
    let lab = Lab::ready_for(Flavour::Ubuntu, "kubeadm_init");
    for (pods, services, said) in [
        (
            "10.244.0.0/16,10.245.0.0/16",
            "10.96.0.0/12",
            "networking.podSubnet: Invalid value: \"10.244.0.0/16,10.245.0.0/16\": expected one \
             (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking",
        ),
        (
            DUAL,
            "10.96.0.0/12,fd00:10:96::/64",
            "networking.serviceSubnet: Invalid value: \"fd00:10:96::/64\": specified service \
             subnet is too large; for 128-bit addresses, the mask must be >= 108",
        ),
        (
            "10.244.0.0/16,fd00:10:244::/72",
            SERVICES,
            "networking.podSubnet: Invalid value: \"fd00:10:244::/72\": the size of pod subnet \
             with mask 72 is smaller than the size of node subnet with mask 64",
        ),
    ] {
        let run = lab.step(
            0,
            "kubeadm_init",
            &[("POD_CIDR", pods), ("SERVICE_CIDR", services)],
        );
        assert!(!run.ok(), "{run}");
        assert!(run.stderr.contains(said), "{run}");
        assert!(lab.read(0, "/etc/kubernetes/admin.conf").is_none());
    }
}

#[test]
fn each_script_sets_up_both_families() {
    let lab = Lab::cluster_of(Flavour::Rocky);
    let node_ip = |i: usize| format!("10.0.0.{},2001:db8:1::{}", i + 1, i + 1);
    let dual = [("POD_CIDR", DUAL), ("SERVICE_CIDR", SERVICES)];
    for i in 0..3 {
        lab.must(i, "prepare_host", &dual);
        let sysctl = lab.read(i, "/etc/sysctl.d/k8s.conf").unwrap();
        assert!(
            sysctl.contains("net.ipv6.conf.all.forwarding = 1"),
            "{sysctl}"
        );
        assert_eq!(
            lab.read(i, "/proc/sys/net/ipv6/conf/all/forwarding")
                .as_deref(),
            Some("1\n")
        );
        lab.must(i, "install_containerd", &dual);
        lab.must(i, "install_kube", &[]);
    }
    let ip0 = node_ip(0);
    lab.must(
        0,
        "kubeadm_init",
        &[dual[0], dual[1], ("NODE_IP", ip0.as_str())],
    );
    let init = calls_of(&lab.calls(0), "kubeadm", "init")[0].clone();
    assert!(
        init.contains(&format!("--pod-network-cidr={DUAL}")),
        "{init:?}"
    );
    assert!(
        init.contains(&format!("--service-cidr={SERVICES}")),
        "{init:?}"
    );
    let kubelet = lab.kubelet_env(0);
    assert!(kubelet.contains(&format!("--node-ip={ip0}")), "{kubelet}");
    lab.must(0, "install_flannel", &[dual[0]]);
    let manifests = lab.files();
    let flannel = manifests
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .find(|text| text.contains("kube-flannel-cfg") && text.contains("net-conf.json"))
        .expect("the applied flannel manifest");
    assert!(
        flannel.contains(
            "\"Network\": \"10.244.0.0/16\", \"EnableIPv6\": true, \"IPv6Network\": \
             \"fd00:10:244::/56\""
        ),
        "{flannel}"
    );
    // Applied again, it sees both networks in place and changes nothing.
    let again = lab.must(0, "install_flannel", &[dual[0]]);
    assert!(again.stdout.contains("nothing to do"), "{again}");

    // flannel finds no IPv6 address on the interface of the node's address: not Ready.
    let status = |lab: &Lab| lab.must(0, "nodes", &[]).stdout;
    lab.write(
        0,
        "/.standin/addrs",
        "eth0 10.0.0.1/24\neth1 2001:db8:1::1/64\n",
    );
    assert!(status(&lab).contains(" NotReady "), "{}", status(&lab));
    lab.write(
        0,
        "/.standin/addrs",
        "eth0 10.0.0.1/24\neth0 2001:db8:1::1/64\n",
    );
    assert!(status(&lab).contains(" Ready "), "{}", status(&lab));
}
