//! Who may do what, where. [`authorize`] is a pure function: the caller gathers the facts it
//! needs (the owner of the cluster a command targets, the room of the job it names) and the
//! decision depends on nothing else, so it is tested as a table of cases.

mod policy;

use serde::{Deserialize, Serialize};

use crate::command::{Access, Command};

pub use policy::{Policy, Principal, RoomRef, RoomSettings};

/// Roles, ordered: a higher role may do everything a lower one may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads state: jobs, clusters, releases.
    Viewer,
    /// Changes clusters and releases owned by their room.
    Operator,
    /// Everything, in every allowed room, including the audit trail.
    Admin,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        })
    }
}

/// Who owns a cluster a command targets, as looked up by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterOwner {
    /// Created by (or given to) this room.
    Room(RoomRef),
    /// Declared in the config without an owner: only admins may change it.
    Nobody,
}

/// Facts the caller looked up for this decision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// The cluster the command would change, with its owner; `None` when the command changes no
    /// cluster or names one the bot does not know (the command then fails on its own).
    pub cluster: Option<(String, ClusterOwner)>,
    /// For `/job` and `/cancel`: the room the job came from.
    pub job_room: Option<(u64, RoomRef)>,
}

/// Why a command was refused. `Display` is the reply the user gets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The room is not in the allow-list.
    #[error(
        "labkube does not take commands in this room; an admin can allow it in the config ([[rooms]])"
    )]
    RoomNotAllowed,
    /// The sender is not a configured user.
    #[error("{user} is not a labkube user; an admin can add you in the config ([[users]])")]
    UnknownUser {
        /// Platform user id.
        user: String,
    },
    /// The sender's role is too low.
    #[error("/{command} needs the {need} role; you are {article} {have}")]
    Role {
        /// Command path.
        command: &'static str,
        /// Role needed.
        need: Role,
        /// Role held.
        have: Role,
        /// "a" or "an", for the message.
        article: &'static str,
    },
    /// The cluster belongs to another room (or only admins may change it).
    #[error("cluster {cluster} belongs to another room; only that room or an admin may change it")]
    NotOwner {
        /// Cluster name.
        cluster: String,
    },
    /// The job belongs to another room.
    #[error("job #{id} belongs to another room; only that room or an admin may see or cancel it")]
    OtherRoomsJob {
        /// Job number.
        id: u64,
    },
}

/// The role a command needs; `None`: anyone in an allowed room (help, whoami).
pub fn required_role(command: &Command) -> Option<Role> {
    match command.access() {
        Access::Anyone => None,
        Access::Viewer => Some(Role::Viewer),
        Access::Operator => Some(Role::Operator),
        Access::Admin => Some(Role::Admin),
    }
}

/// Decides whether `who` may run `command` in `room`. Returns the sender's role (`None` for a
/// user not in the config, who may still ask for help and whoami).
pub fn authorize(
    policy: &Policy,
    who: &Principal,
    room: &RoomRef,
    command: &Command,
    facts: &Facts,
) -> Result<Option<Role>, Denied> {
    if policy.room(room).is_none() {
        return Err(Denied::RoomNotAllowed);
    }
    let role = policy.role(who);
    let Some(need) = required_role(command) else {
        return Ok(role);
    };
    let Some(have) = role else {
        return Err(Denied::UnknownUser {
            user: who.user.clone(),
        });
    };
    if have < need {
        let article = if have == Role::Admin { "an" } else { "a" };
        return Err(Denied::Role {
            command: command.path(),
            need,
            have,
            article,
        });
    }
    if have == Role::Admin {
        return Ok(Some(have));
    }
    if let Some((cluster, owner)) = &facts.cluster {
        let owned = matches!(owner, ClusterOwner::Room(r) if r == room);
        if !owned {
            return Err(Denied::NotOwner {
                cluster: cluster.clone(),
            });
        }
    }
    if let Some((id, job_room)) = &facts.job_room
        && job_room != room
    {
        return Err(Denied::OtherRoomsJob { id: *id });
    }
    Ok(Some(have))
}
