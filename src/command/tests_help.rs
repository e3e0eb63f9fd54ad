//! `/help` and the reference are generated from the table and cover all of it.

use super::spec;
use super::tests::ok;
use super::*;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn overview_lists_every_command_with_usage_and_summary() {
    let text = help(&[]).unwrap();
    for spec in spec::specs() {
        assert!(
            text.contains(&spec.usage(spec.path)),
            "/{} missing",
            spec.path
        );
        assert!(
            text.contains(spec.summary),
            "summary of /{} missing",
            spec.path
        );
    }
    assert!(
        text.contains("/ or !"),
        "must say that ! works as well as /"
    );
    assert!(text.contains("/ge rollback"), "aliases are listed");
}

#[test]
fn help_for_a_command_shows_usage_description_forms_and_defaults() {
    let text = help(&words("cluster create")).unwrap();
    assert!(text.starts_with("/cluster create IP [IP...] [name=NAME] [user=USER] [port=PORT] [k8s=MINOR] [pod-cidr=CIDR] [control-planes=N] [endpoint=IP] [dry-run]\n"));
    let spec = spec::find("cluster create").unwrap();
    assert!(text.contains(spec.details));
    for opt in spec.options {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("  {}={}:", opt.key, opt.placeholder)));
        let line = line.unwrap_or_else(|| panic!("no line for {}=", opt.key));
        assert!(line.contains(&help::sentence(&opt.kind.form())), "{line}");
        assert!(line.contains(opt.default_text().unwrap()), "{line}");
    }
    assert!(text.contains("  dry-run: "));
    assert!(text.contains("Examples:\n  /cluster create 10.0.0.11"));
}

#[test]
fn help_shows_value_defaults_and_required_options() {
    let text = help(&words("selftest")).unwrap();
    assert!(
        text.contains("steps=N: Number of steps. A whole number from 1 to 50. Default: 3."),
        "{text}"
    );
    assert!(text.contains("Default: 1000."));
    let text = help(&words("ge upgrade")).unwrap();
    assert!(
        text.contains("version=TAG: Image tag to deploy.") && text.contains("Required."),
        "{text}"
    );
}

#[test]
fn help_accepts_prefixes_aliases_case_and_one_string() {
    let canonical = help(&words("cluster create")).unwrap();
    assert_eq!(help(&words("/Cluster CREATE")).unwrap(), canonical);
    assert_eq!(help(&["cluster create".to_owned()]).unwrap(), canonical);
    let alias = help(&words("ge rollback")).unwrap();
    assert!(alias.starts_with("/ge rollback GE"));
    assert!(alias.contains("Also available as /rollback."));
    assert!(
        help(&words("rollback"))
            .unwrap()
            .contains("Also available as /ge rollback.")
    );
}

#[test]
fn help_for_a_group_lists_its_sub_commands() {
    let text = help(&words("ge")).unwrap();
    for (path, spec) in spec::group_paths("ge") {
        assert!(text.contains(&spec.usage(path)), "{path}");
    }
    assert!(text.contains("/ge rollback GE"));
    assert!(!text.contains("/cluster create"));
}

#[test]
fn every_path_has_help() {
    for (path, _) in spec::paths() {
        let text = help(&words(path)).unwrap();
        assert!(text.starts_with(&format!("/{path}")), "{path}");
    }
}

#[test]
fn help_for_nonsense_is_an_error_with_suggestions() {
    let e = help(&words("nonsense")).unwrap_err();
    assert!(
        e.to_string()
            .contains("type /help for the list of commands"),
        "{e}"
    );
    let e = help(&words("clustr")).unwrap_err();
    assert!(e.to_string().contains("did you mean /cluster?"), "{e}");
    let e = help(&words("ge instal")).unwrap_err();
    assert!(e.to_string().contains("did you mean /ge install?"), "{e}");
}

#[test]
fn the_help_command_carries_a_topic_that_help_answers() {
    match ok("/help ge install") {
        Command::Help { topic } => assert!(help(&topic).unwrap().starts_with("/ge install GE")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn reference_covers_every_command_option_and_flag() {
    let md = reference_markdown();
    assert!(md.starts_with("# labkube command reference\n"));
    for spec in spec::specs() {
        assert!(md.contains(&format!("### /{}\n", spec.path)));
        assert!(md.contains(&format!("```text\n{}\n```", spec.usage(spec.path))));
        for opt in spec.options {
            assert!(md.contains(&format!("| `{}={}` |", opt.key, opt.placeholder)));
        }
        for flag in spec.flags {
            assert!(md.contains(&format!("| `{}` (flag) |", flag.word)));
        }
    }
    assert!(md.contains("Also available as `/ge rollback`."));
}

#[test]
fn reference_tables_are_well_formed() {
    let md = reference_markdown();
    for line in md.lines().filter(|l| l.starts_with('|')) {
        // Three columns: four unescaped pipes.
        let pipes = line.len() - line.replace('|', "").len() - line.matches("\\|").count();
        assert_eq!(pipes, 4, "{line}");
    }
    assert!(!md.contains("'_'"), "underscores in prose are escaped");
}
