//! Files the bot sends (a long log, a kubeconfig) and the direct room it sends a user's own
//! files to.

use matrix_sdk::attachment::AttachmentConfig;
use matrix_sdk::room::reply::{EnforceThread, Reply};
use matrix_sdk::ruma::events::Mentions;
use matrix_sdk::ruma::events::room::member::MembershipState;
use matrix_sdk::ruma::events::room::message::{AddMentions, TextMessageEventContent};
use matrix_sdk::ruma::{OwnedEventId, UserId};
use matrix_sdk::{Client, Room, RoomState};

use super::MatrixError;
use crate::chat::Attachment;

/// Sends `file` to `room` as an `m.file` captioned with its caption, mentioning nobody, as a
/// reply to the event `reply_to` if given; matrix-sdk uploads it, encrypted in an encrypted
/// room.
pub(super) async fn send_file(
    room: &Room,
    file: &Attachment,
    reply_to: Option<&str>,
) -> Result<(), MatrixError> {
    let reply = reply_to
        .and_then(|to| OwnedEventId::try_from(to).ok())
        .map(|event_id| Reply {
            event_id,
            enforce_thread: EnforceThread::Unthreaded,
            add_mentions: AddMentions::No,
        });
    let config = AttachmentConfig::new()
        .caption(Some(TextMessageEventContent::plain(&file.caption)))
        .mentions(Some(Mentions::new()))
        .reply(reply);
    room.send_attachment(
        &file.name,
        &mime::TEXT_PLAIN_UTF_8,
        file.body.clone().into_bytes(),
        config,
    )
    .await
    .map_err(|e| MatrixError::Send(e.to_string()))?;
    Ok(())
}

/// The bot's direct room with `user`: the one made before if the bot is in it and the user
/// still is (or is invited), else a new one (matrix-sdk's `create_dm`: `is_direct`,
/// encrypted, recorded in the bot's `m.direct`).
pub(super) async fn direct_room(client: &Client, user: &UserId) -> Result<Room, MatrixError> {
    for r in client.get_dm_rooms(user) {
        if r.state() != RoomState::Joined {
            continue;
        }
        let member = r
            .get_member_no_sync(user)
            .await
            .map_err(|e| MatrixError::Send(e.to_string()))?;
        let present = member.is_some_and(|m| {
            matches!(
                m.membership(),
                MembershipState::Join | MembershipState::Invite
            )
        });
        if present {
            return Ok(r);
        }
    }
    client
        .create_dm(user)
        .await
        .map_err(|e| MatrixError::Send(e.to_string()))
}
