//! Job store benchmark: `cargo bench --bench store`.
//!
//! Every row is measured against a peer in the same run, on the same disk:
//! - durable enqueue (what the bot waits for before acknowledging in chat) against the
//!   durability floor: append the same job as one JSON line to a file and `sync_data()` it;
//! - open + resume scan over a 100,000-job history against reading that history from a JSON
//!   lines file and decoding every record (what a naive store would do on start).
//!
//! Set `LABKUBE_BENCH_DIR` to measure on another disk (default: the system temp directory).

use std::error::Error;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use labkube::store::{
    GeInstallSpec, GeJob, GeTarget, Job, JobKind, JobState, JobStore, NewJob, Origin, Requester,
    SledStore, StepRecord,
};
use labkube_testkit::stats::ms;

type R<T> = Result<T, Box<dyn Error + Send + Sync>>;

const SERIAL: usize = 2000;
const THREADS: usize = 8;
const PER_THREAD: usize = 300;
const WARMUP: usize = 50;
const HISTORY: u64 = 100_000;
const ACTIVE: u64 = 10;
const RESUMES: usize = 5;
const P99_TARGET: Duration = Duration::from_millis(10);
const RESUME_TARGET: Duration = Duration::from_secs(1);

fn new_job(n: u64) -> NewJob {
    let target = GeTarget {
        cluster: "lab".into(),
        namespace: "fiware".into(),
        ge: "orion-ld".into(),
    };
    let spec = GeInstallSpec {
        version: Some("1.6.0".into()),
        replicas: Some(2),
        expose_nodeport: true,
        params: Default::default(),
    };
    NewJob {
        plan: labkube::jobs::plan(&JobKind::Ge(GeJob::Install(target.clone(), spec.clone()))),
        kind: JobKind::Ge(GeJob::Install(target, spec)),
        requested_by: Requester {
            platform: "matrix".into(),
            user: "@alice:lab.example".into(),
        },
        origin: Origin {
            platform: "matrix".into(),
            room: "!ops:lab.example".into(),
            event_id: format!("$event-{n:012}-abcdefghijklmnopqrstuvwxyz"),
        },
        command_text: "/ge install orion-ld version=1.6.0 replicas=2 on lab ns=fiware --nodeport"
            .into(),
    }
}

/// The record a store holds for `new_job(id)`, queued or (if `finished`) done with its four steps.
fn job(id: u64, finished: bool) -> Job {
    let new = new_job(id);
    // The real plan of the job's kind, as the worker fixes it.
    let plan = labkube::jobs::plan(&new.kind);
    let t0 = 1_760_000_000_000 + id * 60_000;
    let steps = plan
        .iter()
        .enumerate()
        .map(|(index, step)| StepRecord {
            index,
            name: step.title(),
            started_ms: t0,
            finished_ms: t0 + 5_000,
        })
        .collect();
    let state = match (finished, id % 10) {
        (false, _) => JobState::Queued,
        (true, 0) => JobState::Failed {
            reason: "step 4/4 (rollout) failed: timed out after 300 s".into(),
        },
        (true, _) => JobState::Succeeded,
    };
    Job {
        id,
        target: new.kind.target(),
        kind: new.kind,
        requested_by: new.requested_by,
        origin: new.origin,
        command_text: new.command_text,
        state,
        plan: if finished { plan } else { Vec::new() },
        steps: if finished { steps } else { Vec::new() },
        failed_step: None,
        cancel_requested: None,
        resumes: 0,
        hosts: Vec::new(),
        marks: Default::default(),
        rollout: Vec::new(),
        // History: its outcomes were told long ago.
        tell_outcome: false,
        summary: None,
        live_message: None,
        created_ms: t0,
        started_ms: finished.then_some(t0),
        finished_ms: finished.then_some(t0 + 30_000),
    }
}

/// Latencies (µs) and wall time of one measured run.
struct Run {
    hist: Histogram<u64>,
    wall: Duration,
}

impl Run {
    fn q(&self, q: f64) -> Duration {
        Duration::from_micros(self.hist.value_at_quantile(q))
    }
    fn max(&self) -> Duration {
        Duration::from_micros(self.hist.max())
    }
    fn per_sec(&self) -> f64 {
        self.hist.len() as f64 / self.wall.as_secs_f64()
    }
}

