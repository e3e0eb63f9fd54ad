//! [`ParseError`]: the single reply a user gets when a command line is rejected.

use super::escape;

/// Why a command line was rejected. Tests match on it; users only see the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// The line is longer than [`super::lex::MAX_LINE_CHARS`].
    TooLong,
    /// A token holds a character that is not printable ASCII.
    BadChar,
    /// The first word is not a command.
    UnknownCommand,
    /// A command group (`/cluster`, `/ge`, `/host`) without a sub-command.
    MissingSubcommand,
    /// A command group with a sub-command it does not have.
    UnknownSubcommand,
    /// A value that does not have the accepted form.
    BadValue,
    /// A required argument or option is missing.
    Missing,
    /// More positional arguments than the command takes.
    Unexpected,
    /// A `key=value` option the command does not take.
    UnknownOption,
    /// The same option key twice.
    DuplicateOption,
    /// The same flag twice.
    DuplicateFlag,
    /// A flag this command does not take, or a flag written as `flag=value`.
    BadFlag,
    /// The same host address twice.
    DuplicateValue,
    /// `/help` about something that is not a command.
    UnknownTopic,
    /// The spec table and a builder disagree (a bug, never the user's fault).
    Internal,
}

/// A rejected command line. Its `Display` is the complete reply for the user: one message that
/// names the offending token (escaped, at most 40 characters) and shows the accepted form or
/// the usage line of the command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    kind: ErrorKind,
    message: String,
    token: Option<String>,
}

impl ParseError {
    /// An error whose message is `message` as given (it must already be escaped).
    pub(crate) fn new(kind: ErrorKind, message: String) -> Self {
        Self {
            kind,
            message,
            token: None,
        }
    }

    /// Records `raw` as the offending token (stored escaped and truncated).
    pub(crate) fn with_token(mut self, raw: &str) -> Self {
        self.token = Some(escape::echo(raw));
        self
    }

    /// Appends the usage line of the command the error is about.
    pub(crate) fn with_usage(mut self, usage: &str) -> Self {
        self.message.push_str("\nusage: ");
        self.message.push_str(usage);
        self
    }

    /// An internal error: the spec table and a builder disagree about `what`.
    pub(crate) fn internal(path: &str, what: &str) -> Self {
        Self::new(
            ErrorKind::Internal,
            format!("internal error in /{path}: {what}; please report this to the bot's operators"),
        )
    }

    /// Why the line was rejected.
    #[cfg(test)]
    pub(crate) fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The offending token as shown in the message: escaped (no control or non-ASCII
    /// characters) and truncated to 40 characters with `…`. `None` when the error is about
    /// something missing rather than something given.
    #[must_use]
    pub fn bad_token(&self) -> Option<&str> {
        self.token.as_deref()
    }
}
