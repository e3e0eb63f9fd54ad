#!/bin/sh
# kubeadm_init: make this host the control plane (kubeadm init), all preflight checks on.
#   kubeadm init --apiserver-advertise-address=$ADVERTISE_ADDRESS --pod-network-cidr=$POD_CIDR
#                --service-cidr=$SERVICE_CIDR --control-plane-endpoint=$CONTROL_PLANE_ENDPOINT
#                --kubernetes-version=<the installed kubeadm's own version, vK8S_MINOR.N>
#                --cri-socket=unix:///run/containerd/containerd.sock
#                --token-ttl=15m --skip-token-print --patches=/etc/kubernetes/patches
#                [--apiserver-cert-extra-sans=$EXTRA_SANS]
#   The control plane runs exactly the installed kubeadm's release (checked to be of
#   K8S_MINOR), not a "stable-1.35" label that kubeadm would resolve over the internet to a
#   patch release that may be newer than the installed kubelet. The bootstrap token kubeadm
#   init always creates is not printed and expires after 15 minutes: workers join with a
#   token made just in time by join_command. The kubelet gets --node-ip=$NODE_IP (in its
#   environment file) so the node's InternalIPs are the addresses the cluster was given, and
#   serverTLSBootstrap (the patch kubelet_patches writes): its serving certificate is signed by
#   the cluster CA once approve_csrs approves its request, as metrics-server needs.
#   Every cluster gets a control-plane endpoint, a name prepare_host made resolve on each host:
#   kubeadm cannot add one to a cluster initialised without it, and without it no control
#   plane can ever be added ("Creating Highly Available Clusters with kubeadm"). kubeadm puts
#   the name in the API server's certificate and in every kubeconfig it writes; a cluster
#   with a virtual IP (endpoint=) has that address in the certificate too (EXTRA_SANS; it is
#   kept in the kubeadm-config ConfigMap, so joining control planes get it as well), since the
#   workers and the bot reach the API by it.
#
# Privileges:  root.
# Env:         ADVERTISE_ADDRESS  this host's IP address the API server advertises (required)
#              POD_CIDR           the pod network, e.g. 10.244.0.0/16, or IPv4,IPv6 networks
#                                 for dual stack (required; the same value must go to
#                                 install_flannel)
#              SERVICE_CIDR       the service network, e.g. 10.96.0.0/12, or IPv4,IPv6
#                                 networks for dual stack (required)
#              NODE_IP            the kubelet's --node-ip: ADVERTISE_ADDRESS, and this host's
#                                 IPv6 address after a comma for dual stack (required)
#              K8S_MINOR          Kubernetes minor release, e.g. 1.35 (required)
#              CONTROL_PLANE_ENDPOINT  the cluster's API endpoint, name:port (required)
#              SCHEDULE_ON_CONTROL_PLANE  yes when this host is the whole cluster: its
#                                 control-plane taint is removed so workloads run here
#                                 (required: yes or no)
#              EXTRA_SANS         the cluster's virtual IP for the API server's certificate;
#                                 empty: none (optional)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      kubeadm init's output (it holds no token), or one line saying it was already done.
# Exit:        0; kubeadm's status if init fails (preflight errors are listed on stderr);
#              1 for malformed parameters, a kubeadm of another minor, or an earlier init that
#              left /etc/kubernetes/admin.conf behind without a working API server.
# Idempotency: skipped when /etc/kubernetes/admin.conf exists and the API server answers with
#              the cluster-info ConfigMap (written at the end of a successful init); the taint
#              is removed only while a node still has it. The kubelet patch is written before
#              init only when its bytes differ; a kubelet initialised before it existed gets
#              serverTLSBootstrap in /var/lib/kubelet/config.yaml and a restart, once.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=kubeadm_init

