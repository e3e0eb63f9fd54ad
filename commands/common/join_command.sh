#!/bin/sh
# join_command: a fresh worker join command, made just in time on the control plane.
#   kubeadm token create --print-join-command --ttl 15m
#   The token lives 15 minutes and exists only in this step's stdout: the engine parses the
#   line in memory and hands its parts to kubeadm_join as environment variables. Nothing is
#   written to a file or echoed elsewhere, and on failure the output is not shown (it may
#   hold the token).
#
# Privileges:  root (reads /etc/kubernetes/admin.conf).
# Env:         none. LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      SECRET. Exactly one line:
#                kubeadm join <host>:<port> --token <id>.<secret> --discovery-token-ca-cert-hash sha256:<64 hex>
#              (kubeadm may end it with a space).
# Exit:        0; kubeadm's status if it cannot create a token; 1 if this is not an
#              initialised control plane or kubeadm printed something else.
# Idempotency: each run creates a new bootstrap token (which expires by itself); the engine
#              runs this step only when some worker still has to join.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=join_command

main() {
    admin="$R/etc/kubernetes/admin.conf"
    [ -f "$admin" ] || fail "no /etc/kubernetes/admin.conf: this is not an initialised control plane"
    line=$(kubeadm token create --print-join-command --ttl 15m --kubeconfig "$admin")
    case "$line" in
        *"
"*) fail "kubeadm printed more than one line (not shown: it holds a token)" ;;
        "kubeadm join "*" --token "*" --discovery-token-ca-cert-hash sha256:"*) ;;
        *) fail "kubeadm printed something other than a join command (not shown: it may hold a token)" ;;
    esac
    printf '%s\n' "$line"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
