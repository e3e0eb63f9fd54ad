//! Command-parser throughput: a realistic mix of valid and invalid chat lines, parsed in a loop
//! for about two seconds, reported as a small Markdown table.
//!
//! Run with `cargo bench --bench grammar`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use labkube::command::parse;

const BOT: Option<&str> = Some("labkube_bot");

/// Lines a lab user sends that parse.
const VALID: &[&str] = &[
    "/help",
    "/help cluster create",
    "/cluster create 10.0.0.11 10.0.0.12 10.0.0.13 name=lab-1 user=ubuntu k8s=1.31",
    "/cluster plan 10.0.0.21 10.0.0.22 pod-cidr=10.244.0.0/16",
    "/cluster@labkube_bot status lab-1",
    "/cluster delete lab-1 confirm=k3x9p2",
    "/ge install orion ns=demo version=4.1.0 replicas=2 expose=nodeport",
    "!ge upgrade orion version=4.1.1 cluster=lab-1",
    "/rollback orion to=3",
    "/job #42",
];

/// Lines that are rejected, each for a different reason.
const INVALID: &[&str] = &[
    "/clustr list",
    "/cluster creat 10.0.0.11",
    "/cluster create 010.0.0.1 10.0.0.2",
    "/cluster create 10.0.0.1 10.0.0.1",
    "/ge install orion namespace=demo",
    "/ge install Orion ns=demo",
    "/ge upgrade orion",
    "/сluster list",
    "/cluster use lab\u{202e}1",
    "/help nonsense",
];

/// The peer: the least any chat command handler does with a line, splitting it on whitespace
/// and lowercasing the command word, with no validation at all.
fn floor(line: &str) -> usize {
    let mut words = line.split_ascii_whitespace();
    let head = words
        .next()
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    head.len() + words.count()
}

/// Parses every line of `lines` repeatedly for about `budget`; returns parses and time taken.
fn run(lines: &[&str], budget: Duration) -> (u64, Duration) {
    run_with(lines, budget, |line| {
        let _ = black_box(parse(black_box(line), BOT));
    })
}

/// Runs `f` over `lines` repeatedly for about `budget`; returns calls and time taken.
fn run_with(lines: &[&str], budget: Duration, f: impl Fn(&str)) -> (u64, Duration) {
    let start = Instant::now();
    let mut parses = 0u64;
    loop {
        for _ in 0..100 {
            for line in lines {
                f(line);
            }
        }
        parses += 100 * lines.len() as u64;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return (parses, elapsed);
        }
    }
}

fn ns_per((calls, elapsed): (u64, Duration)) -> f64 {
    elapsed.as_nanos() as f64 / calls as f64
}

fn row(label: &str, lines: usize, run: (u64, Duration), peer: (u64, Duration)) {
    let (parses, elapsed) = run;
    let per_sec = parses as f64 / elapsed.as_secs_f64();
    let ratio = ns_per(run) / ns_per(peer);
    println!(
        "| {label} | {lines} | {parses} | {per_sec:.0} | {:.0} | {:.0} | {ratio:.1} |",
        ns_per(run),
        ns_per(peer)
    );
}

fn main() {
    // The mix must be what it claims to be.
    for line in VALID {
        assert!(
            matches!(parse(line, BOT), Ok(Some(_))),
            "should parse: {line}"
        );
    }
    for line in INVALID {
        assert!(parse(line, BOT).is_err(), "should be rejected: {line}");
    }
    let all: Vec<&str> = VALID.iter().chain(INVALID).copied().collect();
    // Warm up caches and the branch predictor.
    run(&all, Duration::from_millis(200));

    let budget = Duration::from_millis(900);
    let peer = |lines: &[&str]| {
        run_with(lines, Duration::from_millis(300), |l| {
            black_box(floor(black_box(l)));
        })
    };
    let valid = (run(VALID, budget), peer(VALID));
    let invalid = (run(INVALID, budget), peer(INVALID));
    let mixed = (run(&all, budget), peer(&all));

    println!("Command: cargo bench --bench grammar");
    println!(
        "Peer: splitting the same line on whitespace and lowercasing the command word (no validation)."
    );
    println!();
    println!("| lines | distinct | parses | parses/s | ns/parse | peer ns/line | ours/peer |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    row("valid", VALID.len(), valid.0, valid.1);
    row("invalid", INVALID.len(), invalid.0, invalid.1);
    row("mixed", all.len(), mixed.0, mixed.1);
}
