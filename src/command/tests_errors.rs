//! Every kind of error: the kind, the offending token, and the words a lab user reads.

use super::error::ErrorKind;
use super::tests::BOT;
use super::*;

fn err(line: &str) -> ParseError {
    match parse(line, BOT) {
        Err(e) => e,
        other => panic!("{line:?} should be rejected, got {other:?}"),
    }
}

/// (input, kind, offending token, phrases the message must contain)
#[rustfmt::skip]
fn cases() -> Vec<(String, ErrorKind, Option<&'static str>, Vec<&'static str>)> {
    use ErrorKind::*;
    let c = |line: &str, kind, token, words: &[&'static str]| {
        (line.to_owned(), kind, token, words.to_vec())
    };
    vec![
        c("/clustr list", UnknownCommand, Some("/clustr"), &["unknown command \"/clustr\"; did you mean /cluster?"]),
        c("!clustr", UnknownCommand, Some("!clustr"), &["\"!clustr\"", "/cluster"]),
        c("/xyzzy", UnknownCommand, Some("/xyzzy"), &["type /help for the list of commands"]),
        c("/install orion", UnknownCommand, Some("/install"), &["did you mean /ge install?"]),
        c("/status", UnknownCommand, Some("/status"), &["/cluster status", "/ge status"]),
        c("/deploy orion", UnknownCommand, Some("/deploy"), &["did you mean /ge install?"]),
        c("/cluster creat 127.0.0.1", UnknownSubcommand, Some("creat"), &["did you mean /cluster create?"]),
        c("/ge frobnicate", UnknownSubcommand, Some("frobnicate"), &["/help ge"]),
        c("/cluster", MissingSubcommand, None, &["/cluster needs a sub-command", "create", "delete"]),
        c("/host", MissingSubcommand, None, &["forget"]),
        c("/cluster create 010.0.0.1", BadValue, Some("010.0.0.1"), &["bad address \"010.0.0.1\" in /cluster create", "leading zeros", "expected an IPv4 or IPv6 address such as 10.0.0.1", "\nusage: /cluster create IP [IP...] [name=NAME]"]),
        c("/cluster create 0.0.0.0", BadValue, Some("0.0.0.0"), &["unspecified"]),
        c("/cluster create ::", BadValue, Some("::"), &["unspecified"]),
        c("/cluster create 224.0.0.5", BadValue, Some("224.0.0.5"), &["multicast"]),
        c("/cluster create ff02::1", BadValue, Some("ff02::1"), &["multicast"]),
        c("/cluster create 255.255.255.255", BadValue, Some("255.255.255.255"), &["broadcast"]),
        c("/cluster create fe80::1%eth0", BadValue, Some("fe80::1%eth0"), &["zone"]),
        c("/cluster create [::1]", BadValue, Some("[::1]"), &["brackets"]),
        c("/cluster create 10.0.0.1:22", BadValue, Some("10.0.0.1:22"), &["port="]),
        c("/cluster create 10.0.0.0/24", BadValue, Some("10.0.0.0/24"), &["single host"]),
        c("/cluster create 10.0.0.256", BadValue, Some("10.0.0.256"), &["0-255"]),
        c("/cluster create lab-1", BadValue, Some("lab-1"), &["bad address"]),
        c("/cluster create 127.0.0.1 name=Lab-1", BadValue, Some("name=Lab-1"), &["lowercase: lab-1"]),
        c("/cluster create 127.0.0.1 name=lab_1", BadValue, Some("name=lab_1"), &["'_' is not allowed"]),
        c("/cluster create 127.0.0.1 name=-lab", BadValue, Some("name=-lab"), &["start and end"]),
        c("/cluster create 127.0.0.1 name=", BadValue, Some("name="), &["empty"]),
        c("/cluster create 127.0.0.1 user=1x", BadValue, Some("user=1x"), &["start with a letter"]),
        c("/cluster create 127.0.0.1 port=0", BadValue, Some("port=0"), &["0 is less than 1"]),
        c("/cluster create 127.0.0.1 port=65536", BadValue, Some("port=65536"), &["more than 65535"]),
        c("/cluster create 127.0.0.1 port=+22", BadValue, Some("port=+22"), &["whole number"]),
        c("/cluster create 127.0.0.1 port=-1", BadValue, Some("port=-1"), &["whole number"]),
        c("/cluster create 127.0.0.1 k8s=1.33", BadValue, Some("k8s=1.33"), &["end of life", "oldest supported minor is 1.35"]),
        c("/cluster create 127.0.0.1 k8s=v1.36", BadValue, Some("k8s=v1.36"), &["without the v"]),
        c("/cluster create 127.0.0.1 k8s=1.36.2", BadValue, Some("k8s=1.36.2"), &["only the minor"]),
        c("/cluster create 127.0.0.1 k8s=2.1", BadValue, Some("k8s=2.1"), &["major version must be 1"]),
        c("/cluster create 127.0.0.1 pod-cidr=10.244.1.0/16", BadValue, None, &["the network is 10.244.0.0/16"]),
        c("/cluster create 127.0.0.1 pod-cidr=10.0.0.0/29", BadValue, None, &["/8 to /24"]),
        c("/cluster create 127.0.0.1 pod-cidr=fd00::/40", BadValue, None, &["/48 to /64"]),
        c("/cluster create 127.0.0.1 pod-cidr=fd00::/56,10.244.0.0/16", BadValue, None, &["IPv4 network, a comma, then an IPv6 network"]),
        c("/cluster create 127.0.0.1 pod-cidr=10.0.0.0", BadValue, None, &["prefix length"]),
        c("/ge install orion replicas=21", BadValue, Some("replicas=21"), &["more than 20"]),
        c("/ge install orion expose=loadbalancer", BadValue, None, &["the word nodeport"]),
        c("/ge install orion expose=NodePort", BadValue, None, &["nodeport"]),
        c("/ge upgrade orion version=-rc", BadValue, None, &["must not start"]),
        c("/ge upgrade orion version=4.1$(id)", BadValue, None, &["'$' is not allowed"]),
        c("/rollback orion to=0", BadValue, Some("to=0"), &["less than 1"]),
        c("/job 0", BadValue, Some("0"), &["start at 1"]),
        c("/job ##4", BadValue, Some("##4"), &["such as 42 or #42"]),
        c("/job 18446744073709551616", BadValue, None, &["too large"]),
        c("/audit 0", BadValue, Some("0"), &["1 to 100"]),
        c("/audit 101", BadValue, Some("101"), &["more than 100"]),
        c("/selftest steps=51", BadValue, None, &["more than 50"]),
        c("/selftest ms=60001", BadValue, None, &["more than 60000"]),
        c("/cluster delete lab-1 confirm=ABCD", BadValue, None, &["lowercase"]),
        c("/cluster delete lab-1 confirm=abc", BadValue, None, &["4 to 16"]),
        c("/ns create team-a cpu=50m", BadValue, Some("cpu=50m"), &["less than 100m", "such as 2, 0.5 or 500m"]),
        c("/ns create team-a memory=8gb", BadValue, None, &["such as 512Mi, 8Gi or 1Ti"]),
        c("/ns create team-a memory=8mi", BadValue, None, &["units are written Ki, Mi, Gi or Ti"]),
        c("/ns create team-a pods=0", BadValue, None, &["less than 1"]),
        c("/ns create Team_A", BadValue, None, &["DNS label"]),
        c("/ns delete", Missing, None, &["/ns delete needs NAME"]),
        c("/cluster create", Missing, None, &["/cluster create needs IP", "usage: /cluster create"]),
        c("/cluster use", Missing, None, &["/cluster use needs NAME"]),
        c("/ge upgrade orion", Missing, None, &["/ge upgrade needs version=TAG"]),
        c("/ge scale orion", Missing, None, &["needs replicas=N"]),
        c("/ge autoscale orion min=2", Missing, None, &["/ge autoscale needs max=M", "usage: /ge autoscale GE (min=N max=M [cpu=PERCENT] | off) [ns=NS] [cluster=NAME]"]),
        c("/ge autoscale orion off cpu=50", Unexpected, None, &["/ge autoscale off takes no cpu="]),
        c("/ge autoscale orion min=1 max=2 cpu=5", BadValue, None, &["10 to 100"]),
        c("/ge install ns=demo", Missing, None, &["/ge install needs GE"]),
        c("/job", Missing, None, &["needs ID"]),
        c("/cluster list now", Unexpected, Some("now"), &["it takes no arguments"]),
        c("/cluster use a b", Unexpected, Some("b"), &["it takes one NAME"]),
        c("/cluster use lab-1 /jobs", Unexpected, Some("/jobs"), &["one command per message"]),
        c("/ge list orion", Unexpected, Some("orion"), &["only the options"]),
        c("/jobs foo", Unexpected, Some("foo"), &["its only argument is the flag all"]),
        c("/cluster create 127.0.0.1 ns=demo", UnknownOption, Some("ns=demo"), &["unknown option \"ns=demo\" for /cluster create", "accepted options: name= user= port= k8s= pod-cidr="]),
        c("/ge install orion namespace=demo", UnknownOption, None, &["did you mean ns=?"]),
        c("/ge install orion replica=2", UnknownOption, None, &["did you mean replicas=?"]),
        c("/cluster list all=1", UnknownOption, None, &["/cluster list takes no options"]),
        c("/ge install orion =x", UnknownOption, Some("=x"), &["unknown option"]),
        c("/ge install orion ns=a NS=b", DuplicateOption, Some("NS=b"), &["option ns= is given twice"]),
        c("/ge uninstall orion purge PURGE", DuplicateFlag, Some("PURGE"), &["flag purge is given twice"]),
        c("/cluster plan 127.0.0.1 dry-run", BadFlag, Some("dry-run"), &["/cluster plan does not take the flag"]),
        c("/cluster create 127.0.0.1 dry-run=yes", BadFlag, None, &["dry-run is a flag; write just dry-run"]),
        c("/cluster create 127.0.0.1 127.0.0.2 127.0.0.1", DuplicateValue, Some("127.0.0.1"), &["address 127.0.0.1 is given twice"]),
        c("/cluster create 10.0.0.1 ::ffff:10.0.0.1", DuplicateValue, None, &["10.0.0.1 is given twice"]),
        c("/help nonsense", UnknownTopic, Some("/nonsense"), &["no help for \"/nonsense\""]),
        c("/help cluster creat", UnknownTopic, None, &["did you mean /cluster create?"]),
        c("/help jobs all", UnknownTopic, None, &["try /help jobs"]),
        c("/сluster list", BadChar, Some("\\u{441}luster"), &["U+0441", "Retype"]),
        c("/cluster use lab\u{202e}1", BadChar, Some("lab\\u{202e}1"), &["U+202E", "usage: /cluster use"]),
        c("/cluster\u{a0}list", BadChar, None, &["U+00A0", "no-break space"]),
        c("/ge install orion\u{200b}", BadChar, None, &["U+200B", "zero-width"]),
        c("/ｊobs", BadChar, None, &["U+FF4A", "full-width"]),
        c("/jobs \u{0}", BadChar, Some("\\u{0}"), &["U+0000 (NUL)"]),
        c("/jobs a\u{b}b", BadChar, Some("a\\u{b}b"), &["vertical tab"]),
        c("/cluster creat\u{441}", BadChar, None, &["U+0441"]),
    ]
}