main() {
    case "${ADVERTISE_ADDRESS:-}" in
        "" | *[!0-9A-Fa-f.:]*) fail "ADVERTISE_ADDRESS must be an IPv4 or IPv6 address" ;;
    esac
    networks POD_CIDR "${POD_CIDR:-}"
    minor_param
    case "${CONTROL_PLANE_ENDPOINT:-}" in
        "" | *[!a-z0-9.:-]* | .* | :*) fail "CONTROL_PLANE_ENDPOINT must be name:port, such as api.labkube.internal:6443" ;;
        *:[0-9] | *:[0-9][0-9] | *:[0-9][0-9][0-9] | *:[0-9][0-9][0-9][0-9] | *:[0-9][0-9][0-9][0-9][0-9]) ;;
        *) fail "CONTROL_PLANE_ENDPOINT must be name:port, such as api.labkube.internal:6443" ;;
    esac
    case "${SCHEDULE_ON_CONTROL_PLANE:-}" in
        yes | no) ;;
        *) fail "SCHEDULE_ON_CONTROL_PLANE must be yes or no" ;;
    esac
    networks SERVICE_CIDR "${SERVICE_CIDR:-}"
    case "${EXTRA_SANS:-}" in
        *[!0-9A-Fa-f.:]*) fail "EXTRA_SANS must be empty or an IPv4 or IPv6 address" ;;
    esac
    case "${NODE_IP:-}" in
        "$ADVERTISE_ADDRESS" | "$ADVERTISE_ADDRESS",*:*) ;;
        *) fail "NODE_IP must be ADVERTISE_ADDRESS, or it and an IPv6 address after a comma" ;;
    esac
    case "$NODE_IP" in
        *[!0-9A-Fa-f.:,]*) fail "NODE_IP must be ADVERTISE_ADDRESS, or it and an IPv6 address after a comma" ;;
    esac

    admin="$R/etc/kubernetes/admin.conf"
    if [ -f "$admin" ]; then
        if kubectl --kubeconfig "$admin" --request-timeout=20s -n kube-public \
            get configmap cluster-info -o name >/dev/null 2>&1; then
            echo "kubeadm_init: the control plane is already initialised; nothing to do"
            restart=no
            if set_node_ip "$NODE_IP"; then
                restart=yes
                echo "kubeadm_init: the kubelet now registers $NODE_IP"
            fi
            kubelet_patches
            if kubelet_serving_bootstrap; then restart=yes; fi
            if [ "$restart" = yes ]; then systemctl restart kubelet; fi
            schedule_here "$admin"
            return 0
        fi
        fail "/etc/kubernetes/admin.conf exists but the API server does not answer with the cluster-info ConfigMap: it is down, or an earlier kubeadm init stopped half-way. See 'systemctl status kubelet' and 'crictl ps -a'; if that init was incomplete, run the reset step and create the cluster again"
    fi

    version=$(kubeadm version -o short) || fail "kubeadm is not installed (the install_kube step comes first)"
    case "$version" in
        "v$K8S_MINOR".*) ;;
        *) fail "the installed kubeadm is $version, not of Kubernetes $K8S_MINOR" ;;
    esac

    set_node_ip "$NODE_IP" || true
    kubelet_patches
    set --
    if [ -n "${EXTRA_SANS:-}" ]; then set -- --apiserver-cert-extra-sans="$EXTRA_SANS"; fi
    kubeadm init "$@" \
        --apiserver-advertise-address="$ADVERTISE_ADDRESS" \
        --control-plane-endpoint="$CONTROL_PLANE_ENDPOINT" \
        --pod-network-cidr="$POD_CIDR" \
        --service-cidr="$SERVICE_CIDR" \
        --kubernetes-version="$version" \
        --cri-socket=unix:///run/containerd/containerd.sock \
        --token-ttl=15m \
        --skip-token-print \
        --patches=/etc/kubernetes/patches
    [ -f "$admin" ] || fail "kubeadm init succeeded but wrote no /etc/kubernetes/admin.conf"
    schedule_here "$admin"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
