//! Table tests: every command parses to its typed form, re-renders canonically, and the
//! addressing rules (prefix, `@botname`) decide what is ours.

use std::net::IpAddr;

use super::spec::{self, Fallback};
use super::tests_cases::cases;
pub(super) use super::tests_cases::cluster_args;
use super::*;

pub(super) const BOT: Option<&str> = Some("labkube_bot");

pub(super) fn ok(line: &str) -> Command {
    match parse(line, BOT) {
        Ok(Some(cmd)) => cmd,
        other => panic!("{line:?} should parse, got {other:?}"),
    }
}

pub(super) fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

pub(super) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn every_command_parses_to_its_typed_form_and_canonical_text() {
    for (line, expected, canonical) in cases() {
        let cmd = ok(line);
        assert_eq!(cmd, expected, "{line}");
        assert_eq!(cmd.redacted(), canonical, "{line}");
    }
}

#[test]
fn the_cases_cover_every_spec() {
    let cases = cases();
    for spec in spec::specs() {
        assert!(
            cases.iter().any(|(_, c, _)| c.path() == spec.path),
            "no case for /{}",
            spec.path
        );
    }
}

#[test]
fn every_example_in_the_table_parses_to_its_own_spec() {
    for (path, spec) in spec::paths() {
        for example in spec.examples {
            assert_eq!(
                ok(example).path(),
                spec.path,
                "example {example:?} of /{path}"
            );
        }
    }
}

#[test]
fn every_value_default_in_the_table_is_valid() {
    for spec in spec::specs() {
        for opt in spec.options {
            if let Fallback::Value(text) = opt.fallback {
                assert!(
                    opt.kind.validate(text).is_ok(),
                    "/{} {}={text}",
                    spec.path,
                    opt.key
                );
            }
        }
    }
}

#[test]
fn rendered_fields_all_belong_to_the_spec() {
    for (line, cmd, _) in cases() {
        let spec = spec::find(cmd.path()).unwrap();
        for (key, _) in cmd.fields() {
            let known = spec.positionals.iter().any(|p| p.key == key)
                || spec.options.iter().any(|o| o.key == key)
                || spec.flags.iter().any(|f| f.word == key);
            assert!(known, "{line}: field {key} is not in /{}", spec.path);
        }
    }
}

#[test]
fn paths_and_mutation_follow_the_grammar() {
    let mutating = [
        "cluster create",
        "cluster plan",
        "cluster use",
        "cluster delete",
        "cluster upgrade",
        "ge install",
        "ge upgrade",
        "ge scale",
        "ge autoscale",
        "ge uninstall",
        "rollback",
        "cancel",
        "silence",
        "unsilence",
        "host forget",
        "node add",
        "node remove",
        "selftest",
        "kubeconfig",
        "kubeconfig revoke",
        "ns create",
        "ns delete",
    ];
    for (line, cmd, _) in cases() {
        assert!(spec::find(cmd.path()).is_some(), "{line}");
        assert_eq!(cmd.is_mutating(), mutating.contains(&cmd.path()), "{line}");
    }
    assert!(ok("/cluster create 127.0.0.1 dry-run").is_mutating());
    assert_eq!(ok("/ge rollback orion").path(), "rollback");
}
