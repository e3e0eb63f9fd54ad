//! Property tests: no input makes the parser panic or leak raw characters, and every spec's
//! usage round-trips through `redacted()`.

use proptest::prelude::*;
use proptest::sample::Index;

use super::spec::{self, Spec};
use super::tests::BOT;
use super::value::{self, Kind};
use super::*;

/// Characters a shell treats specially; none may appear in a parsed command's re-rendering.
/// A `,` alone is no shell syntax (brace expansion needs '{', refused here), and a dual-stack
/// `pod-cidr=` holds one, so it is not in the list.
const SHELL_META: &[char] = &[
    ';', '|', '&', '$', '`', '\'', '"', '<', '>', '(', ')', '\\', '{', '}', '*', '?', '~', '[',
    ']', '!', '#', '%', '^', '\t', '\n', '\r',
];

/// Whether `text` is printable ASCII (and `extra`) only.
fn clean(text: &str, extra: &[char]) -> bool {
    text.chars()
        .all(|c| matches!(c, ' '..='~') || extra.contains(&c))
}

/// The invariants that hold for any input.
fn check_invariants(text: &str) -> Result<(), TestCaseError> {
    match parse(text, BOT) {
        Ok(None) => {}
        Ok(Some(cmd)) => {
            let line = cmd.redacted();
            prop_assert!(clean(&line, &[]), "non-ASCII or control in {line:?}");
            // The one exception is the literal mask of a secret, `confirm=***`, as specified.
            let unmasked = line.replace(" confirm=***", "");
            prop_assert!(
                !unmasked.contains(SHELL_META),
                "shell metacharacter in {line:?}"
            );
            // A masked secret does not parse back (`***` is no code).
            let has_secret = line.contains("=***");
            if !has_secret {
                prop_assert_eq!(parse(&line, BOT), Ok(Some(cmd)));
            }
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(
                clean(&message, &['\n', '…']),
                "raw character in error {message:?}"
            );
            prop_assert!(message.len() < 4000, "error too long: {}", message.len());
            let token = e.bad_token().unwrap_or_default();
            prop_assert!(
                clean(token, &['…']) && token.chars().count() <= 40,
                "{token:?}"
            );
        }
    }
    Ok(())
}

/// Tokens that stress the lexer and validators: valid pieces, shell metacharacters, controls,
/// confusables, invisible and full-width characters.
fn nasty_token() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "cluster",
        "create",
        "ge",
        "install",
        "help",
        "jobs",
        "all",
        "dry-run",
        "purge",
        "orion",
        "127.0.0.1",
        "::1",
        "010.0.0.1",
        "0.0.0.0",
        "ns=demo",
        "ns=",
        "=",
        "==",
        "confirm=abcd",
        "to=3",
        "replicas=99",
        "#42",
        "@labkube_bot",
        "@other",
        "/",
        "!",
        ";",
        "|",
        "&&",
        "$(id)",
        "`id`",
        "'",
        "\"",
        "<",
        ">",
        "\\",
        "{}",
        "*",
        "?",
        "~",
        "\0",
        "\u{1b}[31m",
        "\u{7f}",
        "\u{202e}",
        "\u{200b}",
        "\u{a0}",
        "\u{feff}",
        "с",
        "ｃ",
        "\u{3000}",
        "%",
        "\r",
        "\u{b}",
        "…",
        "🙂",
        "e\u{301}",
    ]);
    prop::collection::vec(pieces, 1..4).prop_map(|p| p.concat())
}

fn nasty_line() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "/",
        "!",
        "",
        "/ge ",
        "/cluster ",
        "/help ",
        "!cluster@labkube_bot ",
    ]);
    let sep = prop::sample::select(vec![" ", "  ", "\t", "\n", "", "\u{a0}"]);
    (prefix, prop::collection::vec((nasty_token(), sep), 0..12)).prop_map(|(p, toks)| {
        let mut line = p.to_owned();
        for (t, s) in toks {
            line.push_str(&t);
            line.push_str(s);
        }
        line
    })
}

