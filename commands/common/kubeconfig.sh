#!/bin/sh
# kubeconfig: the cluster's admin kubeconfig, for the engine to keep in its store.
#
# Privileges:  root (/etc/kubernetes/admin.conf is mode 0600).
# Env:         none. LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      SECRET. /etc/kubernetes/admin.conf as is (a kubeconfig with the cluster's
#              client key: never to be shown or logged).
# Exit:        0; 1 if this is not an initialised control plane.
# Idempotency: read-only.
set -eu
R="${LABKUBE_ROOT:-}"

main() {
    admin="$R/etc/kubernetes/admin.conf"
    if [ ! -f "$admin" ]; then
        echo "kubeconfig: no /etc/kubernetes/admin.conf: this is not an initialised control plane" >&2
        return 1
    fi
    cat "$admin"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
