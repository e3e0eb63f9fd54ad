//! Kubernetes minor versions ([`K8sMinor`]): what `k8s=` and `[cluster] k8s` take.

use super::{Check, is_digits};

/// A Kubernetes minor version from `1.24` to `1.99`, such as `1.31`: the releases pkgs.k8s.io
/// serves (1.24 is the oldest).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct K8sMinor(String);

super::text_newtype!(K8sMinor => K8sMinor, minor);

fn minor(s: &str) -> Check<()> {
    if let Some(rest) = s.strip_prefix(['v', 'V'])
        && minor(rest).is_ok()
    {
        return Err(Some(format!("write it without the v: {rest}")));
    }
    let mut parts = s.split('.');
    let (major, minor) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !is_digits(major) || !is_digits(minor) {
        return Err(None);
    }
    if parts.next().is_some() {
        return Err(Some(format!(
            "give only the minor version, such as {major}.{minor}"
        )));
    }
    if major != "1" {
        return Err(Some("the major version must be 1".into()));
    }
    match minor.parse::<u32>() {
        Ok(n) if minor.len() == 2 && (24..=99).contains(&n) => Ok(()),
        Ok(n) if n < 24 => Err(Some(format!(
            "1.{n} is older than the oldest supported version, 1.24"
        ))),
        _ => Err(None),
    }
}
