//! Builders: one function per spec, turning validated [`Args`] into a typed [`Command`].
//!
//! Builders only move values; every check happened in the parser. A key a builder asks for
//! that the spec does not provide is a bug in the table, reported as an internal error (and
//! caught by the tests that parse every spec).

use std::net::IpAddr;

use super::ParseError;
use super::help::check_topic;
use super::types::{Cidr, ClusterArgs, Command, GeScope, K8sMinor, Name, UserName, Version};
use super::value::Value;

/// The validated arguments of one command line, keyed by positional key, option key or flag.
#[derive(Debug, Default)]
pub(crate) struct Args {
    path: &'static str,
    values: Vec<(&'static str, Value)>,
    flags: Vec<&'static str>,
}

/// A typed value a builder can ask [`Args`] for.
pub(crate) trait FromValue: Sized {
    /// `None` when the value is of another kind (a table bug).
    fn from_value(value: Value) -> Option<Self>;
}

macro_rules! from_value {
    ($($t:ty => $variant:ident),*) => {$(
        impl FromValue for $t {
            fn from_value(value: Value) -> Option<Self> {
                match value {
                    Value::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    )*};
}
from_value!(
    IpAddr => Ip, Name => Name, Version => Version, K8sMinor => K8sMinor, Cidr => Cidr,
    UserName => User, u64 => Int, String => Text
);

impl FromValue for u32 {
    fn from_value(value: Value) -> Option<Self> {
        u64::from_value(value).and_then(|n| u32::try_from(n).ok())
    }
}

impl FromValue for u16 {
    fn from_value(value: Value) -> Option<Self> {
        u64::from_value(value).and_then(|n| u16::try_from(n).ok())
    }
}

impl Args {
    /// Empty arguments for the command typed as `path`.
    pub(crate) fn new(path: &'static str) -> Self {
        Self {
            path,
            ..Self::default()
        }
    }

    /// Adds a value under `key` (repeated positionals add several).
    pub(crate) fn push(&mut self, key: &'static str, value: Value) {
        self.values.push((key, value));
    }

    /// Whether a value is stored under `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.values.iter().any(|(k, _)| *k == key)
    }

    /// The values stored under `key`, in order.
    pub(crate) fn values(&self, key: &str) -> impl Iterator<Item = &Value> {
        self.values
            .iter()
            .filter(move |(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// Sets a flag.
    pub(crate) fn set_flag(&mut self, word: &'static str) {
        self.flags.push(word);
    }

    /// Whether the flag was given.
    pub(crate) fn flag(&self, word: &str) -> bool {
        self.flags.contains(&word)
    }

    /// Every value under `key`, converted; removes them.
    pub(crate) fn many<T: FromValue>(&mut self, key: &str) -> Result<Vec<T>, ParseError> {
        let (taken, kept) = std::mem::take(&mut self.values)
            .into_iter()
            .partition(|(k, _)| *k == key);
        self.values = kept;
        let taken: Vec<(&str, Value)> = taken;
        taken
            .into_iter()
            .map(|(_, v)| T::from_value(v).ok_or_else(|| self.mismatch(key)))
            .collect()
    }

    /// The single value under `key`, if given.
    pub(crate) fn opt<T: FromValue>(&mut self, key: &str) -> Result<Option<T>, ParseError> {
        let mut all = self.many(key)?;
        match all.len() {
            0 | 1 => Ok(all.pop()),
            _ => Err(ParseError::internal(
                self.path,
                &format!("several values for {key}"),
            )),
        }
    }

    /// The single value under `key`, which the spec makes required or gives a default.
    pub(crate) fn one<T: FromValue>(&mut self, key: &str) -> Result<T, ParseError> {
        self.opt(key)?
            .ok_or_else(|| ParseError::internal(self.path, &format!("no value for {key}")))
    }

    fn mismatch(&self, key: &str) -> ParseError {
        ParseError::internal(
            self.path,
            &format!("the value of {key} has an unexpected type"),
        )
    }

    /// The `ns=` / `cluster=` scope of GE commands.
    fn scope(&mut self) -> Result<GeScope, ParseError> {
        Ok(GeScope {
            ns: self.opt("ns")?,
            cluster: self.opt("cluster")?,
        })
    }
}

type Built = Result<Command, ParseError>;

pub(crate) fn help(a: &mut Args) -> Built {
    let topic: Vec<String> = a.many("topic")?;
    check_topic(&topic)?;
    Ok(Command::Help { topic })
}

fn cluster_args(a: &mut Args, dry_run: bool) -> Result<ClusterArgs, ParseError> {
    Ok(ClusterArgs {
        hosts: a.many("ip")?,
        name: a.opt("name")?,
        user: a.opt("user")?,
        port: a.opt("port")?,
        k8s: a.opt("k8s")?,
        pod_cidr: a.opt("pod-cidr")?,
        dry_run,
    })
}

pub(crate) fn cluster_create(a: &mut Args) -> Built {
    let dry_run = a.flag("dry-run");
    Ok(Command::ClusterCreate(cluster_args(a, dry_run)?))
}

/// A plan never changes the hosts, so its `dry_run` is always true.
pub(crate) fn cluster_plan(a: &mut Args) -> Built {
    Ok(Command::ClusterPlan(cluster_args(a, true)?))
}

pub(crate) fn cluster_list(_: &mut Args) -> Built {
    Ok(Command::ClusterList)
}

pub(crate) fn cluster_status(a: &mut Args) -> Built {
    Ok(Command::ClusterStatus {
        name: a.opt("name")?,
    })
}

pub(crate) fn cluster_use(a: &mut Args) -> Built {
    Ok(Command::ClusterUse {
        name: a.one("name")?,
    })
}

pub(crate) fn cluster_delete(a: &mut Args) -> Built {
    Ok(Command::ClusterDelete {
        name: a.one("name")?,
        confirm: a.opt("confirm")?,
    })
}

pub(crate) fn ge_catalog(_: &mut Args) -> Built {
    Ok(Command::GeCatalog)
}

pub(crate) fn ge_install(a: &mut Args) -> Built {
    Ok(Command::GeInstall {
        ge: a.one("ge")?,
        scope: a.scope()?,
        version: a.opt("version")?,
        replicas: a.opt("replicas")?,
        expose_nodeport: a.opt::<String>("expose")?.is_some(),
    })
}

pub(crate) fn ge_upgrade(a: &mut Args) -> Built {
    Ok(Command::GeUpgrade {
        ge: a.one("ge")?,
        scope: a.scope()?,
        version: a.one("version")?,
    })
}

pub(crate) fn ge_scale(a: &mut Args) -> Built {
    Ok(Command::GeScale {
        ge: a.one("ge")?,
        scope: a.scope()?,
        replicas: a.one("replicas")?,
    })
}

pub(crate) fn ge_status(a: &mut Args) -> Built {
    Ok(Command::GeStatus {
        ge: a.one("ge")?,
        scope: a.scope()?,
    })
}

pub(crate) fn ge_list(a: &mut Args) -> Built {
    Ok(Command::GeList { scope: a.scope()? })
}

pub(crate) fn ge_history(a: &mut Args) -> Built {
    Ok(Command::GeHistory {
        ge: a.one("ge")?,
        scope: a.scope()?,
    })
}

pub(crate) fn ge_uninstall(a: &mut Args) -> Built {
    let purge = a.flag("purge");
    Ok(Command::GeUninstall {
        ge: a.one("ge")?,
        scope: a.scope()?,
        purge,
    })
}

pub(crate) fn rollback(a: &mut Args) -> Built {
    Ok(Command::Rollback {
        ge: a.one("ge")?,
        scope: a.scope()?,
        to: a.opt("to")?,
    })
}

pub(crate) fn jobs(a: &mut Args) -> Built {
    Ok(Command::Jobs { all: a.flag("all") })
}

pub(crate) fn job(a: &mut Args) -> Built {
    Ok(Command::Job { id: a.one("id")? })
}

pub(crate) fn cancel(a: &mut Args) -> Built {
    Ok(Command::Cancel { id: a.one("id")? })
}

pub(crate) fn whoami(_: &mut Args) -> Built {
    Ok(Command::Whoami)
}

pub(crate) fn audit(a: &mut Args) -> Built {
    Ok(Command::Audit { n: a.opt("n")? })
}

pub(crate) fn host_forget(a: &mut Args) -> Built {
    Ok(Command::HostForget { ip: a.one("ip")? })
}

pub(crate) fn selftest(a: &mut Args) -> Built {
    Ok(Command::Selftest {
        steps: a.one("steps")?,
        step_ms: a.one("ms")?,
    })
}
