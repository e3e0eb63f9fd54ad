#!/bin/sh
# install_containerd: containerd as the container runtime, configured for kubeadm.
#   - installs the distribution's containerd package (apt-get install containerd) unless a
#     containerd is already there (e.g. Docker's containerd.io, which is then only configured);
#     the packages this brought in (containerd, runc) are noted in /var/lib/labkube/installed,
#     so reset removes them and nothing labkube did not install;
#   - writes /etc/containerd/config.toml: 'containerd config default' with SystemdCgroup = true
#     (kubelet's cgroup driver since v1.22) and the CNI plugin directory /opt/cni/bin (where
#     kubernetes-cni and flannel put their plugins, whatever default a distribution patched
#     in). A config labkube did not write is kept once as config.toml.pre-labkube (reset
#     restores it);
#   - enables and starts containerd; restarts it only when the config changed.
#
# Privileges:  root.
# Env:         none (the version is the distribution release's: Debian 12 ships 1.6, Ubuntu
#              24.04 1.7). LABKUBE_ROOT (tests only) prefixes every host path.
# Output:      apt's output when installing, one line per change, then "install_containerd: done".
# Exit:        0; apt-get's status if a download or install fails (worth a retry); 1 if the
#              default config has no SystemdCgroup setting to turn on.
# Idempotency: containerd --version, the config's bytes and systemctl is-enabled/is-active are
#              probed first; on a converged host nothing is installed, written or restarted.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=install_containerd

main() {
    PACKAGE=containerd
    export DEBIAN_FRONTEND=noninteractive
    work=$(mktemp -d)
    remove_on_exit "$work"

    if present=$(containerd --version 2>/dev/null); then
        echo "containerd: already installed ($present)"
    else
        runc_before=no
        if deb_installed runc; then runc_before=yes; fi
        apt_get update
        apt_get install "$PACKAGE"
        note_installed "$PACKAGE"
        if [ "$runc_before" = no ] && deb_installed runc; then note_installed runc; fi
        echo "containerd: installed the $PACKAGE package"
    fi
    configure_containerd
    echo "install_containerd: done"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
