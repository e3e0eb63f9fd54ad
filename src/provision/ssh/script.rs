//! What goes over the wire for one script: the fixed remote command line, and the stdin payload
//! (quoted `export` lines, then the body). Pure functions, unit-tested here.

use crate::provision::remote::Script;

/// The remote command for `sh -s` as root or as an unprivileged user.
pub(super) const SH: &str = "sh -s";
/// The remote command for a privileged script when the login user is not root.
pub(super) const SUDO_SH: &str = "sudo -n -- sh -s";

/// The exact remote command line. It never contains anything user-provided: the script and its
/// environment travel on stdin.
pub(super) fn command_line(user: &str, privileged: bool) -> &'static str {
    if privileged && user != "root" {
        SUDO_SH
    } else {
        SH
    }
}

/// Why a script cannot be sent.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum PayloadError {
    /// An environment name outside `[A-Za-z_][A-Za-z0-9_]*`.
    BadName(String),
    /// A value with a NUL byte, which no shell variable can hold.
    NulInValue(String),
}

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The name is shown (it comes from the step library); values never are.
            PayloadError::BadName(n) => write!(
                f,
                "invalid environment variable name {n:?} (allowed: [A-Za-z_][A-Za-z0-9_]*)"
            ),
            PayloadError::NulInValue(n) => {
                write!(f, "environment variable {n} contains a NUL byte")
            }
        }
    }
}

/// `true` for POSIX names `[A-Za-z_][A-Za-z0-9_]*` (lowercase too: `http_proxy`).
pub(super) fn valid_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The stdin payload: one `export NAME=<quoted>` line per variable, then the body inside a
/// brace group whose stdin is `/dev/null`.
///
/// The brace group matters: `sh -s` reads its script from the same stdin the script's commands
/// inherit, so a command that reads stdin (`apt-get`, `kubeadm`, `cat`) would otherwise swallow
/// the rest of the script. A compound command is parsed whole before it runs, so with `{ ... }
/// </dev/null` those commands see end-of-file and the script text stays intact.
pub(super) fn payload(script: &Script) -> Result<Vec<u8>, PayloadError> {
    let mut out = String::with_capacity(script.body.len() + 64 * script.env.len() + 32);
    for (name, value) in &script.env {
        if !valid_env_name(name) {
            return Err(PayloadError::BadName(name.clone()));
        }
        let quoted = shlex::try_quote(value).map_err(|_| PayloadError::NulInValue(name.clone()))?;
        out.push_str("export ");
        out.push_str(name);
        out.push('=');
        out.push_str(&quoted);
        out.push('\n');
    }
    out.push_str("{\n");
    out.push_str(&script.body);
    if !script.body.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("} </dev/null\n");
    Ok(out.into_bytes())
}

/// `true` when a privileged run failed only because `sudo -n` wants a password (or a
/// terminal to ask for one): exit 1 and sudo's own message on stderr.
pub(super) fn sudo_wants_password(sudo_used: bool, status: Option<u32>, stderr: &str) -> bool {
    const MESSAGES: [&str; 3] = [
        "sudo: a password is required",
        "sudo: a terminal is required",
        "sudo: no tty present",
    ];
    sudo_used
        && status == Some(1)
        && stderr
            .lines()
            .any(|l| MESSAGES.iter().any(|m| l.trim_start().starts_with(m)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn script(env: &[(&str, &str)], body: &str) -> Script {
        Script {
            step: "t".into(),
            body: body.into(),
            env: env
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            privileged: false,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn command_line_never_varies_with_input() {
        assert_eq!(command_line("root", true), "sh -s");
        assert_eq!(command_line("root", false), "sh -s");
        assert_eq!(command_line("ubuntu", true), "sudo -n -- sh -s");
        assert_eq!(command_line("ubuntu", false), "sh -s");
    }

    #[test]
    fn env_names() {
        for ok in ["A", "_", "K8S_VERSION", "_X1", "POD_CIDR", "http_proxy"] {
            assert!(valid_env_name(ok), "{ok}");
        }
        for bad in [
            "", "1A", "A-B", "A B", "A=B", "Ä", "A;reboot", "$(x)", "PATH\n",
        ] {
            assert!(!valid_env_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn payload_quotes_values_and_wraps_body() {
        let p = payload(&script(&[("A", "x y"), ("B", "it's")], "echo hi")).unwrap();
        let p = String::from_utf8(p).unwrap();
        assert!(p.starts_with("export A='x y'\nexport B="), "{p}");
        assert!(p.ends_with("{\necho hi\n} </dev/null\n"), "{p}");
        assert!(!p.contains("export B=it's"), "{p}");
    }

    #[test]
    fn payload_rejects_bad_names_and_nul() {
        assert_eq!(
            payload(&script(&[("a;reboot", "1")], "true")),
            Err(PayloadError::BadName("a;reboot".into()))
        );
        assert_eq!(
            payload(&script(&[("A", "x\0y")], "true")),
            Err(PayloadError::NulInValue("A".into()))
        );
        // The error text never carries a value.
        let e = payload(&script(&[("SECRET", "hunter2\0")], "true")).unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn sudo_password_detection() {
        let msg = "sudo: a password is required\n";
        assert!(sudo_wants_password(true, Some(1), msg));
        assert!(sudo_wants_password(
            true,
            Some(1),
            "sudo: unable to resolve host x\nsudo: a terminal is required to read the password\n"
        ));
        assert!(!sudo_wants_password(false, Some(1), msg));
        assert!(!sudo_wants_password(true, Some(2), msg));
        assert!(!sudo_wants_password(true, Some(1), "E: apt failed\n"));
    }
}
