//! Which operating system a host runs, from its `/etc/os-release`, and which `commands/`
//! folders serve it.
//!
//! Detection follows os-release(5) and k0sctl: the `ID` decides when it is one we know;
//! otherwise each `ID_LIKE` entry is tried in order, so a derivative (Linux Mint, Pop!_OS, Oracle
//! Linux with `ID_LIKE="rhel"`…) gets its parent's scripts.

use std::fmt;

/// Distribution IDs served by the `debian/` scripts.
const DEBIAN_IDS: &[&str] = &["debian", "ubuntu"];
/// Distribution IDs served by the `rhel/` scripts.
const RHEL_IDS: &[&str] = &["rhel", "centos", "rocky", "almalinux"];

/// What a host's os-release says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsInfo {
    /// `ID`, lower case (`ubuntu`, `rocky`…); `linux` when the file has none, as os-release(5)
    /// specifies.
    pub id: String,
    /// `ID_LIKE`, lower case, in the file's order (closest relative first).
    pub id_like: Vec<String>,
    /// `VERSION_ID` (`24.04`, `9.4`), empty when absent (rolling releases).
    pub version_id: String,
    /// `PRETTY_NAME`, for messages (`Ubuntu 24.04.3 LTS`); falls back to `NAME`, then `Linux`.
    pub pretty_name: String,
}

/// The families the step scripts support; each has a folder in `commands/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OsFamily {
    /// Debian, Ubuntu and their derivatives: apt, `debian/` (and `ubuntu/` where it differs).
    Debian,
    /// RHEL and its rebuilds (Rocky, AlmaLinux, CentOS Stream): dnf, `rhel/`.
    Rhel,
}

impl OsFamily {
    /// The family's folder in `commands/`.
    pub fn folder(self) -> &'static str {
        match self {
            OsFamily::Debian => "debian",
            OsFamily::Rhel => "rhel",
        }
    }

    /// The family of a distribution ID, if it is one we know.
    fn of(id: &str) -> Option<OsFamily> {
        if DEBIAN_IDS.contains(&id) {
            Some(OsFamily::Debian)
        } else if RHEL_IDS.contains(&id) {
            Some(OsFamily::Rhel)
        } else {
            None
        }
    }
}

impl fmt::Display for OsFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.folder())
    }
}

/// Why a host's OS cannot be provisioned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OsError {
    /// Neither `ID` nor any `ID_LIKE` entry is a supported distribution.
    #[error(
        "unsupported operating system {pretty_name:?} (ID={id}{like}); supported: Ubuntu, Debian, \
         RHEL, Rocky Linux, AlmaLinux, CentOS Stream (IDs {supported}) and distributions whose \
         ID_LIKE names one of them",
        like = if id_like.is_empty() { String::new() } else { format!(", ID_LIKE={id_like}") },
        supported = supported_ids()
    )]
    Unsupported {
        /// The host's `ID`.
        id: String,
        /// The host's `ID_LIKE`, space-separated (empty if none).
        id_like: String,
        /// The host's `PRETTY_NAME`.
        pretty_name: String,
    },
}

/// The releases the step scripts are written for, by distribution ID: the `VERSION_ID`s (or,
/// where minor releases are updates of one release, the major) and how to name them.
const RELEASES: &[(&str, &[&str], &str)] = &[
    ("ubuntu", &["22.04", "24.04"], "Ubuntu 22.04 or 24.04"),
    ("debian", &["12", "13"], "Debian 12 or 13"),
    ("rhel", &["9", "10"], "RHEL 9 or 10"),
    ("rocky", &["9", "10"], "Rocky Linux 9 or 10"),
    ("almalinux", &["9", "10"], "AlmaLinux 9 or 10"),
    ("centos", &["9", "10"], "CentOS Stream 9 or 10"),
];

