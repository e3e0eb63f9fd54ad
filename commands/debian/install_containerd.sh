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
R="${LABKUBE_ROOT:-}"

fail() {
    echo "install_containerd: $*" >&2
    exit 1
}

# put_file SRC DEST MODE: replace DEST by SRC (atomically, through a file beside DEST) unless
# DEST already has the same bytes. Returns 0 if DEST changed, 1 if it was already right.
# (Called in if conditions, where set -e is off: hence the explicit || fail.)
put_file() {
    if [ -f "$2" ] && cmp -s "$1" "$2"; then
        return 1
    fi
    { mkdir -p "${2%/*}" && cp "$1" "$2.labkube-new" && chmod "$3" "$2.labkube-new" &&
        mv -f "$2.labkube-new" "$2"; } || fail "cannot write ${2#"$R"}"
}

# Non-interactive apt that waits for a running apt (unattended-upgrades on a fresh VM) instead
# of failing on its lock, and keeps existing config files.
apt_get() {
    apt-get -q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef \
        -o Dpkg::Options::=--force-confold "$@"
}

# note_installed PACKAGE: remember that labkube installed PACKAGE (for reset).
note_installed() {
    mkdir -p "$R/var/lib/labkube"
    grep -qx "$1" "$R/var/lib/labkube/installed" 2>/dev/null ||
        printf '%s\n' "$1" >>"$R/var/lib/labkube/installed"
}

deb_installed() {
    # shellcheck disable=SC2016 # ${...} is a dpkg-query field, not a shell expansion
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

installed_by_labkube() {
    grep -qx "$1" "$R/var/lib/labkube/installed" 2>/dev/null
}

configure_containerd() {
    conf="$R/etc/containerd/config.toml"
    {
        echo "# Managed by labkube: 'containerd config default' with SystemdCgroup = true and the"
        echo "# CNI plugins in /opt/cni/bin. The install_containerd step rewrites this file."
        containerd config default
    } >"$work/default.toml"
    sed -e 's/^\([[:space:]]*SystemdCgroup[[:space:]]*=[[:space:]]*\)false[[:space:]]*$/\1true/' \
        -e "s|^\([[:space:]]*bin_dir[[:space:]]*=[[:space:]]*\)[\"'][^\"']*[\"'][[:space:]]*$|\1\"/opt/cni/bin\"|" \
        "$work/default.toml" >"$work/config.toml"
    grep -q '^[[:space:]]*SystemdCgroup[[:space:]]*=[[:space:]]*true' "$work/config.toml" ||
        fail "'containerd config default' has no SystemdCgroup setting to turn on (containerd $(containerd --version)); not writing a config kubelet could not use"

    if [ -f "$conf" ] && ! grep -q '^# Managed by labkube' "$conf" &&
        [ ! -e "$conf.pre-labkube" ] && ! installed_by_labkube "$PACKAGE"; then
        cp -p "$conf" "$conf.pre-labkube"
        echo "containerd: the previous config is kept as /etc/containerd/config.toml.pre-labkube"
    fi
    changed=no
    if put_file "$work/config.toml" "$conf" 0644; then
        changed=yes
        echo "containerd: /etc/containerd/config.toml written (SystemdCgroup = true)"
    fi

    if ! systemctl is-enabled --quiet containerd 2>/dev/null; then
        systemctl enable containerd
        echo "containerd: enabled"
    fi
    if ! systemctl is-active --quiet containerd; then
        systemctl start containerd
        echo "containerd: started"
    elif [ "$changed" = yes ]; then
        systemctl restart containerd
        echo "containerd: restarted with the new config"
    fi
}

main() {
    PACKAGE=containerd
    export DEBIAN_FRONTEND=noninteractive
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM

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
