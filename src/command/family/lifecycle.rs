//! The commands that keep a cluster going over the years: `/cluster upgrade`.
//!
//! Each entry is one command: its spec row (words, arguments, help, access) and its builder.

use super::super::build::{Args, Built};
use super::super::spec::{Access, Fallback, Group, Opt, Spec};
use super::super::types::Command;
use super::cluster::{CLUSTER_NAME, CONFIRM, K8S};

/// This family's commands, in the order `/help` lists them.
pub(super) static SPECS: &[Spec] = &[Spec {
    path: "cluster upgrade",
    aliases: &[],
    group: Group::Clusters,
    summary: "move a cluster to the next Kubernetes minor (asks for confirmation)",
    details: "Without k8s= the bot shows the plan: the cluster's version, the minor it can move \
        to and what would happen, changing nothing. With k8s= (the next minor only: kubeadm \
        does not skip one, and never goes down) it replies with what will be drained and a \
        confirmation code; send the command again with confirm=CODE to go ahead. The job first \
        checks every node (Ready, versions within the skew policy, containerd, disk), then \
        upgrades the control planes one at a time (kubeadm upgrade apply on the first, which \
        also renews their certificates) and the workers in batches ([cluster] \
        upgrade_batch_percent), each drained, upgraded, Ready again and uncordoned; then the \
        pod network, storage and metrics-server. A failure stops it with the other nodes \
        untouched; the same command goes on where it stopped.",
    positionals: &[CLUSTER_NAME],
    options: &[
        Opt {
            fallback: Fallback::Note("none: the bot shows the plan and changes nothing"),
            about: "the minor to move to: the one after the cluster's",
            ..K8S
        },
        CONFIRM,
    ],
    flags: &[],
    examples: &[
        "/cluster upgrade lab-1",
        "/cluster upgrade lab-1 k8s=1.36",
        "/cluster upgrade lab-1 k8s=1.36 confirm=k3x9p2",
    ],
    access: Access::Operator,
    mutating: true,
    ge_params: false,
    build: cluster_upgrade,
}];

fn cluster_upgrade(a: &mut Args) -> Built {
    Ok(Command::ClusterUpgrade {
        name: a.one("name")?,
        k8s: a.opt("k8s")?,
        confirm: a.opt("confirm")?,
    })
}
