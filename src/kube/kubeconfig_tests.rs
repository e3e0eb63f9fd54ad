//! The sanitiser of created clusters' kubeconfigs: what is kept, what is refused (naming the
//! field, never quoting the file), and the store round trip.

use super::*;

/// A self-signed test certificate and its key (test data only).
const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBczCCARmgAwIBAgIUEriyHcq4819QQ3ElWAWD9ifHDDIwCgYIKoZIzj0EAwIw\nDzENMAsGA1UEAwwEdGVzdDAeFw0yNjEyMDYwNTIxNDlaFw0zNjEyMDMwNTIxNDla\nMA8xDTALBgNVBAMMBHRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASWN/Qq\n3Q9T+lfEykUSPJu9VXlbDQm7GZFlOK0ADSQacnZ4n9NJwtb7e0L35sXOVklBK395\nnm3wpNigcLqkE+VEo1MwUTAdBgNVHQ4EFgQUo6jh6PT8TLPDTulZPT/mk3+Ew0sw\nHwYDVR0jBBgwFoAUo6jh6PT8TLPDTulZPT/mk3+Ew0swDwYDVR0TAQH/BAUwAwEB\n/zAKBggqhkjOPQQDAgNIADBFAiBZuNjn5b9sxW7xiHRfnquTB7ZbZQWcFtsQfOU+\nXsR2BwIhAIf9ggD5N0uYDTAj24vghR7F3NWrLhA1OEnjEgBgO9tB\n-----END CERTIFICATE-----\n";
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgxt6rYmtth3uELqgi\nHJTVQ2+7rJ+fwC6DVUkuMQu1IjahRANCAASWN/Qq3Q9T+lfEykUSPJu9VXlbDQm7\nGZFlOK0ADSQacnZ4n9NJwtb7e0L35sXOVklBK395nm3wpNigcLqkE+VE\n-----END PRIVATE KEY-----\n";
const SECRET: &str = "s3cr3t-token-value";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// kubeadm's admin.conf shape, with `user_extra` added to the user and `cluster_extra` to
/// the cluster (each a YAML line at that indent, or empty).
fn admin_conf(cluster_extra: &str, user_extra: &str) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: https://10.9.9.9:6443\n{cluster_extra}  name: kubernetes\n\
         contexts:\n- context:\n    cluster: kubernetes\n    user: kubernetes-admin\n  name: kubernetes-admin@kubernetes\n\
         current-context: kubernetes-admin@kubernetes\nkind: Config\nusers:\n- name: kubernetes-admin\n  user:\n\
         {user_extra}    client-certificate-data: {cert}\n    client-key-data: {key}\n",
        ca = b64(CERT),
        cert = b64(CERT),
        key = b64(KEY),
    )
}

fn cp() -> IpAddr {
    "10.0.0.1".parse().unwrap()
}

