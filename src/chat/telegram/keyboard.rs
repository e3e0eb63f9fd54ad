//! Buttons as Telegram inline keyboards, and button presses (callback queries) back as
//! commands. A press carries the button's `callback_data`, which a modified client can forge,
//! so only the commands the bot's buttons run are accepted, and the dispatcher authorises them
//! like typed ones.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::chat::Button;

/// Telegram's limit on `callback_data`, in bytes.
const MAX_DATA: usize = 64;

/// The inline keyboard for `buttons`, one row; an empty keyboard (which removes the buttons on
/// an edit) for none. A button whose command does not fit `callback_data` is left out.
pub fn markup(buttons: &[Button]) -> InlineKeyboardMarkup {
    let row: Vec<InlineKeyboardButton> = buttons
        .iter()
        .filter(|b| b.command.len() <= MAX_DATA && command_of(&b.command).is_some())
        .map(|b| InlineKeyboardButton::callback(b.label.clone(), b.command.clone()))
        .collect();
    if row.is_empty() {
        InlineKeyboardMarkup::new(Vec::<Vec<InlineKeyboardButton>>::new())
    } else {
        InlineKeyboardMarkup::new(vec![row])
    }
}

/// The command a button press asks for, if it is one the bot's buttons run: `/cancel N`.
pub fn command_of(data: &str) -> Option<String> {
    let id = data.strip_prefix("/cancel ")?;
    let ok = !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| format!("/cancel {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_buttons_round_trip() {
        let m = markup(&[Button::cancel(42)]);
        assert_eq!(m.inline_keyboard.len(), 1);
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"callback_data\":\"/cancel 42\""), "{json}");
        assert_eq!(command_of("/cancel 42").as_deref(), Some("/cancel 42"));
    }

    #[test]
    fn forged_presses_are_not_commands() {
        for data in [
            "/selftest steps=1",
            "/cancel",
            "/cancel 1 2",
            "/cancel -1",
            "/cancel 99999999999999999999",
            "/cluster delete x confirm=abc",
        ] {
            assert_eq!(command_of(data), None, "{data}");
        }
        let none = markup(&[Button {
            label: "x".into(),
            command: "/ge uninstall orion purge".into(),
        }]);
        assert!(none.inline_keyboard.is_empty());
        assert!(markup(&[]).inline_keyboard.is_empty());
    }
}
