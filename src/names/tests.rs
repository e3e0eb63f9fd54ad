use super::*;

/// The reason `parse` gives for `text`, `None` for a bare "not of the form"; panics on accept.
fn why<T: std::fmt::Debug>(parsed: Result<T, NameError>) -> Option<String> {
    parsed.unwrap_err().reason().map(str::to_owned)
}

fn says<T: std::fmt::Debug>(parsed: Result<T, NameError>) -> String {
    why(parsed).unwrap()
}

#[test]
fn labels() {
    for ok in ["a", "lab-1", "0", "9lives", &"a".repeat(63)] {
        assert_eq!(Name::parse(ok).unwrap().as_str(), ok);
    }
    assert_eq!(says(Name::parse("")), "it is empty");
    assert_eq!(
        says(Name::parse(&"a".repeat(64))),
        "it is 64 characters long; the limit is 63"
    );
    assert_eq!(says(Name::parse("lab_1")), "'_' is not allowed");
    assert_eq!(says(Name::parse("lab.1")), "'.' is not allowed");
    assert_eq!(says(Name::parse("Lab-1")), "names are lowercase: lab-1");
    for ends in ["-lab", "lab-", "-"] {
        assert_eq!(
            says(Name::parse(ends)),
            "it must start and end with a letter or digit"
        );
    }
}

#[test]
fn subdomains() {
    for ok in [
        "a",
        "orion-config",
        "a.b-c.d",
        &format!("{0}.{0}", "a".repeat(63)),
    ] {
        assert_eq!(Subdomain::parse(ok).unwrap().as_str(), ok);
    }
    assert_eq!(says(Subdomain::parse("")), "it is empty");
    let long = vec!["a".repeat(63); 4].join(".");
    assert_eq!(long.len(), 255);
    assert_eq!(
        says(Subdomain::parse(&long)),
        "it is 255 characters long; the limit is 253"
    );
    assert_eq!(
        says(Subdomain::parse("a..b")),
        "it has an empty part between dots"
    );
    assert_eq!(
        says(Subdomain::parse("a.")),
        "it has an empty part between dots"
    );
    assert_eq!(
        says(Subdomain::parse("a.B")),
        "in B: names are lowercase: b"
    );
    // Stricter than Kubernetes' regex: each label is at most 63 (RFC 1123).
    assert!(Subdomain::parse(&format!("{}.a", "a".repeat(64))).is_err());
}

#[test]
fn tags() {
    for ok in ["4.1.0", "_x", "1.4.1_rc-2", "A", &"a".repeat(128)] {
        assert_eq!(Version::parse(ok).unwrap().as_str(), ok);
    }
    assert_eq!(says(Version::parse("")), "it is empty");
    assert_eq!(
        says(Version::parse(&"a".repeat(129))),
        "it is 129 characters long; the limit is 128"
    );
    assert_eq!(says(Version::parse("1.0+x")), "'+' is not allowed");
    assert_eq!(says(Version::parse("a/b")), "'/' is not allowed");
    assert_eq!(
        says(Version::parse("1.0\u{202e}")),
        "'\\u{202e}' is not allowed"
    );
    for start in [".1", "-1"] {
        assert_eq!(
            says(Version::parse(start)),
            "it must not start with '.' or '-'"
        );
    }
}

#[test]
fn image_repos() {
    for ok in [
        "fiware/orion",
        "quay.io/fiware/orion-ld",
        "localhost:5000/a",
        "registry.example:443/a/b_c.d",
        "mongo",
        "a.b",
    ] {
        assert_eq!(ImageRepo::parse(ok).unwrap().as_str(), ok);
    }
    assert_eq!(says(ImageRepo::parse("")), "it has an empty path component");
    assert_eq!(
        says(ImageRepo::parse("quay.io/")),
        "it has an empty path component"
    );
    assert_eq!(
        says(ImageRepo::parse("a//b")),
        "it has an empty path component"
    );
    assert_eq!(
        says(ImageRepo::parse("quay.io:x/a")),
        "the registry quay.io:x is not a DNS name with an optional :port"
    );
    assert_eq!(
        says(ImageRepo::parse("Quay.io/a")),
        "the registry Quay.io is not a DNS name with an optional :port"
    );
    assert_eq!(says(ImageRepo::parse("fiware/Orion")), "'O' is not allowed");
    assert_eq!(
        says(ImageRepo::parse("fiware/orion:4")),
        "':' is not allowed"
    );
    assert_eq!(
        says(ImageRepo::parse("fiware/orion-")),
        "orion- must start and end with a letter or digit"
    );
}

