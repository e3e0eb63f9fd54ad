#!/bin/sh
# prepare_host: the kernel and host settings kubeadm and flannel need, now and after a reboot.
#   - swap off now (swapoff -a) and at boot (swap entries of /etc/fstab commented out; the
#     original is kept once as /etc/fstab.pre-labkube);
#   - modules overlay and br_netfilter loaded now and listed in /etc/modules-load.d/k8s.conf;
#   - net.bridge.bridge-nf-call-iptables/ip6tables = 1 and net.ipv4.ip_forward = 1 in
#     /etc/sysctl.d/k8s.conf (and net.ipv6.conf.all.forwarding = 1 when the pod network has
#     an IPv6 part, as kubeadm's dual-stack guide asks of every node), applied with sysctl
#     --system and checked afterwards;
#   - if ufw or firewalld is active, the role's ports of the Kubernetes "Ports and Protocols"
#     page opened (nothing is enabled or disabled):
#       control-plane: 6443/tcp 2379-2380/tcp 10250/tcp 10257/tcp 10259/tcp
#       every node:    10250/tcp 10256/tcp 30000-32767/tcp 30000-32767/udp 8472/udp
#     (10256 is kube-proxy's health check, 30000-32767 the NodePorts, served on every node,
#     8472/udp flannel's VXLAN); and with firewalld the pod and service networks are sources
#     of its trusted zone: without that, firewalld rejects the pod traffic flannel forwards
#     between nodes (flannel-io/flannel#2055: nodes Ready, DNS from pods failing).
#   - SELinux permissive now (setenforce 0) and at boot (SELINUX=permissive in
#     /etc/selinux/config), as the kubeadm install guide does for RHEL-family hosts. A host
#     with SELinux disabled or absent (Debian, Ubuntu: no getenforce) is left so.
#   - the cluster's API endpoint name (kubeadm's --control-plane-endpoint) resolves here to
#     where this host reaches an API server, by one line in /etc/hosts marked
#     "# labkube: the cluster's API endpoint" (kept in place: /etc/hosts may be a bind mount).
#     Every kubelet and kubectl reaches the API through that name, so control planes (or a
#     local proxy to them) can be added later without re-creating the cluster. A line labkube
#     did not write that maps the name elsewhere is left alone and reported.
# One script for every OS family: the differences (ufw or firewalld, SELinux or not) are probed
# on the host, not chosen by its os-release.
#
# Privileges:  root.
# Env:         ROLE          control-plane | worker (required)
#              POD_CIDR      the pod network, or IPv4,IPv6 networks for dual stack (required)
#              SERVICE_CIDR  the service network, or IPv4,IPv6 networks (required)
#              API_NAME      the cluster's API endpoint name, a DNS name (required)
#              API_ADDRESS   the address API_NAME resolves to on this host (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      one line per change made, then "prepare_host: done".
# Exit:        0; 1 with the reason on stderr (bad ROLE, a setting that does not hold).
# Idempotency: every change is probed first (/proc/swaps, /etc/fstab, /sys/module, the files'
#              contents, the live /proc/sys values, ufw status, firewall-cmd --query-port,
#              getenforce);
#              on a prepared host it changes nothing.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=prepare_host

swap_areas() {
    # /proc/swaps: a header line, then one line per active swap area.
    awk 'NR > 1' "$R/proc/swaps"
}

disable_swap() {
    if [ -n "$(swap_areas)" ]; then
        swapoff -a
        echo "swap: turned off"
    fi
    [ -z "$(swap_areas)" ] || fail "swap is still on after swapoff -a: $(swap_areas)"

    fstab="$R/etc/fstab"
    [ -f "$fstab" ] || return 0
    awk '!/^[[:space:]]*#/ && $3 == "swap" { print "# " $0 "    # disabled by labkube: kubelet needs swap off"; next } { print }' \
        "$fstab" >"$work/fstab"
    if ! cmp -s "$work/fstab" "$fstab"; then
        [ -e "$fstab.pre-labkube" ] || cp -p "$fstab" "$fstab.pre-labkube"
        put_file "$work/fstab" "$fstab" 0644
        echo "swap: entries in /etc/fstab commented out (original kept as /etc/fstab.pre-labkube)"
    fi
}

load_modules() {
    cat >"$work/modules" <<'CONF'
# Managed by labkube: kernel modules containerd and Kubernetes networking need.
overlay
br_netfilter
CONF
    if put_file "$work/modules" "$R/etc/modules-load.d/k8s.conf" 0644; then
        echo "modules: /etc/modules-load.d/k8s.conf written"
    fi
    for module in overlay br_netfilter; do
        if [ ! -d "$R/sys/module/$module" ]; then
            modprobe "$module"
            echo "modules: $module loaded"
        fi
    done
}

