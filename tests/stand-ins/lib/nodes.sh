# shellcheck shell=sh
# The cluster's Node objects as the stand-ins see them (sourced by kubectl and kubeadm after
# lib/standin.sh and lib/kubelet.sh, with C set; never run). $LABKUBE_STANDIN_CLUSTER/nodes/<name> holds
# key=value lines, the last line of a key winning: role, ip, root (the node's LABKUBE_ROOT),
# os, kernel, runtime, version (the kubelet's version as it reports it: kubeadm join/init
# register it, a kubelet that (re)starts reports its own package's, lib/kubelet.sh), ready=no
# (its kubelet was reset), taint=no, cordoned=yes|no (spec.unschedulable, lib/drain.sh), and the
# node's labels set with kubectl label: `label.<key>=<value>` sets one, `unlabel.<key>` removes
# it.

node_field() { # FILE KEY
    sed -n "s/^$2=//p" "$1" | tail -n 1
}

# node_label FILE KEY: the label's value; status 1 when the node does not have it.
node_label() {
    awk -v k="$2" '
        index($0, "label." k "=") == 1 { v = substr($0, length("label." k "=") + 1); set = 1 }
        $0 == "unlabel." k { v = ""; set = 0 }
        END { if (set) print v; exit !set }' "$1"
}

flannel_manifest() {
    grep -l '^  name: kube-flannel-ds$' "$C"/applied/* 2>/dev/null | head -n 1
}

# flannel_finds_ipv6 ROOT IP: whether flannel with EnableIPv6 starts on that node: it takes the
# interface its --iface-can-reach route uses (the one holding IP) and needs a global IPv6
# address there, else it exits "failed to find IPv6 address for interface <dev>"
# (flannel-io/flannel v0.27 pkg/ipmatch/match.go, LookupExtIface), and the node stays NotReady.
flannel_finds_ipv6() {
    [ -f "$1/.standin/addrs" ] || return 1
    dev=$(awk -v ip="$2" '{ split($2, a, "/"); if (a[1] == ip) { print $1; exit } }' "$1/.standin/addrs")
    [ -n "$dev" ] || return 1
    awk -v d="$dev" '$1 == d && $2 ~ /:/ { found = 1 } END { exit !found }' "$1/.standin/addrs"
}

# node_ready FILE: the node's Ready condition is True: a pod network runs (flannel applied, and
# able to start there) and its kubelet runs, was not reset, and has been up for the test's
# kubelet-ready-seconds.
node_ready() {
    flannel=$(flannel_manifest)
    [ -n "$flannel" ] || return 1
    kubelet_settle "$(node_field "$1" root)"
    [ -f "$(node_field "$1" root)/.standin/systemd/kubelet.active" ] || return 1
    ready_at=$(cat "$(node_field "$1" root)/.standin/kubelet-ready-at" 2>/dev/null || echo 0)
    [ "$(/bin/date +%s)" -ge "$ready_at" ] || return 1
    [ "$(node_field "$1" ready)" != no ] || return 1
    if grep -q '"EnableIPv6": true' "$flannel" &&
        ! flannel_finds_ipv6 "$(node_field "$1" root)" "$(node_field "$1" ip)"; then
        return 1
    fi
}

# node_status FILE: the STATUS column of kubectl get nodes: Ready or NotReady, then
# SchedulingDisabled for a cordoned node (kubectl's printNode, pkg/printers/internalversion).
node_status() {
    if node_ready "$1"; then status=Ready; else status=NotReady; fi
    [ "$(node_field "$1" cordoned)" != yes ] || status="$status,SchedulingDisabled"
    echo "$status"
}

# control_planes: the node files of the cluster's control planes, one per line.
control_planes() {
    for node in "$C"/nodes/*; do
        [ -f "$node" ] || continue
        [ "$(node_field "$node" role)" = control-plane ] && echo "$node"
    done
    return 0
}

# manifest_tag FILE: the image tag of a static pod manifest (v1.35.5), empty without one.
manifest_tag() {
    sed -n 's|^[[:space:]]*image:[[:space:]]*[^[:space:]]*:\([^:[:space:]]*\)[[:space:]]*$|\1|p' "$1" 2>/dev/null | head -n 1
}

# tabulate MINWIDTH: tab-separated rows as Go's text/tabwriter lays them out with padding 3
# and MINWIDTH (kubectl's printers use 6, kubeadm's upgrade plan 10): every column but the
# last as wide as its widest cell plus 3, at least MINWIDTH.
tabulate() {
    awk -F '\t' -v min="$1" '
        { rows[NR] = $0; if (NF > cols) cols = NF
          for (i = 1; i < NF; i++) if (length($i) + 3 > w[i]) w[i] = length($i) + 3 }
        END {
            for (r = 1; r <= NR; r++) {
                n = split(rows[r], cell, "\t"); line = ""
                for (i = 1; i < n; i++) {
                    width = w[i] < min ? min : w[i]
                    line = line sprintf("%-" width "s", cell[i])
                }
                print line cell[n]
            }
        }'
}
