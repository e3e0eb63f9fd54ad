#!/bin/sh
# install_helm: the Helm client at a pinned release, on the control plane.
#   Downloads https://get.helm.sh/helm-$HELM_VERSION-linux-$ARCH.tar.gz and its .sha256sum
#   (ARCH from uname -m: x86_64 -> amd64, aarch64 -> arm64), checks the tarball against the
#   published checksum and, when given, HELM_SHA256 (a digest the engine pins, so a tampered
#   download server cannot supply both), then installs linux-$ARCH/helm as
#   /usr/local/bin/helm. Never through Helm's installer script.
#
# Privileges:  root.
# Env:         HELM_VERSION  Helm release tag, e.g. v3.19.0 (required)
#              HELM_SHA256   sha256 of that release's tarball for this host's ARCH (optional)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      one line saying what was installed, or that it was already there.
# Exit:        0; curl's status if a download fails (worth a retry); 1 for a malformed
#              HELM_VERSION, an unsupported architecture, a checksum mismatch or a missing tool
#              (tar, sha256sum).
# Idempotency: skipped when /usr/local/bin/helm version --short already reports HELM_VERSION.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=install_helm

main() {
    release_tag HELM_VERSION "${HELM_VERSION:-}" v3.19.0
    helm="$R/usr/local/bin/helm"
    if [ -x "$helm" ]; then
        current=$("$helm" version --short 2>/dev/null || true)
        case "$current" in
            "$HELM_VERSION" | "$HELM_VERSION+"*)
                echo "install_helm: helm $current already installed; nothing to do"
                return 0
                ;;
        esac
    fi

    case "$(uname -m)" in
        x86_64 | amd64) arch=amd64 ;;
        aarch64 | arm64) arch=arm64 ;;
        *) fail "no Helm build for this architecture ($(uname -m)); supported: x86_64, aarch64" ;;
    esac
    for tool in tar gzip sha256sum; do
        command -v "$tool" >/dev/null 2>&1 || fail "$tool is required to install Helm; install it first"
    done

    work=$(mktemp -d)
    remove_on_exit "$work"

    tarball="helm-$HELM_VERSION-linux-$arch.tar.gz"
    fetch "https://get.helm.sh/$tarball" "$work/$tarball"
    fetch "https://get.helm.sh/$tarball.sha256sum" "$work/$tarball.sha256sum"
    actual=$(sha256sum "$work/$tarball" | awk '{ print $1 }')
    published=$(awk 'NR == 1 { print $1 }' "$work/$tarball.sha256sum")
    if [ -z "$actual" ] || [ "$actual" != "$published" ]; then
        fail "$tarball has sha256 $actual but get.helm.sh publishes ${published:-nothing}: not installing it"
    fi
    if [ -n "${HELM_SHA256:-}" ] && [ "$actual" != "$HELM_SHA256" ]; then
        fail "$tarball has sha256 $actual, expected HELM_SHA256=$HELM_SHA256: not installing it"
    fi

    tar -xzf "$work/$tarball" -C "$work" "linux-$arch/helm"
    mkdir -p "${helm%/*}"
    cp "$work/linux-$arch/helm" "$helm.labkube-new.$$"
    chmod 0755 "$helm.labkube-new.$$"
    mv -f "$helm.labkube-new.$$" "$helm"
    installed=$("$helm" version --short)
    case "$installed" in
        "$HELM_VERSION" | "$HELM_VERSION+"*) ;;
        *) fail "the installed helm reports $installed, not $HELM_VERSION" ;;
    esac
    mkdir -p "$R/var/lib/labkube"
    grep -qx helm "$R/var/lib/labkube/installed" 2>/dev/null ||
        echo helm >>"$R/var/lib/labkube/installed"
    echo "install_helm: helm $installed installed as /usr/local/bin/helm"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