/// Runs `op(thread, i)` `per_thread` times on each of `threads` threads, timing each call.
fn drive(threads: usize, per_thread: usize, op: &(dyn Fn(usize, usize) -> R<()> + Sync)) -> R<Run> {
    let start = Instant::now();
    let hists = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || -> R<Histogram<u64>> {
                    let mut hist = Histogram::new_with_bounds(1, 60_000_000, 3)?;
                    for i in 0..per_thread {
                        let began = Instant::now();
                        op(t, i)?;
                        hist.record(u64::try_from(began.elapsed().as_micros())?.max(1))?;
                    }
                    Ok(hist)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "bench thread panicked")?)
            .collect::<R<Vec<_>>>()
    })?;
    let wall = start.elapsed();
    let mut hist = Histogram::new_with_bounds(1, 60_000_000, 3)?;
    for h in hists {
        hist.add(h)?;
    }
    Ok(Run { hist, wall })
}

/// Durable enqueues into a fresh store: `threads` submitters, `per_thread` each.
fn enqueue_run(base: &Path, threads: usize, per_thread: usize) -> R<Run> {
    let dir = tempfile::tempdir_in(base)?;
    let store = SledStore::open(dir.path())?;
    for i in 0..WARMUP {
        store.enqueue(new_job(i as u64), &format!("warmup/{i}"))?;
    }
    let op = |t: usize, i: usize| -> R<()> {
        let n = (t * 1_000_000 + i) as u64;
        store.enqueue(
            new_job(n),
            &format!("matrix/!ops:lab.example/$event-{t}-{i}"),
        )?;
        Ok(())
    };
    drive(threads, per_thread, &op)
}

/// The durability floor: one JSON line per job, `sync_data()` after each, through one
/// `Mutex<File>` shared by the submitters.
fn file_run(base: &Path, threads: usize, per_thread: usize) -> R<Run> {
    let dir = tempfile::tempdir_in(base)?;
    let file = Mutex::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("jobs.jsonl"))?,
    );
    let next = AtomicU64::new(1);
    let append = || -> R<()> {
        let mut line = serde_json::to_vec(&job(next.fetch_add(1, Ordering::Relaxed), false))?;
        line.push(b'\n');
        let mut f = file.lock().map_err(|_| "file mutex poisoned")?;
        f.write_all(&line)?;
        f.sync_data()?;
        Ok(())
    };
    for _ in 0..WARMUP {
        append()?;
    }
    drive(threads, per_thread, &|_, _| append())
}

