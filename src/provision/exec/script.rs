//! Running a step script on hosts: which script, with which environment, as root or not, how
//! often to retry, and how a failure is reported (host, step, exit code, the last 20 lines, at most 2000 bytes, of
//! output with secrets masked — or no output at all for steps whose output is a secret).

use backon::{ExponentialBuilder, Retryable};

use super::fanout::{self, Fanned, HostError};
use crate::progress::JobIo;
use crate::provision::host::Host;
use crate::provision::redact;
use crate::provision::remote::{Output, RemoteError, Script};
use crate::provision::runs;
use crate::provision::scripts::{self, HostScript};
use crate::provision::settings::Settings;
use crate::store::StoreError;

/// Lines of output a failure report shows.
const TAIL_LINES: usize = 20;

/// What running a script on a job's hosts needs: the job's handle, the settings and the
/// hosts (connected, with their OS once detected).
pub(crate) struct Exec<'a> {
    /// The job's record and room.
    pub(crate) io: &'a JobIo,
    /// Timeouts, retries, parallelism.
    pub(crate) settings: &'a Settings,
    /// The job's hosts, by index.
    pub(crate) hosts: &'a [Host],
}

/// The environment of a script on host `i` (beyond the settings' `remote_env`).
pub(crate) type EnvOf<'a> = &'a (dyn Fn(usize) -> Vec<(String, String)> + Sync);

/// Runs `script` on `hosts` (indices into [`Exec::hosts`], in parallel, bounded) with the
/// environment `env` gives each host, then `parse` on each successful output.
pub(crate) async fn on<T, P>(
    ex: &Exec<'_>,
    hosts: &[(usize, String)],
    script: HostScript,
    env: EnvOf<'_>,
    parse: P,
) -> Result<Fanned<T>, StoreError>
where
    P: Fn(usize, &Output) -> Result<(T, Option<String>), String>,
{
    let parse = &parse;
    fanout::each(ex.io, hosts, ex.settings.parallel_hosts, |i| async move {
        let host = ex.hosts[i].target.to_string();
        let out = run(ex, i, script, env(i)).await?;
        parse(i, &out).map_err(|reason| HostError {
            host,
            reason: format!("{}: {reason}", script.name()),
        })
    })
    .await
}

/// Runs one step on host `i`, retrying transient failures; a non-zero exit is a [`HostError`]
/// naming the step, the exit code and the output's tail.
pub(crate) async fn run(
    ex: &Exec<'_>,
    i: usize,
    step: HostScript,
    env: Vec<(String, String)>,
) -> Result<Output, HostError> {
    let h = &ex.hosts[i];
    let host = h.target.to_string();
    let fail = |reason: String| HostError {
        host: host.clone(),
        reason,
    };
    let conn = h.conn.clone().ok_or_else(|| fail("not connected".into()))?;
    // Before the OS is detected only `common/` steps can run (os_release itself).
    let body = match &h.os {
        Some(os) => scripts::resolve(step.name(), os),
        None => scripts::resolve_common(step.name()),
    }
    .map_err(|e| fail(e.to_string()))?;
    let s = ex.settings;
    let mut all_env = s.remote_env.clone();
    all_env.extend(env);
    let body = if step.detached() {
        all_env.push(runs::wait_env(s.command_timeout));
        let created = ex
            .io
            .store
            .get(ex.io.job)
            .map_err(|e| fail(format!("cannot read job #{}: {e}", ex.io.job)))?
            .map_or(0, |j| j.created_ms);
        let run = runs::run_name(ex.io.job, created, step);
        runs::wrap(step, &body, &run).map_err(|e| fail(e.to_string()))?
    } else {
        body
    };
    let script = Script {
        step: step.name().to_string(),
        body,
        env: all_env,
        privileged: step.privileged(),
        timeout: s.command_timeout,
    };
    // A detached run whose failure was read is run again on a retry, not read again; one
    // whose outcome was lost with the connection is followed again.
    let read_failure = std::sync::atomic::AtomicBool::new(false);
    let attempt = || async {
        let again = step.detached() && read_failure.load(std::sync::atomic::Ordering::Relaxed);
        let mut script = script.clone();
        if again {
            script.env.push(runs::again_env());
        }
        match conn.run(&script).await {
            Ok(out) if out.success() => Ok(out),
            Ok(out) => {
                read_failure.store(true, std::sync::atomic::Ordering::Relaxed);
                Err(Failure::Exit(out))
            }
            Err(e) => Err(Failure::Remote(e)),
        }
    };
    let retries = if step.transient() { s.retries } else { 0 };
    let policy = ExponentialBuilder::default()
        .with_min_delay(s.retry_backoff)
        .with_max_delay(s.retry_backoff.saturating_mul(8))
        .with_max_times(retries);
    let io = ex.io;
    let result = attempt
        .retry(policy)
        .sleep(tokio::time::sleep)
        .when(Failure::retryable)
        .notify(|e: &Failure, wait| {
            let line = format!(
                "{host}: {} failed ({}); retrying in {} s",
                step.name(),
                e.short(),
                wait.as_secs()
            );
            if let Err(err) = io.log(&line) {
                tracing::warn!(error = %err, "cannot write the job log");
            }
        })
        .await;
    result.map_err(|e| fail(e.report(step)))
}

/// A failed attempt.
enum Failure {
    /// The script exited non-zero.
    Exit(Output),
    /// The transport failed.
    Remote(RemoteError),
}

impl Failure {
    /// Worth another attempt: script failures and timeouts; not key, auth or sudo problems.
    fn retryable(&self) -> bool {
        match self {
            Failure::Exit(_) => true,
            Failure::Remote(e) => {
                matches!(e, RemoteError::Timeout { .. } | RemoteError::Channel { .. })
            }
        }
    }

    fn short(&self) -> String {
        match self {
            Failure::Exit(out) => exit_text(out),
            Failure::Remote(e) => e.to_string(),
        }
    }

    /// The failure as the room reads it.
    fn report(&self, step: HostScript) -> String {
        match self {
            Failure::Remote(e) => e.to_string(),
            Failure::Exit(_) if step.secret_output() => {
                format!(
                    "{} {}; output withheld: it holds secrets",
                    step.name(),
                    self.short()
                )
            }
            Failure::Exit(out) => {
                let both = format!("{}\n{}", out.stdout.trim_end(), out.stderr.trim_end());
                let tail = redact::tail(both.trim(), TAIL_LINES);
                if tail.is_empty() {
                    format!("{} {} with no output", step.name(), self.short())
                } else {
                    format!("{} {}; last output:\n{tail}", step.name(), self.short())
                }
            }
        }
    }
}

fn exit_text(out: &Output) -> String {
    match out.status {
        Some(code) => format!("exited with {code}"),
        None => "was killed by a signal".into(),
    }
}
