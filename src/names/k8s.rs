//! Kubernetes minor versions ([`K8sMinor`]): what `k8s=` and `[cluster] k8s` take, and the one
//! table of the minors labkube installs ([`SUPPORTED`]).

use super::{Check, is_digits};

/// A Kubernetes minor labkube installs, with what upstream says of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Minor {
    /// `1.35`.
    pub version: &'static str,
    /// Upstream end of life (kubernetes.io/releases/<minor>), `YYYY-MM-DD`.
    pub end_of_life: &'static str,
    /// The oldest containerd of each release series containerd recommends for this minor
    /// (containerd `RELEASES.md`, "Kubernetes Support"), newest series first. The
    /// install_containerd step refuses a containerd below them (`CONTAINERD_MINIMUMS`).
    pub containerd: &'static [&'static str],
}

/// The minors upstream still supported when this labkube was released, oldest first
/// (kubernetes.io/releases, read 2026-12-05: 1.34 ended 2026-10-27; 1.38 is not released).
/// The containerd minimums are containerd's `RELEASES.md` at 301026e (2026-08-22), which lists
/// 1.35 and 1.36; it does not list 1.37 yet, so 1.37 keeps 1.36's (2.3.0+, 2.2.0+) until it
/// does.
/// A minor leaves this table when it reaches its end of life, and a new one joins it only once
/// pkgs.k8s.io serves it and the step scripts have run against it.
pub const SUPPORTED: [Minor; 3] = [
    Minor {
        version: "1.35",
        end_of_life: "2027-02-28",
        containerd: &["2.2.0", "2.1.5", "1.7.28"],
    },
    Minor {
        version: "1.36",
        end_of_life: "2027-06-28",
        containerd: &["2.3.0", "2.2.0"],
    },
    Minor {
        version: "1.37",
        end_of_life: "2027-10-28",
        containerd: &["2.3.0", "2.2.0"],
    },
];

/// The minor `/cluster create` installs when neither `k8s=` nor `[cluster] k8s` says.
pub const DEFAULT_MINOR: &str = SUPPORTED[0].version;

/// The supported minors as the rule's form lists them: `1.35, 1.36 or 1.37`.
pub(super) fn supported_list() -> String {
    let all: Vec<&str> = SUPPORTED.iter().map(|m| m.version).collect();
    match all.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => all.join(""),
    }
}

/// A Kubernetes minor version upstream still supports ([`SUPPORTED`]), such as `1.35`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct K8sMinor(String);

super::text_newtype!(K8sMinor => K8sMinor, minor);

impl K8sMinor {
    /// Upstream's end-of-life date of this minor (`YYYY-MM-DD`).
    pub fn end_of_life(&self) -> &'static str {
        SUPPORTED
            .iter()
            .find(|m| m.version == self.0)
            .map_or("", |m| m.end_of_life)
    }

    /// The containerd minimums of minor `version` ([`Minor::containerd`]), space-separated as
    /// the install_containerd step takes them (`2.2.0 2.1.5 1.7.28`); empty for a minor not in
    /// [`SUPPORTED`].
    pub fn containerd_minimums(version: &str) -> String {
        SUPPORTED
            .iter()
            .find(|m| m.version == version)
            .map_or_else(String::new, |m| m.containerd.join(" "))
    }
}

/// Why a cluster at minor `from` cannot go to minor `to` in one upgrade, or `Ok` when `to` is
/// the next minor. kubeadm's rule: "Skipping MINOR versions when upgrading is unsupported", and
/// no downgrade; a longer way is named step by step (`1.35 → 1.36 → 1.37`).
///
/// # Errors
/// The reason, naming both minors and, for a skip, the way to take.
pub fn upgrade_step(from: &str, to: &str) -> Result<(), String> {
    let (f, t) = (minor_number(from), minor_number(to));
    if t == f {
        return Err(format!("it already runs Kubernetes {to}"));
    }
    if t < f {
        return Err(format!(
            "it runs Kubernetes {from}, and kubeadm only goes up: a downgrade to {to} is not possible (create a new cluster with k8s={to} instead)"
        ));
    }
    if t > f + 1 {
        let way: Vec<String> = (f..=t).map(|m| format!("1.{m}")).collect();
        return Err(format!(
            "it runs Kubernetes {from}, and kubeadm moves one minor at a time (skipping one is unsupported): take {}, starting with k8s=1.{}",
            way.join(" → "),
            f + 1
        ));
    }
    Ok(())
}

/// The Kubernetes minor of a version (`v1.35.5` → `1.35`, `1.36.0` → `1.36`), if it has one.
pub fn minor_of_version(version: &str) -> Option<String> {
    let v = version.strip_prefix('v').unwrap_or(version);
    let mut parts = v.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    (super::is_digits(major) && super::is_digits(minor)).then(|| format!("{major}.{minor}"))
}

/// The minor after `version` (`1.35` → `1.36`), if labkube installs it ([`SUPPORTED`]).
pub fn next_minor(version: &str) -> Option<&'static str> {
    let next = minor_number(version) + 1;
    SUPPORTED
        .iter()
        .find(|m| minor_number(m.version) == next)
        .map(|m| m.version)
}

/// `35` of `1.35` (also of `v1.35.5`); 0 when malformed.
pub fn minor_number(version: &str) -> u32 {
    version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or_default()
}

fn minor(s: &str) -> Check<()> {
    if let Some(rest) = s.strip_prefix(['v', 'V'])
        && minor(rest).is_ok()
    {
        return Err(Some(format!("write it without the v: {rest}")));
    }
    let mut parts = s.split('.');
    let (major, minor) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !is_digits(major) || !is_digits(minor) || minor.len() > 2 {
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
    let n: u32 = minor.parse().map_err(|_| None)?;
    let wanted = format!("1.{n}");
    if SUPPORTED.iter().any(|m| m.version == s) {
        return Ok(());
    }
    let (oldest, newest) = (SUPPORTED[0], SUPPORTED[SUPPORTED.len() - 1]);
    if n < minor_number(oldest.version) {
        Err(Some(format!(
            "{wanted} is past its end of life upstream, so no longer installed; the oldest \
             supported minor is {}",
            oldest.version
        )))
    } else {
        Err(Some(format!(
            "{wanted} is newer than this labkube knows; the newest minor it installs is {}",
            newest.version
        )))
    }
}