/// A store with `HISTORY` finished jobs and `ACTIVE` queued/running ones, and the same jobs as
/// a JSON lines file. Returns the file's path.
fn build_history(store_dir: &Path, base: &Path) -> R<PathBuf> {
    let store = SledStore::open(store_dir)?;
    store.import_finished((1..=HISTORY).map(|id| job(id, true)))?;
    for i in 0..ACTIVE {
        let id = store
            .enqueue(new_job(HISTORY + i + 1), &format!("active/{i}"))?
            .job()
            .id;
        if i % 2 == 0 {
            store.update(id, &mut |j: &mut Job| {
                j.state = JobState::Running { step: 2 };
                Ok(())
            })?;
        }
    }
    let path = base.join("history.jsonl");
    let mut out = BufWriter::new(File::create(&path)?);
    for j in (1..=HISTORY).map(|id| job(id, true)).chain(store.active()?) {
        serde_json::to_writer(&mut out, &j)?;
        out.write_all(b"\n")?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(path)
}

/// `RESUMES` timings of `op`, sorted.
fn repeat(op: &dyn Fn() -> R<usize>) -> R<Vec<Duration>> {
    let mut times = Vec::with_capacity(RESUMES);
    for _ in 0..RESUMES {
        let began = Instant::now();
        let active = op()?;
        times.push(began.elapsed());
        if active != ACTIVE as usize {
            return Err(format!("resume found {active} active jobs, expected {ACTIVE}").into());
        }
    }
    times.sort();
    Ok(times)
}

fn dir_size(path: &Path) -> R<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

fn row(what: &str, ours: String, peer: String, ratio: f64, target: &str, verdict: &str) {
    println!("| {what} | {ours} | {peer} | {ratio:.2} | {target} | {verdict} |");
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets" } else { "MISSES" }
}

fn enqueue_rows(label: &str, ours: &Run, peer: &Run) {
    let n = ours.hist.len();
    for (name, o, p) in [
        ("p50", ours.q(0.5), peer.q(0.5)),
        ("p99", ours.q(0.99), peer.q(0.99)),
    ] {
        let target = if name == "p99" { "<= 10 ms" } else { "" };
        let v = if name == "p99" {
            verdict(o <= P99_TARGET)
        } else {
            ""
        };
        row(
            &format!("enqueue {label}, n={n}: {name}"),
            ms(o),
            ms(p),
            o.as_secs_f64() / p.as_secs_f64(),
            target,
            v,
        );
    }
    let (o, p) = (ours.max(), peer.max());
    row(
        &format!("enqueue {label}, n={n}: max"),
        ms(o),
        ms(p),
        o.as_secs_f64() / p.as_secs_f64(),
        "",
        "",
    );
    let (o, p) = (ours.per_sec(), peer.per_sec());
    row(
        &format!("enqueue {label}, n={n}: throughput"),
        format!("{o:.0}/s"),
        format!("{p:.0}/s"),
        o / p,
        "",
        "",
    );
}

fn main() -> R<()> {
    let base = std::env::var_os("LABKUBE_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let work = tempfile::tempdir_in(&base)?;
    println!("# labkube job store benchmark\n");
    println!(
        "command: `cargo bench --bench store`  (data under {})\n",
        work.path().display()
    );

    let serial = (
        enqueue_run(work.path(), 1, SERIAL)?,
        file_run(work.path(), 1, SERIAL)?,
    );
    let parallel = (
        enqueue_run(work.path(), THREADS, PER_THREAD)?,
        file_run(work.path(), THREADS, PER_THREAD)?,
    );

    let store_dir = work.path().join("history-store");
    let history_file = build_history(&store_dir, work.path())?;
    let ours = repeat(&|| Ok(SledStore::open(&store_dir)?.active()?.len()))?;
    let peer = repeat(&|| {
        let mut active = 0;
        for line in BufReader::new(File::open(&history_file)?).lines() {
            let job: Job = serde_json::from_str(&line?)?;
            active += usize::from(!job.state.is_terminal());
        }
        Ok(active)
    })?;
    let (store_mb, file_mb) = (
        dir_size(&store_dir)? as f64 / 1e6,
        std::fs::metadata(&history_file)?.len() as f64 / 1e6,
    );

    println!("| measurement | SledStore | peer | ours/peer | target | verdict |");
    println!("|---|---|---|---|---|---|");
    enqueue_rows("1 submitter", &serial.0, &serial.1);
    enqueue_rows(&format!("{THREADS} submitters"), &parallel.0, &parallel.1);
    let label = format!("open + active(), {HISTORY} finished + {ACTIVE} active, {RESUMES} runs");
    let (om, pm) = (ours[RESUMES / 2], peer[RESUMES / 2]);
    let (ox, px) = (ours[RESUMES - 1], peer[RESUMES - 1]);
    row(
        &format!("{label}: median"),
        ms(om),
        ms(pm),
        om.as_secs_f64() / pm.as_secs_f64(),
        "<= 1 s",
        verdict(om <= RESUME_TARGET),
    );
    row(
        &format!("{label}: max"),
        ms(ox),
        ms(px),
        ox.as_secs_f64() / px.as_secs_f64(),
        "<= 1 s",
        verdict(ox <= RESUME_TARGET),
    );
    println!();
    println!(
        "Peers: enqueue = one JSON line of the same job appended to a file + `sync_data()` per record"
    );
    println!(
        "(shared `Mutex<File>` for {THREADS} threads); resume = read + decode all {} JSON lines.",
        HISTORY + ACTIVE
    );
    println!("Resume runs, ours: {ours:?}; peer: {peer:?}");
    println!("History on disk: sled dir {store_mb:.1} MB, JSON lines file {file_mb:.1} MB.");
    Ok(())
}
