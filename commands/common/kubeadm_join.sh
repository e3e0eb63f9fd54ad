#!/bin/sh
# kubeadm_join: join this host to the cluster as a worker, or as one more control plane.
#   kubeadm join "$JOIN_ENDPOINT" --token "$JOIN_TOKEN"
#                --discovery-token-ca-cert-hash "$JOIN_CA_HASH"
#                --cri-socket=unix:///run/containerd/containerd.sock
#                --patches=/etc/kubernetes/patches
#   and for a control plane (CONTROL_PLANE=yes) also
#                --control-plane --certificate-key "$CERTIFICATE_KEY"
#                --apiserver-advertise-address=<NODE_IP's first address>
#   which downloads the shared certificates certificate_key uploaded, adds an etcd member and
#   starts an API server here. Until then the cluster's API endpoint name leads this host to
#   the first control plane (prepare_host); once its own API server runs, the name leads here
#   (the Kubespray layout: a control plane reaches the API through itself).
#   The kubelet gets serverTLSBootstrap (the patch kubelet_patches writes), so its serving
#   certificate is signed by the cluster CA once approve_csrs approves its request.
#   All preflight checks on. The token is never echoed: no shell tracing, no message quotes it, and
#   it is written nowhere (kubeadm keeps the node's own credentials in
#   /etc/kubernetes/kubelet.conf, not the token). It is on kubeadm's command line while kubeadm
#   runs, as kubeadm's CLI requires.
#
# Privileges:  root.
# Env:         JOIN_ENDPOINT  API server, host:port (required)
#              JOIN_TOKEN     bootstrap token <6 of [a-z0-9]>.<16 of [a-z0-9]> (required, secret)
#              JOIN_CA_HASH   sha256:<64 hex>, the cluster CA's public key hash (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
#              All three come from join_command's line; a node that already joined needs
#              none of them (the engine runs it there without a token, to converge).
#              NODE_IP        this host's address in the cluster, given to the kubelet as
#                             --node-ip; for dual stack also its IPv6 address after a comma
#                             (required)
#              CONTROL_PLANE  yes to join as a control plane, no as a worker (required)
#              CERTIFICATE_KEY  64 hex digits from certificate_key (required to join as a
#                             control plane; secret)
#              API_NAME       the cluster's API endpoint name (required for a control plane)
#              SCHEDULE_ON_CONTROL_PLANE  yes when the cluster has no workers: the
#                             control-plane taint is removed (required for a control plane)
# Output:      kubeadm join's output (it holds no token), or one line saying it was already done.
# Exit:        0; kubeadm's status if the join fails; 1 for malformed parameters.
# Idempotency: skipped when /etc/kubernetes/kubelet.conf exists (the node already joined); the
#              kubelet patch is written before the join only when its bytes differ; a kubelet
#              that joined before it existed gets serverTLSBootstrap in
#              /var/lib/kubelet/config.yaml and a restart, once.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=kubeadm_join

main() {
    case "${NODE_IP:-}" in
        "" | ,* | *, | *,*,* | *[!0-9A-Fa-f.:,]*) fail "NODE_IP must be an IPv4 or IPv6 address, or IPv4,IPv6 addresses for dual stack" ;;
    esac
    case "${CONTROL_PLANE:-}" in
        yes)
            case "${API_NAME:-}" in
                "" | *[!a-z0-9.-]* | .* | *. | *..*) fail "API_NAME must be a DNS name such as api.labkube.internal" ;;
            esac
            case "${SCHEDULE_ON_CONTROL_PLANE:-}" in
                yes | no) ;;
                *) fail "SCHEDULE_ON_CONTROL_PLANE must be yes or no" ;;
            esac
            ;;
        no) ;;
        *) fail "CONTROL_PLANE must be yes or no" ;;
    esac
    if [ -f "$R/etc/kubernetes/kubelet.conf" ]; then
        echo "kubeadm_join: this node has already joined a cluster (/etc/kubernetes/kubelet.conf exists); nothing to do"
        restart=no
        if set_node_ip "$NODE_IP"; then
            restart=yes
            echo "kubeadm_join: the kubelet now registers $NODE_IP"
        fi
        kubelet_patches
        if kubelet_serving_bootstrap; then restart=yes; fi
        if [ "$restart" = yes ]; then systemctl restart kubelet; fi
        own_api_server
        return 0
    fi
    case "${JOIN_ENDPOINT:-}" in
        "" | *[!]0-9A-Za-z.:[-]*) fail "JOIN_ENDPOINT must be host:port" ;;
        *:[0-9] | *:[0-9][0-9] | *:[0-9][0-9][0-9] | *:[0-9][0-9][0-9][0-9] | *:[0-9][0-9][0-9][0-9][0-9]) ;;
        *) fail "JOIN_ENDPOINT must be host:port" ;;
    esac
    # Checked without ever printing the value.
    case "${JOIN_TOKEN:-}" in
        *[!a-z0-9.]*) fail "JOIN_TOKEN is malformed (expected [a-z0-9]{6}.[a-z0-9]{16}; value not shown)" ;;
        [a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9].*) ;;
        *) fail "JOIN_TOKEN is malformed (expected [a-z0-9]{6}.[a-z0-9]{16}; value not shown)" ;;
    esac
    [ "${#JOIN_TOKEN}" -eq 23 ] ||
        fail "JOIN_TOKEN is malformed (expected [a-z0-9]{6}.[a-z0-9]{16}; value not shown)"
    case "${JOIN_CA_HASH:-}" in
        sha256:*[!0-9a-f]*) fail "JOIN_CA_HASH must be sha256:<64 lower-case hex digits>" ;;
        sha256:*) ;;
        *) fail "JOIN_CA_HASH must be sha256:<64 lower-case hex digits>" ;;
    esac
    [ "${#JOIN_CA_HASH}" -eq 71 ] || fail "JOIN_CA_HASH must be sha256:<64 lower-case hex digits>"

    set -- --token "$JOIN_TOKEN" \
        --discovery-token-ca-cert-hash "$JOIN_CA_HASH" \
        --cri-socket=unix:///run/containerd/containerd.sock \
        --patches=/etc/kubernetes/patches
    if [ "$CONTROL_PLANE" = yes ]; then
        # Checked without ever printing the value.
        case "${CERTIFICATE_KEY:-}" in
            *[!0-9a-f]* | "") fail "CERTIFICATE_KEY is malformed (expected 64 lower-case hex digits; value not shown)" ;;
        esac
        [ "${#CERTIFICATE_KEY}" -eq 64 ] ||
            fail "CERTIFICATE_KEY is malformed (expected 64 lower-case hex digits; value not shown)"
        set -- "$@" --control-plane --certificate-key "$CERTIFICATE_KEY" \
            --apiserver-advertise-address="${NODE_IP%%,*}"
    fi

    set_node_ip "$NODE_IP" || true
    kubelet_patches
    kubeadm join "$JOIN_ENDPOINT" "$@"
    own_api_server
}

# A control plane reaches the API through its own API server once it runs one; in a cluster
# of control planes only, workloads run on it too.
own_api_server() {
    [ "$CONTROL_PLANE" = yes ] || return 0
    map_api_name "$API_NAME" "${NODE_IP%%,*}"
    schedule_here "$R/etc/kubernetes/admin.conf"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
