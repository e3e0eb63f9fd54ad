#!/bin/sh
# certificate_key: share the control-plane certificates for control planes about to join, and
# print the key that decrypts them; made just in time on a control plane.
#   kubeadm init phase upload-certs --upload-certs
#   kubeadm encrypts the cluster's shared certificates and keys (CA, service-account key,
#   front-proxy CA, etcd CA) with a new random key into the kubeadm-certs Secret of
#   kube-system, which it deletes after two hours ("Creating Highly Available Clusters with
#   kubeadm"; kubeadm_init_phase_upload-certs). A joining control plane downloads them with
#   that key (kubeadm join --control-plane --certificate-key). The key exists only in this
#   step's stdout: the engine keeps it in memory for the joins of this step and nowhere else,
#   and on failure the output is not shown.
#
# Privileges:  root (reads /etc/kubernetes/admin.conf and the certificates).
# Env:         none. LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      SECRET. Exactly one line: the key, 64 lower-case hex digits.
# Exit:        0; kubeadm's status if the upload fails; 1 if this is not an initialised
#              control plane or kubeadm printed no key.
# Idempotency: each run uploads the certificates again under a new key (the older Secret is
#              replaced); the engine runs this step only when a control plane still has to join.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=certificate_key

main() {
    admin=$(admin_conf)
    out=$(kubeadm init phase upload-certs --upload-certs --kubeconfig "$admin")
    # kubeadm's last line is the key, after "[upload-certs] Using certificate key:".
    key=$(printf '%s\n' "$out" | awk 'found { print; exit } /^\[upload-certs\] Using certificate key:/ { found = 1 }')
    case "$key" in
        *[!0-9a-f]* | "") fail "kubeadm printed no certificate key (output not shown: it may hold one)" ;;
    esac
    [ "${#key}" -eq 64 ] || fail "kubeadm printed no certificate key (output not shown: it may hold one)"
    printf '%s\n' "$key"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
