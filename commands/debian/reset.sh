#!/bin/sh
# reset: take Kubernetes off this host again (the /cluster delete step), leaving what labkube
# did not bring.
#   1. kubeadm reset -f, when kubeadm is installed and the host has cluster state;
#   2. the CNI interfaces cni0 and flannel.1, when present; api_proxy's
#      labkube-api-proxy.service and /etc/labkube/api-proxy.cfg, when labkube wrote them;
#   3. kubelet kubeadm kubectl (and their cri-tools, kubernetes-cni), and the packages
#      install_containerd noted in /var/lib/labkube/installed (containerd.io; containerd and
#      runc from labkube versions that installed the distribution's containerd), unheld and
#      purged -- after apt's simulation shows the purge takes nothing else along (containerd
#      is kept if, say, docker.io came to depend on it);
#   4. if labkube installed containerd, /etc/containerd and /var/lib/containerd go too;
#      otherwise containerd stays, its previous config is restored (config.toml.pre-labkube)
#      or labkube's removed, and it is restarted;
#   5. /usr/local/bin/helm, if install_helm installed it;
#   6. the repository files labkube wrote: /etc/apt/sources.list.d/kubernetes.list and
#      docker.list, /etc/apt/preferences.d/labkube-docker (those starting "# Managed by
#      labkube"), and the keys /etc/apt/keyrings/kubernetes-apt-keyring.gpg and docker.asc
#      (once no source list refers to them); containerd's proxy drop-in and registry hosts
#      files (/etc/systemd/system/containerd.service.d/http-proxy.conf,
#      /etc/containerd/certs.d/<registry>) when labkube wrote them;
#   7. leftovers: /etc/cni/net.d, /var/lib/cni, /run/flannel, /opt/cni/bin/flannel,
#      /etc/kubernetes, /var/lib/kubelet (refused while volumes are still mounted under it:
#      rm would reach into them), /var/lib/etcd, and /var/lib/labkube.
#   8. prepare_host's /etc/hosts line for the cluster's API endpoint name (rewritten in
#      place without it; the other lines stay as they are).
#   Swap, modules, sysctls and firewall rules of prepare_host stay: they are harmless, and
#   undoing them could break what else the host runs.
#
# Privileges:  root.
# Env:         none. LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      one line per thing removed, then "reset: done".
# Exit:        0; the failing tool's status; 1 if volumes are still mounted under
#              /var/lib/kubelet.
# Idempotency: every removal is probed first; on a host that was never set up, or already
#              reset, it changes nothing.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=reset

# Packages to remove: kubelet kubeadm kubectl and their cri-tools and kubernetes-cni whenever
# installed, and what install_containerd noted it installed (containerd, runc). apt's
# simulation is checked first: if the purge would take other packages along (say docker.io,
# installed later on top of labkube's containerd), containerd and runc are kept; if even the
# Kubernetes packages alone would take others along, reset stops and names them.
purge_packages() {
    kube=""
    for package in kubelet kubeadm kubectl cri-tools kubernetes-cni; do
        if deb_installed "$package"; then kube="$kube $package"; fi
    done
    noted=""
    if [ -f "$R/var/lib/labkube/installed" ]; then
        while IFS= read -r package || [ -n "$package" ]; do
            case "$package" in
                helm | "" | *[!a-z0-9.+-]*) continue ;;
            esac
            if deb_installed "$package"; then noted="$noted $package"; fi
        done <"$R/var/lib/labkube/installed"
    fi
    # shellcheck disable=SC2086 # package names, checked to be plain words
    set -- $kube $noted
    [ "$#" -gt 0 ] || return 0
    taken=$(taken_along "$@")
    if [ -n "$taken" ] && [ -n "$noted" ]; then
        echo "reset: keeping$noted: purging it would also remove $taken"
        CONTAINERD_KEPT=yes
        # shellcheck disable=SC2086 # package names, checked to be plain words
        set -- $kube
        [ "$#" -gt 0 ] || return 0
        taken=$(taken_along "$@")
    fi
    [ -z "$taken" ] || fail "purging $* would also remove $taken; remove those first or keep this host's Kubernetes packages"
    held=$(apt-mark showhold)
    for package in "$@"; do
        if printf '%s\n' "$held" | grep -qx "$package"; then
            apt-mark unhold "$package" >/dev/null
        fi
    done
    apt_get purge "$@"
    echo "reset: purged $*"
}

# taken_along PACKAGE...: the other packages a purge of these would remove (apt's simulation),
# space-separated, empty if none.
taken_along() {
    apt-get -s purge "$@" | awk '$1 == "Purg" || $1 == "Remv" { print $2 }' |
        while IFS= read -r package; do
            case " $* " in
                *" $package "*) ;;
                *) printf '%s ' "$package" ;;
            esac
        done
}

# containerd's config: gone with containerd if labkube installed (and removed) it; otherwise
# the previous config comes back (or labkube's goes) and the running containerd restarts.
restore_containerd_config() {
    conf="$R/etc/containerd/config.toml"
    if { installed_by_labkube containerd || installed_by_labkube containerd.io; } &&
        [ "$CONTAINERD_KEPT" = no ]; then
        remove /etc/containerd /var/lib/containerd
        return 0
    fi
    restored=no
    if [ -f "$conf.pre-labkube" ]; then
        mv -f "$conf.pre-labkube" "$conf"
        restored=yes
        echo "reset: restored the previous /etc/containerd/config.toml"
    elif [ -f "$conf" ] && grep -q '^# Managed by labkube' "$conf"; then
        rm -f "$conf"
        restored=yes
        echo "reset: removed labkube's /etc/containerd/config.toml"
    fi
    if [ "$restored" = yes ] && systemctl is-active --quiet containerd; then
        systemctl restart containerd
        echo "reset: containerd restarted with its previous config"
    fi
}

# remove_managed FILE: remove FILE only if labkube wrote it.
remove_managed() {
    if [ -f "$R$1" ] && grep -q '^# Managed by labkube' "$R$1"; then
        remove "$1"
    fi
}

remove_repository() {
    remove_managed /etc/apt/sources.list.d/kubernetes.list
    remove_managed /etc/apt/sources.list.d/docker.list
    remove_managed /etc/apt/preferences.d/labkube-docker
    for key in kubernetes-apt-keyring.gpg docker.asc; do
        if [ -e "$R/etc/apt/keyrings/$key" ] &&
            ! grep -rqs "$key" "$R/etc/apt/sources.list.d" "$R/etc/apt/sources.list"; then
            remove "/etc/apt/keyrings/$key"
        fi
    done
}

main() {
    export DEBIAN_FRONTEND=noninteractive
    CONTAINERD_KEPT=no
    kubeadm_reset
    remove_api_proxy
    refuse_mounted_volumes
    delete_links
    purge_packages
    restore_containerd_config
    remove_containerd_files
    if installed_by_labkube helm; then
        remove /usr/local/bin/helm
    fi
    remove_repository
    remove_state
    remove /var/lib/labkube
    forget_api_name
    echo "reset: done"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