/// Valid text for a kind, as a user would type it.
fn value_of(kind: Kind) -> BoxedStrategy<String> {
    match kind {
        Kind::Ip => prop_oneof![
            any::<u32>().prop_map(|n| std::net::Ipv4Addr::from(n).to_string()),
            any::<u128>().prop_map(|n| std::net::Ipv6Addr::from(n).to_string()),
            (1u8..=254).prop_map(|n| format!("127.0.0.{n}")),
        ]
        .prop_filter("host address", |s| value::ip(s).is_ok())
        .boxed(),
        Kind::Label => "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
            .prop_filter("not a flag word", |s| !spec::is_flag_anywhere(s))
            .boxed(),
        Kind::Tag => "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}".boxed(),
        Kind::K8sMinor => proptest::sample::select(
            crate::names::SUPPORTED_MINORS
                .iter()
                .map(|m| m.version.to_string())
                .collect::<Vec<_>>(),
        )
        .boxed(),
        Kind::Cidr => {
            let v4 = (any::<u32>(), 8u32..=24).prop_map(|(a, len)| {
                let net = std::net::Ipv4Addr::from(a & (u32::MAX << (32 - len)));
                format!("{net}/{len}")
            });
            let v6 = (any::<u128>(), 48u32..=64).prop_map(|(a, len)| {
                let net = std::net::Ipv6Addr::from(a & (u128::MAX << (128 - len)));
                format!("{net}/{len}")
            });
            prop_oneof![
                v4.clone(),
                v6.clone(),
                (v4, v6).prop_map(|(a, b)| format!("{a},{b}")),
            ]
            .boxed()
        }
        Kind::User => "[a-z_][a-z0-9_-]{0,31}".boxed(),
        Kind::Cpu => prop_oneof![
            (1u64..=1024).prop_map(|n| n.to_string()),
            (100u64..=99_999).prop_map(|n| format!("{n}m")),
            // At least 0.100: the grammar's floor is 100m.
            (0u64..=9, 1u64..=999).prop_map(|(w, f)| {
                let f = if w == 0 { f.max(100) } else { f };
                format!("{w}.{f:03}")
            }),
        ]
        .boxed(),
        Kind::Memory => prop_oneof![
            (64u64..=1_000_000).prop_map(|n| format!("{n}Mi")),
            (1u64..=16_384).prop_map(|n| format!("{n}Gi")),
            (1u64..=16_000).prop_map(|n| format!("{n}G")),
        ]
        .boxed(),
        Kind::Int { min, max } => (min..=max).prop_map(|n| n.to_string()).boxed(),
        Kind::ControlPlanes => {
            prop::sample::select(crate::names::quorum::CONTROL_PLANE_COUNTS.to_vec())
                .prop_map(|n| n.to_string())
                .boxed()
        }
        Kind::JobId => (1u64..=u64::MAX, any::<bool>())
            .prop_map(|(n, hash)| if hash { format!("#{n}") } else { n.to_string() })
            .boxed(),
        Kind::Code => "[a-z0-9]{4,16}".boxed(),
        Kind::Keyword(word) => Just(word.to_owned()).boxed(),
        Kind::OneOf(words) => prop::sample::select(words.to_vec())
            .prop_map(str::to_owned)
            .boxed(),
        Kind::Topic => prop::sample::select(spec::paths().map(|(p, _)| p).collect::<Vec<_>>())
            .prop_map(|p| p.split(' ').next().unwrap_or_default().to_owned())
            .boxed(),
        Kind::Duration { min_secs, max_secs } => prop_oneof![
            (min_secs / 60..=max_secs / 60).prop_map(|n| format!("{n}m")),
            (min_secs.div_ceil(3600)..=max_secs / 3600).prop_map(|n| format!("{n}h")),
            (min_secs.div_ceil(86_400)..=max_secs / 86_400).prop_map(|n| format!("{n}d")),
        ]
        .boxed(),
        Kind::SilenceTarget => prop_oneof![
            Just("cluster".to_owned()),
            "[a-z0-9]{1,20}(\\.[a-z0-9]{1,20}){0,2}".prop_map(|n| format!("node/{n}")),
            value_of(Kind::Label).prop_filter("a sub-command word", |s| s != "list"),
        ]
        .boxed(),
        Kind::Word => "[A-Za-z0-9][A-Za-z0-9.,:-]{0,20}"
            .prop_filter("not a flag word", |s| !spec::is_flag_anywhere(s))
            .boxed(),
    }
}

/// Randomises ASCII case (command words, keys and flags are case-insensitive).
fn recase(word: &str, flips: &[bool]) -> String {
    word.chars()
        .zip(flips.iter().cycle())
        .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
        .collect()
}

