//! What the bot counts and times, for Prometheus: jobs by kind and outcome, job and step
//! durations, the queue, chat sends per platform, alerts opened, watch reconnects and whether
//! this replica leads; served with `/healthz` and `/readyz` at `[metrics] listen`
//! ([`endpoint`]).
//!
//! The families live in one [`Metrics`] value, not in a process-wide registry: every bot a
//! test process starts counts on its own. Label values are the names the store already writes
//! for kinds, states and severities ([`label`]), so a dashboard and `/jobs` agree.

mod endpoint;
mod health;

pub use endpoint::{Endpoint, MetricsError};
pub use health::Health;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Bounds of the job duration histogram, s: a selftest to a 10-host cluster creation.
const JOB_BUCKETS: [f64; 12] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0,
];
/// Bounds of the step duration histogram, s.
const STEP_BUCKETS: [f64; 12] = [
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0,
];
/// Bounds of the chat send latency histogram, s.
const SEND_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PlatformLabels {
    platform: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SeverityLabels {
    severity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabels {
    cluster: String,
}

type Timings<L> = Family<L, Histogram, fn() -> Histogram>;

struct Families {
    registry: Registry,
    jobs: Family<JobLabels, Counter>,
    job_seconds: Timings<JobLabels>,
    step_seconds: Timings<KindLabels>,
    queued: Gauge,
    running: Gauge,
    sends: Timings<PlatformLabels>,
    send_failures: Family<PlatformLabels, Counter>,
    alerts: Family<SeverityLabels, Counter>,
    reconnects: Family<ClusterLabels, Counter>,
    leader: Gauge,
    store_up: Gauge,
}

/// The bot's metric families; cheap to clone (every clone counts into the same families).
#[derive(Clone)]
pub struct Metrics {
    families: Arc<Families>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Empty families, registered under the `labkube_` prefix.
    pub fn new() -> Metrics {
        let mut root = Registry::default();
        let r = root.sub_registry_with_prefix("labkube");
        let jobs = Family::<JobLabels, Counter>::default();
        r.register(
            "jobs_finished",
            "Jobs that reached an end, by kind and outcome (succeeded, failed, cancelled)",
            jobs.clone(),
        );
        let job_seconds: Timings<JobLabels> =
            Family::new_with_constructor(|| Histogram::new(JOB_BUCKETS));
        r.register(
            "job_duration_seconds",
            "Wall time of finished jobs from their first start, by kind and outcome",
            job_seconds.clone(),
        );
        let step_seconds: Timings<KindLabels> =
            Family::new_with_constructor(|| Histogram::new(STEP_BUCKETS));
        r.register(
            "step_duration_seconds",
            "Wall time of each finished job step, by job kind",
            step_seconds.clone(),
        );
        let queued = Gauge::default();
        r.register(
            "jobs_queued",
            "Jobs waiting for the worker, as the store said at the last scrape",
            queued.clone(),
        );
        let running = Gauge::default();
        r.register(
            "jobs_running",
            "Jobs being worked on, as the store said at the last scrape",
            running.clone(),
        );
        let sends: Timings<PlatformLabels> =
            Family::new_with_constructor(|| Histogram::new(SEND_BUCKETS));
        r.register(
            "chat_send_seconds",
            "Latency of every message sent or edited, by chat platform, failures included",
            sends.clone(),
        );
        let send_failures = Family::<PlatformLabels, Counter>::default();
        r.register(
            "chat_send_failures",
            "Messages a chat platform did not take, by platform",
            send_failures.clone(),
        );
        let alerts = Family::<SeverityLabels, Counter>::default();
        r.register(
            "alerts_opened",
            "Incidents opened in the clusters' owning rooms, by severity",
            alerts.clone(),
        );
        let reconnects = Family::<ClusterLabels, Counter>::default();
        r.register(
            "watch_reconnects",
            "Kubernetes watches that failed and were started again, by cluster",
            reconnects.clone(),
        );
        let leader = Gauge::default();
        r.register(
            "leader",
            "1 while this process runs the chat adapters and the jobs (the leader, or the only bot on sled), else 0",
            leader.clone(),
        );
        let store_up = Gauge::default();
        r.register(
            "store_up",
            "1 if the job store answered the last scrape, else 0",
            store_up.clone(),
        );
        Metrics {
            families: Arc::new(Families {
                registry: root,
                jobs,
                job_seconds,
                step_seconds,
                queued,
                running,
                sends,
                send_failures,
                alerts,
                reconnects,
                leader,
                store_up,
            }),
        }
    }

    /// A job ended: `kind` and `outcome` as [`label`] names them.
    pub fn job_finished(&self, kind: &str, outcome: &str, took: Duration) {
        let labels = JobLabels {
            kind: kind.into(),
            outcome: outcome.into(),
        };
        self.families.jobs.get_or_create(&labels).inc();
        self.families
            .job_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// A step of a `kind` job finished.
    pub fn step_finished(&self, kind: &str, took: Duration) {
        self.families
            .step_seconds
            .get_or_create(&KindLabels { kind: kind.into() })
            .observe(took.as_secs_f64());
    }

    /// What the store holds now: queued and running jobs, or `None` when it did not answer.
    pub fn store_seen(&self, active: Option<(usize, usize)>) {
        let f = &self.families;
        match active {
            Some((queued, running)) => {
                f.queued.set(gauge(queued));
                f.running.set(gauge(running));
                f.store_up.set(1);
            }
            None => {
                f.store_up.set(0);
            }
        }
    }

    /// A message was sent or edited on `platform` in `took`; `ok` whether the platform took it.
    pub fn chat_sent(&self, platform: &str, took: Duration, ok: bool) {
        let labels = PlatformLabels {
            platform: platform.into(),
        };
        self.families
            .sends
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        if !ok {
            self.families.send_failures.get_or_create(&labels).inc();
        }
    }

    /// An incident of `severity` was opened.
    pub fn alert_opened(&self, severity: &str) {
        self.families
            .alerts
            .get_or_create(&SeverityLabels {
                severity: severity.into(),
            })
            .inc();
    }

    /// A watch of `cluster` failed; its watcher starts it again.
    pub fn watch_reconnect(&self, cluster: &str) {
        self.families
            .reconnects
            .get_or_create(&ClusterLabels {
                cluster: cluster.into(),
            })
            .inc();
    }

    /// This process leads (runs the chat adapters and the jobs) or not.
    pub fn set_leader(&self, leading: bool) {
        self.families.leader.set(i64::from(leading));
    }

    /// Whether this process leads.
    pub fn is_leader(&self) -> bool {
        self.families.leader.get() == 1
    }

    /// Every family in the OpenMetrics text format.
    pub fn encode(&self) -> Result<String, MetricsError> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.families.registry)
            .map_err(|_| MetricsError::Encode)?;
        Ok(out)
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The name the store writes for `value`: the serde tag `tag` of an internally or adjacently
/// tagged enum (a job kind's `kind`, a state's `state`), or the string a unit enum is written
/// as (`tag` = `None`). `"unknown"` for anything else.
pub fn label<T: serde::Serialize>(value: &T, tag: Option<&str>) -> String {
    let written = serde_json::to_value(value).ok();
    let name = match (tag, &written) {
        (Some(tag), Some(v)) => v.get(tag).and_then(|n| n.as_str()),
        (None, Some(v)) => v.as_str(),
        _ => None,
    };
    name.unwrap_or("unknown").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Severity;
    use crate::store::{JobKind, JobState};

    #[test]
    fn labels_are_the_names_the_store_writes() {
        assert_eq!(label(&JobKind::selftest(2, 1), Some("kind")), "selftest");
        assert_eq!(label(&JobState::Succeeded, Some("state")), "succeeded");
        let failed = JobState::Failed { reason: "x".into() };
        assert_eq!(label(&failed, Some("state")), "failed");
        assert_eq!(label(&Severity::Critical, None), "critical");
        assert_eq!(label(&JobState::Cancelled, None), "unknown");
    }

    #[test]
    fn encodes_what_was_counted() {
        let m = Metrics::new();
        m.job_finished("selftest", "succeeded", Duration::from_millis(2500));
        m.step_finished("selftest", Duration::from_millis(30));
        m.chat_sent("telegram", Duration::from_millis(20), false);
        m.alert_opened("critical");
        m.watch_reconnect("lab-1");
        m.set_leader(true);
        m.store_seen(Some((3, 1)));
        let text = m.encode().unwrap();
        for line in [
            "labkube_jobs_finished_total{kind=\"selftest\",outcome=\"succeeded\"} 1",
            "labkube_job_duration_seconds_bucket{le=\"5.0\",kind=\"selftest\",outcome=\"succeeded\"} 1",
            "labkube_job_duration_seconds_bucket{le=\"1.0\",kind=\"selftest\",outcome=\"succeeded\"} 0",
            "labkube_step_duration_seconds_count{kind=\"selftest\"} 1",
            "labkube_chat_send_failures_total{platform=\"telegram\"} 1",
            "labkube_chat_send_seconds_count{platform=\"telegram\"} 1",
            "labkube_alerts_opened_total{severity=\"critical\"} 1",
            "labkube_watch_reconnects_total{cluster=\"lab-1\"} 1",
            "labkube_leader 1",
            "labkube_jobs_queued 3",
            "labkube_jobs_running 1",
            "labkube_store_up 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        m.store_seen(None);
        let text = m.encode().unwrap();
        assert!(text.lines().any(|l| l == "labkube_store_up 0"));
        assert!(text.lines().any(|l| l == "labkube_jobs_queued 3"));
    }
}
