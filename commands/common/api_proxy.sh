#!/bin/sh
# api_proxy: on a worker of a cluster with several control planes, a local TCP proxy to every
# control plane's API server, so the worker's kubelet and kube-proxy keep reaching the API
# when a control plane is lost -- without a virtual IP, which lab VMs on OpenStack usually
# cannot carry (Kubespray's "localhost load balancer" on non-control-plane nodes).
#   - haproxy from the distribution's packages (apt on Debian and Ubuntu, dnf on the RHEL
#     family, told apart by /etc/os-release), when missing (noted for reset);
#   - /etc/labkube/api-proxy.cfg: listens on 127.0.0.1:6443 only, TCP, round robin over
#     API_SERVERS port 6443, each health-checked with GET /healthz over TLS (the check of
#     kubeadm's "Options for Software Load Balancing", kubernetes/kubeadm docs/ha-considerations.md);
#     the file is checked with haproxy -c before it replaces the running one;
#   - its own unit, labkube-api-proxy.service (haproxy -Ws, master-worker mode for systemd),
#     so a haproxy the host already runs, and its /etc/haproxy, stay untouched;
#   - started, enabled at boot, reloaded when the list of control planes changed;
#   - then the cluster's API endpoint name leads to 127.0.0.1 on this host (prepare_host
#     already did so on a new worker; a worker of a cluster that had one control plane is
#     moved behind the proxy here, once it runs).
#
# Privileges:  root.
# Env:         API_SERVERS  the control planes' addresses, comma-separated (required)
#              API_NAME     the cluster's API endpoint name (required)
#              ($CONFIG and $MAINPID in the unit file are systemd's, expanded by it; $ID and
#              $ID_LIKE are read from the host's /etc/os-release.)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      one line per change, then "api_proxy: done".
# Exit:        0; the package manager's or systemctl's status; 1 for malformed parameters or
#              a configuration haproxy refuses.
# Idempotency: the package is installed only when missing, the files replaced only when their
#              bytes differ, the service started or reloaded only when needed.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=api_proxy
UNIT=labkube-api-proxy

config() {
    cat <<'HEAD'
# Managed by labkube: a local proxy to the cluster's API servers (api_proxy step).
global
    log /dev/log local0 warning
    maxconn 4000

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 5s
    # API watches stay open for long.
    timeout client 1h
    timeout server 1h

frontend labkube-apiserver
    bind 127.0.0.1:6443
    default_backend labkube-apiservers

backend labkube-apiservers
    balance roundrobin
    option httpchk
    http-check connect ssl
    http-check send meth GET uri /healthz
    http-check expect status 200
    default-server inter 3s fall 3 rise 2
HEAD
    n=0
    for server in $(printf '%s' "$API_SERVERS" | tr ',' ' '); do
        n=$((n + 1))
        case "$server" in
            *:*) printf '    server cp%s [%s]:6443 check verify none\n' "$n" "$server" ;;
            *) printf '    server cp%s %s:6443 check verify none\n' "$n" "$server" ;;
        esac
    done
}

unit() {
    cat <<'UNIT'
# Managed by labkube: a local proxy to the cluster's API servers (api_proxy step).
[Unit]
Description=labkube: local proxy to the cluster's API servers
After=network-online.target
Wants=network-online.target

[Service]
Environment=CONFIG=/etc/labkube/api-proxy.cfg
ExecStartPre=/usr/sbin/haproxy -c -q -f $CONFIG
ExecStart=/usr/sbin/haproxy -Ws -f $CONFIG -p /run/labkube-api-proxy.pid
ExecReload=/usr/sbin/haproxy -c -q -f $CONFIG
ExecReload=/bin/kill -USR2 $MAINPID
KillMode=mixed
Restart=always
RestartSec=2s

[Install]
WantedBy=multi-user.target
UNIT
}

# debian_family: this host's os-release names Debian as its ID or one it is like (Ubuntu);
# the other supported hosts are of the RHEL family.
debian_family() {
    # shellcheck disable=SC1091 # the host's file
    (. "$R/etc/os-release" && case " $ID ${ID_LIKE:-} " in *" debian "*) exit 0 ;; *) exit 1 ;; esac)
}

main() {
    case "${API_SERVERS:-}" in
        "" | *[!0-9A-Fa-f.:,]* | ,* | *, | *,,*) fail "API_SERVERS must be the control planes' addresses, comma-separated" ;;
    esac
    case "${API_NAME:-}" in
        "" | *[!a-z0-9.-]* | .* | *. | *..*) fail "API_NAME must be a DNS name such as api.labkube.internal" ;;
    esac
    work=$(mktemp -d)
    remove_on_exit "$work"

    if debian_family; then
        if ! deb_installed haproxy; then
            export DEBIAN_FRONTEND=noninteractive
            apt_get install haproxy
            note_installed haproxy
            echo "api_proxy: installed haproxy"
        fi
    elif ! rpm_installed haproxy; then
        dnf -y install haproxy
        note_installed haproxy
        echo "api_proxy: installed haproxy"
    fi

    config >"$work/api-proxy.cfg"
    haproxy -c -q -f "$work/api-proxy.cfg" || fail "haproxy refuses the proxy's configuration (see above)"
    changed=no
    if put_file "$work/api-proxy.cfg" "$R/etc/labkube/api-proxy.cfg" 0644; then
        changed=yes
        echo "api_proxy: /etc/labkube/api-proxy.cfg proxies to $API_SERVERS"
    fi
    unit >"$work/unit"
    if put_file "$work/unit" "$R/etc/systemd/system/$UNIT.service" 0644; then
        systemctl daemon-reload
        echo "api_proxy: installed $UNIT.service"
    fi
    if ! systemctl is-enabled --quiet "$UNIT"; then
        systemctl enable "$UNIT"
    fi
    if ! systemctl is-active --quiet "$UNIT"; then
        systemctl start "$UNIT"
        echo "api_proxy: started $UNIT"
    elif [ "$changed" = yes ]; then
        systemctl reload "$UNIT"
        echo "api_proxy: reloaded $UNIT"
    fi
    map_api_name "$API_NAME" 127.0.0.1
    echo "api_proxy: done"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