/// A valid command line for `path` / `spec`, with options and flags mixed among positionals.
fn valid_line(path: &'static str, spec: &'static Spec) -> BoxedStrategy<String> {
    let positionals: Vec<BoxedStrategy<Vec<String>>> = spec
        .positionals
        .iter()
        .map(|pos| {
            if pos.kind == Kind::Topic {
                // Help words must name a command: pick a path (or nothing).
                let topics: Vec<&str> = std::iter::once("")
                    .chain(spec::paths().map(|(p, _)| p))
                    .collect();
                prop::sample::select(topics)
                    .prop_map(|t| t.split_whitespace().map(str::to_owned).collect())
                    .boxed()
            } else {
                let unique = pos.unique;
                prop::collection::vec(value_of(pos.kind), pos.min..=pos.max.min(6))
                    .prop_map(move |mut values| {
                        if unique {
                            let mut seen = Vec::new();
                            values.retain(|v| {
                                let key = v.parse::<std::net::IpAddr>().map(|ip| ip.to_canonical());
                                let new = !seen.contains(&key);
                                seen.push(key);
                                new
                            });
                        }
                        values
                    })
                    .boxed()
            }
        })
        .collect();
    let options: Vec<BoxedStrategy<Option<String>>> = spec
        .options
        .iter()
        .map(|opt| {
            let token = (
                value_of(opt.kind),
                prop::collection::vec(any::<bool>(), 1..4),
            )
                .prop_map(move |(v, flips)| format!("{}={v}", recase(opt.key, &flips)));
            if opt.required {
                token.prop_map(Some).boxed()
            } else {
                prop::option::of(token).boxed()
            }
        })
        .collect();
    let flags: Vec<BoxedStrategy<Option<String>>> = spec
        .flags
        .iter()
        .map(|f| {
            prop::option::of(prop::collection::vec(any::<bool>(), 1..4))
                .prop_map(move |flips| flips.map(|fl| recase(f.word, &fl)))
                .boxed()
        })
        .collect();
    let head = (
        prop::sample::select(vec!["/", "!"]),
        prop::collection::vec(any::<bool>(), 1..5),
        any::<bool>(),
    )
        .prop_map(move |(prefix, flips, at_bot)| {
            let mut words = path.split(' ').map(|w| recase(w, &flips));
            let first = words.next().unwrap_or_default();
            let bot = if at_bot { "@LabKube_Bot" } else { "" };
            let rest: Vec<String> = words.collect();
            format!("{prefix}{first}{bot} {}", rest.join(" "))
        });
    (
        head,
        positionals,
        options,
        flags,
        prop::collection::vec(any::<Index>(), 0..12),
    )
        .prop_map(move |(head, pos, mut opts, flags, spots)| {
            // A flag given drops the options it stands instead of.
            for (f, given) in spec.flags.iter().zip(&flags) {
                if given.is_some() {
                    for (o, token) in spec.options.iter().zip(opts.iter_mut()) {
                        if f.instead_of.contains(&o.key) {
                            *token = None;
                        }
                    }
                }
            }
            let mut tokens: Vec<String> = pos.into_iter().flatten().collect();
            // Options and flags may go anywhere; positionals keep their order.
            for (i, extra) in opts.into_iter().chain(flags).flatten().enumerate() {
                let at = spots
                    .get(i)
                    .map_or(tokens.len(), |s| s.index(tokens.len() + 1));
                tokens.insert(at, extra);
            }
            format!("{head} {}", tokens.join(" "))
        })
        .boxed()
}

/// `cases` per property; failing seeds are kept in `proptests.regressions` beside this file
/// (not in a top-level folder) and re-run first.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::with_cases(cases)
    }
}

fn any_valid_line() -> impl Strategy<Value = (&'static str, String)> {
    let all: Vec<usize> = (0..spec::paths().count()).collect();
    prop::sample::select(all).prop_flat_map(|i| {
        let (path, spec) = spec::paths().nth(i).unwrap();
        (Just(spec.path), valid_line(path, spec))
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_unicode_never_panics_or_leaks(text in any::<String>()) {
        check_invariants(&text)?;
        check_invariants(&format!("/{text}"))?;
        check_invariants(&format!("/cluster create {text}"))?;
    }

    #[test]
    fn nasty_token_soup_never_panics_or_leaks(line in nasty_line()) {
        check_invariants(&line)?;
    }

    #[test]
    fn every_spec_round_trips_through_redacted((path, line) in any_valid_line()) {
        let cmd = match parse(&line, BOT) {
            Ok(Some(cmd)) => cmd,
            other => return Err(TestCaseError::fail(format!("{line:?} gave {other:?}"))),
        };
        prop_assert_eq!(cmd.path(), path);
        check_invariants(&line)?;
        if let Command::ClusterDelete { confirm: Some(_), .. }
        | Command::NodeRemove { confirm: Some(_), .. }
        | Command::ClusterUpgrade { confirm: Some(_), .. } = cmd
        {
            prop_assert!(cmd.redacted().ends_with(" confirm=***"));
        }
    }

    #[test]
    fn redact_text_is_safe_and_bounded(text in any::<String>(), secret in "[a-z0-9]{6,16}") {
        let out = redact_text(&format!("{text} confirm={secret} {text}"));
        prop_assert!(clean(&out, &['…']), "{out:?}");
        prop_assert!(out.chars().count() <= 300);
        let leaked = format!("confirm={secret}");
        prop_assert!(!out.contains(&leaked), "{out:?}");
    }

    #[test]
    fn help_with_arbitrary_words_never_panics(words in prop::collection::vec(any::<String>(), 0..4)) {
        if let Err(e) = help(&words) {
            prop_assert!(clean(&e.to_string(), &['\n', '…']), "{e}");
        }
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn very_long_lines_never_panic(
        body in prop::collection::vec(nasty_token(), 1..2500),
        prefix in prop::sample::select(vec!["/cluster create ", "/ge install orion ", "/help ", "!jobs "]),
    ) {
        let mut line = prefix.to_owned();
        for t in body {
            line.push_str(&t);
            line.push(' ');
            if line.len() > 10_000 {
                break;
            }
        }
        check_invariants(&line)?;
    }
}

#[test]
fn ten_thousand_character_lines_are_refused_quickly() {
    let line = format!("/cluster create {}", "127.0.0.1 ".repeat(1000));
    let e = parse(&line, BOT).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("message too long (10016 characters")
    );
    assert!(check_invariants(&format!("/{}", "\0".repeat(10_000))).is_ok());
}
