#!/bin/sh
# install_flannel: the flannel pod network at a pinned release, from its release manifest
#   https://github.com/flannel-io/flannel/releases/download/$FLANNEL_VERSION/kube-flannel.yml
#   downloaded to a temporary file (checked against FLANNEL_SHA256 when given), its "Network"
#   set to POD_CIDR (for dual stack its IPv4 network, with "EnableIPv6": true and
#   "IPv6Network" its IPv6 one: flannel Documentation/configuration.md) and
#   --iface-can-reach=$CONTROL_PLANE_ADDRESS added to flanneld's arguments
#   (on a VM with several NICs flannel would otherwise take the default route's interface, and
#   the VXLAN tunnels would go to the wrong addresses: flannel Documentation/configuration.md),
#   then applied with the admin kubeconfig.
#
# Privileges:  root (reads /etc/kubernetes/admin.conf).
# Env:         FLANNEL_VERSION  flannel release tag, e.g. v0.27.4 (required)
#              POD_CIDR         the pod network given to kubeadm_init, or its IPv4,IPv6
#                               networks for dual stack (required)
#              CONTROL_PLANE_ADDRESS  the control plane's address: each node's flannel uses
#                               the interface that reaches it (required)
#              FLANNEL_SHA256   sha256 of that release's kube-flannel.yml (optional)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      kubectl apply's output (one line per object), or one line saying it was
#              already done.
# Exit:        0; curl's or kubectl's status if the download or apply fails (worth a retry);
#              1 for malformed parameters, a checksum mismatch, a manifest without the
#              expected "Network" setting, or a host that is not the control plane.
# Idempotency: skipped when the kube-flannel DaemonSet already runs FLANNEL_VERSION's image
#              with --iface-can-reach=$CONTROL_PLANE_ADDRESS and the kube-flannel-cfg ConfigMap
#              has POD_CIDR's networks as its Network and IPv6Network (all read with kubectl
#              get); otherwise the apply converges the objects.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=install_flannel

main() {
    release_tag FLANNEL_VERSION "${FLANNEL_VERSION:-}" v0.27.4
    networks POD_CIDR "${POD_CIDR:-}"
    network=${POD_CIDR%%,*}
    ipv6=""
    case "$POD_CIDR" in *,*) ipv6=$(ipv6_network "$POD_CIDR") ;; esac
    case "${CONTROL_PLANE_ADDRESS:-}" in
        "" | *[!0-9A-Fa-f.:]*) fail "CONTROL_PLANE_ADDRESS must be an IPv4 or IPv6 address" ;;
    esac
    admin="$R/etc/kubernetes/admin.conf"
    [ -f "$admin" ] || fail "no /etc/kubernetes/admin.conf: this is not an initialised control plane (kubeadm_init comes first)"

    image=$(kubectl --kubeconfig "$admin" -n kube-flannel get daemonset kube-flannel-ds \
        -o 'jsonpath={.spec.template.spec.containers[0].image}' 2>/dev/null || true)
    netconf=$(kubectl --kubeconfig "$admin" -n kube-flannel get configmap kube-flannel-cfg \
        -o 'jsonpath={.data.net-conf\.json}' 2>/dev/null || true)
    running=$(printf '%s\n' "$netconf" | sed -n 's/.*"Network":[[:space:]]*"\([^"]*\)".*/\1/p')
    running6=$(printf '%s\n' "$netconf" | sed -n 's/.*"IPv6Network":[[:space:]]*"\([^"]*\)".*/\1/p')
    args=$(kubectl --kubeconfig "$admin" -n kube-flannel get daemonset kube-flannel-ds \
        -o 'jsonpath={.spec.template.spec.containers[0].args}' 2>/dev/null || true)
    case "$image $args" in
        *":$FLANNEL_VERSION "*"\"--iface-can-reach=$CONTROL_PLANE_ADDRESS\""*)
            if [ "$running" = "$network" ] && [ "$running6" = "$ipv6" ]; then
                echo "install_flannel: flannel $FLANNEL_VERSION already runs with network $POD_CIDR; nothing to do"
                return 0
            fi
            ;;
    esac

    work=$(mktemp -d)
    remove_on_exit "$work"
    url="https://github.com/flannel-io/flannel/releases/download/$FLANNEL_VERSION/kube-flannel.yml"
    fetch_checked "$url" "$work/release.yml" "${FLANNEL_SHA256:-}" FLANNEL_SHA256
    grep -q '"Network":' "$work/release.yml" ||
        fail "$url has no \"Network\" setting to point at POD_CIDR: its format changed"
    grep -q '^        - --kube-subnet-mgr$' "$work/release.yml" ||
        fail "$url has no --kube-subnet-mgr argument to add --iface-can-reach after: its format changed"
    setting="\"Network\": \"$network\""
    if [ -n "$ipv6" ]; then
        setting="$setting, \"EnableIPv6\": true, \"IPv6Network\": \"$ipv6\""
    fi
    sed -e "s|\"Network\":[[:space:]]*\"[^\"]*\"|$setting|" \
        -e "s|^        - --kube-subnet-mgr\$|&\\
        - --iface-can-reach=$CONTROL_PLANE_ADDRESS|" \
        "$work/release.yml" >"$work/kube-flannel.yml"
    grep -q "image: .*flannel:$FLANNEL_VERSION\$" "$work/kube-flannel.yml" ||
        fail "$url does not run flannel $FLANNEL_VERSION images"
    kubectl --kubeconfig "$admin" apply -f "$work/kube-flannel.yml"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
