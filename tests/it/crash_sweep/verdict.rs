//! What the sweep checks after every kill and at the end of a run, and the table it prints.

use std::collections::BTreeMap;
use std::time::Duration;

use labkube::kube::release::Release;
use labkube::store::{Job, JobId, JobState, SledStore};
use labkube_testkit::lab::calls::calls_of;

use super::drive::{CLUSTER, Landed, MONGODB, ORION, Outcome, Run};

/// What job `#p+1` is, phase by phase.
const KINDS: [&str; 4] = ["cluster create", "ge install", "ge upgrade", "rollback"];

/// Between two sessions: every acknowledged job is in the store, the jobs are the scenario's
/// in order, and none ended other than in success.
pub fn between(jobs: &[Job], acked: &[JobId], problems: &mut Vec<String>) {
    for n in acked {
        if !jobs.iter().any(|j| j.id == *n) {
            problems.push(format!("job #{n} was acknowledged and is not in the store"));
        }
    }
    if jobs.len() > KINDS.len() {
        problems.push(format!(
            "{} jobs for a scenario of {}: a command ran twice",
            jobs.len(),
            KINDS.len()
        ));
    }
    for (job, kind) in jobs.iter().zip(KINDS) {
        let title = job.kind.title();
        if !title.starts_with(kind) {
            problems.push(format!("job #{} is {title:?}, expected {kind}", job.id));
        }
        if job.state.is_terminal() && job.state != JobState::Succeeded {
            problems.push(format!("job #{} {title} ended {:?}", job.id, job.state));
        }
    }
}

/// Counts read off the peers and the store at the end of a run.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub kubeadm_init: usize,
    pub kubeadm_join: usize,
    /// Server-side applies (not dry runs) of orion's Deployment and MongoDB's StatefulSet.
    pub orion_applies: usize,
    pub mongodb_applies: usize,
    pub resumes: u32,
    /// Outcomes told more than once (a kill after the send, before it was recorded).
    pub told_again: usize,
}

/// At the end of a run: every job succeeded once with each step checkpointed once, each outcome
/// reached the room once, and the peers saw each non-idempotent change once.
pub fn at_end(run: &Run, out: &Outcome) -> (Counts, Vec<String>) {
    let mut problems = Vec::new();
    let jobs = run.jobs();
    between(&jobs, &out.acked, &mut problems);
    if jobs.len() != KINDS.len() {
        problems.push(format!("{} jobs, expected {}", jobs.len(), KINDS.len()));
    }
    let mut counts = Counts::default();
    for job in &jobs {
        counts.resumes += job.resumes;
        if job.state != JobState::Succeeded {
            problems.push(format!("job #{} ended {:?}", job.id, job.state));
        }
        let mut idx: Vec<usize> = job.steps.iter().map(|s| s.index).collect();
        idx.sort_unstable();
        if idx != (0..job.plan.len()).collect::<Vec<_>>() {
            problems.push(format!("job #{} checkpoints {idx:?}", job.id));
        }
        // At least once; twice only when a kill fell between the send and its record.
        match out.announced.get(&job.id).copied().unwrap_or(0) {
            0 => problems.push(format!("job #{}'s outcome never reached the room", job.id)),
            1 => {}
            n => counts.told_again += n - 1,
        }
    }
    let site = &run.site;
    counts.kubeadm_init = calls_of(&site.calls(0), "kubeadm", "init").len();
    counts.kubeadm_join = (1..3)
        .map(|w| calls_of(&site.calls(w), "kubeadm", "join").len())
        .sum();
    counts.orion_applies = run.applies(ORION);
    counts.mongodb_applies = run.applies(MONGODB);
    for (what, got, want) in [
        ("kubeadm init", counts.kubeadm_init, 1),
        ("kubeadm join (two workers)", counts.kubeadm_join, 2),
        ("applies of orion's revisions", counts.orion_applies, 3),
        ("applies of mongodb's revision", counts.mongodb_applies, 1),
    ] {
        if got != want {
            problems.push(format!("{what}: {got}, expected {want}"));
        }
    }
    let store = SledStore::open(&run.data).unwrap();
    for (ge, want) in [("orion", vec![1, 2, 3]), ("mongodb", vec![1])] {
        let release = Release::load(&store, CLUSTER, "demo", ge).unwrap();
        let numbers: Vec<u32> = release
            .iter()
            .flat_map(|r| r.revisions.iter().map(|v| v.number))
            .collect();
        if numbers != want {
            problems.push(format!("{ge}'s revisions {numbers:?}, expected {want:?}"));
        }
    }
    (counts, problems)
}

