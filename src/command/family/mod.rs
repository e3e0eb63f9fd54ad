//! The commands of the grammar, by family, each declared once: a family's file holds its
//! commands' spec rows (words, arguments, options, help text, examples, access) and their
//! builders. Adding a command means one entry in its family's file, one
//! [`Command`](super::Command) variant and one arm in the dispatcher.

mod access;
mod alerts;
mod cluster;
mod ge;
mod ge_look;
mod general;
mod jobs;
mod lifecycle;
mod node;
mod ns;

use super::spec::Spec;

pub use access::TTL_SECS as KUBECONFIG_TTL_SECS;
pub use ns::MAX_PODS as NS_MAX_PODS;

/// Every command spec, in the order `/help` lists them.
pub(crate) fn specs() -> impl Iterator<Item = &'static Spec> + Clone {
    cluster::SPECS
        .iter()
        .chain(lifecycle::SPECS)
        .chain(node::SPECS)
        .chain(ge::SPECS)
        .chain(ge_look::SPECS)
        .chain(alerts::SPECS)
        .chain(ns::SPECS)
        .chain(access::SPECS)
        .chain(jobs::SPECS)
        .chain(general::SPECS)
}
