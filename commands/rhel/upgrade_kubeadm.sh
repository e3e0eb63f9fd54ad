#!/bin/sh
# upgrade_kubeadm: kubeadm of the next Kubernetes minor on a node being upgraded (kubeadm's
# "Upgrading kubeadm clusters" and "Changing the Kubernetes package repository" pages):
#   - /etc/yum.repos.d/kubernetes.repo switched to the pkgs.k8s.io repository of $K8S_MINOR
#     (commands/lib/helpers.sh, kube_rpm_repository; one repository per minor, its exclude=
#     keeping a plain 'dnf upgrade' away from the Kubernetes packages);
#   - kubeadm upgraded to that minor's newest patch release (--disableexcludes=kubernetes).
# kubelet and kubectl stay on the old minor until the node is drained (upgrade_kubelet).
#
# Privileges:  root.
# Env:         K8S_MINOR  the minor the node moves to, e.g. 1.36 (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      dnf's output, one line per change, then "upgrade_kubeadm: done (VERSION)".
# Exit:        0; 1 if kubeadm is not installed or parameters are bad; dnf's status if a
#              download or install fails (worth a retry).
# Idempotency: a kubeadm of K8S_MINOR already installed is left as it is (nothing fetched).
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=upgrade_kubeadm

main() {
    minor_param
    behind=$(kube_behind rpm_version kubeadm)
    if [ -z "$behind" ]; then
        echo "upgrade_kubeadm: kubeadm is of $K8S_MINOR already"
        return 0
    fi
    before=$(rpm_version kubeadm)
    work=$(mktemp -d)
    remove_on_exit "$work"
    kube_rpm_repository "$work"
    dnf upgrade -y --disableexcludes=kubernetes kubeadm
    echo "upgrade_kubeadm: done (kubeadm $before -> $(rpm_version kubeadm))"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
