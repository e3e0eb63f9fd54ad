//! Documentation that is generated must match what generates it.

use std::path::Path;

/// `docs/COMMANDS.md` is the grammar's own reference. Regenerate it with
/// `LABKUBE_UPDATE_DOCS=1 cargo test --test it docs`.
#[test]
fn commands_md_matches_the_grammar() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/COMMANDS.md");
    let fresh = labkube::command::reference_markdown();
    if std::env::var_os("LABKUBE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert!(
        on_disk == fresh,
        "docs/COMMANDS.md is stale; regenerate it with LABKUBE_UPDATE_DOCS=1 cargo test --test it docs"
    );
}

/// The README and the help agree on which commands exist.
#[test]
fn readme_names_every_command() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let reference = labkube::command::reference_markdown();
    for cmd in [
        "/cluster create",
        "/cluster plan",
        "/cluster delete",
        "/ge install",
        "/rollback",
        "/jobs",
        "/job ",
        "/cancel",
        "/whoami",
        "/audit",
        "/selftest",
        "/host forget",
    ] {
        assert!(readme.contains(cmd), "README does not mention {cmd}");
        assert!(
            reference.contains(cmd),
            "the reference does not mention {cmd}"
        );
    }
}

/// The README's catalogue table is the catalogue's own (between the markers). Regenerate it
/// with `LABKUBE_UPDATE_DOCS=1 cargo test --test it docs`.
#[test]
fn readme_catalogue_table_matches_the_catalogue() {
    const START: &str = "<!-- catalogue table: generated from deploy/ges by the docs test -->\n";
    const END: &str = "<!-- end of catalogue table -->";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let table = labkube::kube::Catalogue::builtin()
        .unwrap()
        .markdown_table();
    let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
        panic!("README.md has no catalogue table markers");
    };
    let current = &readme[a + START.len()..b];
    let fresh = format!("{}\n", table.trim_end());
    if current != fresh && std::env::var_os("LABKUBE_UPDATE_DOCS").is_some() {
        let updated = format!("{}{fresh}{}", &readme[..a + START.len()], &readme[b..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        current == fresh,
        "README.md's catalogue table is stale; regenerate it with LABKUBE_UPDATE_DOCS=1 cargo test --test it docs"
    );
}
