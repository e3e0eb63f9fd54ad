//! Who holds a cluster name and a host: the host index and name reservations. A host belongs
//! to at most one cluster, and a name to one room, from the moment a create is queued: the
//! store checks and writes the claims in the same transaction as the job, releases them when
//! a create ends without registering its cluster, and registers a cluster only where the
//! name is still reserved for that very job (a compare-and-swap).
//!
//! These are the rules; each store only persists what they decide, as with [`transition`].
//! Key formats are written here once.
//!
//! [`transition`]: super::transition

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::audit::ClusterRecord;
use super::job::{Job, JobId, Origin};
use super::kind::{ClusterJob, JobKind};

/// What a claim is on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClaimKey {
    /// A cluster name.
    Name(String),
    /// A host, by its normalised address ([`crate::names::host_addr`]).
    Host(IpAddr),
}

impl ClaimKey {
    /// The key of a host claim: the address normalised, so `::ffff:10.0.0.1` and `10.0.0.1`
    /// are one host.
    pub fn host(addr: IpAddr) -> ClaimKey {
        ClaimKey::Host(crate::names::host_addr(addr))
    }

    /// The stored key: `name\x1fNAME` or `host\x1fADDR`.
    pub fn encode(&self) -> String {
        match self {
            ClaimKey::Name(n) => format!("name\u{1f}{n}"),
            ClaimKey::Host(a) => format!("host\u{1f}{a}"),
        }
    }

    /// The key [`ClaimKey::encode`] made, or `None` for anything else.
    pub fn decode(key: &str) -> Option<ClaimKey> {
        match key.split_once('\u{1f}')? {
            ("name", n) => Some(ClaimKey::Name(n.to_string())),
            ("host", a) => a.parse().ok().map(ClaimKey::Host),
            _ => None,
        }
    }
}

impl std::fmt::Display for ClaimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClaimKey::Name(n) => write!(f, "the cluster name {n}"),
            ClaimKey::Host(a) => write!(f, "host {a}"),
        }
    }
}

/// Who holds a name or a host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The cluster it belongs to.
    pub cluster: String,
    /// Platform of the owning room.
    pub owner_platform: String,
    /// The owning room.
    pub owner_room: String,
    /// The create job holding it right now, if one is queued or running.
    pub job: Option<JobId>,
    /// The cluster is registered: the claim outlives the job.
    pub registered: bool,
}

impl Claim {
    fn owned_by(&self, platform: &str, room: &str) -> bool {
        self.owner_platform == platform && self.owner_room == room
    }
}

/// The claims a job needs: a create reserves its name and hosts, and so does a node add (the
/// name: one job at a time changes a cluster; the new hosts: no other cluster may take them
/// meanwhile); a plan only checks that its hosts are not someone else's (it connects and
/// reads their facts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The cluster the job is for.
    pub cluster: String,
    /// Every key it needs.
    pub keys: Vec<ClaimKey>,
    /// `true`: the keys are held for the job; `false`: only checked.
    pub reserve: bool,
}

/// What `kind` needs, if anything.
pub fn request(kind: &JobKind) -> Option<Request> {
    let (name, hosts, reserve) = match kind {
        JobKind::Cluster(ClusterJob::Create(spec)) => (&spec.name, &spec.hosts[..], true),
        JobKind::Cluster(ClusterJob::Plan(spec)) => (&spec.name, &spec.hosts[..], false),
        JobKind::Cluster(ClusterJob::AddNodes(spec)) => (&spec.cluster, &spec.hosts[..], true),
        // The name only: one job at a time changes the cluster; the host it lets go.
        JobKind::Cluster(
            ClusterJob::RemoveNode { cluster, .. } | ClusterJob::Upgrade { cluster, .. },
        ) => (cluster, &[][..], true),
        _ => return None,
    };
    let mut keys = vec![ClaimKey::Name(name.clone())];
    if !reserve {
        keys.clear();
    }
    keys.extend(hosts.iter().map(|a| ClaimKey::host(*a)));
    keys.sort();
    keys.dedup();
    Some(Request {
        cluster: name.clone(),
        keys,
        reserve,
    })
}

/// A claim that stands in a job's way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// What was asked for.
    pub key: ClaimKey,
    /// The claim holding it.
    pub held: Claim,
    /// The holder is the asking room.
    pub ours: bool,
}

