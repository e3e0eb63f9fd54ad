#!/bin/sh
# mark_upgrade: on the first control plane, before anything changes on NODE, label it
# labkube.io/upgrade-to=$K8S_MINOR: until finish_upgrade takes the label off, the node is
# known to be part-way (an upgrade that stopped there leaves it marked, and the next one
# resumes it). KubeOne's kubeone.io/upgrade-in-progress lock label.
#
# Privileges:  root (reads /etc/kubernetes/admin.conf).
# Env:         NODE       the node's name (required)
#              K8S_MINOR  the minor it moves to, e.g. 1.36 (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      kubectl's line.
# Exit:        0; kubectl's status if the API server refuses.
# Idempotency: the label is set with --overwrite; a node marked already keeps its mark.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=mark_upgrade

main() {
    node_param
    minor_param
    admin=$(admin_conf)
    kubectl --kubeconfig "$admin" --request-timeout=20s label node "$NODE" \
        "$(upgrade_label)=$K8S_MINOR" --overwrite
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
