#!/bin/sh
# kubeadm_upgrade: the kubeadm half of a node's upgrade to $K8S_MINOR, once upgrade_kubeadm
# installed that minor's kubeadm (kubeadm's "Upgrading kubeadm clusters" page):
#   - UPGRADE=apply, on the first control plane: `kubeadm upgrade plan VERSION` (its report
#     goes to the job log), then `kubeadm upgrade apply VERSION --yes`, VERSION being the
#     installed kubeadm's (v1.36.5): kubeadm checks the cluster (control planes Ready, one minor
#     at a time), pulls the images, replaces the static pods one by one (keeping the old
#     manifests under /etc/kubernetes/tmp), renews the control plane's certificates and
#     updates CoreDNS and kube-proxy;
#   - both with --patches=/etc/kubernetes/patches (kubelet_patches, as kubeadm_init and
#     kubeadm_join): kubeadm rewrites the kubelet's configuration from the cluster's and applies
#     a node's patches only when given them ("kubeadm upgrade phase kubelet-config"), so
#     without it the kubelet would lose serverTLSBootstrap;
#   - UPGRADE=node, on the other control planes: `kubeadm upgrade node` upgrades its static
#     pods to the cluster's version and renews its certificates; on a worker it brings the
#     kubelet's configuration to the new minor's.
#
# Privileges:  root.
# Env:         K8S_MINOR  the minor the node moves to, e.g. 1.36 (required)
#              UPGRADE    apply | node (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      kubeadm's output (the plan, then the upgrade).
# Exit:        0; 1 if kubeadm is not of K8S_MINOR or parameters are bad; kubeadm's status if
#              it refuses or fails (a failed apply rolls the static pods back itself).
# Idempotency: a control plane whose kube-apiserver manifest already runs VERSION is left as it
#              is; on a worker `kubeadm upgrade node` only rewrites the kubelet's configuration
#              from the cluster's, the same bytes a second time.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=kubeadm_upgrade

main() {
    minor_param
    case "${UPGRADE:-}" in
        apply | node) ;;
        *) fail "UPGRADE must be apply or node" ;;
    esac
    version=$(kubeadm version -o short)
    case "$version" in
        "v$K8S_MINOR".*) ;;
        *) fail "kubeadm is $version, not of Kubernetes $K8S_MINOR: upgrade_kubeadm must run first" ;;
    esac
    manifest="$R/etc/kubernetes/manifests/kube-apiserver.yaml"
    if [ -f "$manifest" ]; then
        if grep -q "^[[:space:]]*image:[[:space:]]*[^[:space:]]*/kube-apiserver:${version}[[:space:]]*$" "$manifest"; then
            echo "kubeadm_upgrade: this control plane runs $version already"
            return 0
        fi
    elif [ "$UPGRADE" = apply ]; then
        fail "no /etc/kubernetes/manifests/kube-apiserver.yaml: kubeadm upgrade apply runs on the cluster's first control plane"
    fi
    # Both rewrite /var/lib/kubelet/config.yaml from the cluster's kubelet-config ConfigMap and
    # apply this node's patches only when told where they are: without them the kubelet would
    # lose serverTLSBootstrap and serve a self-signed certificate again.
    kubelet_patches
    if [ "$UPGRADE" = apply ]; then
        kubeadm upgrade plan "$version"
        kubeadm upgrade apply "$version" --yes --patches=/etc/kubernetes/patches
    else
        kubeadm upgrade node --patches=/etc/kubernetes/patches
    fi
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
