# shellcheck shell=sh disable=SC2154
# Sourced by the kubectl stand-in: taking a node out of the cluster, in kubectl's words
# (staging/src/k8s.io/kubectl/pkg/cmd/drain, .../cmd/delete): `drain NODE` (cordons, then
# evicts; with --dry-run=server nothing changes and the output says "(server dry run)"),
# `uncordon NODE`, `delete node NODE [--ignore-not-found]`, and the etcd static pods' Ready
# status by node (`get pods -n kube-system -l component=etcd,tier=control-plane -o
# jsonpath=...`): a member is Ready while its node is (no "ready=no") and the test has not
# put its name in $LABKUBE_STANDIN_CLUSTER/etcd-down. The stand-in cluster runs no pods of its
# own, so a drain evicts nothing unless the test names the node in
# $LABKUBE_STANDIN_CLUSTER/pdb-blocked: a pod there is protected by a PodDisruptionBudget that
# allows no disruption, so every eviction is refused (HTTP 429) until kubectl's --timeout,
# with the messages kubectl prints (dry run or not); a node cordoned already is "already
# cordoned" (kubectl's cordon helper). Uses the kubectl stand-in's parsed arguments (resource,
# name, dry_run, ignore_not_found, selector, namespace, output) and lib/nodes.sh's node_field.

node_missing() { # NAME
    echo "Error from server (NotFound): nodes \"$1\" not found" >&2
    exit 1
}

cmd_drain() {
    node=$C/nodes/$resource
    [ -f "$node" ] || node_missing "$resource"
    suffix=""
    [ "$dry_run" = server ] && suffix=" (server dry run)"
    if [ "$(node_field "$node" cordoned)" = yes ]; then
        echo "node/$resource already cordoned$suffix"
    else
        [ "$dry_run" = server ] || echo "cordoned=yes" >>"$node"
        echo "node/$resource cordoned$suffix"
    fi
    if grep -qxF "$resource" "$C/pdb-blocked" 2>/dev/null; then
        echo "evicting pod demo/orion-7d9f8b6c5-x2x7q$suffix"
        echo "error when evicting pods/\"orion-7d9f8b6c5-x2x7q\" -n \"demo\" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget." >&2
        echo "There are pending pods in node \"$resource\" when an error occurred: error when evicting pods/\"orion-7d9f8b6c5-x2x7q\" -n \"demo\": global timeout reached: 1m0s" >&2
        echo "error: unable to drain node \"$resource\" due to error: error when evicting pods/\"orion-7d9f8b6c5-x2x7q\" -n \"demo\": global timeout reached: 1m0s, continuing command..." >&2
        exit 1
    fi
    echo "node/$resource drained$suffix"
}

cmd_uncordon() {
    node=$C/nodes/$resource
    [ -f "$node" ] || node_missing "$resource"
    if [ "$(node_field "$node" cordoned)" = yes ]; then
        echo "cordoned=no" >>"$node"
        echo "node/$resource uncordoned"
    else
        echo "node/$resource already uncordoned"
    fi
}

cmd_delete_node() {
    [ "$resource" = node ] || [ "$resource" = nodes ] || standin_die "only kubectl delete node NAME is modelled"
    if [ ! -f "$C/nodes/$name" ]; then
        [ "$ignore_not_found" = yes ] && return 0
        node_missing "$name"
    fi
    rm -f "$C/nodes/$name" "$C/serving/$name"
    echo "node \"$name\" deleted"
}

get_etcd_pods() {
    if [ "$namespace" != kube-system ] || [ "$selector" != component=etcd,tier=control-plane ]; then
        standin_die "only the etcd pods of kube-system are modelled"
    fi
    [ "$output" = 'jsonpath={range .items[*]}{.spec.nodeName}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' ] ||
        standin_die "unsupported output for the etcd pods: $output"
    for member in "$C"/etcd/*; do
        [ -f "$member" ] || continue
        n=${member##*/}
        ready=True
        if [ "$(node_field "$C/nodes/$n" ready 2>/dev/null)" = no ] || grep -qxF "$n" "$C/etcd-down" 2>/dev/null; then
            ready=False
        fi
        echo "$n=$ready"
    done
}
