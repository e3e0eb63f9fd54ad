//! DNS-1123 labels ([`Name`]: clusters, namespaces, GEs) and subdomains ([`Subdomain`]:
//! Kubernetes object names).

use super::{Check, length, lowercase};

/// A DNS-1123 label: 1-63 chars of `[a-z0-9-]`, starting and ending alphanumeric.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

/// A DNS-1123 subdomain: DNS labels joined by `.`, at most 253 characters. Each label is held
/// to 63 characters as in RFC 1123 (Kubernetes' own regex only limits the whole to 253).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subdomain(String);

super::text_newtype!(Name => Label, label; Subdomain => Subdomain, subdomain);

fn label(s: &str) -> Check<()> {
    length(s, 63)?;
    lowercase(s, "names", |b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
    })?;
    if s.starts_with('-') || s.ends_with('-') {
        return Err(Some("it must start and end with a letter or digit".into()));
    }
    Ok(())
}

fn subdomain(s: &str) -> Check<()> {
    length(s, 253)?;
    for part in s.split('.') {
        label(part).map_err(|reason| {
            let reason = reason.unwrap_or_default();
            Some(match part {
                "" => "it has an empty part between dots".into(),
                _ => format!("in {part}: {reason}"),
            })
        })?;
    }
    Ok(())
}

/// Whether `s` is a GE parameter name: `[a-z][a-z0-9_]*`, at most 63 characters (what
/// `ge.toml` declares and what `/ge install … name=value` may set).
pub fn is_param_name(s: &str) -> bool {
    s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
