//! The crash sweep: the real binary (console) runs `/cluster create` on three stand-in hosts,
//! then `/ge install orion`, `/ge upgrade orion` and `/rollback orion` on the cluster it made,
//! and is SIGKILLed at points spread over that whole scenario, then started again.
//!
//! A reference run without kills times each phase (command) of the scenario and each step of
//! its job. The kill points ([`plans`]): right after each effect that must happen once
//! (`kubeadm init`, each `kubeadm join`, each revision's apply: the bot is killed as soon as
//! the stand-in's call log or the fake API server's request log shows it, before the step's
//! checkpoint); the middle of every step; and the rest spread evenly over each phase, every
//! other one waiting for the next output line and killing as it arrives (a progress line
//! follows a store write, so that kill falls between one store write and the next). Each run
//! takes several kills in a row. After every kill and at the end the store and the peers are
//! checked ([`verdict`]): each job ends exactly once, no `kubeadm init`, `kubeadm join` or
//! apply of a revision ran twice, no acknowledged command was lost, each outcome reached the
//! room (at least once).
//!
//! `LABKUBE_CRASH_POINTS` sets the number of kill points (5 in the suite: one run);
//! `scripts/crash-sweep.sh` runs 50 and prints the table `docs/RELIABILITY.md` quotes.

mod drive;
mod verdict;

use std::time::Duration;

use drive::{EFFECTS, Effect, Kill, Run};

/// Kill points per run (sessions per run: one more).
const PER_RUN: usize = 5;
/// Kill points when `LABKUBE_CRASH_POINTS` is not set.
const SUITE_POINTS: usize = 5;

#[test]
fn sigkill_anywhere_in_create_install_upgrade_rollback_repeats_and_loses_nothing() {
    let points = std::env::var("LABKUBE_CRASH_POINTS")
        .ok()
        .map(|v| v.parse::<usize>().expect("LABKUBE_CRASH_POINTS: a number"))
        .unwrap_or(SUITE_POINTS);
    let reference = Run::new().drive(&[], None);
    assert!(reference.problems.is_empty(), "{:#?}", reference.problems);
    let mut report = verdict::Report::new(&reference);
    report.add(&reference);
    let plans = plans(
        points,
        &reference.phases,
        &reference.steps,
        &reference.titles,
    );
    for plan in plans {
        let run = Run::new().drive(&plan, Some(&reference));
        report.add(&run);
    }
    println!("{}", report.render());
    assert_eq!(report.kills(), points, "every kill point was reached");
    assert!(report.problems().is_empty(), "{}", report.render());
}

