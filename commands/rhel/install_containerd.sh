#!/bin/sh
# install_containerd: containerd as the container runtime, configured for kubeadm.
#   - installs containerd.io from Docker's repository (RHEL and its rebuilds ship no containerd)
#     unless a containerd is already there, which is then only configured. The repository file
#     /etc/yum.repos.d/docker-ce.repo (linux/rhel for RHEL, linux/centos for the rebuilds, as
#     Docker documents) is limited to containerd.io with includepkgs; the packages this
#     brought in (containerd.io, container-selinux) are noted in /var/lib/labkube/installed, so
#     reset removes them and nothing labkube did not install;
#     a package labkube installed is noted in /var/lib/labkube/installed, so reset removes it
#     and nothing it did not install;
#   - writes /etc/containerd/config.toml: 'containerd config default' with SystemdCgroup = true
#     (kubelet's cgroup driver since v1.22) and the CNI plugin directory /opt/cni/bin (where
#     kubernetes-cni and flannel put their plugins, whatever default a distribution patched
#     in). A config labkube did not write is kept once as config.toml.pre-labkube (reset
#     restores it);
#   - enables and starts containerd; restarts it only when the config changed.
#
# Privileges:  root.
# Env:         none (containerd.io is the current release of Docker's repository for the host's
#              major version). LABKUBE_ROOT (tests only) prefixes every host path.
# Output:      dnf's output when installing, one line per change, then "install_containerd: done".
# Exit:        0; dnf's status if a download or install fails (worth a retry); 1 if the
#              default config has no SystemdCgroup setting to turn on.
# Idempotency: containerd --version, the repository file's and the config's bytes and
#              systemctl is-enabled/is-active are
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

# note_installed PACKAGE: remember that labkube installed PACKAGE (for reset).
note_installed() {
    mkdir -p "$R/var/lib/labkube"
    grep -qx "$1" "$R/var/lib/labkube/installed" 2>/dev/null ||
        printf '%s\n' "$1" >>"$R/var/lib/labkube/installed"
}

rpm_installed() {
    rpm -q --quiet "$1" 2>/dev/null
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
    PACKAGE=containerd.io
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM

    if present=$(containerd --version 2>/dev/null); then
        echo "containerd: already installed ($present)"
    else
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
    configure_containerd
    echo "install_containerd: done"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
