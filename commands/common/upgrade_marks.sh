#!/bin/sh
# upgrade_marks: every node with the label an upgrade puts on a node before it changes
# anything there (labkube.io/upgrade-to=<minor>, mark_upgrade) and takes off once the node is
# Ready on the new minor (finish_upgrade): a node still marked was left part-way, by an
# upgrade that failed, was cancelled or whose bot stopped. KubeOne's preflight does the same
# with its kubeone.io/upgrade-in-progress lock label.
#
# Privileges:  root (reads /etc/kubernetes/admin.conf).
# Env:         LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      one line per node, <name>=<minor>, the minor empty for an unmarked node.
# Exit:        0; kubectl's status if the API server does not answer.
# Idempotency: only reads.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=upgrade_marks

main() {
    admin=$(admin_conf)
    kubectl --kubeconfig "$admin" --request-timeout=20s get nodes \
        -o 'jsonpath={range .items[*]}{.metadata.name}{"="}{.metadata.labels.labkube\.io/upgrade-to}{"\n"}{end}'
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
