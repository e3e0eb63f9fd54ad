//! The shape of a command spec and look-ups over the commands (`family/`).
//!
//! One [`Spec`] describes one command completely: its words, arguments, options, flags, help
//! text and the builder that turns validated arguments into a [`Command`]. The parser, `/help`,
//! the reference document and [`Command::redacted`] are all driven by it.

use super::build::Args;
use super::value::Kind;
use super::{Command, ParseError, family};

/// Turns the validated arguments of one spec into its [`Command`].
pub(crate) type Builder = fn(&mut Args) -> Result<Command, ParseError>;

/// The section a command is listed under in `/help` and the reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Group {
    /// `/cluster ...`, `/host ...`.
    Clusters,
    /// `/ge ...`, `/rollback`.
    Enablers,
    /// `/alerts`, `/silence`, `/unsilence`.
    Alerts,
    /// `/ns ...`, `/kubeconfig ...`.
    Access,
    /// `/jobs`, `/job`, `/cancel`.
    Jobs,
    /// `/whoami`, `/audit`, `/selftest`, `/help`.
    General,
}

impl Group {
    /// Every group, in the order `/help` lists them.
    pub(crate) const ALL: [Group; 6] = [
        Group::Clusters,
        Group::Enablers,
        Group::Alerts,
        Group::Access,
        Group::Jobs,
        Group::General,
    ];

    /// The section heading.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Group::Clusters => "Clusters",
            Group::Enablers => "FIWARE Generic Enablers",
            Group::Alerts => "Alerts",
            Group::Access => "Your namespaces and your own access",
            Group::Jobs => "Jobs",
            Group::General => "General",
        }
    }
}

/// Who may run a command: the least role it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Anyone who may talk to the bot, even a user not in the config.
    Anyone,
    /// Users with a role: it only reads.
    Viewer,
    /// Operators: it changes clusters, releases or jobs of their room.
    Operator,
    /// Admins only.
    Admin,
}

/// One command of the grammar.
pub(crate) struct Spec {
    /// Canonical command words, space-separated: `"cluster create"`; also [`Command::path`].
    pub(crate) path: &'static str,
    /// Other spellings of the same command: `"ge rollback"` for `"rollback"`.
    pub(crate) aliases: &'static [&'static str],
    /// Section in `/help`.
    pub(crate) group: Group,
    /// One line for the overview.
    pub(crate) summary: &'static str,
    /// A paragraph for `/help <command>`.
    pub(crate) details: &'static str,
    /// Positional arguments, filled in order.
    pub(crate) positionals: &'static [Pos],
    /// `key=value` options; required ones first.
    pub(crate) options: &'static [Opt],
    /// Bare-word flags.
    pub(crate) flags: &'static [Flag],
    /// Example lines; each must parse (tested).
    pub(crate) examples: &'static [&'static str],
    /// Who may run it ([`Command::access`]).
    pub(crate) access: Access,
    /// [`Command::is_mutating`].
    pub(crate) mutating: bool,
    /// Whether other `name=value` pairs are the GE's own parameters (checked against the
    /// catalogue by the dispatcher, which knows the GE's parameter types).
    pub(crate) ge_params: bool,
    /// Builds the typed command.
    pub(crate) build: Builder,
}

/// A positional argument slot taking `min..=max` values.
pub(crate) struct Pos {
    /// Key the builder asks [`Args`] for.
    pub(crate) key: &'static str,
    /// Shown in usage lines: `IP`, `GE`, `NAME`.
    pub(crate) placeholder: &'static str,
    /// Shown in errors: "bad address".
    pub(crate) noun: &'static str,
    /// Validator.
    pub(crate) kind: Kind,
    /// Fewest values.
    pub(crate) min: usize,
    /// Most values.
    pub(crate) max: usize,
    /// Whether a value may appear only once.
    pub(crate) unique: bool,
    /// What it means, for `/help`.
    pub(crate) about: &'static str,
}

/// What an option is when it is not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fallback {
    /// Nothing (`None` in the command).
    Nothing,
    /// This value, validated and filled in by the parser.
    Value(&'static str),
    /// Decided later; the text says by what ("the room's current cluster").
    Note(&'static str),
}

/// A `key=value` option.
pub(crate) struct Opt {
    /// Lowercase key before the `=`.
    pub(crate) key: &'static str,
    /// Shown in usage lines after `key=`.
    pub(crate) placeholder: &'static str,
    /// Shown in errors: "bad namespace".
    pub(crate) noun: &'static str,
    /// Validator.
    pub(crate) kind: Kind,
    /// Whether the command needs it.
    pub(crate) required: bool,
    /// What applies when it is not given.
    pub(crate) fallback: Fallback,
    /// What it means, for `/help`.
    pub(crate) about: &'static str,
}

/// A bare-word flag such as `dry-run`.
pub(crate) struct Flag {
    /// Lowercase word.
    pub(crate) word: &'static str,
    /// What it does, for `/help`.
    pub(crate) about: &'static str,
    /// Option keys the flag stands instead of: with the flag they are refused, without it the
    /// required ones are required (`/ge autoscale GE off` instead of `min= max= cpu=`).
    pub(crate) instead_of: &'static [&'static str],
}

impl Pos {
    /// `IP [IP...]`, `[NAME]`, `GE`.
    pub(crate) fn usage(&self) -> String {
        let p = self.placeholder;
        match (self.min, self.max) {
            (0, 1) => format!("[{p}]"),
            (0, _) => format!("[{p}...]"),
            (1, 1) => p.to_owned(),
            (1, _) => format!("{p} [{p}...]"),
            (n, _) => format!("{} [{p}...]", vec![p; n].join(" ")),
        }
    }