/// `ubuntu, debian, rhel, centos, rocky, almalinux`.
fn supported_ids() -> String {
    DEBIAN_IDS
        .iter()
        .rev()
        .chain(RHEL_IDS)
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

impl OsInfo {
    /// Why this release of a distribution the scripts know is not one they are written for;
    /// `None` when it is, and for derivatives (their own versions say nothing: the family
    /// check speaks for them).
    pub fn release_problem(&self) -> Option<String> {
        let (_, versions, names) = RELEASES.iter().find(|(id, _, _)| *id == self.id)?;
        let key = if self.id == "ubuntu" {
            self.version_id.as_str()
        } else {
            self.version_id.split('.').next().unwrap_or_default()
        };
        (!versions.contains(&key)).then(|| {
            format!(
                "{} is not a release labkube supports; use {names}",
                self.pretty_name
            )
        })
    }

    /// Parses os-release text (`KEY=value` lines; values bare, `"double"` or `'single'` quoted
    /// with shell escapes; `#` comments and blank lines ignored). Never fails: missing keys get
    /// the os-release(5) defaults, and [`OsInfo::family`] reports what cannot be served.
    pub fn parse(text: &str) -> OsInfo {
        let mut id = None;
        let mut id_like = Vec::new();
        let mut version_id = String::new();
        let mut pretty_name = None;
        let mut name = None;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, raw)) = line.split_once('=') else {
                continue;
            };
            let value = unquote(raw.trim());
            match key.trim() {
                "ID" => id = Some(value.to_ascii_lowercase()),
                "ID_LIKE" => {
                    id_like = value
                        .split_ascii_whitespace()
                        .map(str::to_ascii_lowercase)
                        .collect();
                }
                "VERSION_ID" => version_id = value,
                "PRETTY_NAME" => pretty_name = Some(value),
                "NAME" => name = Some(value),
                _ => {}
            }
        }
        OsInfo {
            id: id
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "linux".into()),
            id_like,
            version_id,
            pretty_name: pretty_name
                .or(name)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "Linux".into()),
        }
    }

    /// The family whose scripts serve this host: `ID` first, then each `ID_LIKE` entry in order.
    ///
    /// # Errors
    /// [`OsError::Unsupported`] naming the ID and the supported ones (e.g. Alpine, Arch, SUSE,
    /// plain Fedora).
    pub fn family(&self) -> Result<OsFamily, OsError> {
        std::iter::once(&self.id)
            .chain(&self.id_like)
            .find_map(|id| OsFamily::of(id))
            .ok_or_else(|| OsError::Unsupported {
                id: self.id.clone(),
                id_like: self.id_like.join(" "),
                pretty_name: self.pretty_name.clone(),
            })
    }

    /// The `commands/` folders to search for a step, most specific first, ending with `common`:
    /// ubuntu → `[ubuntu, debian, common]`; rocky → `[rocky, rhel, common]`; debian →
    /// `[debian, common]`; Linux Mint (`ID_LIKE="ubuntu debian"`) →
    /// `[linuxmint, ubuntu, debian, common]`.
    ///
    /// Between the ID and the family folder come only the `ID_LIKE` entries of the same family
    /// (so `fedora` is skipped for Rocky). For an unsupported OS the chain is the ID, its
    /// `ID_LIKE` entries and `common`; callers check [`OsInfo::family`] first. Names that are
    /// not plain folder names (os-release values are not trusted) are left out.
    pub fn lookup_chain(&self) -> Vec<&str> {
        let mut chain: Vec<&str> = Vec::new();
        let ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        };
        if ok(&self.id) {
            chain.push(self.id.as_str());
        }
        match self.family() {
            Ok(family) => {
                let folder = family.folder();
                if self.id != folder {
                    for like in &self.id_like {
                        if like == folder {
                            break;
                        }
                        if OsFamily::of(like) == Some(family) && !chain.contains(&like.as_str()) {
                            chain.push(like.as_str());
                        }
                    }
                    chain.push(folder);
                }
            }
            Err(_) => {
                for like in &self.id_like {
                    if ok(like) && !chain.contains(&like.as_str()) {
                        chain.push(like.as_str());
                    }
                }
            }
        }
        chain.push("common");
        chain
    }
}

/// A value as the shell would read it: `"…"` with `\"`, `\\`, `` \` `` and `\$` escapes,
/// `'…'` verbatim, or bare with backslash escapes.
fn unquote(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\' | '`' | '$')) => out.push(e),
                            Some(e) => {
                                out.push('\\');
                                out.push(e);
                            }
                            None => out.push('\\'),
                        },
                        c => out.push(c),
                    }
                }
            }
            '\'' => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    out.push(c);
                }
            }
            '\\' => {
                if let Some(e) = chars.next() {
                    out.push(e);
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_the_shell() {
        assert_eq!(unquote(r#""a \"b\" \$c \\ d""#), r#"a "b" $c \ d"#);
        assert_eq!(unquote("'x \"y\" $z'"), "x \"y\" $z");
        assert_eq!(unquote("bare"), "bare");
        assert_eq!(unquote(r#""unterminated"#), "unterminated");
        assert_eq!(unquote(r#""a\nb""#), r"a\nb");
    }

    #[test]
    fn defaults_when_keys_are_missing() {
        let os = OsInfo::parse("# nothing here\n\nNAME=Foo\n");
        assert_eq!(os.id, "linux");
        assert_eq!(os.pretty_name, "Foo");
        assert!(os.id_like.is_empty() && os.version_id.is_empty());
        assert_eq!(OsInfo::parse("").pretty_name, "Linux");
    }

    #[test]
    fn hostile_ids_stay_out_of_the_chain() {
        let os = OsInfo::parse("ID=../../etc\nID_LIKE=\"ubuntu ../x\"\n");
        assert_eq!(os.family(), Ok(OsFamily::Debian));
        assert_eq!(os.lookup_chain(), vec!["ubuntu", "debian", "common"]);
        let os = OsInfo::parse("ID=\"a/b\"\nID_LIKE=\"c/d e\"\n");
        assert_eq!(os.lookup_chain(), vec!["e", "common"]);
    }
}
