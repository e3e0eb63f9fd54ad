#![no_main]
use labkube::chat::telegram_decode::{message, press};
use teloxide::types::{Update, UpdateKind};
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(update) = serde_json::from_slice::<Update>(data) {
        match &update.kind {
            UpdateKind::Message(m) => drop(message(m, "labkube_bot")),
            UpdateKind::CallbackQuery(q) => drop(press(q, "labkube_bot")),
            _ => {}
        }
    }
});
