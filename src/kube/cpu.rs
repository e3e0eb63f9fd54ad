//! Whether a cluster's CPUs can run a GE: MongoDB 5.0 and later need AVX, which common
//! hypervisor CPU models (kvm64, x86-64-v2-AES) do not expose; the AVX of each node comes from
//! the facts `/cluster create` recorded.

use std::collections::BTreeMap;

use crate::kube::error::KubeError;
use crate::kube::layer::KubeLayer;
use crate::kube::precheck;
use crate::store::GeTarget;

/// Refuses an install that would run software needing AVX (MongoDB 5.0 and later die with
/// "Illegal instruction" without it, docker-library/mongo#485) on a cluster labkube created
/// whose workload nodes' CPUs lack it. Clusters declared in the config are not known.
pub fn check_install(
    layer: &KubeLayer,
    t: &GeTarget,
    params: &BTreeMap<String, String>,
) -> Result<(), KubeError> {
    let Some(needing) = precheck::to_install(layer, t, params)?
        .into_iter()
        .find(|g| g.needs_avx)
    else {
        return Ok(());
    };
    let Some(cluster) = layer.store().cluster(&t.cluster)? else {
        return Ok(());
    };
    // Workloads run on the workers, or on the control plane of a one-host cluster.
    let single = cluster.nodes.len() == 1;
    let lacking: Vec<String> = cluster
        .nodes
        .iter()
        .filter(|n| single || n.role != "control-plane")
        .filter(|n| n.avx == Some(false))
        .map(|n| format!("{} ({})", n.hostname, n.addr))
        .collect();
    if lacking.is_empty() {
        return Ok(());
    }
    let who = if needing.name == t.ge {
        needing.name.clone()
    } else {
        format!("{} (which {} needs)", needing.name, t.ge)
    };
    Err(KubeError::Refused(format!(
        "{who} needs a CPU with AVX, and the CPUs of {} on {} lack it: it would stop with \
         \"Illegal instruction\". Set those VMs' CPU type to host (or a model with AVX), restart \
         them and try again; nothing was changed",
        lacking.join(", "),
        t.cluster
    )))
}
