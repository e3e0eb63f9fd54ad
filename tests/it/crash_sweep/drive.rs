//! One run of the sweep: a fresh site (three stand-in hosts over real sshd, the fake API server
//! on the first), the scenario typed into the real binary as a user would, and the bot
//! SIGKILLed at the run's kill points and started again over the same data directory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use labkube::store::{Job, JobId, JobState, JobStore, SledStore};
use labkube_testkit::lab::calls::calls_of;
use labkube_testkit::lab::hosts::Flavour;
use labkube_testkit::support::Bot;

use super::verdict;
use crate::cluster::Site;

/// Longest a session may go without finishing its phase (a stall is a problem, not a hang).
const SESSION_LIMIT: Duration = Duration::from_secs(120);
/// Each stand-in call takes this long, so steps last long enough to be killed inside.
const STANDIN_DELAY: &str = "0.05";
/// The fake's pods become Ready this long after they are created.
const READY_DELAY: Duration = Duration::from_millis(800);
/// Each API request takes this long, so a GE's apply step lasts long enough to be killed inside.
const API_LATENCY: Duration = Duration::from_millis(25);
/// How often a kill waiting for an effect looks at the peers.
const POLL: Duration = Duration::from_millis(3);
/// The cluster the scenario creates.
pub const CLUSTER: &str = "lab-s";

/// The scenario, one command per phase; phase `p` is job `#p+1` (numbers are dense).
pub fn commands(ips: &str) -> Vec<String> {
    let at = format!("ns=demo cluster={CLUSTER}");
    vec![
        format!("/cluster create {ips} name={CLUSTER}"),
        format!("/ge install orion {at} version=4.0.0"),
        format!("/ge upgrade orion {at} version=4.1.0"),
        format!("/rollback orion {at}"),
    ]
}

/// A kill point of one session, in the time of one phase of the scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kill {
    /// The phase (command) during which to kill; a session already past it kills at once.
    pub phase: usize,
    /// How long into the phase (the alive time of every session while it ran).
    pub at: Duration,
    /// Whether to wait for the next output line after that and kill as it arrives.
    pub on_line: bool,
    /// Instead of a time: kill as soon as this effect shows on a peer (during `phase`).
    pub after: Option<Effect>,
}

/// Something a step does to a peer that must happen once; a kill may wait for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// The first call of `tool sub` on host `host`, in its stand-ins' call log.
    Call {
        host: usize,
        tool: &'static str,
        sub: &'static str,
    },
    /// The `nth` server-side apply (not a dry run) of the object at `path`, in the fake API
    /// server's request log.
    Apply { path: &'static str, nth: usize },
}

/// orion's Deployment and MongoDB's StatefulSet, as the API paths end.
pub const ORION: &str = "/namespaces/demo/deployments/orion";
pub const MONGODB: &str = "/namespaces/demo/statefulsets/mongodb";

/// The effects that must not happen twice, with the phase and step that cause them: the
/// sweep kills the bot right after each, before the step's checkpoint can be written.
pub const EFFECTS: [(usize, &str, Effect); 7] = [
    (
        0,
        "set up hosts",
        Effect::Call {
            host: 0,
            tool: "kubeadm",
            sub: "init",
        },
    ),
    (
        0,
        "set up hosts",
        Effect::Call {
            host: 1,
            tool: "kubeadm",
            sub: "join",
        },
    ),
    (
        0,
        "set up hosts",
        Effect::Call {
            host: 2,
            tool: "kubeadm",
            sub: "join",
        },
    ),
    (
        1,
        "dependencies",
        Effect::Apply {
            path: MONGODB,
            nth: 1,
        },
    ),
    (
        1,
        "apply",
        Effect::Apply {
            path: ORION,
            nth: 1,
        },
    ),
    (
        2,
        "apply",
        Effect::Apply {
            path: ORION,
            nth: 2,
        },
    ),
    (
        3,
        "apply",
        Effect::Apply {
            path: ORION,
            nth: 3,
        },
    ),
];

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Call { host, tool, sub } => write!(f, "{tool} {sub} on host {}", host + 1),
            Effect::Apply { path, nth } => {
                let name = path.rsplit('/').next().unwrap_or_default();
                write!(f, "apply #{nth} of {name}")
            }
        }
    }
}

