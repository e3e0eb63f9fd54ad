#!/bin/sh
# facts: report what the engine's preflight and planning need to know about the host.
#
# Privileges:  root (ufw status and the DMI product_uuid need it).
# Env:         none. LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      one key=value line each, always all of them, in this order (values never
#              contain a newline; an unknown value is empty):
#                hostname=<kernel host name, what Kubernetes will call the node>
#                cpus=<online CPUs, from /proc/cpuinfo>
#                mem_mb=<MemTotal in MiB>
#                swap_mb=<SwapTotal in MiB; 0 once prepare_host has run>
#                kernel=<uname -r>
#                arch=<uname -m>
#                product_uuid=<DMI product UUID; must differ between nodes>
#                ports_busy=<those of 6443,10250,2379,2380 that something listens on, in
#                           that order, comma-separated; empty if none. A node already in the
#                           cluster listens on them itself>
#                firewall=<ufw|firewalld|none: the active ones; ufw,firewalld if both are>
#                containerd=<installed containerd version (1.7.28), empty if none>
#                kubeadm=<installed kubeadm version (v1.35.5), empty if none>
#                control_plane=<yes if /etc/kubernetes/admin.conf exists (kubeadm init ran), else empty>
#                joined=<yes if /etc/kubernetes/kubelet.conf exists (a node of a cluster: a
#                        joined worker, and also the control plane), else empty>
#                addrs=<the host's global addresses with their prefix (10.0.0.5/24), from
#                       ip -o addr show scope global, comma-separated>
#                addr_devs=<the interface of each of addrs, in the same order (eth0,eth0)>
#                machine_id=</etc/machine-id; must differ between nodes (cloned VMs share it)>
#                time=<the host's clock, seconds since the epoch>
#                avx=<yes if the CPU has AVX (MongoDB 5.0 and later need it), else no>
# Exit:        0; 1 if ss (iproute2) cannot list listening sockets.
# Idempotency: read-only.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=facts

# Contents of file $1 without trailing newlines, empty if unreadable.
read_file() {
    cat "$1" 2>/dev/null || true
}

main() {
    hostname=$(read_file "$R/proc/sys/kernel/hostname")
    [ -n "$hostname" ] || hostname=$(uname -n)

    cpus=$(grep -c '^processor[[:space:]]*:' "$R/proc/cpuinfo" 2>/dev/null || true)
    mem_mb=$(awk '$1 == "MemTotal:" { printf "%d", $2 / 1024 }' "$R/proc/meminfo")
    swap_mb=$(awk '$1 == "SwapTotal:" { printf "%d", $2 / 1024 }' "$R/proc/meminfo")
    product_uuid=$(read_file "$R/sys/class/dmi/id/product_uuid")

    listening=$(ss -ltnH) || fail "ss -ltnH failed: cannot tell which ports are in use (is iproute2 installed?)"
    ports_busy=""
    for port in 6443 10250 2379 2380; do
        # The local address is the 4th column: 0.0.0.0:6443, [::]:6443, *:6443, 10.0.0.1%eth0:6443.
        if printf '%s\n' "$listening" |
            awk -v p="$port" '{ n = split($4, a, ":"); if (a[n] == p) found = 1 } END { exit !found }'; then
            ports_busy="${ports_busy:+$ports_busy,}$port"
        fi
    done

    firewall=""
    ufw_status=$(ufw status 2>/dev/null || true)
    case "$ufw_status" in
        "Status: active"*) firewall="ufw" ;;
    esac
    if [ "$(firewall-cmd --state 2>/dev/null || true)" = running ]; then
        firewall="${firewall:+$firewall,}firewalld"
    fi

    # "containerd github.com/containerd/containerd v1.7.24 <commit>" (upstream),
    # "containerd containerd.io 1.7.28 <commit>" (Docker's), "... 1.6.20~ds1 1.6.20~ds1-1" (Debian).
    containerd=$(containerd --version 2>/dev/null || true)
    containerd=$(printf '%s\n' "$containerd" | awk 'NR == 1 { print $3 }')
    containerd=${containerd#v}
    kubeadm=$(kubeadm version -o short 2>/dev/null || true)

    control_plane=""
    [ ! -f "$R/etc/kubernetes/admin.conf" ] || control_plane=yes
    joined=""
    [ ! -f "$R/etc/kubernetes/kubelet.conf" ] || joined=yes

    printf 'hostname=%s\n' "$hostname"
    printf 'cpus=%s\n' "${cpus:-0}"
    printf 'mem_mb=%s\n' "${mem_mb:-0}"
    printf 'swap_mb=%s\n' "${swap_mb:-0}"
    printf 'kernel=%s\n' "$(uname -r)"
    printf 'arch=%s\n' "$(uname -m)"
    printf 'product_uuid=%s\n' "$product_uuid"
    printf 'ports_busy=%s\n' "$ports_busy"
    printf 'firewall=%s\n' "${firewall:-none}"
    printf 'containerd=%s\n' "$containerd"
    printf 'kubeadm=%s\n' "$kubeadm"
    printf 'control_plane=%s\n' "$control_plane"
    printf 'joined=%s\n' "$joined"
    # "2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global dynamic eth0 ..."
    global=$(ip -o addr show scope global)
    addrs=$(printf '%s\n' "$global" | awk '{ print $4 }' | paste -sd, -)
    printf 'addrs=%s\n' "$addrs"
    printf 'addr_devs=%s\n' "$(printf '%s\n' "$global" | awk '{ print $2 }' | paste -sd, -)"
    printf 'machine_id=%s\n' "$(read_file "$R/etc/machine-id")"
    printf 'time=%s\n' "$(date +%s)"
    avx=no
    if grep -q '^flags[[:space:]]*:.* avx\( \|$\)' "$R/proc/cpuinfo" 2>/dev/null; then avx=yes; fi
    printf 'avx=%s\n' "$avx"
}

main "$@" </dev/null
