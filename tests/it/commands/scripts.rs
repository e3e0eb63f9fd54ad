//! The layout of `commands/`, the rules every step script follows, and shellcheck over the
//! scripts, the stand-ins and the repository's own tool scripts (`scripts/`, `.ci/run`).

use std::path::{Path, PathBuf};
use std::process::Command;

use labkube::provision::os::OsInfo;
use labkube::provision::scripts::{self, OS_FOLDERS, STEPS};

use labkube_testkit::lab::hosts::os_release;
use labkube_testkit::lab::{CRATE, standins};

const SUPPORTED: &[&str] = &[
    "ubuntu-24.04",
    "debian-12",
    "rocky-9",
    "centos-stream-9",
    "almalinux-9",
    "rhel-9",
    "linuxmint-22",
];

/// Every script file under commands/ (path relative to it), read from disk.
fn command_files() -> Vec<(String, String)> {
    scripts::embedded_files()
        .into_iter()
        .filter(|p| p.ends_with(".sh") && !p.starts_with("lib/"))
        .map(|p| {
            let text = std::fs::read_to_string(Path::new(CRATE).join("commands").join(p)).unwrap();
            (p.to_string(), text)
        })
        .collect()
}

#[test]
fn every_step_resolves_for_every_supported_os() {
    for file in SUPPORTED {
        let os = OsInfo::parse(&os_release(file));
        for step in STEPS {
            let s = scripts::locate(step, &os).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(
                s.path.ends_with(&format!("/{step}.sh")),
                "{file}: {}",
                s.path
            );
            let folder = s.path.split('/').next().unwrap();
            assert!(
                os.lookup_chain().contains(&folder),
                "{file}: {step} from {folder}"
            );
        }
    }
}

#[test]
fn commands_holds_only_known_steps_in_known_folders() {
    let files = scripts::embedded_files();
    assert!(files.len() > STEPS.len(), "{files:?}");
    for path in files {
        if path == "README.md" || path.starts_with("lib/") {
            continue;
        }
        let (folder, file) = path.split_once('/').unwrap_or(("", path));
        let step = file.strip_suffix(".sh").unwrap_or("");
        assert!(
            OS_FOLDERS.contains(&folder),
            "commands/{path}: unknown folder {folder:?}"
        );
        assert!(
            STEPS.contains(&step),
            "commands/{path}: not a known step (STEPS in scripts.rs)"
        );
        assert!(!file.contains('/'), "commands/{path}: nested too deep");
    }
    // The embedded copy is the checked-in one (build.rs re-embeds on change).
    for (path, text) in command_files() {
        let os_like = match path.split('/').next().unwrap() {
            "rhel" => "rocky-9",
            _ => "debian-12",
        };
        let step = path.rsplit('/').next().unwrap().trim_end_matches(".sh");
        let resolved = scripts::locate(step, &OsInfo::parse(&os_release(os_like))).unwrap();
        if resolved.path == path {
            assert_eq!(
                resolved.body, text,
                "commands/{path} changed but the binary embeds an old copy"
            );
        }
    }
}

#[test]
fn the_helpers_only_define_functions_and_go_in_front_of_every_step() {
    // Top level: comments, blank lines, `name() {` and its closing `}`; nothing that runs.
    let mut depth = 0;
    for line in scripts::HELPERS.lines() {
        if depth == 0 {
            let ok = line.is_empty()
                || line.starts_with('#')
                || (line.ends_with("() {") || line.contains("() { #"));
            assert!(
                ok,
                "commands/lib/helpers.sh runs something at top level: {line:?}"
            );
        }
        if line.ends_with("() {") || line.contains("() { #") {
            depth += 1;
        } else if line == "}" {
            depth -= 1;
        }
    }
    assert_eq!(depth, 0);
    let os = OsInfo::parse(&os_release("debian-12"));
    for step in STEPS {
        assert!(
            scripts::resolve(step, &os)
                .unwrap()
                .starts_with(scripts::HELPERS)
        );
    }
    // A step that calls a helper names itself for the helpers' messages.
    for (path, text) in command_files() {
        let step = path.rsplit('/').next().unwrap().trim_end_matches(".sh");
        if text.contains("fail ") {
            assert!(
                text.contains(&format!("\nSTEP={step}\n")),
                "{path}: must set STEP={step}"
            );
        }
    }
}

