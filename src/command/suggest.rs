//! "Did you mean ...?": close matches for mistyped command words and option keys.

use super::spec;

/// At most this many suggestions are offered.
const MAX_SUGGESTIONS: usize = 3;

/// Words users try that are not in the grammar, with the command or key they probably want.
const SYNONYMS: &[(&str, &str)] = &[
    ("deploy", "ge install"),
    ("remove", "ge uninstall"),
    ("undo", "rollback"),
    ("revert", "rollback"),
    ("catalogue", "ge catalog"),
    ("ps", "jobs"),
    ("kill", "cancel"),
    ("stop", "cancel"),
    ("namespace", "ns"),
    ("tag", "version"),
    ("replica", "replicas"),
    ("kubernetes", "k8s"),
    ("k8s-version", "k8s"),
    ("cidr", "pod-cidr"),
    ("username", "user"),
    ("ssh-user", "user"),
    ("ssh-port", "port"),
    ("revision", "to"),
    ("code", "confirm"),
];

/// How far `typed` is from `candidate`; `None` when they are not reasonably close.
fn distance(typed: &str, candidate: &str) -> Option<usize> {
    if typed == candidate {
        return Some(0);
    }
    let d = strsim::damerau_levenshtein(typed, candidate);
    let allowed = match candidate.len() {
        0..=3 => 1,
        4..=6 => 2,
        _ => 3,
    };
    if d <= allowed && d < typed.len().max(1) {
        return Some(d);
    }
    // A clear prefix ("clu" for "cluster") or a strong Jaro-Winkler match ("statsu").
    if typed.len() >= 3 && candidate.starts_with(typed) {
        return Some(allowed + 1);
    }
    if typed.len() >= 3 && strsim::jaro_winkler(typed, candidate) >= 0.9 {
        return Some(allowed + 2);
    }
    None
}

/// Ranks `candidates` (word, what to suggest) by closeness to `typed`; keeps at most three,
/// without repeats.
fn rank(typed: &str, candidates: impl Iterator<Item = (&'static str, String)>) -> Vec<String> {
    let mut scored: Vec<(usize, String)> = Vec::new();
    for (word, shown) in candidates {
        if let Some(d) = distance(typed, word) {
            scored.push((d, shown));
        }
    }
    for (from, to) in SYNONYMS {
        if *from == typed {
            scored.extend(
                spec::paths()
                    .filter(|(p, _)| p == to)
                    .map(|(p, _)| (0, format!("/{p}"))),
            );
        }
    }
    scored.sort_by_key(|(d, _)| *d);
    // Only the best matches: "install" suggests /ge install, not also /ge uninstall.
    let best = scored.first().map_or(0, |(d, _)| *d);
    let mut out: Vec<String> = Vec::new();
    for (d, shown) in scored {
        if d <= best + 1 && !out.contains(&shown) && out.len() < MAX_SUGGESTIONS {
            out.push(shown);
        }
    }
    out
}

/// Commands close to a mistyped first word: command words (`/cluster`) and, so that
/// `/install` finds `/ge install`, sub-command words shown with their group.
pub(crate) fn commands(typed: &str) -> Vec<String> {
    let mut candidates: Vec<(&'static str, String)> = Vec::new();
    for (path, _) in spec::paths() {
        match path.split_once(' ') {
            None => candidates.push((path, format!("/{path}"))),
            Some((group, sub)) => {
                if !candidates.iter().any(|(w, _)| *w == group) {
                    candidates.push((group, format!("/{group}")));
                }
                candidates.push((sub, format!("/{path}")));
            }
        }
    }
    rank(typed, candidates.into_iter())
}

/// Sub-commands of `group` close to a mistyped second word (`/cluster creat`).
pub(crate) fn subcommands(group: &str, typed: &str) -> Vec<String> {
    let candidates = spec::group_paths(group)
        .into_iter()
        .filter_map(|(path, _)| {
            path.split_once(' ')
                .map(|(_, sub)| (sub, format!("/{path}")))
        });
    rank(typed, candidates)
}

/// Keys among `keys` close to a mistyped option key, shown as `key=`.
pub(crate) fn keys(typed: &str, keys: impl Iterator<Item = &'static str>) -> Vec<String> {
    let keys: Vec<&'static str> = keys.collect();
    let mut out = rank(typed, keys.iter().map(|k| (*k, format!("{k}="))));
    for (from, to) in SYNONYMS {
        if *from == typed && keys.contains(to) {
            let shown = format!("{to}=");
            if !out.contains(&shown) {
                out.insert(0, shown);
            }
        }
    }
    out.retain(|s| !s.starts_with('/'));
    out.truncate(MAX_SUGGESTIONS);
    out
}

/// `"; did you mean /a, /b or /c?"`, or `fallback` when there is nothing to suggest.
pub(crate) fn did_you_mean(suggestions: &[String], fallback: &str) -> String {
    match suggestions {
        [] => fallback.to_owned(),
        [one] => format!("; did you mean {one}?"),
        [init @ .., last] => format!("; did you mean {} or {last}?", init.join(", ")),
    }
}
