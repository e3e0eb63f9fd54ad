//! What builders work with: the validated [`Args`] of one command line, from which each
//! command's builder (in `family/`) takes its typed values to make a [`Command`].
//!
//! Builders only move values; every check happened in the parser. A key a builder asks for
//! that the spec does not provide is a bug in the table, reported as an internal error (and
//! caught by the tests that parse every spec).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::ParseError;
use super::types::{Cidr, Command, GeScope, K8sMinor, Name, SilenceTarget, UserName, Version};
use super::value::Value;

/// The validated arguments of one command line, keyed by positional key, option key or flag.
#[derive(Debug, Default)]
pub(crate) struct Args {
    path: &'static str,
    values: Vec<(&'static str, Value)>,
    flags: Vec<&'static str>,
    /// A GE's own `name=value` parameters (specs with `ge_params`).
    ge_params: BTreeMap<String, String>,
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
    UserName => User, u64 => Int, String => Text, SilenceTarget => Target,
    crate::names::Cpu => Cpu, crate::names::Memory => Memory
);

impl FromValue for u32 {
    fn from_value(value: Value) -> Option<Self> {
        u64::from_value(value).and_then(|n| u32::try_from(n).ok())
    }
}

impl FromValue for u8 {
    fn from_value(value: Value) -> Option<Self> {
        u64::from_value(value).and_then(|n| u8::try_from(n).ok())
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

    /// Adds a GE parameter; `false` if it was already given.
    pub(crate) fn push_ge_param(&mut self, name: &str, value: &str) -> bool {
        self.ge_params
            .insert(name.to_string(), value.to_string())
            .is_none()
    }

    /// The GE parameters given, by name.
    pub(crate) fn take_ge_params(&mut self) -> BTreeMap<String, String> {
        std::mem::take(&mut self.ge_params)
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
    pub(crate) fn scope(&mut self) -> Result<GeScope, ParseError> {
        Ok(GeScope {
            ns: self.opt("ns")?,
            cluster: self.opt("cluster")?,
        })
    }
}

/// What a builder returns.
pub(crate) type Built = Result<Command, ParseError>;
