#!/bin/sh
# removal_check: on a control plane that stays, whether NODE can leave the cluster without
# breaking it; changes nothing.
#   - a control plane: its etcd static pods (kube-system, component=etcd, tier=control-plane)
#     as Ready or not; the members that stay and are Ready must still be a majority of the
#     members that stay (etcd's quorum), or etcd would stop taking writes;
#   - every node: kubectl drain NODE --dry-run=server with the flags drain_node uses: the API
#     server tries each eviction without doing it, and refuses one a PodDisruptionBudget
#     forbids (HTTP 429, "Cannot evict pod as it would violate the pod's disruption budget"),
#     so the real drain would hang on it.
#   A NODE the API server does not know (removed earlier) passes: there is nothing to check.
#
# Privileges:  root (reads /etc/kubernetes/admin.conf).
# Env:         NODE           the node's name (required)
#              CONTROL_PLANE  yes if NODE is a control plane (required: yes or no)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      what was checked, one line each.
# Exit:        0 when NODE may leave; 1 with the reason otherwise.
# Idempotency: reads only.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=removal_check

main() {
    node_param
    case "${CONTROL_PLANE:-}" in
        yes | no) ;;
        *) fail "CONTROL_PLANE must be yes or no" ;;
    esac
    admin=$(admin_conf)
    if ! kubectl --kubeconfig "$admin" --request-timeout=20s get node "$NODE" -o name >/dev/null 2>&1; then
        echo "removal_check: $NODE is not a node of the cluster (any more); nothing to check"
        return 0
    fi
    if [ "$CONTROL_PLANE" = yes ]; then
        members=$(kubectl --kubeconfig "$admin" --request-timeout=20s -n kube-system get pods \
            -l component=etcd,tier=control-plane \
            -o 'jsonpath={range .items[*]}{.spec.nodeName}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
        total=0
        healthy=0
        for member in $members; do
            total=$((total + 1))
            case "$member" in
                "$NODE"=*) ;;
                *=True) healthy=$((healthy + 1)) ;;
            esac
        done
        left=$((total - 1))
        need=$((left / 2 + 1))
        if [ "$left" -lt 1 ]; then
            fail "$NODE runs the only etcd member: removing it ends the cluster; /cluster delete does that"
        fi
        if [ "$healthy" -lt "$need" ]; then
            fail "after $NODE leaves, $left etcd member(s) stay of which $healthy answer; etcd needs $need of $left for a write, so the cluster would stop: bring the others back first"
        fi
        echo "removal_check: etcd keeps $healthy healthy of $left member(s) (quorum $need)"
    fi
    if ! out=$(kubectl --kubeconfig "$admin" drain "$NODE" --dry-run=server --ignore-daemonsets \
        --delete-emptydir-data --force --grace-period=120 --timeout=60s 2>&1); then
        reason=$(printf '%s\n' "$out" | grep -m 1 'disruption budget' || printf '%s\n' "$out" | tail -n 1)
        fail "draining $NODE would not finish: $reason; nothing was changed. Relax the PodDisruptionBudget or add a node for those pods first"
    fi
    echo "removal_check: every pod on $NODE can be evicted (server dry run)"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