#[test]
fn every_script_follows_the_conventions() {
    for (path, text) in command_files() {
        assert!(
            text.starts_with("#!/bin/sh\n"),
            "{path}: must start with #!/bin/sh"
        );
        assert!(text.contains("\nset -eu\n"), "{path}: must set -eu");
        assert!(
            text.contains("\nR=\"${LABKUBE_ROOT:-}\"\n"),
            "{path}: host paths go through R"
        );
        for section in [
            "# Env:",
            "# Output:",
            "# Idempotency:",
            "# Exit:",
            "# Privileges:",
        ] {
            assert!(text.contains(section), "{path}: header lacks {section}");
        }
        // Parsed whole before it runs, and nothing it runs can eat the rest of stdin.
        assert!(
            text.ends_with("\nmain \"$@\" </dev/null\n"),
            "{path}: must end with main \"$@\" </dev/null"
        );
        // Every environment variable it reads is documented in its header.
        let header: String = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        for var in env_vars_read(&text) {
            assert!(
                header.contains(&var),
                "{path}: reads ${var} without documenting it in the header"
            );
        }
    }
}

/// Upper-case variables the script expands that it does not assign itself.
fn env_vars_read(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut vars = Vec::new();
    let bytes = code.as_bytes();
    for (i, _) in code.match_indices('$') {
        let rest = &code[i + 1..];
        let rest = rest.strip_prefix('{').unwrap_or(rest);
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_' || c.is_ascii_digit())
            .collect();
        if name.len() < 2
            || name.starts_with(|c: char| c.is_ascii_digit())
            || bytes.get(i + 1) == Some(&b'(')
        {
            continue;
        }
        let assigned =
            code.contains(&format!("{name}=")) && !["LABKUBE_ROOT"].contains(&name.as_str());
        if !assigned && !vars.contains(&name) {
            vars.push(name);
        }
    }
    vars
}

#[test]
fn no_script_contains_what_the_playbooks_got_wrong() {
    let forbidden = [
        (
            "ignore-preflight-errors",
            "kubeadm preflight checks are never switched off",
        ),
        ("set -x", "tracing would echo the join token"),
        ("xtrace", "tracing would echo the join token"),
        ("/latest", "unpinned download"),
        ("latest/", "unpinned download"),
        ("/master/", "unpinned download"),
        ("stable.txt", "unpinned version lookup"),
        (
            "get-helm",
            "the Helm installer script (curl | sh) is not used",
        ),
        ("packages.cloud.google.com", "frozen legacy repository"),
        ("apt.kubernetes.io", "frozen legacy repository"),
        ("coreos/flannel", "old, unpinned flannel location"),
        (
            "--kubernetes-version=\"stable",
            "the control plane runs the installed kubeadm's exact release",
        ),
        ("--insecure", "TLS is never switched off"),
        (
            "unsafe-skip-ca-verification",
            "workers verify the cluster CA",
        ),
    ];
    for (path, text) in command_files() {
        for (bad, why) in forbidden {
            assert!(!text.contains(bad), "{path} contains {bad:?}: {why}");
        }
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with('#') {
                continue;
            }
            let piped_to_shell = ["| sh", "|sh", "| bash", "|bash", "| sudo sh", "| sudo bash"]
                .iter()
                .any(|p| l.contains(p));
            assert!(
                !(l.contains("curl") || l.contains("wget")) || !piped_to_shell,
                "{path}: download piped to a shell: {l}"
            );
            assert!(!l.contains("eval "), "{path}: eval: {l}");
            // Writes to host paths must go through $R (the sandbox catches the rest at run time).
            for target in [
                "/etc/", "/var/", "/usr/", "/opt/", "/run/", "/proc/", "/sys/",
            ] {
                for op in [
                    "> ",
                    ">",
                    ">> ",
                    "rm -rf ",
                    "rm -f ",
                    "cp ",
                    "mv ",
                    "mkdir -p ",
                    "tee ",
                    "chmod ",
                ] {
                    for quote in ["", "\""] {
                        let needle = format!("{op}{quote}{target}");
                        assert!(
                            !l.contains(&needle),
                            "{path}: writes a host path without $R: {l}"
                        );
                    }
                }
            }
        }
        // Every download URL carries a pinned version from the environment (directly, or
        // through a variable that is itself built from one).
        for url in text
            .split(|c: char| c.is_whitespace() || c == '"')
            .filter(|w| w.starts_with("https://"))
        {
            let pinned = [
                "$K8S_MINOR",
                "$FLANNEL_VERSION",
                "$HELM_VERSION",
                "$LOCAL_PATH_VERSION",
                "$METRICS_SERVER_VERSION",
                "$tarball",
                "$repo",
            ]
            .iter()
            .any(|v| url.contains(v))
                || url.starts_with("https://download.docker.com/linux/@DIST@/$releasever/")
                // Docker's apt repository: its containerd.io is checked against the minor
                // after the install (CONTAINERD_MINIMUMS).
                || url == "https://download.docker.com/linux/$dist";
            assert!(pinned, "{path}: unpinned URL {url}");
        }
        for (var, definition) in [
            (
                "$tarball",
                "tarball=\"helm-$HELM_VERSION-linux-$arch.tar.gz\"",
            ),
            (
                "$repo",
                "repo=\"https://pkgs.k8s.io/core:/stable:/v$K8S_MINOR/",
            ),
        ] {
            if text.contains(var) {
                assert!(
                    text.contains(definition),
                    "{path}: {var} must be defined as {definition}"
                );
            }
        }
    }
}

