#!/bin/sh
# install_metrics_server: metrics-server at a pinned release (kubectl top, the HorizontalPod-
#   Autoscaler), verifying the kubelets' serving certificates against the cluster CA (no
#   --kubelet-insecure-tls: approve_csrs gave every kubelet a CA-signed certificate). Its
#   release manifest
#     https://github.com/kubernetes-sigs/metrics-server/releases/download/$METRICS_SERVER_VERSION/components.yaml
#   is downloaded to a temporary file (checked against METRICS_SERVER_SHA256 when given),
#   checked to run registry.k8s.io/metrics-server/metrics-server:$METRICS_SERVER_VERSION and
#   not to turn kubelet certificate checks off, applied with the admin kubeconfig, and the
#   rollout of deployment/metrics-server in kube-system is awaited (it becomes Ready only once
#   it has read the kubelets' metrics over verified TLS).
#
# Privileges:  root (reads /etc/kubernetes/admin.conf).
# Env:         METRICS_SERVER_VERSION  metrics-server release tag, e.g. v0.9.0 (required)
#              METRICS_SERVER_SHA256   sha256 of that release's components.yaml (optional)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      kubectl's output (applied objects, the rollout), or one line saying it was
#              already done.
# Exit:        0; curl's or kubectl's status if the download, apply or rollout fails (worth a
#              retry); 1 for malformed parameters, a checksum mismatch, a manifest that is not
#              the release's, or a host that is not the control plane.
# Idempotency: the download and apply are skipped when deployment/metrics-server already runs
#              METRICS_SERVER_VERSION's image (read with kubectl get); the rollout wait
#              (read-only) always runs.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=install_metrics_server

main() {
    release_tag METRICS_SERVER_VERSION "${METRICS_SERVER_VERSION:-}" v0.9.0
    admin="$R/etc/kubernetes/admin.conf"
    [ -f "$admin" ] || fail "no /etc/kubernetes/admin.conf: this is not an initialised control plane (kubeadm_init comes first)"
    image="registry.k8s.io/metrics-server/metrics-server:$METRICS_SERVER_VERSION"

    running=$(kubectl --kubeconfig "$admin" -n kube-system get deployment metrics-server \
        -o 'jsonpath={.spec.template.spec.containers[0].image}' 2>/dev/null || true)
    if [ "$running" = "$image" ]; then
        echo "install_metrics_server: metrics-server $METRICS_SERVER_VERSION already installed"
    else
        work=$(mktemp -d)
        remove_on_exit "$work"
        url="https://github.com/kubernetes-sigs/metrics-server/releases/download/$METRICS_SERVER_VERSION/components.yaml"
        fetch_checked "$url" "$work/components.yaml" "${METRICS_SERVER_SHA256:-}" METRICS_SERVER_SHA256
        grep -q "^ *image: $image\$" "$work/components.yaml" ||
            fail "$url does not run $image"
        { grep -q '^kind: APIService$' "$work/components.yaml" &&
            grep -q '^  name: v1beta1.metrics.k8s.io$' "$work/components.yaml"; } ||
            fail "$url has no v1beta1.metrics.k8s.io APIService: its format changed"
        if grep -q -- '--kubelet-insecure-tls' "$work/components.yaml"; then
            fail "$url turns off the kubelet certificate check (--kubelet-insecure-tls); not applying it"
        fi
        kubectl --kubeconfig "$admin" apply -f "$work/components.yaml"
    fi
    kubectl --kubeconfig "$admin" -n kube-system rollout status deployment/metrics-server --timeout=300s
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
