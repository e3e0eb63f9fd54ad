//! The parser proper: resolves the command words against the table, sorts the remaining
//! tokens into positionals, options and flags, validates each, and calls the spec's builder.

use super::Command;
use super::build::Args;
use super::error::{ErrorKind, ParseError};
use super::escape::quoted;
use super::lex::{self, Line};
use super::spec::{self, Fallback, Flag, Opt, Pos, Resolution, Spec};
use super::suggest;
use super::value::Value;

const HELP_HINT: &str = "; type /help for the list of commands";

/// Parses a line that [`lex::split`] found addressed to the bot.
pub(crate) fn line(line: &Line<'_>) -> Result<Command, ParseError> {
    lex::check_chars(line.command)?;
    let first = line.command.to_ascii_lowercase();
    let second = match line.rest.first() {
        Some(word) if spec::group_words().contains(&first.as_str()) => {
            lex::check_chars(word)?;
            Some(word.to_ascii_lowercase())
        }
        _ => None,
    };
    match spec::resolve(&first, second.as_deref()) {
        Resolution::Command { path, spec, used } => {
            let cmd = Cmd { path, spec };
            cmd.parse_args(line.rest.get(used - 1..).unwrap_or_default())
        }
        Resolution::NeedsSub { group } => Err(needs_sub(group)),
        Resolution::UnknownSub { group } => {
            let typed = line.rest.first().copied().unwrap_or_default();
            let hint = suggest::did_you_mean(
                &suggest::subcommands(group, &typed.to_ascii_lowercase()),
                &format!("; type /help {group} for its sub-commands"),
            );
            Err(ParseError::new(
                ErrorKind::UnknownSubcommand,
                format!("unknown sub-command {} for /{group}{hint}", quoted(typed)),
            )
            .with_token(typed))
        }
        Resolution::Unknown => {
            let typed = format!("{}{}", line.prefix, line.command);
            let hint = suggest::did_you_mean(&suggest::commands(&first), HELP_HINT);
            Err(ParseError::new(
                ErrorKind::UnknownCommand,
                format!("unknown command {}{hint}", quoted(&typed)),
            )
            .with_token(&typed))
        }
    }
}

/// `/cluster` alone: say which sub-commands there are.
fn needs_sub(group: &str) -> ParseError {
    let subs: Vec<String> = spec::group_paths(group)
        .iter()
        .filter_map(|(p, _)| p.split_once(' ').map(|(_, s)| s.to_owned()))
        .collect();
    ParseError::new(
        ErrorKind::MissingSubcommand,
        format!(
            "/{group} needs a sub-command: {}; type /help {group} for details",
            subs.join(", ")
        ),
    )
}

/// The command being parsed: its spec and the path the user typed.
struct Cmd {
    path: &'static str,
    spec: &'static Spec,
}

impl Cmd {
    /// An error about this command, ending with its usage line.
    fn err(&self, kind: ErrorKind, message: String) -> ParseError {
        ParseError::new(kind, message).with_usage(&self.spec.usage(self.path))
    }

    fn parse_args(&self, tokens: &[&str]) -> Result<Command, ParseError> {
        let mut args = Args::new(self.spec.path);
        let mut slot = 0;
        for &token in tokens {
            lex::check_chars(token).map_err(|e| e.with_usage(&self.spec.usage(self.path)))?;
            if let Some((key, value)) = token.split_once('=') {
                self.option(&mut args, token, &key.to_ascii_lowercase(), value)?;
            } else if let Some(flag) = self.spec.flag(&token.to_ascii_lowercase()) {
                if args.flag(flag.word) {
                    return Err(self
                        .err(
                            ErrorKind::DuplicateFlag,
                            format!("flag {} is given twice in /{}", flag.word, self.path),
                        )
                        .with_token(token));
                }
                args.set_flag(flag.word);
            } else {
                slot = self.positional(&mut args, slot, token)?;
            }
        }
        self.finish(&mut args)?;
        (self.spec.build)(&mut args)
    }