#[test]
fn every_error_kind_names_the_token_and_explains() {
    for (line, kind, token, words) in cases() {
        let e = err(&line);
        assert_eq!(e.kind(), kind, "{line:?}: {e}");
        if let Some(token) = token {
            assert_eq!(e.bad_token(), Some(token), "{line:?}: {e}");
        }
        for w in words {
            assert!(
                e.to_string().contains(w),
                "{line:?}: {w:?} missing from:\n{e}"
            );
        }
    }
}

#[test]
fn errors_about_a_known_command_show_its_usage() {
    for (line, kind, _, _) in cases() {
        let usage = !matches!(
            kind,
            ErrorKind::UnknownCommand
                | ErrorKind::UnknownSubcommand
                | ErrorKind::MissingSubcommand
                | ErrorKind::UnknownTopic
                | ErrorKind::BadChar
        );
        if usage {
            assert!(err(&line).to_string().contains("\nusage: /"), "{line:?}");
        }
    }
}

#[test]
fn too_long_lines_are_refused_with_their_length() {
    let line = format!("/jobs {}", "x".repeat(2000));
    let e = err(&line);
    assert_eq!(e.kind(), ErrorKind::TooLong);
    assert_eq!(
        e.to_string(),
        "message too long (2006 characters; the limit is 2000)"
    );
    // Characters, not bytes: 1000 two-byte letters are within the limit (and then refused
    // for being non-ASCII).
    let e = err(&format!("/jobs {}", "д".repeat(1000)));
    assert_eq!(e.kind(), ErrorKind::BadChar);
}