apply_sysctls() {
    {
        echo "# Managed by labkube: kernel settings Kubernetes networking needs (kubeadm preflight, flannel)."
        echo "net.bridge.bridge-nf-call-iptables = 1"
        echo "net.bridge.bridge-nf-call-ip6tables = 1"
        echo "net.ipv4.ip_forward = 1"
        if [ -n "$(ipv6_network "$POD_CIDR")" ]; then
            echo "net.ipv6.conf.all.forwarding = 1"
        fi
    } >"$work/sysctl"
    apply=no
    if put_file "$work/sysctl" "$R/etc/sysctl.d/k8s.conf" 0644; then
        echo "sysctl: /etc/sysctl.d/k8s.conf written"
        apply=yes
    fi
    for key in $SYSCTLS; do
        [ "$(cat "$R/proc/sys/$key" 2>/dev/null || true)" = 1 ] || apply=yes
    done
    if [ "$apply" = yes ]; then
        sysctl --system >/dev/null
        echo "sysctl: applied (sysctl --system)"
    fi
    for key in $SYSCTLS; do
        value=$(cat "$R/proc/sys/$key" 2>/dev/null || echo missing)
        [ "$value" = 1 ] ||
            fail "$key is $value after sysctl --system: a later file in /etc/sysctl.d or /etc/sysctl.conf overrides /etc/sysctl.d/k8s.conf"
    done
}

open_firewall() {
    ufw_status=$(ufw status 2>/dev/null || true)
    case "$ufw_status" in
        "Status: active"*)
            for port in $PORTS; do
                rule=$(printf '%s' "$port" | tr '-' ':') # ufw writes ranges as 2379:2380/tcp
                if ! printf '%s\n' "$ufw_status" |
                    awk -v r="$rule" '$1 == r && $2 == "ALLOW" { found = 1 } END { exit !found }'; then
                    ufw allow "$rule" comment 'labkube: Kubernetes' >/dev/null
                    echo "firewall: ufw allows $rule"
                fi
            done
            ;;
    esac
    if [ "$(firewall-cmd --state 2>/dev/null || true)" = running ]; then
        for port in $PORTS; do
            if ! firewall-cmd --query-port="$port" >/dev/null 2>&1; then
                firewall-cmd --add-port="$port" >/dev/null
                echo "firewall: firewalld allows $port now"
            fi
            if ! firewall-cmd --permanent --query-port="$port" >/dev/null 2>&1; then
                firewall-cmd --permanent --add-port="$port" >/dev/null
                echo "firewall: firewalld allows $port at boot"
            fi
        done
        for net in $(printf '%s,%s' "$POD_CIDR" "$SERVICE_CIDR" | tr ',' ' '); do
            if ! firewall-cmd --zone=trusted --query-source="$net" >/dev/null 2>&1; then
                firewall-cmd --zone=trusted --add-source="$net" >/dev/null
                echo "firewall: firewalld trusts $net now"
            fi
            if ! firewall-cmd --permanent --zone=trusted --query-source="$net" >/dev/null 2>&1; then
                firewall-cmd --permanent --zone=trusted --add-source="$net" >/dev/null
                echo "firewall: firewalld trusts $net at boot"
            fi
        done
    fi
}

selinux_permissive() {
    mode=$(getenforce 2>/dev/null || echo Disabled)
    if [ "$mode" = Enforcing ]; then
        setenforce 0
        echo "selinux: permissive now"
    fi
    config="$R/etc/selinux/config"
    if [ -f "$config" ] && grep -q '^SELINUX=enforcing' "$config"; then
        sed 's/^SELINUX=enforcing/SELINUX=permissive/' "$config" >"$work/selinux"
        put_file "$work/selinux" "$config" 0644
        echo "selinux: permissive at boot (/etc/selinux/config)"
    fi
}

main() {
    case "${ROLE:-}" in
        control-plane) PORTS="6443/tcp 2379-2380/tcp 10257/tcp 10259/tcp" ;;
        worker) PORTS="" ;;
        *) fail "ROLE must be control-plane or worker" ;;
    esac
    PORTS="$PORTS 10250/tcp 10256/tcp 30000-32767/tcp 30000-32767/udp 8472/udp"
    networks POD_CIDR "${POD_CIDR:-}"
    networks SERVICE_CIDR "${SERVICE_CIDR:-}"
    case "${API_NAME:-}" in
        "" | *[!a-z0-9.-]* | .* | *. | *..*) fail "API_NAME must be a DNS name such as api.labkube.internal" ;;
    esac
    case "${API_ADDRESS:-}" in
        "" | *[!0-9A-Fa-f.:]*) fail "API_ADDRESS must be an IPv4 or IPv6 address" ;;
    esac
    SYSCTLS="net/bridge/bridge-nf-call-iptables net/bridge/bridge-nf-call-ip6tables net/ipv4/ip_forward"
    if [ -n "$(ipv6_network "$POD_CIDR")" ]; then
        SYSCTLS="$SYSCTLS net/ipv6/conf/all/forwarding"
    fi
    work=$(mktemp -d)
    remove_on_exit "$work"

    # First: a line of someone else's for the name stops the step before anything changed.
    map_api_name "$API_NAME" "$API_ADDRESS"
    disable_swap
    load_modules
    apply_sysctls
    open_firewall
    selinux_permissive
    echo "prepare_host: done"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