#[test]
fn kubernetes_minors() {
    for ok in ["1.35", "1.36", "1.37"] {
        let m = K8sMinor::parse(ok).unwrap();
        assert_eq!(m.as_str(), ok);
        assert!(m.end_of_life().starts_with("2027-"), "{ok}");
    }
    assert_eq!(DEFAULT_MINOR, "1.35");
    for old in ["1.9", "1.24", "1.33", "1.34", "1.05"] {
        assert_eq!(
            says(K8sMinor::parse(old)),
            format!(
                "{} is past its end of life upstream, so no longer installed; the oldest \
                 supported minor is 1.35",
                old.replace(".0", ".")
            )
        );
    }
    assert_eq!(
        says(K8sMinor::parse("1.38")),
        "1.38 is newer than this labkube knows; the newest minor it installs is 1.37"
    );
    assert_eq!(
        says(K8sMinor::parse("v1.35")),
        "write it without the v: 1.35"
    );
    assert_eq!(
        says(K8sMinor::parse("1.35.2")),
        "give only the minor version, such as 1.35"
    );
    assert_eq!(says(K8sMinor::parse("2.0")), "the major version must be 1");
    for bare in ["", "1", "1.", "1.x", "one.31", "1.100", "1.0024", "v2"] {
        assert_eq!(why(K8sMinor::parse(bare)), None, "{bare}");
    }
    assert_eq!(
        Rule::K8sMinor.form(),
        "a Kubernetes minor version upstream still supports: 1.35, 1.36 or 1.37"
    );
}

