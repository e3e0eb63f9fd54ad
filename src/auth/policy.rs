//! The allow-lists authorisation reads: users with roles, rooms with their settings.

use std::collections::HashMap;

use super::Role;

/// A chat user.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    /// Adapter name.
    pub platform: String,
    /// Platform user id.
    pub user: String,
}

/// A chat room.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoomRef {
    /// Adapter name.
    pub platform: String,
    /// Platform room id.
    pub room: String,
}

/// What the config says about an allowed room.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomSettings {
    /// Namespace GE commands use when `ns=` is not given.
    pub namespace: String,
    /// The quota `/ns create` gives when the command names none.
    pub quota: crate::config::NamespaceQuota,
}

/// Users and rooms, indexed for lookups.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    users: HashMap<Principal, Role>,
    rooms: HashMap<RoomRef, RoomSettings>,
}

impl Policy {
    /// An empty policy: no room allowed, no user known.
    pub fn new() -> Self {
        Policy::default()
    }

    /// Gives `who` a role (replacing any earlier one).
    pub fn allow_user(&mut self, who: Principal, role: Role) {
        self.users.insert(who, role);
    }

    /// Allows a room.
    pub fn allow_room(&mut self, room: RoomRef, settings: RoomSettings) {
        self.rooms.insert(room, settings);
    }

    /// The user's role, if the user is known.
    pub fn role(&self, who: &Principal) -> Option<Role> {
        self.users.get(who).copied()
    }

    /// The room's settings, if the room is allowed.
    pub fn room(&self, room: &RoomRef) -> Option<&RoomSettings> {
        self.rooms.get(room)
    }
}
