//! Step runs that must never overlap: a step such as `kubeadm init` is started on the host
//! detached from the SSH session, leaving a marker that the next attempt of the same job finds
//! (after a crash of the bot or a lost connection), so it waits for that run and reads its
//! outcome instead of starting a second one. The host side is `commands/lib/detached.sh`
//! (what it leaves on the host, and why, is in its header and in docs/ARCHITECTURE.md).

use std::time::Duration;

use super::scripts::HostScript;

/// The wrapper the detached steps are sent in.
const DETACHED: &str = include_str!("../../commands/lib/detached.sh");

/// Why a step cannot be wrapped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RunError {
    /// The step's text holds a NUL byte, which no shell word can hold (a bug of the library).
    #[error("step {0} cannot be sent detached: its text holds a NUL byte")]
    Nul(&'static str),
}

/// The run's name on the host: `<job>-<job created ms>-<step>`. The creation time keeps the
/// markers of a job of an earlier store (whose numbers restarted at 1) from passing for this
/// job's.
pub fn run_name(job: u64, created_ms: u64, step: HostScript) -> String {
    format!("{job}-{created_ms}-{}", step.name())
}

/// The script that runs `body` (the step with its helpers) detached as run `run`, waits at
/// most `wait` for it and reports its outcome. The run's name and body are set as shell
/// variables in front of the wrapper (quoted; never in the environment, which the step and its
/// tools inherit); `LABKUBE_RUN_WAIT` goes into the environment by [`wait_env`].
pub fn wrap(step: HostScript, body: &str, run: &str) -> Result<String, RunError> {
    let quoted = shlex::try_quote(body).map_err(|_| RunError::Nul(step.name()))?;
    let run = shlex::try_quote(run).map_err(|_| RunError::Nul(step.name()))?;
    Ok(format!(
        "labkube_body={quoted}\nlabkube_run={run}\n{DETACHED}"
    ))
}

/// The wrapper's bound on waiting for the run: the step's timeout, in whole seconds.
pub fn wait_env(timeout: Duration) -> (String, String) {
    (
        "LABKUBE_RUN_WAIT".into(),
        timeout.as_secs().max(1).to_string(),
    )
}

/// Set on a retry after the bot read the run's failure: the finished run is forgotten and the
/// step runs again.
pub fn again_env() -> (String, String) {
    ("LABKUBE_RUN_AGAIN".into(), "yes".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hold_job_time_and_step_only() {
        let n = run_name(12, 1_700_000_000_123, HostScript::KubeadmInit);
        assert_eq!(n, "12-1700000000123-kubeadm_init");
        assert!(
            n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        );
    }

    #[test]
    fn body_travels_as_one_quoted_word() {
        let w = wrap(
            HostScript::KubeadmJoin,
            "echo 'a b'\nexit 3\n",
            "1-2-kubeadm_join",
        )
        .unwrap();
        let first = w.lines().next().unwrap();
        assert!(first.starts_with("labkube_body="), "{first}");
        assert!(w.contains("\nlabkube_run=1-2-kubeadm_join\n"));
        assert!(w.ends_with(DETACHED));
        assert_eq!(
            wrap(HostScript::KubeadmJoin, "a\0b", "r"),
            Err(RunError::Nul("kubeadm_join"))
        );
    }

    #[test]
    fn waits_at_least_a_second() {
        assert_eq!(wait_env(Duration::from_millis(10)).1, "1");
        assert_eq!(wait_env(Duration::from_secs(600)).1, "600");
    }
}