#[test]
fn pod_networks() {
    for (text, canonical) in [
        ("10.244.0.0/16", "10.244.0.0/16"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("192.168.0.0/24", "192.168.0.0/24"),
        ("fd00:0::/64", "fd00::/64"),
        ("fd00::/48", "fd00::/48"),
        (
            "10.244.0.0/16,fd00:10:244:0::/56",
            "10.244.0.0/16,fd00:10:244::/56",
        ),
    ] {
        assert_eq!(Cidr::parse(text).unwrap().as_str(), canonical);
    }
    assert_eq!(
        says(Cidr::parse("10.244.0.0")),
        "add the prefix length, such as /16"
    );
    assert_eq!(
        says(Cidr::parse("10.0.0.0/7")),
        "an IPv4 prefix must be /8 to /24 (each node gets a /24 of it, and kubeadm allows at \
         most 16 bits more), not /7"
    );
    assert!(says(Cidr::parse("10.0.0.0/25")).starts_with("an IPv4 prefix must be /8 to /24"));
    assert!(says(Cidr::parse("fd00::/47")).starts_with("an IPv6 prefix must be /48 to /64"));
    assert!(says(Cidr::parse("fd00::/65")).ends_with("not /65"));
    for wrong in [
        "fd00:10:244::/56,10.244.0.0/16",
        "10.244.0.0/16,10.245.0.0/16",
        "fd00::/56,fd01::/56",
    ] {
        assert_eq!(
            says(Cidr::parse(wrong)),
            "a dual-stack pod network is an IPv4 network, a comma, then an IPv6 network, such \
             as 10.244.0.0/16,fd00:10:244::/56",
            "{wrong}"
        );
    }
    assert!(says(Cidr::parse("10.244.0.0/16,fd00::1/56")).contains("host bits are set"));
    assert_eq!(why(Cidr::parse("10.244.0.0/16,fd00::/56,fd01::/56")), None);
    assert_eq!(
        says(Cidr::parse("10.244.0.0/16,")),
        "add the prefix length, such as /16"
    );
    assert_eq!(
        says(Cidr::parse("10.244.0.1/16")),
        "host bits are set; the network is 10.244.0.0/16"
    );
    assert_eq!(
        says(Cidr::parse("fd00::1/64")),
        "host bits are set; the network is fd00::/64"
    );
    for bare in [
        "a/16",
        "10.0.0.0/",
        "10.0.0.0/x",
        "10.0.0.0/0016",
        "10.0.0.0/-8",
    ] {
        assert_eq!(why(Cidr::parse(bare)), None, "{bare}");
    }
}

#[test]
fn user_names() {
    for ok in ["ubuntu", "_ci", "a-1_b", &"u".repeat(32)] {
        assert_eq!(UserName::parse(ok).unwrap().as_str(), ok);
    }
    assert_eq!(says(UserName::parse("")), "it is empty");
    assert_eq!(
        says(UserName::parse(&"u".repeat(33))),
        "it is 33 characters long; the limit is 32"
    );
    assert_eq!(says(UserName::parse("a.b")), "'.' is not allowed");
    assert_eq!(says(UserName::parse("a b")), "' ' is not allowed");
    assert_eq!(
        says(UserName::parse("Ubuntu")),
        "user names are lowercase: ubuntu"
    );
    for start in ["1a", "-a"] {
        assert_eq!(
            says(UserName::parse(start)),
            "it must start with a letter or '_'"
        );
    }
}

#[test]
fn errors_echo_the_text_escaped_then_the_reason_and_the_form() {
    let e = Name::parse("La\nb").unwrap_err();
    assert_eq!(e.rule(), Rule::Label);
    assert_eq!(
        e.to_string(),
        format!(
            "\"La\\nb\": '\\n' is not allowed; expected {}",
            Rule::Label.form()
        )
    );
    let e = K8sMinor::parse("x").unwrap_err();
    assert_eq!(e.rule(), Rule::K8sMinor);
    assert_eq!(
        e.to_string(),
        "\"x\" is not a Kubernetes minor version upstream still supports: 1.35, 1.36 or 1.37"
    );
    let long = Version::parse(&"+".repeat(100)).unwrap_err().to_string();
    assert!(
        long.starts_with(&format!("\"{}…\"", "+".repeat(39))),
        "{long}"
    );
}

#[test]
fn from_str_and_serde_go_through_the_rule() {
    fn de<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, serde_json::Error> {
        serde_json::from_value(serde_json::Value::String(s.to_owned()))
    }
    let n: Name = "lab-1".parse().unwrap();
    assert_eq!(n.to_string(), "lab-1");
    assert_eq!(n.as_ref(), "lab-1");
    assert!("Lab".parse::<Name>().is_err());
    assert_eq!(serde_json::to_string(&n).unwrap(), "\"lab-1\"");
    assert_eq!(de::<Name>("lab-1").unwrap(), n);
    let e = de::<Name>("Lab_1").unwrap_err().to_string();
    assert_eq!(e, Name::parse("Lab_1").unwrap_err().to_string());
    assert!(de::<Cidr>("10.0.0.1/8").is_err());
    assert_eq!(de::<Cidr>("fd00:0::/64").unwrap().as_str(), "fd00::/64");
    assert!(de::<K8sMinor>("1.9").is_err());
    assert!(de::<UserName>("root").is_ok());
    assert!(de::<Version>("4.1.0").is_ok());
    assert!(de::<Subdomain>("a.b").is_ok());
    assert!(de::<ImageRepo>("fiware/orion").is_ok());
    assert!(serde_json::from_str::<Name>("7").is_err());
}

#[test]
fn an_upgrade_goes_one_minor_up_and_names_the_way() {
    assert_eq!(upgrade_step("1.35", "1.36"), Ok(()));
    assert_eq!(upgrade_step("1.34", "1.35"), Ok(()));
    let skip = upgrade_step("1.35", "1.37").unwrap_err();
    assert!(
        skip.contains("take 1.35 → 1.36 → 1.37, starting with k8s=1.36"),
        "{skip}"
    );
    assert!(
        upgrade_step("1.36", "1.35")
            .unwrap_err()
            .contains("a downgrade to 1.35")
    );
    assert!(
        upgrade_step("1.36", "1.36")
            .unwrap_err()
            .contains("already runs")
    );
    assert_eq!(next_minor("1.35"), Some("1.36"));
    assert_eq!(next_minor("1.34"), Some("1.35"));
    assert_eq!(next_minor(SUPPORTED_MINORS[2].version), None);
    assert_eq!(minor_of_version("v1.35.5").as_deref(), Some("1.35"));
    assert_eq!(minor_of_version("1.36.0").as_deref(), Some("1.36"));
    assert_eq!(minor_of_version("vX.Y"), None);
    assert_eq!(minor_of_version(""), None);
}