    /// Stores the `key=value` option `token`.
    fn option(
        &self,
        args: &mut Args,
        token: &str,
        key: &str,
        value: &str,
    ) -> Result<(), ParseError> {
        let Some(opt) = self.spec.option(key) else {
            // A key close to one of the command's own options is a typo of it, not a GE
            // parameter (`namespace=` means ns=); the catalogue test keeps every GE parameter
            // clear of them.
            let misspelt =
                || !suggest::keys(key, self.spec.options.iter().map(|o| o.key)).is_empty();
            if self.spec.ge_params
                && crate::names::is_param_name(key)
                && !value.is_empty()
                && !misspelt()
            {
                if !args.push_ge_param(key, value) {
                    return Err(self
                        .err(
                            ErrorKind::DuplicateOption,
                            format!("parameter {key}= is given twice in /{}", self.path),
                        )
                        .with_token(token));
                }
                return Ok(());
            }
            return Err(self.unknown_option(token, key));
        };
        if args.has(opt.key) {
            return Err(self
                .err(
                    ErrorKind::DuplicateOption,
                    format!("option {}= is given twice in /{}", opt.key, self.path),
                )
                .with_token(token));
        }
        let value = self.validate_option(opt, token, value)?;
        args.push(opt.key, value);
        Ok(())
    }

    fn validate_option(&self, opt: &Opt, token: &str, value: &str) -> Result<Value, ParseError> {
        opt.kind.validate(value).map_err(|reason| {
            let reason = reason.map(|r| format!("{r}; ")).unwrap_or_default();
            self.err(
                ErrorKind::BadValue,
                format!(
                    "bad {} {} in /{}: {reason}{}= expects {}",
                    opt.noun,
                    quoted(token),
                    self.path,
                    opt.key,
                    opt.kind.form()
                ),
            )
            .with_token(token)
        })
    }

    fn unknown_option(&self, token: &str, key: &str) -> ParseError {
        if self.spec.flag(key).is_some() {
            return self
                .err(
                    ErrorKind::BadFlag,
                    format!("{}: {key} is a flag; write just {key}", quoted(token)),
                )
                .with_token(token);
        }
        let accepted: Vec<String> = self
            .spec
            .options
            .iter()
            .map(|o| format!("{}=", o.key))
            .collect();
        let message = if accepted.is_empty() {
            format!(
                "unknown option {}: /{} takes no options",
                quoted(token),
                self.path
            )
        } else {
            let hint = suggest::did_you_mean(
                &suggest::keys(key, self.spec.options.iter().map(|o| o.key)),
                "",
            );
            format!(
                "unknown option {} for /{}{hint}\naccepted options: {}",
                quoted(token),
                self.path,
                accepted.join(" ")
            )
        };
        self.err(ErrorKind::UnknownOption, message)
            .with_token(token)
    }

    /// Stores the positional `token` in the current slot; returns the slot for the next one.
    fn positional(
        &self,
        args: &mut Args,
        mut slot: usize,
        token: &str,
    ) -> Result<usize, ParseError> {
        while let Some(pos) = self.spec.positionals.get(slot)
            && args.values(pos.key).count() >= pos.max
        {
            slot += 1;
        }
        let Some(pos) = self.spec.positionals.get(slot) else {
            return Err(self.unexpected(token));
        };
        let value = pos.kind.validate(token).map_err(|reason| {
            if spec::is_flag_anywhere(token) {
                return self.foreign_flag(token);
            }
            let reason = reason.map(|r| format!("{r}; ")).unwrap_or_default();
            self.err(
                ErrorKind::BadValue,
                format!(
                    "bad {} {} in /{}: {reason}expected {}",
                    pos.noun,
                    quoted(token),
                    self.path,
                    pos.kind.form()
                ),
            )
            .with_token(token)
        })?;
        if pos.unique
            && let Some(dup) = duplicate(args, pos, &value)
        {
            return Err(self
                .err(
                    ErrorKind::DuplicateValue,
                    format!(
                        "{} {dup} is given twice in /{}: each may appear once",
                        pos.noun, self.path
                    ),
                )
                .with_token(token));
        }
        args.push(pos.key, value);
        Ok(slot)
    }