/// The sweep's figures over all runs.
pub struct Report {
    /// Phase times of the reference run.
    reference: Vec<Duration>,
    /// Per phase, the job kind and its steps with their reference durations.
    steps: Vec<(String, Vec<(String, Duration)>)>,
    runs: usize,
    wall: Duration,
    kills: Vec<Landed>,
    restarts: usize,
    counts: Vec<Counts>,
    problems: Vec<String>,
}

impl Report {
    pub fn new(reference: &Outcome) -> Report {
        let steps = reference
            .titles
            .iter()
            .zip(&reference.steps)
            .map(|((kind, titles), times)| {
                let steps = titles
                    .iter()
                    .zip(times)
                    .map(|(t, (a, b))| (t.clone(), *b - *a))
                    .collect();
                (kind.clone(), steps)
            })
            .collect();
        Report {
            reference: reference.phases.clone(),
            steps,
            runs: 0,
            wall: Duration::ZERO,
            kills: Vec::new(),
            restarts: 0,
            counts: Vec::new(),
            problems: Vec::new(),
        }
    }

    pub fn add(&mut self, out: &Outcome) {
        self.runs += 1;
        self.wall += out.wall;
        self.restarts += out.kills.len();
        self.kills.extend(out.kills.iter().cloned());
        self.counts.push(out.counts.clone());
        let run = self.runs;
        self.problems
            .extend(out.problems.iter().map(|p| format!("run {run}: {p}")));
    }

    pub fn kills(&self) -> usize {
        self.kills.len()
    }

    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// A Markdown summary: where the kills landed, what the peers counted, the problems.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut places: BTreeMap<(String, String), usize> = BTreeMap::new();
        for k in &self.kills {
            *places.entry((k.job.clone(), k.place.clone())).or_default() += 1;
        }
        let on_line = self
            .kills
            .iter()
            .filter(|k| k.on_line && k.after.is_none())
            .count();
        let after: Vec<String> = self
            .kills
            .iter()
            .filter_map(|k| k.after.map(|e| format!("{e} ({} {})", k.job, k.place)))
            .collect();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "crash sweep: {} kill points over a scenario of {:.1} s (the reference run; phases {}), \
             {} runs, {} restarts, {:.0} s wall\n\n| job | where the kill landed | kills |\n|---|---|---|",
            self.kills.len(),
            self.reference.iter().sum::<Duration>().as_secs_f64(),
            self.reference
                .iter()
                .map(|d| format!("{:.1} s", d.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(" + "),
            self.runs,
            self.restarts,
            self.wall.as_secs_f64()
        );
        for ((job, place), n) in &places {
            let _ = writeln!(s, "| {job} | {place} | {n} |");
        }
        let _ = writeln!(
            s,
            "\n{on_line} of the kills fell as an output line arrived (between store writes).\n\n\
             {} came right after an effect that must happen once: {}.\n\n\
             | run | kubeadm init | kubeadm join | orion applies | mongodb applies | resumes | outcomes told twice |\n\
             |---|---|---|---|---|---|---|",
            after.len(),
            after.join("; ")
        );
        for (i, c) in self.counts.iter().enumerate() {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                i + 1,
                c.kubeadm_init,
                c.kubeadm_join,
                c.orion_applies,
                c.mongodb_applies,
                c.resumes,
                c.told_again
            );
        }
        let mut at: Vec<(usize, Duration)> = self.kills.iter().map(|k| (k.phase, k.at)).collect();
        at.sort();
        let at: Vec<String> = at
            .iter()
            .map(|(p, t)| format!("{}:{:.1}", p + 1, t.as_secs_f64()))
            .collect();
        let _ = writeln!(
            s,
            "\nkill points (phase:seconds into it): {}",
            at.join(", ")
        );
        let mut missed = Vec::new();
        for (kind, steps) in &self.steps {
            for (title, d) in steps {
                let inside = format!("inside {title}");
                if !places.keys().any(|(j, p)| j == kind && *p == inside) {
                    missed.push(format!("{kind} / {title} ({} ms)", d.as_millis()));
                }
            }
        }
        let _ = writeln!(
            s,
            "\nsteps no kill fell inside (their length in the reference run): {}",
            if missed.is_empty() {
                "none".to_string()
            } else {
                missed.join(", ")
            }
        );
        let _ = writeln!(s, "\nproblems: {}", self.problems.len());
        for p in &self.problems {
            let _ = writeln!(s, "- {p}");
        }
        s
    }
}
