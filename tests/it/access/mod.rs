//! `/kubeconfig`: a lab user's own, scoped, short-lived access to a cluster.

mod console;
mod grants;
mod namespaces;
