# shellcheck shell=sh
# The lab's network as the stand-ins see it (sourced by ip, ping and the resolver of
# lib/standin.sh): which host carries a virtual IP, and whether another host reaches it.
#
# - A host carries a virtual IP while the probe holds it there (ip addr add ... valid_lft N,
#   kept in $LABKUBE_STANDIN_CLUSTER/held/<vip> as "<state dir> <expiry>": the kernel drops
#   the address when its lifetime ends), or while its kube-vip leads: kube-vip runs as a static
#   pod of a control plane whose manifest names the address, whose kubelet runs, whose
#   kubeconfig file (the manifest's hostPath) exists and whose API server is up; of those, the
#   one that led before keeps the lease, else the first takes it (kube-vip's Lease
#   plndr-cp-lock; $LABKUBE_STANDIN_CLUSTER/vip-leader/<vip>).
# - Another host reaches it only when the carrier's port lets it send from that address:
#   OpenStack's port security drops a VM's packets (ARP replies included) from any address
#   not on its port unless allowed_address_pairs lists it
#   (docs.openstack.org/neutron/latest/admin/archives/introduction.html, "Port security";
#   `openstack port set --allowed-address ip-address=VIP PORT`). The lab lists a host's
#   allowed pairs in its $S/port-allowed-addresses, one address per line; none by default, as
#   on OpenStack. The carrier itself always reaches it.

# net_manifest_value FILE KEY: the value of env KEY in a kube-vip manifest (the line after
# "- name: KEY").
net_manifest_value() {
    awk -v k="$2" '
        $0 ~ "name: " k "$" { want = 1; next }
        want && /value:/ { v = $0; sub(/.*value: */, "", v); gsub(/"/, "", v); print v; exit }
        { want = 0 }' "$1" 2>/dev/null
}

# net_kube_vip_root ROOT VIP: the host at ROOT runs a kube-vip that can lead for VIP.
net_kube_vip_root() {
    m=$1/etc/kubernetes/manifests/kube-vip.yaml
    [ -f "$m" ] || return 1
    [ "$(net_manifest_value "$m" address)" = "$2" ] || return 1
    [ -f "$1/.standin/systemd/kubelet.active" ] || return 1
    conf=$(awk '/hostPath:/ { h = 1; next } h && /path:/ { print $2; exit }' "$m")
    [ -n "$conf" ] && [ -f "$1$conf" ] || return 1
    ip=$(cat "$1/.standin/node-ip" 2>/dev/null) || return 1
    api_live "$ip:6443"
}

# net_kube_vip_leader VIP: the state directory of the control plane whose kube-vip leads for
# VIP, if one can.
net_kube_vip_leader() {
    c=$LABKUBE_STANDIN_CLUSTER
    [ -d "$c/nodes" ] || return 0
    if [ -f "$c/vip-leader/$1" ]; then
        root=$(cat "$c/vip-leader/$1")
        if net_kube_vip_root "$root" "$1"; then
            echo "$root/.standin"
            return 0
        fi
    fi
    for node in "$c"/nodes/*; do
        [ -f "$node" ] || continue
        root=$(sed -n 's/^root=//p' "$node" | tail -n 1)
        if [ -n "$root" ] && net_kube_vip_root "$root" "$1"; then
            mkdir -p "$c/vip-leader"
            echo "$root" >"$c/vip-leader/$1"
            echo "$root/.standin"
            return 0
        fi
    done
}

# net_holder VIP: the state directory of the host that carries VIP now; empty when none.
net_holder() {
    [ -n "${LABKUBE_STANDIN_CLUSTER:-}" ] || return 0
    held=$LABKUBE_STANDIN_CLUSTER/held/$1
    if [ -f "$held" ]; then
        read -r dir until <"$held" || true
        if [ "${until:-0}" -gt "$(cluster_now)" ] && grep -q "^$1 " "$dir/held-addrs" 2>/dev/null; then
            echo "$dir"
            return 0
        fi
    fi
    net_kube_vip_leader "$1"
}

# net_reaches VIP: this host ($S) reaches VIP (someone carries it and may send from it).
net_reaches() {
    holder=$(net_holder "$1")
    [ -n "$holder" ] || return 1
    [ "$holder" = "$S" ] && return 0
    grep -qxF "$1" "$holder/port-allowed-addresses" 2>/dev/null
}

# net_address_of DIR: the address of the host whose state directory is DIR.
net_address_of() {
    cat "$1/node-ip" 2>/dev/null
}

# net_was_vip ADDR: ADDR has been a virtual IP in this lab (held by the probe or named by a
# kube-vip that led), so a connection to it needs its carrier.
net_was_vip() {
    [ -n "${LABKUBE_STANDIN_CLUSTER:-}" ] || return 1
    [ -f "$LABKUBE_STANDIN_CLUSTER/held/$1" ] || [ -f "$LABKUBE_STANDIN_CLUSTER/vip-leader/$1" ]
}