    /// A token left over after every positional slot is full.
    fn unexpected(&self, token: &str) -> ParseError {
        if spec::is_flag_anywhere(token) {
            return self.foreign_flag(token);
        }
        let takes = match self.spec.positionals {
            [] if self.spec.options.is_empty() && self.spec.flags.is_empty() => {
                "it takes no arguments".to_owned()
            }
            [] => match (self.spec.options.is_empty(), self.spec.flags) {
                (true, [flag]) => format!("its only argument is the flag {}", flag.word),
                (true, _) => "it takes only the flags in the usage line below".to_owned(),
                (false, []) => "it takes only the options in the usage line below".to_owned(),
                (false, _) => {
                    "it takes only the options and flags in the usage line below".to_owned()
                }
            },
            [pos] if pos.max == 1 => format!("it takes one {}", pos.placeholder),
            [pos] => format!("it takes at most {} {} values", pos.max, pos.placeholder),
            _ => "too many arguments".to_owned(),
        };
        let hint = if token.starts_with(['/', '!']) {
            "; send one command per message"
        } else {
            ""
        };
        self.err(
            ErrorKind::Unexpected,
            format!(
                "unexpected {} in /{}: {takes}{hint}",
                quoted(token),
                self.path
            ),
        )
        .with_token(token)
    }

    /// A flag of some other command (`/cluster plan ... dry-run`).
    fn foreign_flag(&self, token: &str) -> ParseError {
        let flags: Vec<&str> = self.spec.flags.iter().map(|f| f.word).collect();
        let accepted = match flags.as_slice() {
            [] => "it takes no flags".to_owned(),
            _ => format!("its flags: {}", flags.join(", ")),
        };
        self.err(
            ErrorKind::BadFlag,
            format!(
                "/{} does not take the flag {}; {accepted}",
                self.path,
                quoted(token)
            ),
        )
        .with_token(token)
    }

    /// Checks that everything required is there and fills in defaults.
    fn finish(&self, args: &mut Args) -> Result<(), ParseError> {
        for pos in self.spec.positionals {
            if args.values(pos.key).count() < pos.min {
                return Err(self.err(
                    ErrorKind::Missing,
                    format!("/{} needs {}: {}", self.path, pos.placeholder, pos.about),
                ));
            }
        }
        let given: Vec<&Flag> = self
            .spec
            .flags
            .iter()
            .filter(|f| args.flag(f.word))
            .collect();
        for flag in &given {
            if let Some(key) = flag.instead_of.iter().find(|k| args.has(k)) {
                return Err(self.err(
                    ErrorKind::Unexpected,
                    format!("/{} {} takes no {key}=", self.path, flag.word),
                ));
            }
        }
        for opt in self.spec.options {
            if args.has(opt.key) {
                continue;
            }
            if given.iter().any(|f| f.instead_of.contains(&opt.key)) {
                continue;
            }
            if opt.required {
                return Err(self.err(
                    ErrorKind::Missing,
                    format!(
                        "/{} needs {}={}: {}",
                        self.path, opt.key, opt.placeholder, opt.about
                    ),
                ));
            }
            if let Fallback::Value(text) = opt.fallback {
                let value = opt.kind.validate(text).map_err(|_| {
                    ParseError::internal(self.spec.path, &format!("bad default for {}=", opt.key))
                })?;
                args.push(opt.key, value);
            }
        }
        Ok(())
    }
}

/// The earlier value equal to `value` in a unique slot, shown canonically.
fn duplicate(args: &Args, pos: &Pos, value: &Value) -> Option<String> {
    let same = |a: &Value| match (a, value) {
        (Value::Ip(a), Value::Ip(b)) => a.to_canonical() == b.to_canonical(),
        (a, b) => a == b,
    };
    args.values(pos.key).find(|v| same(v)).map(Value::to_string)
}