/// Where a kill landed, read from the store right after it.
#[derive(Debug, Clone)]
pub struct Landed {
    /// Phase of the kill and how far into it (alive time).
    pub phase: usize,
    pub at: Duration,
    pub on_line: bool,
    /// The effect the kill waited for, if it did.
    pub after: Option<Effect>,
    /// `cluster create`, `ge install`… or `between jobs`.
    pub job: String,
    /// `inside <step>`, `after <step>` (checkpointed, next not started), `queued`, or empty.
    pub place: String,
}

/// What a run saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Alive time of the sessions during each phase.
    pub phases: Vec<Duration>,
    /// Per phase, when each step of its job started and ended, from the job's creation.
    pub steps: Vec<Vec<(Duration, Duration)>>,
    /// Per phase, `job kind` and the titles of its job's steps.
    pub titles: Vec<(String, Vec<String>)>,
    pub wall: Duration,
    pub kills: Vec<Landed>,
    /// Terminal lines ("job #N … succeeded|failed|cancelled") printed per job, over all sessions.
    pub announced: BTreeMap<JobId, usize>,
    /// Job numbers the room was told "queued job #N" for.
    pub acked: Vec<JobId>,
    pub counts: verdict::Counts,
    pub problems: Vec<String>,
}

pub struct Run {
    pub site: Site,
    _dir: tempfile::TempDir,
    config: PathBuf,
    pub data: PathBuf,
}

impl Run {
    pub fn new() -> Run {
        let site = Site::new(&[Flavour::Ubuntu, Flavour::Debian, Flavour::Rocky]);
        for h in &site.lab.hosts {
            std::fs::write(h.root.join(".slow"), format!("{STANDIN_DELAY}\n")).unwrap();
        }
        if let Some(api) = &site.api {
            api.fake.set_ready_delay(READY_DELAY);
            api.fake.set_latency(API_LATENCY);
        }
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let text = format!(
            "[limits]\nprogress_interval_ms = 250\nshutdown_grace_secs = 5\n\
             [ssh]\nkey_path = \"{}\"\nport = {}\nconnect_timeout_secs = 5\n\
             allowed_networks = [\"127.0.0.0/8\"]\n\
             [cluster]\nretry_backoff_ms = 20\nnodes_poll_ms = 200\nnodes_ready_timeout_secs = 30\n\
             [kube]\nfailure_grace_secs = 1\nrollout_timeout_secs = 60\n",
            site.key.path.display(),
            site.sshd[0].port
        );
        std::fs::write(&config, text).unwrap();
        let data = dir.path().join("data");
        Run {
            site,
            _dir: dir,
            config,
            data,
        }
    }

    /// Runs the scenario with `kills`, one per session, then one last session to the end.
    ///
    /// After a restart, the phase clock of a resumed job is set, as the room is told it
    /// resumed, to the time its step started in the `reference` run (the step starts again),
    /// so that later kill points fall where the reference run had them.
    pub fn drive(self, kills: &[Kill], reference: Option<&Outcome>) -> Outcome {
        let began = Instant::now();
        let ips: Vec<String> = self.site.ips().iter().map(ToString::to_string).collect();
        let commands = commands(&ips.join(" "));
        let mut out = Outcome {
            phases: vec![Duration::ZERO; commands.len()],
            ..Outcome::default()
        };
        for session in 0..=kills.len() {
            let jobs = self.jobs();
            verdict::between(&jobs, &out.acked, &mut out.problems);
            if !out.problems.is_empty() {
                break;
            }
            let kill = kills.get(session).copied();
            match self.session(&commands, &jobs, kill, reference, &mut out) {
                Ended::Killed(phase) => {
                    let landed = self.landed(phase, out.phases[phase], kill);
                    out.kills.push(landed);
                }
                Ended::Done => {
                    if kill.is_some() {
                        out.problems
                            .push(format!("the scenario ended before kill point {session}"));
                    }
                    break;
                }
                Ended::Broken => break,
            }
        }
        out.wall = began.elapsed();
        let jobs = self.jobs();
        out.steps = jobs.iter().map(step_times).collect();
        out.titles = jobs
            .iter()
            .map(|j| (kind_of(j), j.plan.iter().map(|s| s.title()).collect()))
            .collect();
        if out.problems.is_empty() {
            let (counts, found) = verdict::at_end(&self, &out);
            out.counts = counts;
            out.problems.extend(found);
        }
        out
    }