#[test]
fn kubeadm_s_admin_conf_keeps_its_ca_cert_and_key_and_the_typed_server() {
    let creds = ClusterCredentials::from_kubeconfig(&admin_conf("", ""), cp()).unwrap();
    assert_eq!(creds.ca_pem, CERT);
    assert_eq!(creds.cert_pem, CERT);
    assert_eq!(creds.key_pem, KEY);
    // The file said 10.9.9.9: the server is the address the user typed.
    assert_eq!(creds.server_url(), "https://10.0.0.1:6443");
    let v6 = ClusterCredentials::from_kubeconfig(&admin_conf("", ""), "fd00::1".parse().unwrap())
        .unwrap();
    assert_eq!(v6.server_url(), "https://[fd00::1]:6443");
    let mapped = ClusterCredentials::from_kubeconfig(
        &admin_conf("", ""),
        "::ffff:10.0.0.1".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(mapped.server_url(), "https://10.0.0.1:6443");
    assert!(!format!("{creds:?}").contains("PRIVATE KEY"));
    let config = creds.client_config().unwrap();
    assert_eq!(config.cluster_url.to_string(), "https://10.0.0.1:6443/");
    assert_eq!(config.root_cert.as_ref().map(Vec::len), Some(1));
    assert!(config.auth_info.exec.is_none() && config.auth_info.token.is_none());
    assert!(config.auth_info.client_certificate_data.is_some());
}

#[test]
fn what_runs_reads_files_or_sends_secrets_is_refused_by_field() {
    let exec = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [-c, \"touch /tmp/x\"]\n";
    let cases: Vec<(String, &str)> = vec![
        (admin_conf("", exec), "users[0].user.exec"),
        (
            admin_conf(
                "",
                "    auth-provider:\n      name: gcp\n      config:\n        cmd-path: /bin/sh\n",
            ),
            "users[0].user.auth-provider",
        ),
        (
            admin_conf("", &format!("    token: {SECRET}\n")),
            "users[0].user.token",
        ),
        (
            admin_conf("", "    tokenFile: /etc/labkube/telegram.token\n"),
            "users[0].user.tokenFile",
        ),
        (
            admin_conf("", "    username: admin\n"),
            "users[0].user.username",
        ),
        (
            admin_conf("", &format!("    password: {SECRET}\n")),
            "users[0].user.password",
        ),
        (
            admin_conf("", "    client-key: /root/.ssh/id_ed25519\n"),
            "users[0].user.client-key",
        ),
        (
            admin_conf("", "    client-certificate: /etc/x.crt\n"),
            "users[0].user.client-certificate",
        ),
        (admin_conf("", "    as: system:admin\n"), "users[0].user.as"),
        (
            admin_conf("    insecure-skip-tls-verify: true\n", ""),
            "clusters[0].cluster.insecure-skip-tls-verify",
        ),
        (
            admin_conf("    certificate-authority: /etc/ca.crt\n", ""),
            "clusters[0].cluster.certificate-authority",
        ),
        (
            admin_conf("    proxy-url: http://evil:3128\n", ""),
            "clusters[0].cluster.proxy-url",
        ),
    ];
    for (text, field) in cases {
        let err = ClusterCredentials::from_kubeconfig(&text, cp()).unwrap_err();
        let shown = err.to_string();
        assert!(
            matches!(&err, KubeconfigError::Forbidden { field: f, .. } if f == field),
            "{field}: {shown}"
        );
        assert!(shown.contains(field), "{shown}");
        for leak in [
            SECRET,
            "/bin/sh",
            "telegram.token",
            "id_ed25519",
            "evil",
            "BEGIN",
        ] {
            assert!(!shown.contains(leak), "{shown} quotes the file");
        }
    }
}

#[test]
fn missing_bad_or_ambiguous_credentials_are_refused() {
    let no_key = admin_conf("", "").replace("    client-key-data:", "    x-client-key-data:");
    let err = ClusterCredentials::from_kubeconfig(&no_key, cp()).unwrap_err();
    assert!(matches!(err, KubeconfigError::Forbidden { .. }), "{err}");
    let cut = admin_conf("", "");
    let cut = &cut[..cut.find("    client-key-data").unwrap()];
    assert_eq!(
        ClusterCredentials::from_kubeconfig(cut, cp()).unwrap_err(),
        KubeconfigError::Missing("client-key-data")
    );
    let junk_ca = admin_conf("", "").replacen(&b64(CERT), &b64("not a certificate"), 1);
    let err = ClusterCredentials::from_kubeconfig(&junk_ca, cp()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "its clusters[0].cluster.certificate-authority-data is not a base64-encoded PEM certificate"
    );
    let key_as_cert = admin_conf("", "").replace(
        &format!("client-certificate-data: {}", b64(CERT)),
        &format!("client-certificate-data: {}", b64(KEY)),
    );
    assert!(ClusterCredentials::from_kubeconfig(&key_as_cert, cp()).is_err());
    let cert_as_key = admin_conf("", "").replace(&b64(KEY), &b64(CERT));
    assert!(
        ClusterCredentials::from_kubeconfig(&cert_as_key, cp())
            .unwrap_err()
            .to_string()
            .contains("client-key-data is not a base64-encoded PEM private key")
    );
    // Two users and no current context to pick one.
    let two = admin_conf("", "")
        .replace("current-context: kubernetes-admin@kubernetes\n", "")
        .replace("contexts:\n- context:\n    cluster: kubernetes\n    user: kubernetes-admin\n  name: kubernetes-admin@kubernetes\n", "");
    let two = format!(
        "{two}- name: other\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
        b64(CERT),
        b64(KEY)
    );
    assert_eq!(
        ClusterCredentials::from_kubeconfig(&two, cp()).unwrap_err(),
        KubeconfigError::Ambiguous {
            kind: "users",
            count: 2
        }
    );
    assert_eq!(
        ClusterCredentials::from_kubeconfig("clusters: [", cp()).unwrap_err(),
        KubeconfigError::Unparsable
    );
}

#[test]
fn the_store_keeps_the_typed_form_and_sanitises_an_old_raw_kubeconfig() {
    let creds = ClusterCredentials::from_kubeconfig(&admin_conf("", ""), cp()).unwrap();
    let stored = creds.to_store();
    assert!(!stored.contains("clusters:"));
    assert_eq!(
        ClusterCredentials::from_store(&stored, None).unwrap(),
        creds
    );
    // An earlier release's record: the host's YAML, sanitised with the registered address.
    let old = ClusterCredentials::from_store(&admin_conf("", ""), Some(cp())).unwrap();
    assert_eq!(old, creds);
    let exec = admin_conf(
        "",
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n",
    );
    assert!(matches!(
        ClusterCredentials::from_store(&exec, Some(cp())),
        Err(KubeconfigError::Forbidden { .. })
    ));
    assert_eq!(
        ClusterCredentials::from_store(&admin_conf("", ""), None).unwrap_err(),
        KubeconfigError::Missing("registered control plane")
    );
    // A typed record whose key was replaced by something else is refused too.
    let tampered = stored.replace("PRIVATE KEY", "CERTIFICATE");
    assert!(ClusterCredentials::from_store(&tampered, None).is_err());
}