/// The kill points, in scenario order, handed out round-robin to runs of [`PER_RUN`]:
/// - right after each effect that must happen once ([`EFFECTS`]; as many as a fifth of
///   `points` allow), placed for the order at the middle of the step that causes it;
/// - the middle of each step (`steps`, per phase, from the reference run), as many as three
///   fifths of what is left allow, chosen evenly when not all fit;
/// - the rest shared out equally between the phases (`phases`: their lengths) and spread
///   evenly over each.
///
/// Every other timed point waits for an output line.
fn plans(
    points: usize,
    phases: &[Duration],
    steps: &[Vec<(Duration, Duration)>],
    titles: &[(String, Vec<String>)],
) -> Vec<Vec<Kill>> {
    let middle = |p: usize, i: usize| {
        let (a, b) = steps[p][i];
        a + (b - a) / 2
    };
    let mut all: Vec<(usize, Duration, Option<Effect>)> = Vec::new();
    let effects = EFFECTS.len().min(points / 5);
    for (phase, step, effect) in EFFECTS.iter().take(effects) {
        let i = titles
            .get(*phase)
            .and_then(|(_, t)| t.iter().position(|t| t == step))
            .unwrap_or_else(|| panic!("no step {step:?} in phase {phase}"));
        all.push((*phase, middle(*phase, i), Some(*effect)));
    }
    let left = points - effects;
    let middles: Vec<(usize, Duration)> = steps
        .iter()
        .enumerate()
        .flat_map(|(p, s)| (0..s.len()).map(move |i| (p, i)))
        .map(|(p, i)| (p, middle(p, i)))
        .collect();
    let inside = middles.len().min(left * 3 / 5);
    all.extend((0..inside).map(|i| {
        let (p, at) = middles[i * middles.len() / inside];
        (p, at, None)
    }));
    let spread = left - inside;
    let n = phases.len();
    for j in 0..spread {
        // Point j is the k-th of the `share` spread points of its phase.
        let phase = j * n / spread;
        let first = (phase * spread).div_ceil(n);
        let share = ((phase + 1) * spread).div_ceil(n) - first;
        let k = (j - first) as u128;
        // The middle of the k-th of `share` equal slices, in whole nanoseconds.
        let nanos = phases[phase].as_nanos() * (2 * k + 1) / (2 * share as u128);
        let at = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        all.push((phase, at, None));
    }
    all.sort_by_key(|(p, at, _)| (*p, *at));
    let kills: Vec<Kill> = all
        .into_iter()
        .enumerate()
        .map(|(j, (phase, at, after))| Kill {
            phase,
            at,
            on_line: j % 2 == 1,
            after,
        })
        .collect();
    let runs = points.div_ceil(PER_RUN);
    (0..runs)
        .map(|r| kills.iter().skip(r).step_by(runs).copied().collect())
        .collect()
}

#[test]
fn kill_points_follow_the_effects_and_fall_inside_steps_and_over_every_phase() {
    let ms = Duration::from_millis;
    // The four phases as a reference run could have timed them, with the steps that cause
    // the effects among theirs.
    let phases = [ms(9000), ms(2000), ms(1000), ms(1000)];
    let steps = vec![
        vec![(ms(0), ms(100)), (ms(100), ms(4100)), (ms(4100), ms(8100))],
        vec![(ms(0), ms(1000)), (ms(1000), ms(1800))],
        vec![(ms(0), ms(600))],
        vec![(ms(0), ms(600))],
    ];
    let titles: Vec<(String, Vec<String>)> = [
        vec!["connect", "set up hosts", "wait for nodes Ready"],
        vec!["dependencies", "apply"],
        vec!["apply"],
        vec!["apply"],
    ]
    .into_iter()
    .map(|t| ("job".to_string(), t.into_iter().map(String::from).collect()))
    .collect();
    let runs = plans(10, &phases, &steps, &titles);
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|p| p.len() == 5));
    let mut all: Vec<(usize, Duration, bool)> = runs
        .iter()
        .flatten()
        .map(|k| (k.phase, k.at, k.after.is_some()))
        .collect();
    all.sort();
    // Two effects (a fifth of 10: kubeadm init and the first join, both in the set-up step),
    // four step middles (three fifths of the 8 left, chosen evenly from 7), and one spread
    // point per phase.
    let want = vec![
        (0, ms(50), false),
        (0, ms(2100), false),
        (0, ms(2100), true),
        (0, ms(2100), true),
        (0, ms(4500), false),
        (1, ms(500), false),
        (1, ms(1000), false),
        (2, ms(300), false),
        (2, ms(500), false),
        (3, ms(500), false),
    ];
    assert_eq!(all, want);
    for p in &runs {
        let order: Vec<(usize, Duration)> = p.iter().map(|k| (k.phase, k.at)).collect();
        assert!(
            order.is_sorted(),
            "a run's kills in scenario order: {order:?}"
        );
    }
    assert_eq!(runs.iter().flatten().filter(|k| k.on_line).count(), 5);
    let effects: Vec<Effect> = runs.iter().flatten().filter_map(|k| k.after).collect();
    assert_eq!(effects.len(), 2);
    assert!(
        effects
            .iter()
            .all(|e| EFFECTS[..2].iter().any(|(_, _, x)| x == e))
    );
}
