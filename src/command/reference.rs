//! The full command reference in Markdown (docs/COMMANDS.md), generated from the table.

use super::help::{describe_option, describe_positional, other_paths, sentence};
use super::lex::MAX_LINE_CHARS;
use super::spec::{self, Group, Spec};

/// Escapes text for Markdown (also inside a table cell): no emphasis, no cell breaks.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '_' | '*' | '|' | '`' | '<' | '>' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Renders the whole reference.
pub(crate) fn markdown() -> String {
    let mut out = String::from("# labkube command reference\n\n");
    out.push_str(
        "<!-- Generated from the command specs (src/command/family/) by \
         labkube::command::reference_markdown(); do not edit by hand. -->\n\n",
    );
    out.push_str(&format!(
        "- Start a command with `/` or `!`; both work the same. In Telegram groups the first word \
         may carry the bot's name, as in `/help@labkube_bot`; a command addressed to another bot \
         is ignored.\n\
         - Command words, option keys and flags are case-insensitive; values are not.\n\
         - Arguments are separated by spaces. Positional arguments and `key=value` options may \
         come in any order; each option and flag may be given once.\n\
         - Only printable ASCII is accepted: look-alike letters from other alphabets, \
         full-width characters, invisible characters and no-break spaces are refused, as is \
         any line longer than {MAX_LINE_CHARS} characters.\n\
         - Usage lines: `UPPERCASE` is a value to fill in, `[brackets]` mark what is optional, \
         `X [X...]` means one or more.\n\
         - Secrets such as `confirm=` codes are masked as `***` in the audit log.\n"
    ));
    for group in Group::ALL {
        out.push_str(&format!("\n## {}\n", group.title()));
        for spec in spec::specs().filter(|s| s.group == group) {
            command(&mut out, spec);
        }
    }
    out
}

fn command(out: &mut String, spec: &Spec) {
    out.push_str(&format!("\n### /{}\n\n", spec.path));
    out.push_str(&format!("```text\n{}\n```\n\n", spec.usage(spec.path)));
    let effect = if spec.mutating {
        "Changes state."
    } else {
        "Read-only."
    };
    out.push_str(&format!(
        "{} {}\n\n{effect}",
        cell(&sentence(spec.summary)),
        cell(spec.details)
    ));
    let others = other_paths(spec.path, spec);
    if !others.is_empty() {
        let others: Vec<String> = others.iter().map(|p| format!("`{p}`")).collect();
        out.push_str(&format!(" Also available as {}.", others.join(", ")));
    }
    out.push('\n');
    let has_rows =
        !(spec.positionals.is_empty() && spec.options.is_empty() && spec.flags.is_empty());
    if has_rows {
        out.push_str("\n| Argument | Meaning and accepted form | Default |\n|---|---|---|\n");
    }
    for pos in spec.positionals {
        let arity = match (pos.min, pos.max) {
            (1, 1) => "required".to_owned(),
            _ => pos.arity(),
        };
        out.push_str(&format!(
            "| `{}` ({arity}) | {} | |\n",
            pos.placeholder,
            cell(&describe_positional(pos))
        ));
    }
    for opt in spec.options {
        let default = match (opt.required, opt.default_text()) {
            (true, _) => "required".to_owned(),
            (false, Some(d)) => cell(d),
            (false, None) => String::new(),
        };
        out.push_str(&format!(
            "| `{}={}` | {} | {default} |\n",
            opt.key,
            opt.placeholder,
            cell(&describe_option(opt, false))
        ));
    }
    for flag in spec.flags {
        out.push_str(&format!(
            "| `{}` (flag) | {} | off |\n",
            flag.word,
            cell(&sentence(flag.about))
        ));
    }
    if !spec.examples.is_empty() {
        out.push_str(&format!(
            "\nExamples:\n\n```text\n{}\n```\n",
            spec.examples.join("\n")
        ));
    }
}