#[test]
fn echoed_tokens_are_truncated_to_40_characters() {
    let e = err(&format!("/cluster use {}", "x".repeat(100)));
    let token = e.bad_token().unwrap();
    assert_eq!(token.chars().count(), 40);
    assert!(token.ends_with('…'));
    assert!(e.to_string().contains(token));
    assert!(!e.to_string().contains(&"x".repeat(41)));
}

#[test]
fn dangerous_characters_never_appear_raw_in_error_text() {
    let nasty = [
        '\0', '\u{7}', '\u{b}', '\u{1b}', '\u{7f}', '\u{85}', '\u{202e}', '\u{2066}', '\u{feff}',
        'с',
    ];
    for c in nasty {
        for line in [
            format!("/cluster use lab{c}1"),
            format!("/clu{c}ster list"),
            format!("/cluster create 127.0.0.1 name={c}"),
            format!("/help nonsense{c}"),
            format!("/cluster cre{c}ate"),
        ] {
            let e = err(&line);
            let text = e.to_string();
            assert!(!text.contains(c), "{line:?} leaked {c:?}: {text}");
            assert!(!e.bad_token().unwrap_or_default().contains(c));
            assert!(
                text.contains(&format!("U+{:04X}", u32::from(c))),
                "{line:?}: {text}"
            );
        }
    }
}

