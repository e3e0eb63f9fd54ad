//! From chat text to tokens: the `/` or `!` prefix, Telegram's `@botname` suffix, the length
//! limit, splitting on ASCII whitespace and the printable-ASCII rule for every token.

use super::error::{ErrorKind, ParseError};
use super::escape;

/// The longest command line accepted, in characters.
pub(crate) const MAX_LINE_CHARS: usize = 2000;

/// A line addressed to the bot, split into tokens.
#[derive(Debug)]
pub(crate) struct Line<'a> {
    /// `/` or `!`.
    pub(crate) prefix: char,
    /// The first word without prefix and `@botname`, not yet checked (`cluster`).
    pub(crate) command: &'a str,
    /// The remaining tokens, not yet checked.
    pub(crate) rest: Vec<&'a str>,
}

/// Splits `text` into a [`Line`], or `Ok(None)` when it is not a command for this bot:
/// no `/` or `!` prefix; a prefix followed by nothing, whitespace, a digit or punctuation
/// (`!!!`, `/3`, `//`, `:)`-style chat); a first word containing another `/` (a file path
/// such as `/etc/hosts`); or an `@botname` suffix naming another bot. When the bot's own
/// username is unknown (`None`), any `@` suffix is taken to name another bot.
pub(crate) fn split<'a>(
    text: &'a str,
    bot_username: Option<&str>,
) -> Result<Option<Line<'a>>, ParseError> {
    let mut chars = text.chars();
    let prefix = match chars.next() {
        Some(c @ ('/' | '!')) => c,
        _ => return Ok(None),
    };
    let after = chars.as_str();
    match after.chars().next() {
        None => return Ok(None),
        Some(c) if c.is_ascii_whitespace() || c.is_ascii_punctuation() || c.is_ascii_digit() => {
            return Ok(None);
        }
        Some(_) => {}
    }
    let mut words = after.split_ascii_whitespace();
    let first = words.next().unwrap_or("");
    if first.contains('/') {
        return Ok(None);
    }
    let command = match first.split_once('@') {
        None => first,
        Some((command, bot)) => {
            let ours = bot_username.map(|b| b.strip_prefix('@').unwrap_or(b));
            if !ours.is_some_and(|ours| !ours.is_empty() && ours.eq_ignore_ascii_case(bot)) {
                return Ok(None);
            }
            command
        }
    };
    let length = text.chars().count();
    if length > MAX_LINE_CHARS {
        return Err(ParseError::new(
            ErrorKind::TooLong,
            format!("message too long ({length} characters; the limit is {MAX_LINE_CHARS})"),
        ));
    }
    Ok(Some(Line {
        prefix,
        command,
        rest: words.collect(),
    }))
}

/// Checks that `token` is printable ASCII. The error names the token and the character.
pub(crate) fn check_chars(token: &str) -> Result<(), ParseError> {
    match token.chars().find(|c| !matches!(c, '!'..='~')) {
        None => Ok(()),
        Some(c) => Err(ParseError::new(
            ErrorKind::BadChar,
            format!(
                "{} contains {}, which is not allowed: commands are plain ASCII letters, digits \
                 and punctuation. Retype it rather than pasting it.",
                escape::quoted(token),
                escape::describe_char(c)
            ),
        )
        .with_token(token)),
    }
}
