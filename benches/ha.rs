//! The bot on etcd: `cargo bench --bench ha` (needs Debian's etcd-server; every peer runs on
//! 127.0.0.1 and is started here).
//!
//! - Durable enqueue, p50 and p99, with 1 and with 8 submitters: the etcd store on a 3-member
//!   cluster beside the sled store on this machine's disk, in the same run (target: p99 ≤ 20 ms
//!   on etcd).
//! - Failover: two real `labkube console` replicas with a 2 s lease; the leader is SIGKILLed
//!   and a command is waiting at the standby; the time from the kill to the standby's
//!   acknowledgement, p50 and p99 over 20 kills (target: ≤ lease + 2 s).

use std::error::Error;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use labkube::store::{EtcdStore, JobKind, JobStore, NewJob, Origin, Requester, SledStore};
use labkube_testkit::etcd::{EtcdCluster, TEST_KEY, store_settings};
use labkube_testkit::etcd_console::{Extra, console_config};
use labkube_testkit::stats::{ms, percentile};
use labkube_testkit::support::Bot;

type R<T> = Result<T, Box<dyn Error + Send + Sync>>;

const SERIAL: usize = 500;
const THREADS: usize = 8;
const PER_THREAD: usize = 100;
const WARMUP: usize = 30;
const KILLS: usize = 20;
const LEASE_SECS: u64 = 2;
const ENQUEUE_TARGET: Duration = Duration::from_millis(20);

fn new_job(n: usize) -> NewJob {
    NewJob {
        plan: Vec::new(),
        kind: JobKind::selftest(3, 10),
        requested_by: Requester {
            platform: "matrix".into(),
            user: "@alice:lab.example".into(),
        },
        origin: Origin {
            platform: "matrix".into(),
            room: "!ops:lab.example".into(),
            event_id: format!("$event-{n:012}"),
        },
        command_text: "/selftest steps=3 ms=10".into(),
    }
}

/// Enqueue latencies (µs) of `threads` submitters enqueuing `per_thread` jobs each.
fn enqueues(
    store: &dyn JobStore,
    threads: usize,
    per_thread: usize,
    base: usize,
) -> R<Histogram<u64>> {
    for i in 0..WARMUP {
        store.enqueue(new_job(base + 1_000_000 + i), &format!("w{base}/{i}"))?;
    }
    let hists: Vec<R<Histogram<u64>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || -> R<Histogram<u64>> {
                    let mut h = Histogram::<u64>::new(3)?;
                    for i in 0..per_thread {
                        let n = base + t * 100_000 + i;
                        let began = Instant::now();
                        store.enqueue(new_job(n), &format!("k{n}"))?;
                        h.record(u64::try_from(began.elapsed().as_micros())?)?;
                    }
                    Ok(h)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a submitter panicked")?)
            .collect()
    });
    let mut all = Histogram::<u64>::new(3)?;
    for h in hists {
        all.add(h?)?;
    }
    Ok(all)
}

fn q(h: &Histogram<u64>, q: f64) -> Duration {
    Duration::from_micros(h.value_at_quantile(q))
}

fn enqueue_rows() -> R<()> {
    let cluster = EtcdCluster::start(3);
    let etcd = EtcdStore::open(&store_settings(&cluster.endpoints()))?;
    let dir = tempfile::tempdir()?;
    let sled = SledStore::open(dir.path())?;
    println!("| store | submitters | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    let mut verdicts = Vec::new();
    for (threads, per_thread) in [(1, SERIAL), (THREADS, PER_THREAD)] {
        for (name, store) in [
            ("etcd (3 members)", &etcd as &dyn JobStore),
            ("sled", &sled),
        ] {
            let h = enqueues(store, threads, per_thread, threads * 10_000_000)?;
            println!(
                "| {name} | {threads} | {} | {} | {} |",
                ms(q(&h, 0.5)),
                ms(q(&h, 0.99)),
                ms(Duration::from_micros(h.max()))
            );
            if name.starts_with("etcd") {
                verdicts.push((threads, q(&h, 0.99)));
            }
        }
    }
    for (threads, p99) in verdicts {
        let verdict = if p99 <= ENQUEUE_TARGET {
            "meets"
        } else {
            "MISSES"
        };
        println!(
            "etcd enqueue p99 with {threads} submitter(s): {} (target <= {}): {verdict}",
            ms(p99),
            ms(ENQUEUE_TARGET)
        );
    }
    Ok(())
}

/// A console replica named `name` on `cluster` with a 2 s lease.
fn replica(dir: &std::path::Path, cluster: &EtcdCluster, name: &str, round: usize) -> R<Bot> {
    let store = format!("lease_secs = {LEASE_SECS}\nreplica = \"{name}\"\n");
    let extra = Extra {
        store: &store,
        ..Extra::default()
    };
    let config = console_config(dir, cluster, TEST_KEY, &format!("{name}.toml"), extra);
    Ok(Bot::console(
        &config,
        &dir.join(format!("data-{name}-{round}")),
    ))
}

fn failover_rows() -> R<()> {
    const BANNER: &str = "labkube console: you are tester (admin)";
    let limit = Duration::from_secs(30);
    let cluster = EtcdCluster::start(3);
    let dir = tempfile::tempdir()?;
    let mut leader = replica(dir.path(), &cluster, "bot-0", 0)?;
    leader.expect(BANNER, limit);
    let mut times = Vec::with_capacity(KILLS);
    for round in 1..=KILLS {
        let mut standby = replica(dir.path(), &cluster, &format!("bot-{round}"), round)?;
        // A standby campaigns at once; give it a moment to be a candidate.
        std::thread::sleep(Duration::from_millis(500));
        standby.say("/selftest steps=1 ms=1");
        let killed = Instant::now();
        leader.kill();
        standby.expect("queued job #", limit);
        times.push(killed.elapsed());
        leader = standby;
    }
    leader.kill();
    times.sort();
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    let target = Duration::from_secs(LEASE_SECS + 2);
    let verdict = if p99 <= target { "meets" } else { "MISSES" };
    println!(
        "failover, leader SIGKILLed to the standby's acknowledgement, {KILLS} kills, lease {LEASE_SECS} s: p50 {}, p99 {}, max {} (target <= {}): {verdict}",
        ms(p50),
        ms(p99),
        ms(times[times.len() - 1]),
        ms(target)
    );
    Ok(())
}

fn main() -> R<()> {
    enqueue_rows()?;
    failover_rows()
}
