//! What goes over the wire for one script: the fixed remote command line of the persistent
//! shell, and the payload (quoted `export` lines, then the body). Pure functions, unit-tested
//! here.

use crate::provision::remote::Script;

/// The dispatcher of a persistent remote shell (see `exec`), run by `sh -c '...'`. Constant
/// text: nothing user-provided, no single quote, one line (login shells of any flavour pass it
/// through unchanged). `L` is `exec::OUTPUT_LIMIT`.
macro_rules! dispatcher {
    () => {
        concat!(
            "m=$(umask); d=$(mktemp -d /tmp/labkube.XXXXXXXXXX) || exit 125; p=; ",
            "N=$(printf \"\\nx\"); N=${N%x}; ",
            "c() { rm -rf \"$d\"; }; ",
            "t() { [ -z \"$p\" ] || kill -TERM \"$p\" 2>/dev/null; exit 143; }; ",
            "trap c EXIT; trap t HUP INT TERM PIPE; ",
            "o=$d/o; e=$d/e; L=8388608; ",
            "while IFS=\" \" read -r n k; do ",
            "umask 077; : >\"$o\"; : >\"$e\"; umask \"$m\"; ",
            "x=; i=0; while [ \"$i\" -lt \"$k\" ]; do IFS= read -r l || exit 125; x=$x$l$N; ",
            "i=$((i+1)); done; ",
            "( set -- \"$x\"; unset m d p N o e L n k x i l s a b; unset -f c t; eval \"set --; $1\" ) ",
            "</dev/null >\"$o\" 2>\"$e\" & p=$!; x=; wait \"$p\"; s=$?; p=; ",
            "a=0; b=0; if [ -s \"$o\" ] || [ -s \"$e\" ]; then set -- $(wc -c \"$o\" \"$e\"); a=$1; b=$3; fi; ",
            "exec 3<\"$o\" 4<\"$e\"; rm -f \"$o\" \"$e\"; ",
            "printf \"%s %s %s %s\\n\" \"$n\" \"$s\" \"$a\" \"$b\"; ",
            "[ \"$a\" -eq 0 ] || head -c \"$((a<L?a:L))\" <&3; ",
            "[ \"$b\" -eq 0 ] || head -c \"$((b<L?b:L))\" <&4; ",
            "exec 3<&- 4<&-; done"
        )
    };
}

/// The remote command of the shell for scripts as root or as an unprivileged user.
pub(super) const SH: &str = concat!("sh -c '", dispatcher!(), "'");
/// The remote command of the shell for privileged scripts when the login user is not root.
pub(super) const SUDO_SH: &str = concat!("sudo -n -- sh -c '", dispatcher!(), "'");

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
/// The brace group keeps the body's stdin at `/dev/null` even if the payload is ever fed to
/// `sh -s` again (where a command reading stdin, such as `apt-get`, `kubeadm` or `cat`, would
/// swallow the rest of the script); the persistent shell evaluates the payload with stdin at
/// `/dev/null` anyway.
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
        assert_eq!(command_line("root", true), SH);
        assert_eq!(command_line("root", false), SH);
        assert_eq!(command_line("ubuntu", true), SUDO_SH);
        assert_eq!(command_line("ubuntu", false), SH);
        assert!(SH.starts_with("sh -c 'm=$(umask); ") && SH.ends_with("; done'"));
        assert!(SUDO_SH.strip_prefix("sudo -n -- ") == Some(SH));
        // One single-quoted word: nothing inside may end the quote or start a new line.
        let inner = &SH["sh -c '".len()..SH.len() - 1];
        assert!(!inner.contains('\'') && !inner.contains('\n'));
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
