#!/bin/sh
# finish_upgrade: on the first control plane, once NODE's kubelet was upgraded and restarted,
# wait until the node is Ready and reports a kubelet of $K8S_MINOR (k0sctl waits for node
# Ready the same way), then uncordon it and take labkube.io/upgrade-to off. A node that does
# not get there in time stays cordoned and marked, so nothing is scheduled on a node that
# may not run it, and the failure says so.
#
# Privileges:  root (reads /etc/kubernetes/admin.conf).
# Env:         NODE          the node's name (required)
#              K8S_MINOR     the minor it moved to, e.g. 1.36 (required)
#              WAIT_SECONDS  how long it may take to be Ready (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      one line per change, then "finish_upgrade: NODE Ready on VERSION".
# Exit:        0; 1 if the node is not Ready on K8S_MINOR in time (it stays cordoned and
#              marked) or parameters are bad.
# Idempotency: uncordoning an uncordoned node and removing an absent label change nothing.
set -eu
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=finish_upgrade

main() {
    node_param
    minor_param
    case "${WAIT_SECONDS:-}" in
        "" | *[!0-9]*) fail "WAIT_SECONDS must be a number of seconds" ;;
    esac
    admin=$(admin_conf)
    deadline=$(($(date +%s) + WAIT_SECONDS))
    while :; do
        # NAME STATUS ROLES AGE VERSION
        line=$(kubectl --kubeconfig "$admin" --request-timeout=20s get node "$NODE" --no-headers 2>&1) || true
        status=$(printf '%s\n' "$line" | awk 'NR == 1 { print $2 }')
        version=$(printf '%s\n' "$line" | awk 'NR == 1 { print $5 }')
        case ",$status," in
            *,Ready,*)
                case "$version" in "v$K8S_MINOR".*) break ;; esac
                ;;
        esac
        if [ "$(date +%s)" -ge "$deadline" ]; then
            fail "$NODE is not Ready on Kubernetes $K8S_MINOR after $WAIT_SECONDS s (status ${status:-unknown}, kubelet ${version:-unknown}: $(printf '%s' "$line" | head -n 1)); it stays cordoned and marked $(upgrade_label)=$K8S_MINOR. Look at the kubelet on it (journalctl -u kubelet), then run the same /cluster upgrade again to go on"
        fi
        sleep 2
    done
    kubectl --kubeconfig "$admin" --request-timeout=20s uncordon "$NODE"
    kubectl --kubeconfig "$admin" --request-timeout=20s label node "$NODE" "$(upgrade_label)-"
    echo "finish_upgrade: $NODE Ready on $version"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
