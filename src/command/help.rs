//! `/help`: the overview, a group's sub-commands, or one command in detail, all generated
//! from the command table.

use super::error::{ErrorKind, ParseError};
use super::escape::quoted;
use super::lex::MAX_LINE_CHARS;
use super::spec::{self, Group, Resolution, Spec};
use super::suggest;

/// What `/help` was asked about.
pub(crate) enum Topic {
    /// Everything.
    Overview,
    /// A command group such as `cluster`.
    Group(&'static str),
    /// One command, as typed (canonical path or alias).
    Command(&'static str, &'static Spec),
}

/// Resolves help words (`["cluster", "create"]`, `["/ge"]`, `["ge install"]`).
pub(crate) fn resolve(topic: &[String]) -> Result<Topic, ParseError> {
    let words: Vec<String> = topic
        .iter()
        .flat_map(|w| w.split_ascii_whitespace())
        .map(|w| w.strip_prefix(['/', '!']).unwrap_or(w).to_ascii_lowercase())
        .collect();
    let shown = || format!("/{}", words.join(" "));
    let unknown = |suggestions: Vec<String>| {
        let hint = suggest::did_you_mean(&suggestions, "; type /help for the list of commands");
        ParseError::new(
            ErrorKind::UnknownTopic,
            format!("no help for {}{hint}", quoted(&shown())),
        )
        .with_token(&shown())
    };
    let Some(first) = words.first() else {
        return Ok(Topic::Overview);
    };
    match spec::resolve(first, words.get(1).map(String::as_str)) {
        Resolution::Command { path, spec, used } if used == words.len() => {
            Ok(Topic::Command(path, spec))
        }
        Resolution::Command { path, .. } => Err(ParseError::new(
            ErrorKind::UnknownTopic,
            format!("no help for {}; try /help {path}", quoted(&shown())),
        )
        .with_token(&shown())),
        Resolution::NeedsSub { group } => Ok(Topic::Group(group)),
        Resolution::UnknownSub { group } => Err(unknown(suggest::subcommands(
            group,
            words.get(1).map_or("", String::as_str),
        ))),
        Resolution::Unknown => Err(unknown(suggest::commands(first))),
    }
}

/// Checks help words at parse time, so `/help nonsense` is answered like any bad command.
pub(crate) fn check_topic(topic: &[String]) -> Result<(), ParseError> {
    resolve(topic).map(|_| ())
}

/// The reply to `/help` with these words.
pub(crate) fn render(topic: &[String]) -> Result<String, ParseError> {
    Ok(match resolve(topic)? {
        Topic::Overview => overview(),
        Topic::Group(group) => group_help(group),
        Topic::Command(path, spec) => command_help(path, spec),
    })
}

/// `"list the clusters"` as a sentence: `"List the clusters."`.
pub(crate) fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_ascii_uppercase())
        .into_iter()
        .collect();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// The other paths a command can be typed as (`/ge rollback` for `/rollback`).
pub(crate) fn other_paths(path: &str, spec: &Spec) -> Vec<String> {
    std::iter::once(spec.path)
        .chain(spec.aliases.iter().copied())
        .filter(|p| *p != path)
        .map(|p| format!("/{p}"))
        .collect()
}

/// `" (also /ge rollback)"`, or `""`.
fn also(path: &str, spec: &Spec) -> String {
    let others = other_paths(path, spec);
    if others.is_empty() {
        String::new()
    } else {
        format!(" (also {})", others.join(", "))
    }
}

/// One line about a positional argument, for `/help` and the reference.
pub(crate) fn describe_positional(pos: &spec::Pos) -> String {
    let each = if pos.max > 1 { "Each is " } else { "" };
    let form = pos.kind.form();
    let form = if each.is_empty() {
        sentence(&form)
    } else {
        format!("{each}{form}.")
    };
    format!("{}. {form}", sentence(pos.about).trim_end_matches('.'))
}

/// One line about an option, for `/help` (with its default) and the reference (without).
pub(crate) fn describe_option(opt: &spec::Opt, with_default: bool) -> String {
    let default = match (with_default, opt.required, opt.default_text()) {
        (false, _, _) => String::new(),
        (true, true, _) => " Required.".to_owned(),
        (true, false, Some(d)) => format!(" Default: {d}."),
        (true, false, None) => String::new(),
    };
    format!(
        "{}. {}{default}",
        sentence(opt.about).trim_end_matches('.'),
        sentence(&opt.kind.form())
    )
}

fn overview() -> String {
    let mut out = String::from(
        "labkube commands. Start each with / or ! (both work); in Telegram groups \
         /command@botname works too.\n",
    );
    for group in Group::ALL {
        out.push('\n');
        out.push_str(group.title());
        out.push('\n');
        for spec in spec::specs().filter(|s| s.group == group) {
            out.push_str(&format!(
                "{}\n    {}{}\n",
                spec.usage(spec.path),
                spec.summary,
                also(spec.path, spec)
            ));
        }
    }
    out.push_str(&format!(
        "\nUPPERCASE words are yours to fill in; [brackets] mark what is optional. Command words, \
         option keys and flags are case-insensitive. One command per message, at most \
         {MAX_LINE_CHARS} characters.\nDetails: /help COMMAND, e.g. /help cluster create."
    ));
    out
}

fn group_help(group: &str) -> String {
    let mut out = format!("/{group} sub-commands:\n");
    for (path, spec) in spec::group_paths(group) {
        out.push_str(&format!(
            "{}\n    {}{}\n",
            spec.usage(path),
            spec.summary,
            also(path, spec)
        ));
    }
    let paths = spec::group_paths(group);
    let example = paths
        .iter()
        .find(|(_, s)| !s.positionals.is_empty())
        .or(paths.first());
    let example = example.map_or("", |(p, _)| *p);
    out.push_str(&format!(
        "Details: /help {group} SUB-COMMAND, e.g. /help {example}."
    ));
    out
}

fn command_help(path: &'static str, spec: &Spec) -> String {
    let mut out = format!(
        "{}\n{}\n\n{}\n",
        spec.usage(path),
        sentence(spec.summary),
        spec.details
    );
    if !spec.positionals.is_empty() {
        out.push_str("\nArguments:\n");
        for pos in spec.positionals {
            let arity = match (pos.min, pos.max) {
                (1, 1) => String::new(),
                _ => format!(" ({})", pos.arity()),
            };
            out.push_str(&format!(
                "  {}{arity}: {}\n",
                pos.placeholder,
                describe_positional(pos)
            ));
        }
    }
    if !spec.options.is_empty() {
        out.push_str("\nOptions:\n");
        for opt in spec.options {
            out.push_str(&format!(
                "  {}={}: {}\n",
                opt.key,
                opt.placeholder,
                describe_option(opt, true)
            ));
        }
    }
    if !spec.flags.is_empty() {
        out.push_str("\nFlags:\n");
        for flag in spec.flags {
            out.push_str(&format!("  {}: {}\n", flag.word, flag.about));
        }
    }
    if !spec.examples.is_empty() {
        out.push_str("\nExamples:\n");
        for example in spec.examples {
            out.push_str(&format!("  {example}\n"));
        }
    }
    let others = other_paths(path, spec);
    if !others.is_empty() {
        out.push_str(&format!("\nAlso available as {}.\n", others.join(", ")));
    }
    out.truncate(out.trim_end().len());
    out
}
