//! The provisioning benchmark's report: the tables of `docs/BENCHMARKS.md` from both tools'
//! runs, with each target's verdict.

use super::*;

pub(super) fn report(
    ansible_version: &str,
    ovh_mem: &[LkRun],
    ovh_sled: &[LkRun],
    ovh_floor: &[Duration],
    ovh_raw: &[AnsibleRun],
    ovh_shell: &[AnsibleRun],
    fan: &[Fan],
) {
    let lk_steps = |runs: &[LkRun]| {
        runs.iter()
            .flat_map(|r| r.steps.clone())
            .collect::<Vec<_>>()
    };
    let an_steps = |runs: &[AnsibleRun]| {
        runs.iter()
            .flat_map(|r| r.steps.clone())
            .collect::<Vec<_>>()
    };
    let raw_step = median(&an_steps(ovh_raw));
    let shell_step = median(&an_steps(ovh_shell));
    let (peer, peer_name) = if raw_step <= shell_step {
        (Form::Raw, "raw")
    } else {
        (Form::Shell, "shell")
    };
    let pick = |raw: Duration, shell: Duration| match peer {
        Form::Raw => raw,
        Form::Shell => shell,
    };

    println!(
        "{} sshd hosts on 127.0.0.N (OpenSSH {}), login as root, 2 tokio workers; \
         {ansible_version}, pipelining on, forks = host count, linear strategy.",
        FANOUT_LARGE,
        sshd::version()
    );
    println!(
        "labkube: medians of {LABKUBE_RUNS} runs (overhead) and {LABKUBE_FANOUT_RUNS} runs \
         (fan-out); Ansible: {ANSIBLE_RUNS} and {ANSIBLE_FANOUT_RUNS} run(s) per form. Per-step \
         figures pool every step of every run. Steps exclude connection setup (own rows, \
         which include a first command as Ansible's first task does). \
         Peer: the faster Ansible form on the overhead, `{peer_name}`.\n"
    );
    println!(
        "| scenario | measure | labkube | Ansible raw | Ansible shell | labkube / Ansible {peer_name} | target | verdict |"
    );
    println!("|---|---|---:|---:|---:|---:|---|---|");

    // Overhead.
    let ovh = format!("overhead, {OVERHEAD_HOSTS} hosts, {OVERHEAD_STEPS} x `{EMPTY}`");
    let lk_connect = median(&ovh_mem.iter().map(LkRun::opening).collect::<Vec<_>>());
    let raw_connect = median(&ovh_raw.iter().map(|r| r.connect).collect::<Vec<_>>());
    let shell_connect = median(&ovh_shell.iter().map(|r| r.connect).collect::<Vec<_>>());
    row(
        &ovh,
        "connect + a first `:` on every host (labkube `Batch::connect` + one step; Ansible \
         its first task, `raw: \":\"`)",
        lk_connect,
        raw_connect,
        shell_connect,
        pick(raw_connect, shell_connect),
        None,
    );
    let lk = lk_steps(ovh_mem);
    let lk_step = median(&lk);
    let ratio = ratio_of(lk_step, pick(raw_step, shell_step));
    row(
        &ovh,
        &format!(
            "**wall per step, median** (labkube n={}, Ansible n={})",
            lk.len(),
            an_steps(ovh_raw).len()
        ),
        lk_step,
        raw_step,
        shell_step,
        pick(raw_step, shell_step),
        Some((
            format!("labkube <= {OVERHEAD_TARGET:.2} x Ansible"),
            verdict(ratio <= OVERHEAD_TARGET),
        )),
    );
    let (raw_mean, shell_mean) = (mean(&an_steps(ovh_raw)), mean(&an_steps(ovh_shell)));
    row(
        &ovh,
        "wall per step, mean",
        mean(&lk),
        raw_mean,
        shell_mean,
        pick(raw_mean, shell_mean),
        None,
    );
    let (raw_p90, shell_p90) = (
        percentile(&an_steps(ovh_raw), 0.90),
        percentile(&an_steps(ovh_shell), 0.90),
    );
    row(
        &ovh,
        "wall per step, p90",
        percentile(&lk, 0.90),
        raw_p90,
        shell_p90,
        pick(raw_p90, shell_p90),
        None,
    );
    let sled_step = median(&lk_steps(ovh_sled));
    row(
        &ovh,
        "wall per step, median, labkube progress in SledStore (durable writes)",
        sled_step,
        raw_step,
        shell_step,
        pick(raw_step, shell_step),
        Some((
            format!("(labkube <= {OVERHEAD_TARGET:.2} x Ansible)"),
            verdict(ratio_of(sled_step, pick(raw_step, shell_step)) <= OVERHEAD_TARGET),
        )),
    );
    let floor_step = median(ovh_floor);
    row(
        &ovh,
        &format!(
            "wall per step, median, floor: one `RemoteExec::run` per host at once, no progress \
             (n={})",
            ovh_floor.len()
        ),
        floor_step,
        raw_step,
        shell_step,
        pick(raw_step, shell_step),
        None,
    );
    let n_steps = lk.len() as u32;
    let cpu_self = ovh_mem.iter().map(|r| r.cpu_self).sum::<Duration>() / n_steps;
    let cpu_all = ovh_mem.iter().map(|r| r.cpu_all).sum::<Duration>() / n_steps;
    let an_cpu = |runs: &[AnsibleRun]| {
        runs.iter().map(|r| r.cpu_steps).sum::<Duration>() / an_steps(runs).len().max(1) as u32
    };
    println!(
        "| {ovh} | CPU per step (busy, all cores): whole machine (labkube's own process) | \
         {} ({}) | {} | {} |  |  |  |",
        fmt(cpu_all),
        fmt(cpu_self),
        fmt(an_cpu(ovh_raw)),
        fmt(an_cpu(ovh_shell)),
    );
    let lk_total = median(&ovh_mem.iter().map(LkRun::total).collect::<Vec<_>>());
    let raw_total = median(&ovh_raw.iter().map(|r| r.total).collect::<Vec<_>>());
    let shell_total = median(&ovh_shell.iter().map(|r| r.total).collect::<Vec<_>>());
    row(
        &ovh,
        "whole run (labkube connect + steps + close; Ansible process start to exit)",
        lk_total,
        raw_total,
        shell_total,
        pick(raw_total, shell_total),
        None,
    );

    // Fan-out.
    let wall_lk = |runs: &[LkRun]| median(&runs.iter().map(LkRun::steps_total).collect::<Vec<_>>());
    let wall_an =
        |runs: &[AnsibleRun]| median(&runs.iter().map(AnsibleRun::steps_total).collect::<Vec<_>>());
    for f in fan {
        let sc = format!(
            "fan-out, {} host{}, {FANOUT_STEPS} x `{SLEEP}`",
            f.hosts,
            if f.hosts == 1 { "" } else { "s" }
        );
        let (r, s) = (
            median(&f.raw.iter().map(|r| r.connect).collect::<Vec<_>>()),
            median(&f.shell.iter().map(|r| r.connect).collect::<Vec<_>>()),
        );
        row(
            &sc,
            "connect + a first `:` on every host",
            median(&f.mem.iter().map(LkRun::opening).collect::<Vec<_>>()),
            r,
            s,
            pick(r, s),
            None,
        );
        let (r, s) = (wall_an(&f.raw), wall_an(&f.shell));
        row(
            &sc,
            "wall of the steps",
            wall_lk(&f.mem),
            r,
            s,
            pick(r, s),
            None,
        );
        row(
            &sc,
            "wall of the steps, labkube progress in SledStore",
            wall_lk(&f.sled),
            r,
            s,
            pick(r, s),
            None,
        );
    }
    let (small, large) = (&fan[0], &fan[1]);
    let fr = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64();
    let lk_fr = fr(wall_lk(&small.mem), wall_lk(&large.mem));
    let sled_fr = fr(wall_lk(&small.sled), wall_lk(&large.sled));
    let raw_fr = fr(wall_an(&small.raw), wall_an(&large.raw));
    let shell_fr = fr(wall_an(&small.shell), wall_an(&large.shell));
    let sc = format!("fan-out, {FANOUT_LARGE} vs {FANOUT_SMALL} host");
    println!(
        "| {sc} | **wall({FANOUT_LARGE}) / wall({FANOUT_SMALL})** | {lk_fr:.3} | {raw_fr:.3} | \
         {shell_fr:.3} |  | labkube <= {FANOUT_TARGET} | {} |",
        verdict(lk_fr <= FANOUT_TARGET)
    );
    println!(
        "| {sc} | wall({FANOUT_LARGE}) / wall({FANOUT_SMALL}), labkube progress in SledStore | \
         {sled_fr:.3} | {raw_fr:.3} | {shell_fr:.3} |  | (labkube <= {FANOUT_TARGET}) | {} |",
        verdict(sled_fr <= FANOUT_TARGET)
    );

    println!("\nRaw samples (ms):");
    let list = |v: &[Duration]| {
        v.iter()
            .map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "- overhead, labkube `Batch::connect` alone per run: {}; the first `:` after it: {}",
        list(&ovh_mem.iter().map(|r| r.connect).collect::<Vec<_>>()),
        list(&ovh_mem.iter().map(|r| r.first).collect::<Vec<_>>())
    );
    println!(
        "- overhead, labkube close per run: {}",
        list(&ovh_mem.iter().map(|r| r.close).collect::<Vec<_>>())
    );
    println!(
        "- overhead, labkube first timed step of each run: {}; slowest step of each run: {}",
        list(&ovh_mem.iter().map(|r| r.steps[0]).collect::<Vec<_>>()),
        list(
            &ovh_mem
                .iter()
                .map(|r| r.steps.iter().copied().max().unwrap_or_default())
                .collect::<Vec<_>>()
        )
    );
    println!(
        "- overhead, labkube (SledStore) per-run median step: {}",
        list(
            &ovh_sled
                .iter()
                .map(|r| median(&r.steps))
                .collect::<Vec<_>>()
        )
    );
    println!(
        "- overhead, Ansible raw steps: {}",
        list(&an_steps(ovh_raw))
    );
    println!(
        "- overhead, Ansible shell steps: {}",
        list(&an_steps(ovh_shell))
    );
    for f in fan {
        println!(
            "- fan-out {} host(s), wall of the steps per run: labkube {}; SledStore {}; \
             Ansible raw {}; Ansible shell {}",
            f.hosts,
            list(&f.mem.iter().map(LkRun::steps_total).collect::<Vec<_>>()),
            list(&f.sled.iter().map(LkRun::steps_total).collect::<Vec<_>>()),
            list(
                &f.raw
                    .iter()
                    .map(AnsibleRun::steps_total)
                    .collect::<Vec<_>>()
            ),
            list(
                &f.shell
                    .iter()
                    .map(AnsibleRun::steps_total)
                    .collect::<Vec<_>>()
            ),
        );
        println!(
            "- fan-out {} host(s), Ansible per step: raw {}; shell {}",
            f.hosts,
            list(
                &f.raw
                    .iter()
                    .flat_map(|r| r.steps.clone())
                    .collect::<Vec<_>>()
            ),
            list(
                &f.shell
                    .iter()
                    .flat_map(|r| r.steps.clone())
                    .collect::<Vec<_>>()
            ),
        );
    }
}

fn row(
    scenario: &str,
    measure: &str,
    lk: Duration,
    raw: Duration,
    shell: Duration,
    peer: Duration,
    target: Option<(String, &str)>,
) {
    let (target, verdict) = target.unwrap_or_default();
    println!(
        "| {scenario} | {measure} | {} | {} | {} | {:.3} | {target} | {verdict} |",
        fmt(lk),
        fmt(raw),
        fmt(shell),
        ratio_of(lk, peer)
    );
}

fn verdict(met: bool) -> &'static str {
    if met { "meets" } else { "**misses**" }
}

fn ratio_of(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