/// Every stand-in executable plus their shared library and the helm binary template.
fn standin_files() -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let dir = standins();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| std::fs::metadata(p).unwrap().permissions().mode() & 0o111 != 0)
        .collect();
    files.extend(
        std::fs::read_dir(dir.join("lib"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "sh")),
    );
    files.push(dir.join("fixtures/helm.in"));
    files.sort();
    files
}

#[test]
fn stand_ins_are_executable_and_named_after_their_tools() {
    use std::os::unix::fs::PermissionsExt;
    let expected = [
        "apt-get",
        "apt-mark",
        "containerd",
        "curl",
        "dnf",
        "dpkg-query",
        "firewall-cmd",
        "getenforce",
        "gpg",
        "helm",
        "ip",
        "kubeadm",
        "kubectl",
        "modprobe",
        "openssl",
        "rpm",
        "setenforce",
        "ss",
        "swapoff",
        "sysctl",
        "systemctl",
        "ufw",
        "wget",
    ];
    let dir = standins();
    for tool in expected {
        let meta =
            std::fs::metadata(dir.join(tool)).unwrap_or_else(|e| panic!("stand-in {tool}: {e}"));
        assert!(
            meta.permissions().mode() & 0o111 != 0,
            "stand-in {tool} is not executable"
        );
    }
    for file in standin_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("set -x"), "{}", file.display());
    }
}

fn shellcheck(args: &[&str], files: &[PathBuf]) {
    let out = Command::new("shellcheck").args(args).args(files).output();
    let out = match out {
        Ok(out) => out,
        Err(e) => panic!(
            "shellcheck is required by the tests and is not runnable ({e}); install it with \
             `sudo apt-get install -y shellcheck` (Debian/Ubuntu) or `sudo dnf install -y ShellCheck` (EPEL)"
        ),
    };
    assert!(
        out.status.success(),
        "shellcheck {args:?} found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn shellcheck_is_clean_on_scripts_and_stand_ins() {
    let commands: Vec<PathBuf> = command_files()
        .into_iter()
        .map(|(p, _)| Path::new(CRATE).join("commands").join(p))
        .collect();
    assert!(!commands.is_empty());
    shellcheck(&["-s", "sh"], &commands);
    shellcheck(&["-s", "sh", "-x"], &standin_files());
}

/// The bash scripts that install the test peers and run CI: a quoting slip there breaks a
/// newcomer's first command, so they are held to the same standard.
#[test]
fn shellcheck_is_clean_on_tool_scripts() {
    let mut files = vec![Path::new(CRATE).join(".ci").join("run")];
    for entry in std::fs::read_dir(Path::new(CRATE).join("scripts")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sh") {
            files.push(path);
        }
    }
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    shellcheck(&["-s", "bash"], &files);
}
