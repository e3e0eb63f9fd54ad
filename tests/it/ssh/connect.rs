//! Connecting: errors, login, host-key trust (pins and known_hosts) and client keys.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use labkube::provision::remote::{Connector, HostKeyStore, RemoteError, RemoteExec, Target};
use labkube::provision::ssh::SshConnector;
use labkube_testkit::host_keys::MemoryHostKeys;

use super::{CONNECT_TIMEOUT, config, connector, root_session, script, target};
use labkube_testkit::sshd::{
    ClientKey, SshdHost, free_port, next_loopback, require_sshd, write_known_hosts,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_a_connect_error_within_the_timeout() {
    require_sshd();
    let key = ClientKey::ed25519();
    let ip = next_loopback();
    let port = free_port(ip);
    let (c, pins) = connector(&key);
    let t0 = Instant::now();
    let t = Target {
        addr: IpAddr::V4(ip),
        port,
        user: "root".into(),
    };
    match c.connect(&t).await {
        Err(RemoteError::Connect { host, reason }) => {
            assert_eq!(host, format!("{ip}:{port}"));
            assert!(reason.to_lowercase().contains("refused"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(t0.elapsed() < CONNECT_TIMEOUT);
    assert_eq!(pins.pinned(&t.pin_id()).unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_is_a_connect_timeout() {
    let key = ClientKey::ed25519();
    let ip = next_loopback();
    // Accepts TCP (kernel backlog) but never speaks SSH.
    let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut cfg = config(&key);
    cfg.connect_timeout = Duration::from_millis(800);
    let c = SshConnector::new(cfg, Arc::new(MemoryHostKeys::new())).unwrap();
    let t0 = Instant::now();
    let t = Target {
        addr: IpAddr::V4(ip),
        port,
        user: "root".into(),
    };
    match c.connect(&t).await {
        Err(RemoteError::Timeout { what, secs, .. }) => {
            assert_eq!((what.as_str(), secs), ("connecting", 1))
        }
        other => panic!("{other:?}"),
    }
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(listener);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_key_is_auth_and_pins_nothing() {
    let allowed = ClientKey::ed25519();
    let other = ClientKey::ed25519();
    let host = SshdHost::start(&allowed);
    let (c, pins) = connector(&other);
    let t = target(&host, "root");
    match c.connect(&t).await {
        Err(RemoteError::Auth { user, .. }) => assert_eq!(user, "root"),
        other => panic!("{other:?}"),
    }
    assert_eq!(pins.pinned(&t.pin_id()).unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_contact_pins_the_key_then_it_is_known() {
    let key = ClientKey::ed25519();
    let host = SshdHost::start(&key);
    let (c, pins) = connector(&key);
    let t = target(&host, "root");

    let first = c.connect(&t).await.unwrap();
    assert_eq!(first.first_contact(), Some(host.host_key_fingerprint()));
    assert_eq!(
        pins.pinned(&format!("{}:{}", host.ip, host.port)).unwrap(),
        Some(host.host_public_key())
    );
    first.close().await;

    let second = c.connect(&t).await.unwrap();
    assert_eq!(second.first_contact(), None);
    assert_eq!(second.run(&script("true")).await.unwrap().status, Some(0));

    // Through the Connector seam too.
    let connected = Connector::connect(&c, &t).await.unwrap();
    assert_eq!(connected.first_contact, None);
    assert_eq!(connected.exec.target(), &t);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_host_key_is_refused_naming_both_fingerprints() {
    let key = ClientKey::ed25519();
    let mut host = SshdHost::start(&key);
    let (c, pins) = connector(&key);
    let t = target(&host, "root");
    let old_fp = host.host_key_fingerprint();
    c.connect(&t).await.unwrap().close().await;

    host.restart_with_new_key();
    let new_fp = host.host_key_fingerprint();
    assert_ne!(old_fp, new_fp);
    let err = c.connect(&t).await.expect_err("refused");
    match &err {
        RemoteError::HostKeyChanged {
            expected,
            presented,
            addr,
            host: h,
        } => {
            assert_eq!((expected, presented), (&old_fp, &new_fp));
            assert_eq!(addr, &host.ip.to_string());
            assert_eq!(h, &t.to_string());
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&old_fp) && text.contains(&new_fp), "{text}");
    // The pin is unchanged; forgetting it allows the new key.
    assert!(pins.forget(&t.pin_id()));
    let again = c.connect(&t).await.unwrap();
    assert_eq!(again.first_contact(), Some(new_fp));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_hosts_listed_unlisted_mismatching_and_hashed() {
    let key = ClientKey::ed25519();
    let a = SshdHost::start(&key);
    let b = SshdHost::start(&key);
    let c_host = SshdHost::start(&key);
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    // a: listed correctly; c: listed with b's key (mismatch); b: not listed.
    let wrong_for_c = format!("[{}]:{} {}", c_host.ip, c_host.port, b.host_public_key());
    write_known_hosts(
        &kh,
        &["# comment".into(), a.known_hosts_line(), wrong_for_c],
    );
    let pins = Arc::new(MemoryHostKeys::new());
    let mut cfg = config(&key);
    cfg.known_hosts = Some(kh.clone());
    let conn = SshConnector::new(cfg, pins.clone()).unwrap();

    let s = conn.connect(&target(&a, "root")).await.unwrap();
    assert_eq!(s.first_contact(), None);
    assert_eq!(s.run(&script("echo ok")).await.unwrap().stdout, "ok\n");
    assert_eq!(
        pins.pinned(&target(&a, "root").pin_id()).unwrap(),
        None,
        "store untouched"
    );

    match conn.connect(&target(&b, "root")).await {
        Err(RemoteError::HostKeyUnknown { presented, .. }) => {
            assert_eq!(presented, b.host_key_fingerprint())
        }
        other => panic!("{other:?}"),
    }
    match conn.connect(&target(&c_host, "root")).await {
        Err(RemoteError::HostKeyChanged {
            expected,
            presented,
            ..
        }) => {
            assert_eq!(expected, b.host_key_fingerprint());
            assert_eq!(presented, c_host.host_key_fingerprint());
        }
        other => panic!("{other:?}"),
    }

    // Hashed entries (`ssh-keygen -H`) work as well.
    write_known_hosts(&kh, &[b.known_hosts_line()]);
    let out = std::process::Command::new("ssh-keygen")
        .arg("-q")
        .arg("-H")
        .arg("-f")
        .arg(&kh)
        .output()
        .unwrap();
    assert!(out.status.success());
    let hashed = std::fs::read_to_string(&kh).unwrap();
    assert!(hashed.starts_with("|1|"), "{hashed}");
    conn.connect(&target(&b, "root")).await.unwrap();

    // A configured file that is missing is an error, not "every host unknown".
    std::fs::remove_file(&kh).unwrap();
    assert!(matches!(
        conn.connect(&target(&a, "root")).await,
        Err(RemoteError::Store(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passphrase_keys() {
    let key = ClientKey::ed25519_with_passphrase("correct horse battery");
    let host = SshdHost::start(&key);
    let s = root_session(&host, &key).await;
    assert_eq!(s.run(&script("echo ok")).await.unwrap().stdout, "ok\n");

    let mut wrong = config(&key);
    wrong.passphrase = Some("wrong-passphrase-xyz".into());
    let err = SshConnector::new(wrong, Arc::new(MemoryHostKeys::new())).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(matches!(err, RemoteError::Key { .. }), "{text}");
    assert!(text.contains(&key.path.display().to_string()), "{text}");
    assert!(!text.contains("wrong-passphrase-xyz"), "{text}");
    assert!(text.contains("passphrase"), "{text}");

    let mut none = config(&key);
    none.passphrase = None;
    let err = SshConnector::new(none, Arc::new(MemoryHostKeys::new())).unwrap_err();
    assert!(err.to_string().contains("encrypted"), "{err}");

    let mut missing = config(&key);
    missing.key_path = key.path.with_extension("nope");
    assert!(matches!(
        SshConnector::new(missing, Arc::new(MemoryHostKeys::new())),
        Err(RemoteError::Key { .. })
    ));
    // Debug never shows the passphrase.
    assert!(!format!("{:?}", config(&key)).contains("correct horse"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_keys_work() {
    let key = ClientKey::rsa();
    let host = SshdHost::start(&key);
    let s = root_session(&host, &key).await;
    assert_eq!(s.run(&script("echo rsa")).await.unwrap().stdout, "rsa\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trusted_key_type_is_negotiated_on_a_host_with_two_keys() {
    let key = ClientKey::ed25519();
    // A second host key, RSA (any ssh-keygen pair will do).
    let rsa_host_key = ClientKey::rsa();
    let extra = format!("HostKey {}", rsa_host_key.path.display());
    let host = SshdHost::start_with(&[&key], &[&extra]);
    let rsa_public: String = rsa_host_key
        .public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");

    // known_hosts lists only the RSA key: the handshake must ask for it (not ed25519).
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    write_known_hosts(&kh, &[format!("[{}]:{} {rsa_public}", host.ip, host.port)]);
    let mut cfg = config(&key);
    cfg.known_hosts = Some(kh);
    let conn = SshConnector::new(cfg, Arc::new(MemoryHostKeys::new())).unwrap();
    let s = conn.connect(&target(&host, "root")).await.unwrap();
    assert_eq!(s.run(&script("echo ok")).await.unwrap().stdout, "ok\n");

    // Pinned RSA key: the same.
    let pins = Arc::new(MemoryHostKeys::new());
    pins.pin(&target(&host, "root").pin_id(), &rsa_public)
        .unwrap();
    let conn = SshConnector::new(config(&key), pins.clone()).unwrap();
    let s = conn.connect(&target(&host, "root")).await.unwrap();
    assert_eq!(s.first_contact(), None);

    // Nothing pinned: ed25519 is preferred and pinned.
    let (conn, _) = connector(&key);
    let s = conn.connect(&target(&host, "root")).await.unwrap();
    assert_eq!(s.first_contact(), Some(host.host_key_fingerprint()));
}
