//! The command grammar: from chat text to a typed, validated [`Command`].
//!
//! The grammar is chat-neutral. A command starts with `/` or `!`; on Telegram the first word
//! may carry `@botname`. Tokens are separated by ASCII whitespace: the command words, then
//! positional arguments, `key=value` options and bare-word flags in any order.
//!
//! Everything is driven by the command specs, declared once per family (`family/`): the
//! parser, [`help()`], [`reference_markdown`], [`Command::redacted`] and the role a command
//! needs ([`Command::access`]) read them, so they cannot drift apart. Adding a command takes one
//! entry (spec and builder) in its family's file and one [`Command`] variant.
//!
//! Safety properties, each covered by tests:
//! - every value in a [`Command`] returned by [`parse()`] matches a strict printable-ASCII form
//!   with no shell metacharacter, so it can be shown, logged or used as a key as is;
//! - every error is one message naming the offending token, escaped (no control or
//!   non-ASCII character of the input ever appears raw) and truncated to 40 characters;
//! - no input, however long or strange, makes the parser panic.
//!
//! Modules: `lex` (prefix, `@botname`, tokens, characters), `spec` (the shape of a command) and `family`
//! (the commands), `value` (argument kinds and validators), `parse` (the parser), `build` (typed
//! results), `help` and `reference` (generated documentation), `render` and `redact` (text back
//! out), `error` and `suggest` (messages). The name rules behind the validated newtypes
//! ([`Name`], [`Version`], ...) and `escape` live in [`crate::names`].

mod build;
mod error;
mod family;
mod help;
mod lex;
mod menu;
mod parse;
mod redact;
mod reference;
mod render;
mod spec;
mod suggest;
mod types;
mod value;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cases;
#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_help;
#[cfg(test)]
mod tests_input;

use crate::names::escape;

pub use error::ParseError;
/// The lifetimes `/kubeconfig ttl=` takes, s.
pub use family::{KUBECONFIG_TTL_SECS, NS_MAX_PODS};
pub use menu::{MenuEntry, menu};
pub use redact::is_masked_key;
pub use spec::Access;
pub use types::*;
pub use value::duration_text;

/// Parses one chat message.
///
/// Returns `Ok(None)` when the message is not a command for this bot, so the bot stays quiet:
/// it does not start with `/` or `!`; the prefix is alone or followed by whitespace, a digit
/// or punctuation (`!!!`, `/3`); the first word holds another `/` (a path such as
/// `/etc/hosts`); or the first word ends in `@name` and `name` is not `bot_username`
/// (compared case-insensitively, a leading `@` in `bot_username` is ignored; with
/// `bot_username` `None` every `@name` counts as another bot's).
///
/// # Errors
///
/// Returns `Err` with the complete reply when the message is a command but not a valid one:
/// longer than 2000 characters, a character outside printable ASCII, an unknown command or
/// option, a value not in its accepted form, something missing, given twice, or left over.
pub fn parse(text: &str, bot_username: Option<&str>) -> Result<Option<Command>, ParseError> {
    match lex::split(text, bot_username)? {
        None => Ok(None),
        Some(line) => parse::line(&line).map(Some),
    }
}

/// The reply to `/help` with the given command words ([`Command::Help`]'s `topic`).
///
/// No words: every command with its usage line and summary. A group word (`cluster`): its
/// sub-commands. Command words (`cluster create`, `rollback`, `ge rollback`): usage,
/// description, each argument's and option's accepted form and default, and examples.
/// Words may carry the `/` or `!` prefix and may be given as one string with spaces.
///
/// # Errors
///
/// Words that name no command or group give an error suggesting the closest commands.
pub fn help(topic: &[String]) -> Result<String, ParseError> {
    help::render(topic)
}

/// The full command reference as Markdown (the content of `docs/COMMANDS.md`), generated
/// from the same table as the parser and `/help`.
#[must_use]
pub fn reference_markdown() -> String {
    reference::markdown()
}

/// Whether `word` (without prefix) is the first word of a command (`job`, `cluster`, `ge`,
/// `rollback`...): what a `/word` in the bot's text refers to.
#[must_use]
pub fn is_command_word(word: &str) -> bool {
    spec::paths().any(|(path, _)| path.split(' ').next() == Some(word))
}

/// Makes raw message text fit for logs and the audit trail: values of `confirm=`, `token=`,
/// `password=`, `passphrase=` and `secret=` (keys matched case-insensitively) become `***`,
/// characters other than printable ASCII are escaped (`\u{202e}`, `\n`), and the result is
/// capped at 300 characters ending in `…`.
#[must_use]
pub fn redact_text(text: &str) -> String {
    redact::redact_text(text)
}
