#!/bin/sh
# drain_node: on a control plane that stays, move every pod off NODE before it leaves.
#   kubectl drain NODE --ignore-daemonsets --delete-emptydir-data --force
#                 --grace-period=120 --timeout=300s
#   (k0sctl's drain defaults: DaemonSet pods stay, emptyDir data goes with its pod, pods no
#   controller would recreate are deleted too, each pod gets 2 minutes to stop, the whole
#   drain 5.) Evictions respect PodDisruptionBudgets. A drain that does not finish is undone
#   (kubectl uncordon), so the node keeps serving as before.
#
# Privileges:  root (reads /etc/kubernetes/admin.conf).
# Env:         NODE  the node's name (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      kubectl's lines.
# Exit:        0; 1 if the drain failed (the node is uncordoned again) or parameters are bad.
# Idempotency: a node already drained drains again at once; one the API server does not
#              know is skipped.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=drain_node

main() {
    node_param
    admin=$(admin_conf)
    if ! kubectl --kubeconfig "$admin" --request-timeout=20s get node "$NODE" -o name >/dev/null 2>&1; then
        echo "drain_node: $NODE is not a node of the cluster (any more); nothing to drain"
        return 0
    fi
    if ! kubectl --kubeconfig "$admin" drain "$NODE" --ignore-daemonsets --delete-emptydir-data \
        --force --grace-period=120 --timeout=300s; then
        kubectl --kubeconfig "$admin" uncordon "$NODE" || true
        fail "the drain of $NODE did not finish (see above); it was uncordoned and serves as before"
    fi
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
