//! Invites: accepted only from users the config authorises on Matrix, and only into rooms the
//! `[matrix] invites` setting allows; every other invite is declined (left) with a reason the
//! inviter's client shows (a stranger learns only that the bot takes invites from its users).

use std::collections::HashSet;

use matrix_sdk::Client;
use matrix_sdk::ruma::RoomId;
use matrix_sdk::ruma::api::client::membership::leave_room;

use super::format;
use crate::config::{Config, Invites};

/// Who may bring the bot into which rooms.
#[derive(Clone, Debug, Default)]
pub(super) struct Access {
    /// Matrix users listed in `[[users]]` (any role).
    pub users: HashSet<String>,
    /// Matrix rooms listed in `[[rooms]]`.
    pub rooms: HashSet<String>,
    /// `[matrix] invites`.
    pub invites: Invites,
}

/// What to do with an invite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Decision {
    /// Join a listed room.
    Join,
    /// Join a room that is not listed yet, and say how to list it.
    JoinUnlisted,
    /// Decline, saying why.
    Decline(Why),
}

/// Why an invite is declined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Why {
    /// The inviter is not in `[[users]]`.
    NotAUser,
    /// `[matrix] invites = "never"`.
    NoInvites,
    /// The room is not in `[[rooms]]` and only listed rooms are joined.
    Unlisted,
}

impl Why {
    /// The reason on the bot's leave event, as the inviter's client shows it.
    pub fn reason(self) -> &'static str {
        match self {
            Why::NotAUser => "labkube takes invites only from the people its config lists",
            Why::NoInvites => {
                "labkube joins no room by invite here (its config says invites = \"never\"); \
                 an admin adds rooms to the config"
            }
            Why::Unlisted => {
                "this room is not in labkube's config; an admin can add it under [[rooms]], \
                 then invite labkube again"
            }
        }
    }
}

impl Access {
    /// The Matrix part of the config's allow-lists.
    pub fn from_config(config: &Config, platform: &str) -> Access {
        Access {
            users: config.user_ids(platform),
            rooms: config.room_ids(platform),
            invites: config
                .matrix
                .as_ref()
                .map(|m| m.invites)
                .unwrap_or_default(),
        }
    }

    /// The decision on an invite from `inviter` into `room`.
    pub fn decide(&self, inviter: &str, room: &str) -> Decision {
        if !self.users.contains(inviter) {
            return Decision::Decline(Why::NotAUser);
        }
        let listed = self.rooms.contains(room);
        match self.invites {
            Invites::Never => Decision::Decline(Why::NoInvites),
            Invites::AllowedRooms if listed => Decision::Join,
            Invites::AllowedRooms => Decision::Decline(Why::Unlisted),
            Invites::AnyRoom if listed => Decision::Join,
            Invites::AnyRoom => Decision::JoinUnlisted,
        }
    }
}

/// Answers the invite into `room_id`. Failures are logged: the invite stays pending on the
/// server and is looked at again on the next start.
pub(super) async fn on_invite(client: &Client, room_id: &RoomId, access: &Access) {
    let Some(room) = client.get_room(room_id) else {
        return;
    };
    let inviter = match room.invite_details().await {
        Ok(d) => d.inviter_id.to_string(),
        Err(e) => {
            tracing::warn!(room = %room_id, error = %e, "cannot read an invite; declining it");
            String::new()
        }
    };
    let decision = access.decide(&inviter, room_id.as_str());
    tracing::info!(room = %room_id, inviter = %inviter, ?decision, "Matrix invite");
    let result = match decision {
        Decision::Decline(why) => {
            let mut leave = leave_room::v3::Request::new(room_id.to_owned());
            leave.reason = Some(why.reason().to_string());
            client
                .send(leave)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        Decision::Join | Decision::JoinUnlisted => room.join().await.map_err(|e| e.to_string()),
    };
    if let Err(e) = result {
        tracing::warn!(room = %room_id, error = %e, "cannot answer a Matrix invite");
        return;
    }
    if decision == Decision::JoinUnlisted {
        let text = format!(
            "labkube joined, but this room is not in its config yet, so it takes no commands here. \
             An admin can add it:\n[[rooms]]\nplatform = \"matrix\"\nid = \"{room_id}\"\nnamespace = \"default\""
        );
        if let Err(e) = room.send_raw("m.room.message", format::notice(&text)).await {
            tracing::warn!(room = %room_id, error = %e, "cannot greet an unlisted room");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(invites: Invites) -> Access {
        Access {
            users: ["@op:lab".to_string()].into(),
            rooms: ["!ok".to_string()].into(),
            invites,
        }
    }

    #[test]
    fn invites_are_decided_by_inviter_then_room() {
        let a = access(Invites::AllowedRooms);
        assert_eq!(a.decide("@op:lab", "!ok"), Decision::Join);
        assert_eq!(
            a.decide("@op:lab", "!other"),
            Decision::Decline(Why::Unlisted)
        );
        assert_eq!(
            a.decide("@stranger:lab", "!ok"),
            Decision::Decline(Why::NotAUser)
        );
        let a = access(Invites::AnyRoom);
        assert_eq!(a.decide("@op:lab", "!other"), Decision::JoinUnlisted);
        assert_eq!(
            a.decide("@stranger:lab", "!other"),
            Decision::Decline(Why::NotAUser)
        );
        let a = access(Invites::Never);
        assert_eq!(
            a.decide("@op:lab", "!ok"),
            Decision::Decline(Why::NoInvites)
        );
    }
}
