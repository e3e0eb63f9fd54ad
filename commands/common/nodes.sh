#!/bin/sh
# nodes: the cluster's nodes, as the control plane sees them.
#   kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o wide --no-headers
#
# Privileges:  root (reads /etc/kubernetes/admin.conf).
# Env:         none. LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      one line per node: NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP
#              OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME (OS-IMAGE may contain spaces; STATUS
#              is Ready, NotReady, or e.g. Ready,SchedulingDisabled).
# Exit:        0; kubectl's status if the API server cannot be reached; 1 if this is not an
#              initialised control plane.
# Idempotency: read-only.
set -eu
R="${LABKUBE_ROOT:-}"

main() {
    admin="$R/etc/kubernetes/admin.conf"
    if [ ! -f "$admin" ]; then
        echo "nodes: no /etc/kubernetes/admin.conf: this is not an initialised control plane" >&2
        return 1
    fi
    kubectl --kubeconfig "$admin" --request-timeout=30s get nodes -o wide --no-headers
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