    /// "1 to 100 values", "optional", "required", for help tables.
    pub(crate) fn arity(&self) -> String {
        match (self.min, self.max) {
            (0, 1) => "optional".into(),
            (1, 1) => "required".into(),
            (min, max) => format!("{min} to {max} values"),
        }
    }
}

impl Opt {
    /// `version=TAG` or `[ns=NS]`.
    pub(crate) fn usage(&self) -> String {
        if self.required {
            format!("{}={}", self.key, self.placeholder)
        } else {
            format!("[{}={}]", self.key, self.placeholder)
        }
    }

    /// The default as shown in help, if there is one.
    pub(crate) fn default_text(&self) -> Option<&'static str> {
        match self.fallback {
            Fallback::Nothing => None,
            Fallback::Value(v) | Fallback::Note(v) => Some(v),
        }
    }
}

impl Spec {
    /// The usage line, written with the path the user typed (canonical or an alias).
    pub(crate) fn usage(&self, path: &str) -> String {
        let mut line = format!("/{path}");
        let replaced = |o: &Opt| self.flags.iter().any(|f| f.instead_of.contains(&o.key));
        // A flag that stands instead of options is shown as the alternative to them.
        let alternatives = self
            .flags
            .iter()
            .filter(|f| !f.instead_of.is_empty())
            .map(|f| {
                let opts: Vec<String> = self
                    .options
                    .iter()
                    .filter(|o| f.instead_of.contains(&o.key))
                    .map(Opt::usage)
                    .collect();
                format!("({} | {})", opts.join(" "), f.word)
            });
        let parts = self.positionals.iter().map(Pos::usage);
        let parts = parts.chain(alternatives);
        let parts = parts.chain(self.options.iter().filter(|o| !replaced(o)).map(Opt::usage));
        let parts = parts.chain(
            self.flags
                .iter()
                .filter(|f| f.instead_of.is_empty())
                .map(|f| format!("[{}]", f.word)),
        );
        let parts = parts.chain(self.ge_params.then(|| "[PARAM=VALUE...]".to_string()));
        for part in parts {
            line.push(' ');
            line.push_str(&part);
        }
        line
    }

    /// The option with this (lowercase) key.
    pub(crate) fn option(&'static self, key: &str) -> Option<&'static Opt> {
        self.options.iter().find(|o| o.key == key)
    }

    /// The flag with this (lowercase) word.
    pub(crate) fn flag(&'static self, word: &str) -> Option<&'static Flag> {
        self.flags.iter().find(|f| f.word == word)
    }
}

/// Every command spec, in the order `/help` lists them.
pub(crate) fn specs() -> impl Iterator<Item = &'static Spec> + Clone {
    family::specs()
}

/// Every path a command can be typed as (canonical and aliases), with its spec.
pub(crate) fn paths() -> impl Iterator<Item = (&'static str, &'static Spec)> {
    specs().flat_map(|s| {
        std::iter::once(s.path)
            .chain(s.aliases.iter().copied())
            .map(move |p| (p, s))
    })
}

/// The spec typed as `path` (canonical or alias).
pub(crate) fn find(path: &str) -> Option<&'static Spec> {
    paths().find(|(p, _)| *p == path).map(|(_, s)| s)
}

/// The first words of multi-word paths (`cluster`, `ge`, `host`), in table order.
pub(crate) fn group_words() -> Vec<&'static str> {
    let mut words: Vec<&'static str> = Vec::new();
    for (path, _) in paths() {
        if let Some((first, _)) = path.split_once(' ')
            && !words.contains(&first)
        {
            words.push(first);
        }
    }
    words
}

/// The paths of a group (`ge` gives `ge catalog`, ..., `ge rollback`), with their specs.
pub(crate) fn group_paths(word: &str) -> Vec<(&'static str, &'static Spec)> {
    paths()
        .filter(|(p, _)| p.split_once(' ').is_some_and(|(g, _)| g == word))
        .collect()
}

/// Whether `word` is a flag of any command (for "this command does not take that flag").
pub(crate) fn is_flag_anywhere(word: &str) -> bool {
    specs().any(|s| s.flags.iter().any(|f| f.word.eq_ignore_ascii_case(word)))
}

/// What the first one or two command words name.
pub(crate) enum Resolution {
    /// A command; `used` words (1 or 2) were its path.
    Command {
        path: &'static str,
        spec: &'static Spec,
        used: usize,
    },
    /// A group word without a sub-command.
    NeedsSub { group: &'static str },
    /// A group word with a second word that is not one of its sub-commands.
    UnknownSub { group: &'static str },
    /// Not a command word.
    Unknown,
}

/// Resolves lowercase command words: `first` and, for groups, `second`. Two words that are a
/// path win over the first alone (`/silence list` over `/silence` with a target `list`).
pub(crate) fn resolve(first: &str, second: Option<&str>) -> Resolution {
    if let Some(second) = second
        && let Some((path, spec)) = paths().find(|(p, _)| {
            p.split_once(' ')
                .is_some_and(|(g, sub)| g == first && sub == second)
        })
    {
        return Resolution::Command {
            path,
            spec,
            used: 2,
        };
    }
    if let Some((path, spec)) = paths().find(|(p, _)| *p == first) {
        return Resolution::Command {
            path,
            spec,
            used: 1,
        };
    }
    let Some(group) = group_words().into_iter().find(|g| *g == first) else {
        return Resolution::Unknown;
    };
    let Some(second) = second else {
        return Resolution::NeedsSub { group };
    };
    let found = group_paths(group)
        .into_iter()
        .find(|(p, _)| p.split_once(' ').is_some_and(|(_, sub)| sub == second));
    match found {
        Some((path, spec)) => Resolution::Command {
            path,
            spec,
            used: 2,
        },
        None => Resolution::UnknownSub { group },
    }
}