    /// One bot session: types the next phase's command when its job does not exist yet, follows
    /// the output until the scenario ends or the kill point comes.
    fn session(
        &self,
        commands: &[String],
        jobs: &[Job],
        kill: Option<Kill>,
        reference: Option<&Outcome>,
        out: &mut Outcome,
    ) -> Ended {
        let mut phase = jobs
            .iter()
            .take_while(|j| j.state == JobState::Succeeded)
            .count();
        // A job committed before a kill runs on; typing its command again would be a new job.
        let mut typed = jobs.len() > phase;
        let mut bot = Bot::console(&self.config, &self.data);
        let started = Instant::now();
        let hard = started + SESSION_LIMIT;
        // When the current phase began in this session, and its alive time in earlier ones.
        let mut began = started;
        // A resumed job's phase clock starts when it says so (see `drive`).
        let resumed = jobs.get(phase).and_then(|j| match j.state {
            JobState::Running { step } => Some(step),
            _ => None,
        });
        let restart_at = resumed.and_then(|s| Some(reference?.steps.get(phase)?.get(s)?.0));
        let mut clock = restart_at.is_none();
        while phase < commands.len() {
            if !typed {
                bot.say(&commands[phase]);
                typed = true;
            }
            // Waiting for an effect in this phase: look at the peers every few milliseconds.
            let effect = kill.filter(|k| k.phase == phase).and_then(|k| k.after);
            let deadline = kill.and_then(|k| match phase.cmp(&k.phase) {
                std::cmp::Ordering::Less => None,
                std::cmp::Ordering::Equal if k.after.is_some() || !clock => None,
                std::cmp::Ordering::Equal => Some(began + k.at.saturating_sub(out.phases[phase])),
                std::cmp::Ordering::Greater => Some(began),
            });
            let due = deadline.is_some_and(|d| Instant::now() >= d);
            let until = match deadline {
                Some(d) if !due => d.min(hard),
                _ if effect.is_some() => (Instant::now() + POLL).min(hard),
                _ => hard,
            };
            let line = bot.next_line(until);
            let due = deadline.is_some_and(|d| Instant::now() >= d)
                || effect.is_some_and(|e| self.seen(e));
            if let Some(line) = &line {
                let job = (phase + 1) as JobId;
                if !clock
                    && line.starts_with(&format!("job #{job} "))
                    && line.contains("resumed after a restart")
                {
                    out.phases[phase] = restart_at.unwrap_or_default();
                    began = Instant::now();
                    clock = true;
                }
                if let Some(n) = queued(line)
                    && !out.acked.contains(&n)
                {
                    out.acked.push(n);
                }
                if let Some((n, state)) = terminal(line) {
                    *out.announced.entry(n).or_default() += 1;
                    if n == job && state == "succeeded" {
                        out.phases[phase] += began.elapsed();
                        began = Instant::now();
                        phase += 1;
                        typed = false;
                        continue;
                    } else if n == job {
                        out.problems.push(format!("job #{n} {state}: {line}"));
                        bot.kill();
                        return Ended::Broken;
                    }
                }
            }
            if due && (line.is_some() || !kill.is_some_and(|k| k.on_line)) {
                out.phases[phase] += began.elapsed();
                bot.kill();
                return Ended::Killed(phase);
            }
            if line.is_none() && Instant::now() >= hard {
                let seen = bot.kill();
                out.problems.push(format!(
                    "phase {phase} stalled for {SESSION_LIMIT:?}; output:\n{}",
                    seen.join("\n")
                ));
                return Ended::Broken;
            }
        }
        bot.finish(SESSION_LIMIT);
        Ended::Done
    }