/// Decides whether job `job` from `origin` may hold what `req` asks, given each key's current
/// claim. Returns the claims to write, or every conflict. A room's own registered cluster may
/// be created again (that converges) by one job at a time; anything held by another cluster
/// or room is a conflict.
pub fn take(
    req: &Request,
    origin: &Origin,
    job: JobId,
    current: &[(ClaimKey, Option<Claim>)],
) -> Result<Vec<(ClaimKey, Claim)>, Vec<Conflict>> {
    let mut writes = Vec::new();
    let mut conflicts = Vec::new();
    for (key, held) in current {
        let mine = Claim {
            cluster: req.cluster.clone(),
            owner_platform: origin.platform.clone(),
            owner_room: origin.room.clone(),
            job: Some(job),
            registered: false,
        };
        match held {
            None => writes.push((key.clone(), mine)),
            Some(c) if c.job == Some(job) => {}
            Some(c)
                if c.cluster == req.cluster
                    && c.owned_by(&origin.platform, &origin.room)
                    && c.job.is_none() =>
            {
                writes.push((
                    key.clone(),
                    Claim {
                        registered: c.registered,
                        ..mine
                    },
                ));
            }
            Some(c) => conflicts.push(Conflict {
                key: key.clone(),
                ours: c.owned_by(&origin.platform, &origin.room),
                held: c.clone(),
            }),
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    Ok(if req.reserve { writes } else { Vec::new() })
}

/// What to write when job `job` ends: the claims it held go, except those of a registered
/// cluster, which stay with the cluster. `None` removes the key.
pub fn release(
    job: JobId,
    current: &[(ClaimKey, Option<Claim>)],
) -> Vec<(ClaimKey, Option<Claim>)> {
    current
        .iter()
        .filter_map(|(key, held)| {
            let held = held.as_ref().filter(|c| c.job == Some(job))?;
            let after = held.registered.then(|| Claim {
                job: None,
                ..held.clone()
            });
            Some((key.clone(), after))
        })
        .collect()
}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
#[error("cluster {cluster} cannot be registered for job #{job}: {why}")]
pub struct NotReserved {
    /// The cluster.
    pub cluster: String,
    /// The job registering it.
    pub job: JobId,
    /// What stands in the way.
    pub why: String,
}

/// Registration as a compare-and-swap: `record` may be stored by `job` only while the name is
/// reserved for that job by the record's owner. `held` is every claim of the cluster now
/// (its name first among them or absent). Returns the claim writes: the name and the
/// record's nodes become registered, hosts the cluster no longer has are let go.
pub fn register(
    record: &ClusterRecord,
    job: JobId,
    name: Option<&Claim>,
    held: &[(ClaimKey, Claim)],
) -> Result<Vec<(ClaimKey, Option<Claim>)>, NotReserved> {
    let refuse = |why: String| NotReserved {
        cluster: record.name.clone(),
        job,
        why,
    };
    let name = name.ok_or_else(|| refuse("its name is not reserved".into()))?;
    if name.job != Some(job) {
        return Err(refuse(match name.job {
            Some(other) => format!("its name is reserved for job #{other}"),
            None => "its name is not reserved for this job".into(),
        }));
    }
    if !name.owned_by(&record.owner_platform, &record.owner_room) {
        return Err(refuse("its name is reserved for another room".into()));
    }
    let registered = || Claim {
        cluster: record.name.clone(),
        owner_platform: record.owner_platform.clone(),
        owner_room: record.owner_room.clone(),
        job: Some(job),
        registered: true,
    };
    let mut writes = vec![(ClaimKey::Name(record.name.clone()), Some(registered()))];
    let nodes: Vec<ClaimKey> = record
        .nodes
        .iter()
        .map(|n| ClaimKey::host(n.addr))
        .collect();
    for (key, claim) in held {
        if matches!(key, ClaimKey::Host(_)) && claim.cluster == record.name && !nodes.contains(key)
        {
            writes.push((key.clone(), None));
        }
    }
    for key in nodes {
        writes.push((key, Some(registered())));
    }
    Ok(writes)
}

/// The claims a store written before the host index needs: each registered cluster's name and
/// nodes, then the keys of the creates still queued or running. The first holder of a key
/// keeps it (two old clusters sharing a host is what the index exists to prevent).
pub fn rebuild(clusters: &[ClusterRecord], active: &[Job]) -> Vec<(ClaimKey, Claim)> {
    let mut out: Vec<(ClaimKey, Claim)> = Vec::new();
    let mut put = |key: ClaimKey, claim: Claim| {
        if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, claim));
        }
    };
    for c in clusters {
        for (key, claim) in of_record(c) {
            put(key, claim);
        }
    }
    for job in active {
        if let Some(req) = request(&job.kind).filter(|r| r.reserve) {
            for key in req.keys {
                put(
                    key,
                    Claim {
                        cluster: req.cluster.clone(),
                        owner_platform: job.origin.platform.clone(),
                        owner_room: job.origin.room.clone(),
                        job: Some(job.id),
                        registered: false,
                    },
                );
            }
        }
    }
    out
}

/// The claims of a registered cluster: its name and nodes, held by no job.
pub fn of_record(record: &ClusterRecord) -> Vec<(ClaimKey, Claim)> {
    let claim = Claim {
        cluster: record.name.clone(),
        owner_platform: record.owner_platform.clone(),
        owner_room: record.owner_room.clone(),
        job: None,
        registered: true,
    };
    std::iter::once(ClaimKey::Name(record.name.clone()))
        .chain(record.nodes.iter().map(|n| ClaimKey::host(n.addr)))
        .map(|key| (key, claim.clone()))
        .collect()
}
