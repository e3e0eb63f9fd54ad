//! The host-address rule: which addresses are special, and which networks name them.

use std::net::IpAddr;

use super::{Special, host_addr};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn mapped_addresses_are_the_ipv4_address() {
    assert_eq!(host_addr(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
    assert_eq!(host_addr(ip("10.0.0.1")), ip("10.0.0.1"));
    assert_eq!(host_addr(ip("fd00::1")), ip("fd00::1"));
    assert_eq!(Special::of(ip("::ffff:127.0.0.1")), Some(Special::Loopback));
}

#[test]
fn special_addresses_are_classified() {
    for (addr, kind) in [
        ("0.0.0.0", Some(Special::Unspecified)),
        ("::", Some(Special::Unspecified)),
        ("224.0.0.5", Some(Special::Multicast)),
        ("ff02::1", Some(Special::Multicast)),
        ("255.255.255.255", Some(Special::Broadcast)),
        ("127.0.0.1", Some(Special::Loopback)),
        ("127.9.9.9", Some(Special::Loopback)),
        ("::1", Some(Special::Loopback)),
        ("169.254.169.254", Some(Special::LinkLocal)),
        ("fe80::1", Some(Special::LinkLocal)),
        ("10.0.0.1", None),
        ("192.168.1.255", None),
        ("fd00::1", None),
        ("2001:db8::1", None),
    ] {
        assert_eq!(Special::of(ip(addr)), kind, "{addr}");
    }
    assert!(Special::Broadcast.never_a_host());
    assert!(!Special::Loopback.never_a_host());
}

#[test]
fn only_a_network_of_the_same_kind_names_it() {
    let net = |s: &str| s.parse::<ipnet::IpNet>().unwrap();
    assert!(Special::Loopback.named_by(&net("127.0.0.0/8")));
    assert!(Special::Loopback.named_by(&net("127.0.0.2/32")));
    assert!(Special::Loopback.named_by(&net("::1/128")));
    assert!(Special::LinkLocal.named_by(&net("169.254.0.0/16")));
    assert!(Special::LinkLocal.named_by(&net("fe80::/64")));
    assert!(!Special::Loopback.named_by(&net("0.0.0.0/0")));
    assert!(!Special::Loopback.named_by(&net("64.0.0.0/2")));
    assert!(!Special::Loopback.named_by(&net("::/0")));
    assert!(!Special::LinkLocal.named_by(&net("169.0.0.0/8")));
    assert!(!Special::LinkLocal.named_by(&net("127.0.0.0/8")));
}
