#!/bin/sh
# install_kube: kubelet, kubeadm and kubectl of one Kubernetes minor release, from the
# community repository pkgs.k8s.io (the legacy Google-hosted repositories are frozen).
#   - /etc/apt/keyrings/kubernetes-apt-keyring.gpg: the repository's Release.key, dearmored;
#   - /etc/apt/sources.list.d/kubernetes.list: the repository of v$K8S_MINOR, which only holds
#     that minor's patch releases (the pin);
#   - installs the missing packages (the newest patch release of the minor), holds all three
#     (apt-mark hold) so an upgrade never moves a node past the control plane, and enables the
#     kubelet (it restarts in a loop until kubeadm init/join configure it: expected);
#   - gives containerd kubeadm's sandbox (pause) image (commands/lib/containerd.sh,
#     align_sandbox_image), restarting it only if its config changed.
#
# Privileges:  root.
# Env:         K8S_MINOR   Kubernetes minor release, e.g. 1.35 (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      apt's output when installing, one line per change, then "install_kube: done".
# Exit:        0; curl's, gpg's or apt-get's status if a download or install fails (worth a
#              retry); 1 if K8S_MINOR is malformed or another minor is already installed
#              (changing a node's minor is an upgrade, done with kubeadm upgrade, not here).
# Idempotency: installed versions (dpkg-query), holds (apt-mark showhold), the repository
#              files' bytes and systemctl is-enabled are probed first; when the three packages
#              of the minor are installed, held and the kubelet enabled, nothing is fetched,
#              written or installed.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=install_kube

main() {
    minor_param
    export DEBIAN_FRONTEND=noninteractive
    work=$(mktemp -d)
    remove_on_exit "$work"

    set --
    for package in kubelet kubeadm kubectl; do
        version=$(deb_version "$package")
        case "$version" in
            "") set -- "$@" "$package" ;;
            "$K8S_MINOR".*) ;;
            *) fail "$package $version is installed but K8S_MINOR is $K8S_MINOR: changing a node's minor release is an upgrade (kubeadm upgrade), not an install; run the reset step first on a host that may be wiped" ;;
        esac
    done

    kube_deb_repository "$work"
    if [ "$#" -gt 0 ]; then
        apt_get update
        apt_get install "$@"
        echo "kubernetes: installed $*"
    fi

    held=$(apt-mark showhold)
    set --
    for package in kubelet kubeadm kubectl; do
        printf '%s\n' "$held" | grep -qx "$package" || set -- "$@" "$package"
    done
    if [ "$#" -gt 0 ]; then
        apt-mark hold "$@" >/dev/null
        echo "kubernetes: held $* (apt-mark hold)"
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
