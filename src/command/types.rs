//! The typed result of parsing: every command of the grammar with validated arguments.
//! Nothing here is raw user text: names, versions, addresses and numbers have been checked
//! against their accepted forms, so later stages may put them in messages, keys and (quoted)
//! shell environment variables.

use std::net::IpAddr;

/// A DNS-1123 label: 1-63 chars of `[a-z0-9-]`, starting and ending alphanumeric.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(pub(crate) String);

/// An image tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version(pub(crate) String);

/// A Kubernetes minor version such as `1.31`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct K8sMinor(pub(crate) String);

/// An IPv4 or IPv6 CIDR such as `10.244.0.0/16`, with the prefix length in range.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cidr(pub(crate) String);

/// A POSIX user name for SSH: `[a-z_][a-z0-9_-]{0,31}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserName(pub(crate) String);

macro_rules! text_newtype {
    ($($t:ident),*) => {$(
        impl $t {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
text_newtype!(Name, Version, K8sMinor, Cidr, UserName);

/// Arguments shared by `/cluster create` and `/cluster plan`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterArgs {
    /// Control plane first, then workers; no duplicates; at least one.
    pub hosts: Vec<IpAddr>,
    /// `name=`.
    pub name: Option<Name>,
    /// `user=`.
    pub user: Option<UserName>,
    /// `port=` (1-65535).
    pub port: Option<u16>,
    /// `k8s=`.
    pub k8s: Option<K8sMinor>,
    /// `pod-cidr=`.
    pub pod_cidr: Option<Cidr>,
    /// `dry-run` flag (create only; plan is always dry).
    pub dry_run: bool,
}

/// The `ns=` / `cluster=` scope every GE command may carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GeScope {
    /// `ns=`; `None` means the room's default namespace.
    pub ns: Option<Name>,
    /// `cluster=`; `None` means the room's current cluster.
    pub cluster: Option<Name>,
}

/// Every command of the grammar (DESIGN.md section 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `/help [command words]`: `topic` is the command path asked about, e.g. `["ge", "install"]`.
    Help {
        /// Empty for the overview.
        topic: Vec<String>,
    },
    /// `/cluster create <ip>... [options] [dry-run]`.
    ClusterCreate(ClusterArgs),
    /// `/cluster plan <ip>... [options]`.
    ClusterPlan(ClusterArgs),
    /// `/cluster list`.
    ClusterList,
    /// `/cluster status [name]`.
    ClusterStatus {
        /// `None`: the room's current cluster.
        name: Option<Name>,
    },
    /// `/cluster use <name>`.
    ClusterUse {
        /// Cluster to make the room's current one.
        name: Name,
    },
    /// `/cluster delete <name> [confirm=CODE]`.
    ClusterDelete {
        /// Cluster to delete.
        name: Name,
        /// Confirmation code the bot handed out (`[a-z0-9]{4,16}`); a secret in the audit.
        confirm: Option<String>,
    },
    /// `/ge catalog`.
    GeCatalog,
    /// `/ge install <ge> [ns=] [version=] [replicas=] [cluster=] [expose=nodeport]`.
    GeInstall {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
        /// `version=`.
        version: Option<Version>,
        /// `replicas=` (0-20).
        replicas: Option<u32>,
        /// `expose=nodeport`.
        expose_nodeport: bool,
    },
    /// `/ge upgrade <ge> version=TAG [ns=] [cluster=]`.
    GeUpgrade {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
        /// Required `version=`.
        version: Version,
    },
    /// `/ge scale <ge> replicas=N [ns=] [cluster=]`.
    GeScale {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
        /// Required `replicas=` (0-20).
        replicas: u32,
    },
    /// `/ge status <ge> [ns=] [cluster=]`.
    GeStatus {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
    },
    /// `/ge list [ns=] [cluster=]`.
    GeList {
        /// Namespace and cluster.
        scope: GeScope,
    },
    /// `/ge history <ge> [ns=] [cluster=]`.
    GeHistory {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
    },
    /// `/ge uninstall <ge> [ns=] [cluster=] [purge]`.
    GeUninstall {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
        /// Also delete persistent volume claims.
        purge: bool,
    },
    /// `/rollback <ge> [ns=] [cluster=] [to=REVISION]`, also `/ge rollback ...`.
    Rollback {
        /// Catalogue name.
        ge: Name,
        /// Namespace and cluster.
        scope: GeScope,
        /// `to=` revision number (1-1000000).
        to: Option<u32>,
    },
    /// `/jobs [all]`.
    Jobs {
        /// Include finished jobs.
        all: bool,
    },
    /// `/job <id>`.
    Job {
        /// Job number (`42` or `#42`).
        id: u64,
    },
    /// `/cancel <id>`.
    Cancel {
        /// Job number (`42` or `#42`).
        id: u64,
    },
    /// `/whoami`.
    Whoami,
    /// `/audit [N]` (1-100, default 20).
    Audit {
        /// How many entries.
        n: Option<u32>,
    },
    /// `/host forget <ip>`: allow a host's SSH key to be pinned again.
    HostForget {
        /// The host.
        ip: IpAddr,
    },
    /// `/selftest [steps=N] [ms=M]`: a job that touches nothing remote (steps 1-50, default 3;
    /// ms 0-60000, default 1000).
    Selftest {
        /// Number of steps.
        steps: u32,
        /// Milliseconds per step.
        step_ms: u64,
    },
}

// ---------------------------------------------------------------------------------------------
// Validating constructors and (de)serialisation. Added with the grammar: the validators live in
// `value.rs`, so a newtype built here accepts exactly what the command parser accepts.

impl Name {
    /// Validates a DNS-1123 label (1-63 chars of `[a-z0-9-]`, starting and ending alphanumeric).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        super::value::label(text)
            .ok()
            .map(|()| Self(text.to_owned()))
    }
}

impl Version {
    /// Validates an image tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        super::value::tag(text).ok().map(|()| Self(text.to_owned()))
    }
}

impl K8sMinor {
    /// Validates a Kubernetes minor version `1.24` to `1.99`.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        super::value::k8s_minor(text)
            .ok()
            .map(|()| Self(text.to_owned()))
    }
}

impl Cidr {
    /// Validates a network (IPv4 prefix 8-28, IPv6 prefix 48-120, host bits zero) and stores
    /// it in canonical form (`fd00:0::/64` becomes `fd00::/64`).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        super::value::cidr(text).ok().map(Self)
    }
}

impl UserName {
    /// Validates a POSIX user name (`[a-z_][a-z0-9_-]{0,31}`).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        super::value::user(text)
            .ok()
            .map(|()| Self(text.to_owned()))
    }
}

/// Serialises a text newtype as its string and deserialises it through its validator, so a
/// stored or configured value can never hold what the parser would refuse.
macro_rules! serde_text_newtype {
    ($($t:ident: $what:literal),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{} is not {}",
                        super::escape::quoted(&text),
                        $what
                    ))
                })
            }
        }
    )*};
}
serde_text_newtype!(
    Name: "a DNS label (1-63 of a-z, 0-9 and '-', starting and ending with a letter or digit)",
    Version: "an image tag",
    K8sMinor: "a Kubernetes minor version from 1.24 to 1.99",
    Cidr: "a network with an accepted prefix length and zero host bits",
    UserName: "a user name ([a-z_][a-z0-9_-]{0,31})"
);
