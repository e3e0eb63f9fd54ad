#!/bin/sh
# upgrade_kubelet: kubelet and kubectl of the next Kubernetes minor on a drained node, then
# the kubelet restarted on them (kubeadm's "Upgrading kubeadm clusters": unhold, install,
# hold, `systemctl daemon-reload`, `systemctl restart kubelet`). The repository was switched
# by upgrade_kubeadm; it is checked again here.
#
# Privileges:  root.
# Env:         K8S_MINOR  the minor the node moves to, e.g. 1.36 (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      apt's output, one line per change, then "upgrade_kubelet: done (VERSION)".
# Exit:        0; 1 if the packages are not installed or parameters are bad; apt-get's
#              status if a download or install fails (worth a retry; both stay held).
# Idempotency: when kubelet and kubectl of K8S_MINOR are installed nothing is fetched or
#              installed, and the kubelet is restarted only if it is not running.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=upgrade_kubelet

main() {
    minor_param
    export DEBIAN_FRONTEND=noninteractive
    behind=$(kube_behind deb_version kubelet kubectl)
    if [ -z "$behind" ]; then
        echo "upgrade_kubelet: kubelet and kubectl are of $K8S_MINOR already"
        kubelet_running
        return 0
    fi
    # shellcheck disable=SC2086 # one word per package
    set -- $behind
    work=$(mktemp -d)
    remove_on_exit "$work"
    kube_deb_repository "$work"
    apt_get update
    apt-mark unhold "$@" >/dev/null
    if ! apt_get install "$@"; then
        apt-mark hold "$@" >/dev/null
        fail "$* of Kubernetes $K8S_MINOR could not be installed (see above); they stay as they were, held"
    fi
    apt-mark hold "$@" >/dev/null
    systemctl daemon-reload
    systemctl restart kubelet
    echo "upgrade_kubelet: done (kubelet $(deb_version kubelet), restarted)"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
