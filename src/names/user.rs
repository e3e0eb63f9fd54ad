//! POSIX user names ([`UserName`]): the SSH login of `user=` and `[ssh] user`.

use super::{Check, length, lowercase};

/// A POSIX user name for SSH: `[a-z_][a-z0-9_-]{0,31}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserName(String);

super::text_newtype!(UserName => User, user);

fn user(s: &str) -> Check<()> {
    length(s, 32)?;
    lowercase(s, "user names", |b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
    })?;
    if s.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return Err(Some("it must start with a letter or '_'".into()));
    }
    Ok(())
}
