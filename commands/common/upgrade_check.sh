#!/bin/sh
# upgrade_check: whether this host may move to Kubernetes $K8S_MINOR (the next minor), checked
# on every host before anything changes on any of them:
#   - containerd is one containerd recommends for $K8S_MINOR (commands/lib/containerd.sh,
#     check_containerd_version: the minimums of containerd's RELEASES.md);
#   - at least MIN_FREE_MB MiB are free under /var/lib (the new packages, and on a control
#     plane the images kubeadm pulls, while the old ones are still there).
# Everything found is reported together.
#
# Privileges:  root (containerd --version reads the socket's binary; df).
# Env:         K8S_MINOR            the minor the cluster moves to, e.g. 1.36 (required)
#              CONTAINERD_MINIMUMS  containerd's minimums for that minor, newest series first
#              MIN_FREE_MB          MiB that must be free under /var/lib
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      free_mb=N, then apiserver=VERSION: the kube-apiserver static pod's image tag on
#              a control plane (v1.35.5), empty on a worker.
# Exit:        0; 1 naming every problem (nothing is changed either way).
# Idempotency: only reads.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=upgrade_check

main() {
    minor_param
    case "${MIN_FREE_MB:-}" in
        "" | *[!0-9]*) fail "MIN_FREE_MB must be a number of MiB" ;;
    esac
    problems=""
    # check_containerd_version decides (and fails with an install's advice): run it apart.
    if ! (check_containerd_version "-" >/dev/null 2>&1); then
        wanted=$(printf '%s' "$CONTAINERD_MINIMUMS" | sed 's/ /+, /g')
        current=$(containerd_version)
        problems="containerd ${current:-(none answers)} is too old for Kubernetes $K8S_MINOR: containerd recommends $wanted+ (containerd RELEASES.md, \"Kubernetes Support\"). Upgrade containerd on this host first (its package, then systemctl restart containerd), or /node remove it and /node add it again so that labkube installs containerd.io from Docker's repository"
    fi
    dir="$R/var/lib"
    [ -d "$dir" ] || dir="$R/"
    free_mb=$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')
    case "$free_mb" in
        "" | *[!0-9]*) problems="${problems:+$problems; }cannot tell the free space under /var/lib (df -Pm)" ;;
        *)
            if [ "$free_mb" -lt "$MIN_FREE_MB" ]; then
                problems="${problems:+$problems; }only $free_mb MiB free under /var/lib; Kubernetes $K8S_MINOR's packages and images need $MIN_FREE_MB MiB (remove unused images: crictl rmi --prune)"
            fi
            ;;
    esac
    [ -z "$problems" ] || fail "$problems"
    manifest="$R/etc/kubernetes/manifests/kube-apiserver.yaml"
    apiserver=""
    if [ -f "$manifest" ]; then
        apiserver=$(sed -n 's|^[[:space:]]*image:[[:space:]]*[^[:space:]]*/kube-apiserver:\(v[0-9][0-9.]*\)[[:space:]]*$|\1|p' "$manifest" | head -n 1)
    fi
    printf 'free_mb=%s\n' "$free_mb"
    printf 'apiserver=%s\n' "$apiserver"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
