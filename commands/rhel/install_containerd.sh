#!/bin/sh
# install_containerd: containerd as the container runtime, configured for kubeadm.
#   - installs containerd.io from Docker's repository (RHEL and its rebuilds ship no containerd)
#     unless a containerd is already there, which is then only configured. The repository file
#     /etc/yum.repos.d/docker-ce.repo (linux/rhel for RHEL, linux/centos for the rebuilds, as
#     Docker documents) is limited to containerd.io with includepkgs; the packages this
#     brought in (containerd.io, container-selinux) are noted in /var/lib/labkube/installed, so
#     reset removes them and nothing labkube did not install;
#   - refuses a containerd older than containerd recommends for Kubernetes $K8S_MINOR
#     (CONTAINERD_MINIMUMS), naming the version, the minimums and the fix;
#   - writes /etc/containerd/config.toml (commands/lib/containerd.sh, containerd_config);
#     a config labkube did not write is kept once as config.toml.pre-labkube (reset restores
#     it); the proxy drop-in and the registry mirrors (containerd_proxy, containerd_mirrors);
#   - enables and starts containerd; restarts it only when its config or unit changed.
#
# Privileges:  root.
# Env:         as commands/debian/install_containerd.sh (K8S_MINOR, CONTAINERD_MINIMUMS,
#              POD_CIDR, SERVICE_CIDR, NODE_ADDRESSES, REGISTRY_MIRRORS, the proxy variables);
#              containerd.io is the current release of Docker's repository for the host's
#              major version. LABKUBE_ROOT (tests only) prefixes every host path.
# Output:      dnf's output when installing, one line per change, then "install_containerd: done".
# Exit:        0; dnf's status if a download or install fails (worth a retry); 1 if
#              containerd is too old for K8S_MINOR or the default config has no runc options
#              to turn SystemdCgroup on in.
# Idempotency: containerd --version, the repository file's and the config's bytes and
#              systemctl is-enabled/is-active are
#              probed first; on a converged host nothing is installed, written or restarted.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=install_containerd

docker_repo() {
    id=$(sed -n 's/^ID=//p' "$R/etc/os-release" | tr -d "\"'")
    case "$id" in
        rhel) dist=rhel ;;
        *) dist=centos ;; # Rocky, AlmaLinux, CentOS Stream
    esac
    sed "s|@DIST@|$dist|g" >"$work/docker-ce.repo" <<'REPO'
# Managed by labkube: Docker's repository, for containerd.io only.
[docker-ce-stable]
name=Docker CE Stable - $basearch
baseurl=https://download.docker.com/linux/@DIST@/$releasever/$basearch/stable
enabled=1
gpgcheck=1
gpgkey=https://download.docker.com/linux/@DIST@/gpg
includepkgs=containerd.io
REPO
    if put_file "$work/docker-ce.repo" "$R/etc/yum.repos.d/docker-ce.repo" 0644; then
        echo "containerd: /etc/yum.repos.d/docker-ce.repo written ($dist)"
    fi
}

main() {
    minor_param
    PACKAGE=containerd.io
    work=$(mktemp -d)
    remove_on_exit "$work"

    fresh=no
    if present=$(containerd --version 2>/dev/null); then
        echo "containerd: already installed ($present)"
    else
        fresh=yes
        selinux_before=no
        if rpm_installed container-selinux; then selinux_before=yes; fi
        docker_repo
        dnf install -y "$PACKAGE"
        note_installed "$PACKAGE"
        if [ "$selinux_before" = no ] && rpm_installed container-selinux; then
            note_installed container-selinux
        fi
        echo "containerd: installed the $PACKAGE package"
    fi
    check_containerd_version "dnf remove containerd.io" "$fresh"
    configure_containerd
    echo "install_containerd: done (containerd $(containerd_version))"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
