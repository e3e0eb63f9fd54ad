//! How raw input is read: addresses, boundaries, canonical forms, text that is not a command,
//! other bots' commands, and whitespace.

use super::tests::{BOT, cluster_args, ip, name, ok};
use super::*;

#[test]
fn loopback_and_ipv6_hosts_are_accepted() {
    for host in [
        "127.0.0.1",
        "127.0.0.99",
        "::1",
        "fe80::1",
        "2001:db8::1",
        "::ffff:10.0.0.1",
    ] {
        ok(&format!("/host forget {host}"));
    }
}

#[test]
fn ipv4_mapped_addresses_are_normalised_to_ipv4() {
    // Same host, same pin: a mapped address must not sidestep a changed-key refusal.
    assert_eq!(
        ok("/host forget ::ffff:10.0.0.1"),
        Command::HostForget { ip: ip("10.0.0.1") }
    );
    match ok("/cluster create 10.0.0.1 ::FFFF:10.0.0.2 10.0.0.3") {
        Command::ClusterCreate(a) => assert_eq!(
            a.hosts,
            cluster_args(&["10.0.0.1", "10.0.0.2", "10.0.0.3"]).hosts
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_hundred_hosts_are_accepted() {
    let hosts: Vec<String> = (1..=100)
        .map(|i| format!("10.0.{}.{}", i / 50, i % 50 + 1))
        .collect();
    match ok(&format!("/cluster create {}", hosts.join(" "))) {
        Command::ClusterCreate(a) => assert_eq!(a.hosts.len(), 100),
        other => panic!("{other:?}"),
    }
}

#[test]
fn boundary_values_are_accepted() {
    ok("/cluster create 127.0.0.1 port=1 k8s=1.35 pod-cidr=10.0.0.0/8 user=_x");
    ok("/cluster create 127.0.0.1 port=65535 k8s=1.37 pod-cidr=10.1.2.0/24");
    ok("/cluster create ::1 pod-cidr=fd00::/48");
    ok("/cluster create 127.0.0.1 pod-cidr=10.244.0.0/16,fd00:10:244::/56");
    ok(&format!("/cluster use {}", "a".repeat(63)));
    ok(&format!("/ge upgrade orion version={}", "v".repeat(128)));
    ok("/ge install orion replicas=20");
    ok("/rollback orion to=1000000");
    ok("/audit 1");
    ok("/selftest steps=1 ms=60000");
    ok("/cluster delete lab-1 confirm=abcd");
    ok(&format!("/cluster delete lab-1 confirm={}", "z".repeat(16)));
    ok("/job 0007");
}

#[test]
fn cidr_is_stored_canonically() {
    match ok("/cluster create ::1 pod-cidr=fd00:0:0:0::/64") {
        Command::ClusterCreate(a) => assert_eq!(a.pod_cidr.unwrap().as_str(), "fd00::/64"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn text_that_is_not_a_command_is_ignored() {
    for text in [
        "",
        "hello",
        " /help",
        "/",
        "!",
        "/ help",
        "!\thelp",
        "!!!",
        "!!",
        "//",
        "// a comment",
        "/3 of us",
        "!:)",
        "/etc/hosts is broken",
        "/usr/bin/env",
    ] {
        assert_eq!(parse(text, BOT), Ok(None), "{text:?}");
    }
}

#[test]
fn commands_for_other_bots_are_ignored() {
    assert_eq!(parse("/help@other_bot", BOT), Ok(None));
    assert_eq!(parse("/cluster@other_bot create nonsense", BOT), Ok(None));
    assert_eq!(parse("/help@", BOT), Ok(None));
    assert_eq!(parse("/help@labkube_bot", None), Ok(None));
    // Too long, but not ours: still quiet.
    assert_eq!(
        parse(&format!("/help@other_bot {}", "x".repeat(3000)), BOT),
        Ok(None)
    );
}

#[test]
fn our_bot_name_is_stripped_case_insensitively() {
    assert_eq!(
        parse("/help@LabKube_Bot", BOT),
        Ok(Some(Command::Help { topic: vec![] }))
    );
    assert_eq!(
        parse("/whoami@labkube_bot", Some("@labkube_bot")),
        Ok(Some(Command::Whoami))
    );
    assert_eq!(
        parse("/cluster@labkube_bot list", BOT),
        Ok(Some(Command::ClusterList)),
    );
    assert_eq!(parse("/whoami", None), Ok(Some(Command::Whoami)));
}

#[test]
fn whitespace_of_any_ascii_kind_separates_tokens() {
    assert_eq!(
        ok("/ge\tstatus  orion\n ns=demo\r\n"),
        ok("/ge status orion ns=demo")
    );
}

#[test]
fn names_that_look_like_flags_elsewhere_are_still_names() {
    assert_eq!(
        ok("/cluster use all"),
        Command::ClusterUse { name: name("all") }
    );
    assert_eq!(ok("/ge status purge").path(), "ge status");
}
