//! Container images: the tag ([`Version`], what `version=` takes) and the repository
//! ([`ImageRepo`], what a catalogue entry's `image` holds).

use super::{Check, Subdomain, first_bad, is_digits, length};

/// An image tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version(String);

/// An image repository without tag or digest: an optional registry host (with `.` or `:`,
/// optionally `:port`), then lowercase path components of `[a-z0-9._-]` that start and end
/// with a letter or digit, separated by `/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRepo(String);

super::text_newtype!(Version => Tag, tag; ImageRepo => Repo, repo);

fn tag(s: &str) -> Check<()> {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-';
    length(s, 128)?;
    if let Some(reason) = first_bad(s, ok) {
        return Err(Some(reason));
    }
    if s.starts_with('.') || s.starts_with('-') {
        return Err(Some("it must not start with '.' or '-'".into()));
    }
    Ok(())
}

fn repo(s: &str) -> Check<()> {
    let mut parts: Vec<&str> = s.split('/').collect();
    if parts.len() > 1 && (parts[0].contains('.') || parts[0].contains(':')) {
        let host = parts.remove(0);
        let (name, port) = host.split_once(':').unwrap_or((host, "1"));
        if Subdomain::parse(name).is_err() || !is_digits(port) {
            return Err(Some(format!(
                "the registry {host} is not a DNS name with an optional :port"
            )));
        }
    }
    for part in parts {
        if part.is_empty() {
            return Err(Some("it has an empty path component".into()));
        }
        let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b);
        if let Some(reason) = first_bad(part, ok) {
            return Err(Some(reason));
        }
        let alnum = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
        if !alnum(part.as_bytes().first()) || !alnum(part.as_bytes().last()) {
            return Err(Some(format!(
                "{part} must start and end with a letter or digit"
            )));
        }
    }
    Ok(())
}
