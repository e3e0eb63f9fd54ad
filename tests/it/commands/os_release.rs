//! OS detection from real os-release files (tests/fixtures/os-release).

use labkube::provision::os::{OsFamily, OsInfo};

use labkube_testkit::lab::hosts::os_release;

struct Case {
    file: &'static str,
    id: &'static str,
    id_like: &'static [&'static str],
    version_id: &'static str,
    pretty_name: &'static str,
    family: Option<OsFamily>,
    chain: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        file: "ubuntu-24.04",
        id: "ubuntu",
        id_like: &["debian"],
        version_id: "24.04",
        pretty_name: "Ubuntu 24.04.3 LTS",
        family: Some(OsFamily::Debian),
        chain: &["ubuntu", "debian", "common"],
    },
    Case {
        file: "debian-12",
        id: "debian",
        id_like: &[],
        version_id: "12",
        pretty_name: "Debian GNU/Linux 12 (bookworm)",
        family: Some(OsFamily::Debian),
        chain: &["debian", "common"],
    },
    Case {
        file: "rocky-9",
        id: "rocky",
        id_like: &["rhel", "centos", "fedora"],
        version_id: "9.6",
        pretty_name: "Rocky Linux 9.6 (Blue Onyx)",
        family: Some(OsFamily::Rhel),
        chain: &["rocky", "rhel", "common"],
    },
    Case {
        file: "almalinux-9",
        id: "almalinux",
        id_like: &["rhel", "centos", "fedora"],
        version_id: "9.6",
        pretty_name: "AlmaLinux 9.6 (Sage Margay)",
        family: Some(OsFamily::Rhel),
        chain: &["almalinux", "rhel", "common"],
    },
    Case {
        file: "centos-stream-9",
        id: "centos",
        id_like: &["rhel", "fedora"],
        version_id: "9",
        pretty_name: "CentOS Stream 9",
        family: Some(OsFamily::Rhel),
        chain: &["centos", "rhel", "common"],
    },
    Case {
        file: "rhel-9",
        id: "rhel",
        id_like: &["fedora"],
        version_id: "9.6",
        pretty_name: "Red Hat Enterprise Linux 9.6 (Plow)",
        family: Some(OsFamily::Rhel),
        chain: &["rhel", "common"],
    },
    Case {
        file: "linuxmint-22",
        id: "linuxmint",
        id_like: &["ubuntu", "debian"],
        version_id: "22.1",
        pretty_name: "Linux Mint 22.1",
        family: Some(OsFamily::Debian),
        chain: &["linuxmint", "ubuntu", "debian", "common"],
    },
    Case {
        file: "alpine-3.20",
        id: "alpine",
        id_like: &[],
        version_id: "3.20.3",
        pretty_name: "Alpine Linux v3.20",
        family: None,
        chain: &["alpine", "common"],
    },
    Case {
        file: "arch",
        id: "arch",
        id_like: &[],
        version_id: "",
        pretty_name: "Arch Linux",
        family: None,
        chain: &["arch", "common"],
    },
    Case {
        file: "opensuse-leap-15.6",
        id: "opensuse-leap",
        id_like: &["suse", "opensuse"],
        version_id: "15.6",
        pretty_name: "openSUSE Leap 15.6",
        family: None,
        chain: &["opensuse-leap", "suse", "opensuse", "common"],
    },
];

#[test]
fn real_os_release_files_are_detected() {
    for case in CASES {
        let os = OsInfo::parse(&os_release(case.file));
        let ctx = case.file;
        assert_eq!(os.id, case.id, "{ctx}");
        assert_eq!(os.id_like, case.id_like, "{ctx}");
        assert_eq!(os.version_id, case.version_id, "{ctx}");
        assert_eq!(os.pretty_name, case.pretty_name, "{ctx}");
        assert_eq!(os.family().ok(), case.family, "{ctx}");
        assert_eq!(os.lookup_chain(), case.chain, "{ctx}");
    }
}

#[test]
fn unsupported_systems_are_named_with_what_is_supported() {
    for file in ["alpine-3.20", "arch", "opensuse-leap-15.6"] {
        let os = OsInfo::parse(&os_release(file));
        let e = os.family().unwrap_err().to_string();
        assert!(e.contains(&format!("ID={}", os.id)), "{e}");
        assert!(e.contains(&os.pretty_name), "{e}");
        for supported in ["ubuntu", "debian", "rhel", "centos", "rocky", "almalinux"] {
            assert!(e.contains(supported), "{e}");
        }
    }
    let suse = OsInfo::parse(&os_release("opensuse-leap-15.6"))
        .family()
        .unwrap_err()
        .to_string();
    assert!(suse.contains("ID_LIKE=suse opensuse"), "{suse}");
}

#[test]
fn quoting_comments_and_fedora_relatives() {
    let os = OsInfo::parse(
        "# a comment\n\n  ID='ol'  \nID_LIKE=\"Fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Oracle \\\"Linux\\\" Server 9.4\"\n",
    );
    assert_eq!(os.id, "ol");
    assert_eq!(os.id_like, ["fedora"]);
    assert_eq!(os.pretty_name, "Oracle \"Linux\" Server 9.4");
    // Plain Fedora relatives are not served: Docker's and kubeadm's RHEL paths assume EL.
    assert!(os.family().is_err());
    // An EL rebuild that names rhel after a non-family entry still lands on rhel.
    let os = OsInfo::parse("ID=eurolinux\nID_LIKE=\"fedora centos rhel\"\n");
    assert_eq!(os.family(), Ok(OsFamily::Rhel));
    assert_eq!(os.lookup_chain(), ["eurolinux", "centos", "rhel", "common"]);
    // ID decides before ID_LIKE.
    let os = OsInfo::parse("ID=ubuntu\nID_LIKE=\"rhel\"\n");
    assert_eq!(os.family(), Ok(OsFamily::Debian));
}
