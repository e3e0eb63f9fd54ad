#!/bin/sh
# upgrade_kubeadm: kubeadm of the next Kubernetes minor on a node being upgraded (kubeadm's
# "Upgrading kubeadm clusters" and "Changing the Kubernetes package repository" pages):
#   - /etc/apt/sources.list.d/kubernetes.list switched to the pkgs.k8s.io repository of
#     $K8S_MINOR (commands/lib/helpers.sh, kube_deb_repository; one repository per minor);
#   - kubeadm unheld, upgraded to that minor's newest patch release, held again (held again
#     even when the upgrade fails, so nothing else moves it).
# kubelet and kubectl stay held on the old minor until the node is drained (upgrade_kubelet).
#
# Privileges:  root.
# Env:         K8S_MINOR  the minor the node moves to, e.g. 1.36 (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      apt's output, one line per change, then "upgrade_kubeadm: done (VERSION)".
# Exit:        0; 1 if kubeadm is not installed or parameters are bad; curl's, gpg's or
#              apt-get's status if a download or install fails (worth a retry).
# Idempotency: a kubeadm of K8S_MINOR already installed is left as it is (nothing fetched).
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=upgrade_kubeadm

main() {
    minor_param
    export DEBIAN_FRONTEND=noninteractive
    behind=$(kube_behind deb_version kubeadm)
    if [ -z "$behind" ]; then
        echo "upgrade_kubeadm: kubeadm is of $K8S_MINOR already"
        return 0
    fi
    before=$(deb_version kubeadm)
    work=$(mktemp -d)
    remove_on_exit "$work"
    kube_deb_repository "$work"
    apt_get update
    apt-mark unhold kubeadm >/dev/null
    if ! apt_get install kubeadm; then
        apt-mark hold kubeadm >/dev/null
        fail "kubeadm of Kubernetes $K8S_MINOR could not be installed (see above); kubeadm $before stays, held"
    fi
    apt-mark hold kubeadm >/dev/null
    echo "upgrade_kubeadm: done (kubeadm $before -> $(deb_version kubeadm), held)"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
