//! Running a step script on hosts: which script, with which environment, as root or not, how
//! often to retry, and how a failure is reported (host, step, exit code, the last 20 lines of
//! output with secrets masked — or no output at all for steps whose output is a secret).

use backon::{ExponentialBuilder, Retryable};

use super::cluster::ClusterRun;
use super::fanout::{self, Fanned, HostError};
use super::redact;
use super::remote::{Output, RemoteError, Script};
use super::scripts::{self, HostScript};
use crate::store::StoreError;

/// Lines of output a failure report shows.
const TAIL_LINES: usize = 20;

/// Runs `step` on `hosts` of `run`, then `parse` on each success; see [`on_with`].
pub async fn on<T, P>(
    run: &ClusterRun,
    hosts: &[(usize, String)],
    step: HostScript,
    parse: P,
) -> Result<Fanned<T>, StoreError>
where
    P: Fn(usize, &Output) -> Result<(T, Option<String>), String>,
{
    on_with(run, hosts, step, Vec::new(), parse).await
}

/// Runs `step` on `hosts` (in parallel, bounded) with `extra` environment on top of the step's
/// own, then `parse` on each successful output.
pub async fn on_with<T, P>(
    run: &ClusterRun,
    hosts: &[(usize, String)],
    step: HostScript,
    extra: Vec<(String, String)>,
    parse: P,
) -> Result<Fanned<T>, StoreError>
where
    P: Fn(usize, &Output) -> Result<(T, Option<String>), String>,
{
    let parse = &parse;
    let extra = &extra;
    fanout::each(
        &run.io,
        hosts,
        run.engine.settings.parallel_hosts,
        |i| async move {
            let host = run.hosts[i].target.to_string();
            let out = script(run, i, step, extra).await?;
            parse(i, &out).map_err(|reason| HostError {
                host,
                reason: format!("{}: {reason}", step.name()),
            })
        },
    )
    .await
}

/// The environment a step gets on host `i`.
fn env(
    run: &ClusterRun,
    i: usize,
    step: HostScript,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let s = &run.engine.settings;
    let mut env = s.remote_env.clone();
    let mut set = |k: &str, v: &str| env.push((k.to_string(), v.to_string()));
    match step {
        HostScript::PrepareHost => set(
            "ROLE",
            if run.hosts[i].control_plane {
                "control-plane"
            } else {
                "worker"
            },
        ),
        HostScript::InstallKube => set("K8S_MINOR", &run.k8s),
        HostScript::KubeadmInit => {
            set("ADVERTISE_ADDRESS", &run.hosts[0].target.addr.to_string());
            set("POD_CIDR", &run.pod_cidr);
            set("K8S_MINOR", &run.k8s);
        }
        HostScript::InstallFlannel => {
            set("FLANNEL_VERSION", &s.flannel_version);
            set("POD_CIDR", &run.pod_cidr);
        }
        HostScript::InstallHelm => set("HELM_VERSION", &s.helm_version),
        _ => {}
    }
    env.extend(extra.iter().cloned());
    env
}

/// Runs one step on host `i`, retrying transient failures; a non-zero exit is a [`HostError`]
/// naming the step, the exit code and the output's tail.
async fn script(
    run: &ClusterRun,
    i: usize,
    step: HostScript,
    extra: &[(String, String)],
) -> Result<Output, HostError> {
    let h = &run.hosts[i];
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
    let s = &run.engine.settings;
    let script = Script {
        step: step.name().to_string(),
        body,
        env: env(run, i, step, extra),
        privileged: step.privileged(),
        timeout: s.command_timeout,
    };
    let attempt = || async {
        match conn.run(&script).await {
            Ok(out) if out.success() => Ok(out),
            Ok(out) => Err(Failure::Exit(out)),
            Err(e) => Err(Failure::Remote(e)),
        }
    };
    let retries = if step.transient() { s.retries } else { 0 };
    let policy = ExponentialBuilder::default()
        .with_min_delay(s.retry_backoff)
        .with_max_delay(s.retry_backoff.saturating_mul(8))
        .with_max_times(retries);
    let io = &run.io;
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
