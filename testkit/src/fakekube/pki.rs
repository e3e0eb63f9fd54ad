//! The PKI of a fake API server that speaks TLS like kubeadm's: a CA of its own, a serving
//! certificate for the address it listens on, and client certificates whose subject is the
//! user (CN) and its groups (O), as kube-apiserver's x509 authenticator reads them.
//!
//! kube-apiserver asks for a client certificate without requiring one (requests may carry a
//! bearer token instead) and verifies the one given in the HTTP layer: a certificate it does
//! not trust makes the request 401 Unauthorized, not a failed handshake. The fake does the
//! same: TLS only checks that the client holds the key of the certificate it shows, and the
//! request is authenticated when that certificate is one this CA issued (only the fake holds
//! the CA key, so "issued here" is "signed by the CA").

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use base64::Engine as _;
use std::sync::{Arc, Mutex, PoisonError};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// The user kubeadm's `admin.conf` authenticates as.
pub const ADMIN_USER: &str = "kubernetes-admin";
/// The group kubeadm (1.29+) puts it in, bound to `cluster-admin`.
pub const ADMIN_GROUP: &str = "kubeadm:cluster-admins";

/// Who a client certificate says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The subject's CN.
    pub user: String,
    /// The subject's O entries.
    pub groups: Vec<String>,
}

/// A client certificate and its key, PEM.
#[derive(Clone)]
pub struct ClientCert {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (PKCS#8).
    pub key_pem: String,
}

/// A fake API server's CA, serving certificate and the client certificates it issued.
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    serving: (CertificateDer<'static>, PrivatePkcs8KeyDer<'static>),
    issued: Mutex<HashMap<Vec<u8>, Identity>>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").finish_non_exhaustive()
    }
}

fn ca(cn: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn client_params(user: &str, groups: &[&str]) -> CertificateParams {
    let mut params = CertificateParams::default();
    for g in groups {
        params.distinguished_name.push(DnType::OrganizationName, *g);
    }
    params.distinguished_name.push(DnType::CommonName, user);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params
}

impl Pki {
    /// A CA named like kubeadm's (`kubernetes`) and a serving certificate for `ip` (and
    /// kubeadm's `kubernetes` DNS names).
    pub fn new(ip: IpAddr) -> Pki {
        Pki::for_addresses(&[ip])
    }

    /// [`Pki::new`] with a serving certificate for every address of `ips`.
    pub fn for_addresses(ips: &[IpAddr]) -> Pki {
        let ca = ca("kubernetes");
        let names: Vec<String> = ips
            .iter()
            .map(ToString::to_string)
            .chain(["kubernetes", "kubernetes.default", "kubernetes.default.svc"].map(String::from))
            .collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca).unwrap();
        let key = PrivatePkcs8KeyDer::from(key.serialize_der());
        Pki {
            ca,
            serving: (cert.der().clone(), key),
            issued: Mutex::new(HashMap::new()),
        }
    }

    /// The CA certificate, PEM (what `certificate-authority-data` holds).
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// Issues a client certificate for `user` in `groups`, which this server then accepts.
    pub fn issue(&self, user: &str, groups: &[&str]) -> ClientCert {
        let key = KeyPair::generate().unwrap();
        let cert = client_params(user, groups)
            .signed_by(&key, &self.ca)
            .unwrap();
        self.issued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                cert.der().to_vec(),
                Identity {
                    user: user.into(),
                    groups: groups.iter().map(ToString::to_string).collect(),
                },
            );
        ClientCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A client certificate for `user` signed by another CA: what this server refuses.
    pub fn foreign(user: &str, groups: &[&str]) -> ClientCert {
        let other = ca("another-ca");
        let key = KeyPair::generate().unwrap();
        let cert = client_params(user, groups).signed_by(&key, &other).unwrap();
        ClientCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A kubeconfig shaped like kubeadm's `admin.conf` (`kubeadm init`'s
    /// `phases/kubeconfig`): this CA and `client`'s certificate and key as base64 data, the
    /// API server at `server`.
    pub fn admin_conf(&self, server: SocketAddr, client: &ClientCert) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        format!(
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: https://{server}\n  \
             name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: {ADMIN_USER}\n  \
             name: {ADMIN_USER}@kubernetes\ncurrent-context: {ADMIN_USER}@kubernetes\nkind: Config\n\
             users:\n- name: {ADMIN_USER}\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n",
            ca = b64(&self.ca_pem()),
            cert = b64(&client.cert_pem),
            key = b64(&client.key_pem),
        )
    }

    /// A kubeconfig like [`Pki::admin_conf`] whose user presents the bearer `token` (a
    /// service-account token) instead of a client certificate.
    pub fn token_conf(&self, server: SocketAddr, token: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        format!(
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: https://{server}\n  \
             name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: token-user\n  \
             name: token-user@kubernetes\ncurrent-context: token-user@kubernetes\nkind: Config\n\
             users:\n- name: token-user\n  user:\n    token: {token}\n",
            ca = b64(&self.ca_pem()),
        )
    }

    /// Who the client certificate `der` authenticates, if this CA issued it.
    pub fn identity(&self, der: &[u8]) -> Option<Identity> {
        self.issued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(der)
            .cloned()
    }

    /// The server's TLS config: the serving certificate, client certificates asked for.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = Arc::new(RequestClientCert {
            algs: provider.signature_verification_algorithms,
        });
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![self.serving.0.clone()],
                PrivateKeyDer::Pkcs8(self.serving.1.clone_key()),
            )
            .unwrap();
        Arc::new(config)
    }
}

/// Go's `tls.RequestClientCert`: asks for a certificate, takes any (the HTTP layer decides),
/// but the client must prove it holds the certificate's key.
#[derive(Debug)]
struct RequestClientCert {
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for RequestClientCert {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
