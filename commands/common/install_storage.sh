#!/bin/sh
# install_storage: rancher local-path-provisioner at a pinned release as the cluster's default
#   StorageClass, so the volume claims of the GEs' databases bind (kubeadm installs no
#   provisioner, and a claim without a class binds only through a default class). Its release
#   manifest
#     https://raw.githubusercontent.com/rancher/local-path-provisioner/$LOCAL_PATH_VERSION/deploy/local-path-storage.yaml
#   is downloaded to a temporary file (checked against LOCAL_PATH_SHA256 when given) and
#   applied with the admin kubeconfig; its class `local-path` is marked default unless the
#   cluster already has another default class; then the provisioner's rollout is awaited.
#   Volumes live under /opt/local-path-provisioner on the node that first uses them.
#
# Privileges:  root (reads /etc/kubernetes/admin.conf).
# Env:         LOCAL_PATH_VERSION  local-path-provisioner release tag, e.g. v0.0.37 (required)
#              LOCAL_PATH_SHA256   sha256 of that release's manifest (optional)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      kubectl's output (applied objects, the annotation, the rollout), or one line
#              saying it was already done.
# Exit:        0; curl's or kubectl's status if the download, apply or rollout fails (worth a
#              retry); 1 for malformed parameters, a checksum mismatch, a manifest that is not
#              the release's, or a host that is not the control plane.
# Idempotency: the download, apply and annotation are skipped when the provisioner Deployment
#              already runs LOCAL_PATH_VERSION's image, the class exists and some class is the
#              default (all read with kubectl get); the rollout wait (read-only) always runs.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=install_storage

DEFAULT_KEY=storageclass.kubernetes.io/is-default-class

# The default classes, one name per line.
default_classes() { # ADMIN
    kubectl --kubeconfig "$1" get storageclass \
        -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.metadata.annotations.storageclass\.kubernetes\.io/is-default-class}{"\n"}{end}' |
        awk '$2 == "true" { print $1 }'
}

main() {
    release_tag LOCAL_PATH_VERSION "${LOCAL_PATH_VERSION:-}" v0.0.37
    admin="$R/etc/kubernetes/admin.conf"
    [ -f "$admin" ] || fail "no /etc/kubernetes/admin.conf: this is not an initialised control plane (kubeadm_init comes first)"
    image="docker.io/rancher/local-path-provisioner:$LOCAL_PATH_VERSION"

    running=$(kubectl --kubeconfig "$admin" -n local-path-storage get deployment local-path-provisioner \
        -o 'jsonpath={.spec.template.spec.containers[0].image}' 2>/dev/null || true)
    class=$(kubectl --kubeconfig "$admin" get storageclass local-path -o name 2>/dev/null || true)
    defaults=$(default_classes "$admin")
    if [ "$running" = "$image" ] && [ -n "$class" ] && [ -n "$defaults" ]; then
        echo "install_storage: local-path-provisioner $LOCAL_PATH_VERSION already installed; default StorageClass: $(echo "$defaults" | head -n 1)"
    else
        install_provisioner "$admin" "$image"
    fi
    kubectl --kubeconfig "$admin" -n local-path-storage rollout status \
        deployment/local-path-provisioner --timeout=300s
}

install_provisioner() { # ADMIN IMAGE
    admin=$1
    image=$2

    work=$(mktemp -d)
    remove_on_exit "$work"
    url="https://raw.githubusercontent.com/rancher/local-path-provisioner/$LOCAL_PATH_VERSION/deploy/local-path-storage.yaml"
    fetch_checked "$url" "$work/local-path-storage.yaml" "${LOCAL_PATH_SHA256:-}" LOCAL_PATH_SHA256
    grep -q "image: $image\$" "$work/local-path-storage.yaml" ||
        fail "$url does not run $image"
    grep -q '^provisioner: rancher.io/local-path$' "$work/local-path-storage.yaml" ||
        fail "$url has no rancher.io/local-path StorageClass: its format changed"
    kubectl --kubeconfig "$admin" apply -f "$work/local-path-storage.yaml"

    defaults=$(default_classes "$admin")
    if [ -z "$defaults" ]; then
        kubectl --kubeconfig "$admin" annotate storageclass local-path "$DEFAULT_KEY=true" --overwrite
    else
        echo "install_storage: keeping $(echo "$defaults" | head -n 1) as the default StorageClass"
    fi
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
