#!/bin/sh
# install_kube: kubelet, kubeadm and kubectl of one Kubernetes minor release, from the
# community repository pkgs.k8s.io (the legacy Google-hosted repositories are frozen).
#   - /etc/yum.repos.d/kubernetes.repo: the repository of v$K8S_MINOR, which only holds that
#     minor's patch releases (the pin), with exclude= so that a plain 'dnf upgrade' never moves
#     a node past the control plane (RHEL's equivalent of apt-mark hold);
#   - installs the missing packages with --disableexcludes=kubernetes (the newest patch release
#     of the minor; dnf imports the repository key named by gpgkey=);
#   - enables and starts the kubelet (it restarts in a loop until kubeadm init/join configure
#     it: expected);
#   - gives containerd kubeadm's sandbox (pause) image (commands/lib/containerd.sh,
#     align_sandbox_image), restarting it only if its config changed.
#
# Privileges:  root.
# Env:         K8S_MINOR   Kubernetes minor release, e.g. 1.35 (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      dnf's output when installing, one line per change, then "install_kube: done".
# Exit:        0; dnf's status if a download or install fails (worth a retry); 1 if K8S_MINOR
#              is malformed or another minor is already installed (changing a node's minor is
#              an upgrade, done with kubeadm upgrade, not here).
# Idempotency: installed versions (rpm -q), the repository file's bytes and systemctl
#              is-enabled are probed first; when the three packages of the minor are installed
#              and the kubelet enabled, nothing is written or installed.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=install_kube

main() {
    minor_param
    work=$(mktemp -d)
    remove_on_exit "$work"

    set --
    for package in kubelet kubeadm kubectl; do
        version=$(rpm_version "$package")
        case "$version" in
            "") set -- "$@" "$package" ;;
            "$K8S_MINOR".*) ;;
            *) fail "$package $version is installed but K8S_MINOR is $K8S_MINOR: changing a node's minor release is an upgrade (kubeadm upgrade), not an install; run the reset step first on a host that may be wiped" ;;
        esac
    done

    kube_rpm_repository "$work"

    if [ "$#" -gt 0 ]; then
        dnf install -y --disableexcludes=kubernetes "$@"
        echo "kubernetes: installed $*"
    fi

    if ! systemctl is-enabled --quiet kubelet 2>/dev/null; then
        systemctl enable --now kubelet
        echo "kubernetes: kubelet enabled"
    fi
    align_sandbox_image
    echo "install_kube: done ($(kubeadm version -o short))"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
