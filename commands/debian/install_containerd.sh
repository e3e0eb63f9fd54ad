#!/bin/sh
# install_containerd: containerd as the container runtime, configured for kubeadm.
#   - installs containerd.io from Docker's apt repository (the distributions' own containerd
#     is too old for the Kubernetes minors labkube installs: Debian 12 ships 1.6, Ubuntu
#     24.04 1.7) unless a containerd is already there, which is then only checked and
#     configured. Docker's repository (download.docker.com/linux/debian, or /linux/ubuntu on
#     Ubuntu and its derivatives) is written as /etc/apt/sources.list.d/docker.list, signed by
#     its key in /etc/apt/keyrings/docker.asc, and /etc/apt/preferences.d/labkube-docker takes
#     only containerd.io from it (every other package of that origin at priority -1), as the
#     RHEL script limits its repository with includepkgs. A Docker repository the host
#     already has is used as it is. containerd.io is noted in /var/lib/labkube/installed, so
#     reset removes it, and nothing labkube did not install;
#   - refuses a containerd older than containerd recommends for Kubernetes $K8S_MINOR
#     (CONTAINERD_MINIMUMS), naming the version, the minimums and the fix;
#   - writes /etc/containerd/config.toml (commands/lib/containerd.sh, containerd_config);
#     a config labkube did not write is kept once as config.toml.pre-labkube (reset restores
#     it); the proxy drop-in and the registry mirrors (containerd_proxy, containerd_mirrors);
#   - enables and starts containerd; restarts it only when its config or unit changed.
#
# Privileges:  root.
# Env:         K8S_MINOR             Kubernetes minor release, e.g. 1.35 (required)
#              CONTAINERD_MINIMUMS   containerd's recommended minimums for it, newest series
#                                    first, e.g. "2.2.0 2.1.5 1.7.28" (required)
#              POD_CIDR SERVICE_CIDR NODE_ADDRESSES
#                                    the cluster's networks and hosts, for NO_PROXY
#              REGISTRY_MIRRORS      "registry=https://mirror,... ..."; empty: none
#              http_proxy https_proxy no_proxy (any case, from [ssh] remote_env)
#              LABKUBE_ROOT (tests only) prefixes every host path.
# Output:      apt's output when installing, one line per change, then "install_containerd: done".
# Exit:        0; curl's or apt-get's status if a download or install fails (worth a retry);
#              1 if containerd is too old for K8S_MINOR, the OS has no Docker repository, or
#              the default config has no runc options to turn SystemdCgroup on in.
# Idempotency: containerd --version, the repository files' and the config's bytes and
#              systemctl is-enabled/is-active are probed first; on a converged host nothing
#              is fetched, installed, written or restarted.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=install_containerd

os_field() { # NAME: a field of /etc/os-release, unquoted
    sed -n "s/^$1=//p" "$R/etc/os-release" | tr -d "\"'" | head -n 1
}

# Docker's repository for this host: Debian's, or Ubuntu's for Ubuntu and the distributions
# built on it (Linux Mint: its UBUNTU_CODENAME), as Docker's install pages say.
docker_repository() {
    if grep -rqs 'download\.docker\.com/linux' "$R/etc/apt/sources.list.d" "$R/etc/apt/sources.list" &&
        ! grep -qs '^# Managed by labkube' "$R/etc/apt/sources.list.d/docker.list"; then
        echo "containerd: using the Docker repository this host already has"
        return 0
    fi
    id=$(os_field ID)
    case "$id $(os_field ID_LIKE)" in
        ubuntu* | *ubuntu*)
            dist=ubuntu
            codename=$(os_field UBUNTU_CODENAME)
            [ -n "$codename" ] || codename=$(os_field VERSION_CODENAME)
            ;;
        debian*)
            dist=debian
            codename=$(os_field VERSION_CODENAME)
            ;;
        *) fail "Docker's repository has no packages for $id; install containerd 1.7 or 2.x yourself, then run the step again" ;;
    esac
    case "$codename" in
        "" | *[!a-z]*) fail "/etc/os-release names no release codename (VERSION_CODENAME) for Docker's repository" ;;
    esac
    docker_url="https://download.docker.com/linux/$dist"
    cat >"$work/docker.list" <<LIST
# Managed by labkube: Docker's repository, for containerd.io only (the install_containerd step
# writes this file; /etc/apt/preferences.d/labkube-docker keeps its other packages out).
deb [signed-by=/etc/apt/keyrings/docker.asc] $docker_url $codename stable
LIST
    cat >"$work/labkube-docker" <<'PREFERENCES'
# Managed by labkube: from Docker's repository only containerd.io (install_containerd).
Package: *
Pin: origin download.docker.com
Pin-Priority: -1

Package: containerd.io
Pin: origin download.docker.com
Pin-Priority: 500
PREFERENCES
    if [ ! -s "$R/etc/apt/keyrings/docker.asc" ]; then
        if ! command -v curl >/dev/null 2>&1; then
            apt_get update
            apt_get install ca-certificates curl
        fi
        fetch "$docker_url/gpg" "$work/docker.asc"
        if put_file "$work/docker.asc" "$R/etc/apt/keyrings/docker.asc" 0644; then
            echo "containerd: Docker's repository key written to /etc/apt/keyrings/docker.asc"
        fi
    fi
    if put_file "$work/labkube-docker" "$R/etc/apt/preferences.d/labkube-docker" 0644; then
        echo "containerd: /etc/apt/preferences.d/labkube-docker takes only containerd.io from Docker's repository"
    fi
    if put_file "$work/docker.list" "$R/etc/apt/sources.list.d/docker.list" 0644; then
        echo "containerd: repository $docker_url $codename configured"
    fi
}

main() {
    minor_param
    PACKAGE=containerd.io
    export DEBIAN_FRONTEND=noninteractive
    work=$(mktemp -d)
    remove_on_exit "$work"

    fresh=no
    if present=$(containerd --version 2>/dev/null); then
        echo "containerd: already installed ($present)"
    else
        fresh=yes
        docker_repository
        apt_get update
        apt_get install "$PACKAGE"
        note_installed "$PACKAGE"
        echo "containerd: installed the $PACKAGE package"
    fi
    check_containerd_version "apt-get purge containerd containerd.io" "$fresh"
    configure_containerd
    echo "install_containerd: done (containerd $(containerd_version))"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