    /// Whether `effect` has shown on its peer.
    pub fn seen(&self, effect: Effect) -> bool {
        match effect {
            Effect::Call { host, tool, sub } => {
                !calls_of(&self.site.calls(host), tool, sub).is_empty()
            }
            Effect::Apply { path, nth } => self.applies(path) >= nth,
        }
    }

    /// Server-side applies (not dry runs) of the object at `path` the fake API server served.
    pub fn applies(&self, path: &str) -> usize {
        let Some(api) = &self.site.api else { return 0 };
        api.fake
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH" && r.path.ends_with(path))
            .filter(|r| !r.query.contains("dryRun=All"))
            .count()
    }

    /// Every job in the store, by number (none before the first session).
    pub fn jobs(&self) -> Vec<Job> {
        if !self.data.exists() {
            return Vec::new();
        }
        let store = SledStore::open(&self.data).unwrap();
        (1..).map_while(|id| store.get(id).unwrap()).collect()
    }

    /// Where the kill at `at` landed: the active job's step, as the store has it.
    fn landed(&self, phase: usize, at: Duration, kill: Option<Kill>) -> Landed {
        let jobs = self.jobs();
        let active = jobs.iter().find(|j| !j.state.is_terminal());
        let (job, place) = match active {
            None => ("between jobs".to_string(), String::new()),
            Some(j) => {
                let kind = kind_of(j);
                let place = match j.state {
                    JobState::Running { step } => {
                        let title = j.plan.get(step).map(|s| s.title()).unwrap_or_default();
                        if j.steps.iter().any(|s| s.index == step) {
                            format!("after {title}")
                        } else {
                            format!("inside {title}")
                        }
                    }
                    _ => "queued".to_string(),
                };
                (kind, place)
            }
        };
        Landed {
            phase,
            at,
            on_line: kill.is_some_and(|k| k.on_line),
            after: kill.and_then(|k| k.after),
            job,
            place,
        }
    }
}

enum Ended {
    /// Killed during this phase.
    Killed(usize),
    Done,
    Broken,
}

/// `cluster create`, `ge install`…: the first two words of the job's title.
fn kind_of(job: &Job) -> String {
    let title = job.kind.title();
    title
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// When each step of `job` started and ended, from the job's creation, in plan order.
fn step_times(job: &Job) -> Vec<(Duration, Duration)> {
    let mut steps = job.steps.clone();
    steps.sort_by_key(|s| s.index);
    let from = |ms: u64| Duration::from_millis(ms.saturating_sub(job.created_ms));
    steps
        .iter()
        .map(|s| (from(s.started_ms), from(s.finished_ms)))
        .collect()
}

/// `N` of a "queued job #N: …" line.
fn queued(line: &str) -> Option<JobId> {
    let rest = line.split("queued job #").nth(1)?;
    rest.split(':').next()?.parse().ok()
}

/// `(N, state)` of a "job #N … succeeded|failed|cancelled" line.
fn terminal(line: &str) -> Option<(JobId, &'static str)> {
    let rest = line.strip_prefix("job #")?;
    let n = rest.split_whitespace().next()?.parse().ok()?;
    ["succeeded", "failed", "cancelled"]
        .into_iter()
        .find(|s| rest.contains(&format!(" {s}")))
        .map(|s| (n, s))
}
