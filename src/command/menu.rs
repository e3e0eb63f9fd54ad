//! The command menu a chat platform shows under "/" (Telegram's `setMyCommands`): one entry per
//! first command word, described from the table.

use super::spec;

/// One entry of the command menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuEntry {
    /// The first command word, without the prefix: `cluster`, `help`.
    pub word: &'static str,
    /// What it does: a command's summary, or a group word's sub-commands.
    pub description: String,
}

/// Every first command word of the grammar, in table order, with a description: a command of
/// one word gets its summary, a word that starts several commands lists them
/// (`create, plan, list, …`). Aliases are left out.
#[must_use]
pub fn menu() -> Vec<MenuEntry> {
    let mut out: Vec<(&'static str, Vec<&'static spec::Spec>)> = Vec::new();
    for s in spec::specs() {
        let word = s.path.split(' ').next().unwrap_or(s.path);
        match out.iter_mut().find(|(w, _)| *w == word) {
            Some((_, specs)) => specs.push(s),
            None => out.push((word, vec![s])),
        }
    }
    out.into_iter()
        .map(|(word, specs)| {
            let description = match specs.as_slice() {
                [one] if one.path == word => one.summary.to_string(),
                many => {
                    let subs: Vec<&str> = many
                        .iter()
                        .filter_map(|s| s.path.split_once(' ').map(|(_, rest)| rest))
                        .collect();
                    format!("{}: {}", spec_group_title(many), subs.join(", "))
                }
            };
            MenuEntry { word, description }
        })
        .collect()
}

fn spec_group_title(specs: &[&spec::Spec]) -> &'static str {
    specs.first().map_or("", |s| s.group.title())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_first_word_once_with_a_description() {
        let m = menu();
        let words: Vec<&str> = m.iter().map(|e| e.word).collect();
        for w in [
            "cluster", "host", "ge", "rollback", "jobs", "job", "cancel", "help",
        ] {
            assert!(words.contains(&w), "{w} missing from {words:?}");
        }
        let mut dedup = words.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), words.len(), "{words:?}");
        for e in &m {
            // Telegram's limits: 1-32 of [a-z0-9_], description 1-256 characters.
            assert!(
                e.word.len() <= 32
                    && e.word
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            );
            assert!(
                !e.description.is_empty() && e.description.len() <= 256,
                "{e:?}"
            );
        }
        let ge = m.iter().find(|e| e.word == "ge").unwrap();
        assert!(ge.description.contains("install"), "{ge:?}");
    }
}