#[test]
fn help_called_directly_escapes_what_it_echoes() {
    let e = help(&["no\u{0}pe\u{202e}".to_owned()]).unwrap_err();
    assert!(!e.to_string().contains('\0') && !e.to_string().contains('\u{202e}'));
    assert!(e.to_string().contains("\\u{0}"));
}

#[test]
fn ge_parameters_are_kept_by_name_and_secret_ones_masked_when_shown() {
    let line = "/ge install wilma app_id=0a1b-2c username=pep_proxy_9f password=s3cr/t+= troe=true";
    let Ok(Some(cmd @ Command::GeInstall { .. })) = parse(line, BOT) else {
        panic!("{line} should parse");
    };
    let Command::GeInstall { params, .. } = &cmd else {
        unreachable!("matched above");
    };
    let got: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("app_id", "0a1b-2c"),
            ("password", "s3cr/t+="),
            ("troe", "true"),
            ("username", "pep_proxy_9f")
        ]
    );
    assert_eq!(
        cmd.redacted(),
        "/ge install wilma app_id=0a1b-2c password=*** troe=true username=pep_proxy_9f"
    );
    let e = err("/ge install wilma password=a password=b");
    assert_eq!(e.kind(), ErrorKind::DuplicateOption);
    assert!(
        e.to_string().contains("parameter password= is given twice"),
        "{e:?}"
    );
    // Only /ge install takes them.
    let e = err("/ge upgrade orion version=4.1.1 troe=true");
    assert_eq!(e.kind(), ErrorKind::UnknownOption);
}

#[test]
fn exactly_2000_characters_are_accepted() {
    let line = format!("/jobs{}", " ".repeat(1995));
    assert_eq!(line.chars().count(), 2000);
    assert_eq!(
        parse(&line, BOT).unwrap().unwrap(),
        Command::Jobs { all: false }
    );
}

#[test]
fn validated_newtypes_deserialize_only_valid_text() {
    let n: Name = serde_json_like(r#"lab-1"#).unwrap();
    assert_eq!(n.as_str(), "lab-1");
    assert!(serde_json_like::<Name>("Lab_1").is_err());
    assert!(serde_json_like::<Cidr>("10.0.0.1/8").is_err());
}

/// Deserialises a bare string through serde's value deserializer (no JSON crate needed).
fn serde_json_like<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, serde::de::value::Error> {
    use serde::de::IntoDeserializer;
    T::deserialize(s.to_owned().into_deserializer())
}
