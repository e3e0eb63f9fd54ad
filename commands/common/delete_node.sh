#!/bin/sh
# delete_node: on a control plane that stays, forget NODE's Node object after its host was
# reset (kubectl delete node NODE --ignore-not-found), as kubeadm's "Remove the node" and
# k0sctl's reset do.
#
# Privileges:  root (reads /etc/kubernetes/admin.conf).
# Env:         NODE  the node's name (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      kubectl's line, or none when it was gone already.
# Exit:        0; kubectl's status if the API server refuses.
# Idempotency: a Node already deleted is not an error.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=delete_node

main() {
    node_param
    admin=$(admin_conf)
    kubectl --kubeconfig "$admin" --request-timeout=20s delete node "$NODE" --ignore-not-found
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
