#!/bin/sh
# Sourced by the kubeadm stand-in: its preflight checks and messages (in kubeadm's words,
# cmd/kubeadm/app/preflight/checks.go) and `kubeadm config images list`. Uses the variables
# kubeadm sets before it calls these (ERRORS, WARNINGS, VERSION, MINOR, PAUSE, CRI_DEFAULT).
# shellcheck shell=sh disable=SC2034

flag_value() { # --name=value -> value
    printf '%s' "${1#*=}"
}

ERRORS=""
WARNINGS=""
IGNORED=""
error() { ERRORS="$ERRORS	[ERROR $1]: $2
"; }
warning() { WARNINGS="$WARNINGS	[WARNING $1]: $2
"; }

ignored() { # CHECK: listed in --ignore-preflight-errors?
    lower=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')
    for item in $(printf '%s' "$IGNORED" | tr ',' ' ' | tr '[:upper:]' '[:lower:]'); do
        [ "$item" = all ] || [ "$item" = "$lower" ] && return 0
    done
    return 1
}

check() { # CHECK MESSAGE: an error unless ignored
    if ignored "$1"; then warning "$1" "$2"; else error "$1" "$2"; fi
}

common_preflight() { # CRI
    [ "$1" = "$CRI_DEFAULT" ] || check CRI "container runtime is not running: output: the stand-in only models $CRI_DEFAULT"
    if ! svc_is containerd active || [ -z "$(containerd_version)" ]; then
        check CRI "container runtime is not running: output: time=\"2025-06-01T10:00:00Z\" level=fatal msg=\"validate service connection: validate CRI v1 runtime API for endpoint \\\"$CRI_DEFAULT\\\": rpc error: code = Unavailable desc = connection error: desc = \\\"transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: no such file or directory\\\"\", error: exit status 1"
    fi
    if grep -qs '^disabled_plugins.*"cri"' "$S/containerd-loaded.toml"; then
        check CRI "container runtime is not running: output: time=\"2025-06-01T10:00:00Z\" level=fatal msg=\"validate service connection: validate CRI v1 runtime API for endpoint \\\"$CRI_DEFAULT\\\": rpc error: code = Unimplemented desc = unknown service runtime.v1.RuntimeService\", error: exit status 1"
    fi
    [ "$(cat "$R/proc/sys/net/ipv4/ip_forward" 2>/dev/null)" = 1 ] ||
        check FileContent--proc-sys-net-ipv4-ip_forward "/proc/sys/net/ipv4/ip_forward contents are not set to 1"
    if [ -n "$(awk 'NR > 1' "$R/proc/swaps" 2>/dev/null)" ]; then
        warning Swap "swap is supported for cgroup v2 only. The kubelet must be properly configured to use swap. Please refer to https://kubernetes.io/docs/concepts/architecture/nodes/#swap-memory, or disable swap on the node"
    fi
    svc_is kubelet enabled || warning Service-Kubelet "kubelet service is not enabled, please run 'systemctl enable kubelet.service'"
    loaded=$(sed -n "s/^[[:space:]]*sandbox\(_image\)\{0,1\}[[:space:]]*=[[:space:]]*[\"']\([^\"']*\)[\"'].*/\2/p" "$S/containerd-loaded.toml" 2>/dev/null | head -n 1)
    if [ -n "$loaded" ] && [ "$loaded" != "$PAUSE" ]; then
        SANDBOX_WARNING="W0601 10:00:00.000000    2301 checks.go:843] detected that the sandbox image \"$loaded\" of the container runtime is inconsistent with that used by kubeadm.It is recommended to use \"$PAUSE\" as the CRI sandbox image."
    fi
}

SANDBOX_WARNING=""

cmd_config() { # images list --kubernetes-version VERSION
    [ "${1:-} ${2:-}" = "images list" ] || standin_die "unsupported invocation: kubeadm config $*"
    shift 2
    args="$*"
    case "$args" in
        "--kubernetes-version v"[0-9]* | "--kubernetes-version=v"[0-9]*) kversion=v${args#*v} ;;
        *) standin_die "unsupported invocation: kubeadm config images list $* (only a version, no network lookup, is modelled)" ;;
    esac
    for component in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
        echo "registry.k8s.io/$component:$kversion"
    done
    echo "registry.k8s.io/coredns/coredns:v1.13.1"
    echo "$PAUSE"
    echo "registry.k8s.io/etcd:3.6.6-0"
}

# port_busy PORT: declared busy by the test, or opened by what an earlier (or still running)
# kubeadm started: the control plane's static pods once the kubelet runs their manifests, the
# kubelet itself once it has its config. So a second init or join while the first one runs
# fails on these ports, as the real one does (PortOpenCheck in kubeadm's
# cmd/kubeadm/app/preflight/checks.go binds the port).
port_busy() {
    grep -qx "$1" "$S/listening" 2>/dev/null && return 0
    svc_is kubelet active || return 1
    case "$1" in
        6443) pod=kube-apiserver ;;
        2379 | 2380) pod=etcd ;;
        10257) pod=kube-controller-manager ;;
        10259) pod=kube-scheduler ;;
        10250) [ -f "$R/var/lib/kubelet/config.yaml" ] && return 0 || return 1 ;;
        *) return 1 ;;
    esac
    [ -f "$R/etc/kubernetes/manifests/$pod.yaml" ]
}

# slow_phase NAME: the time a phase that waits for the kubelet or the API server takes on a
# real host (minutes for init's wait-control-plane): $S/<NAME>-seconds, set by the test
# (absent: none).
slow_phase() {
    secs=$(cat "$S/$1-seconds" 2>/dev/null || echo 0)
    [ "$secs" -eq 0 ] || sleep "$secs"
}

finish_preflight() {
    echo "[preflight] Running pre-flight checks"
    [ -z "$SANDBOX_WARNING" ] || echo "$SANDBOX_WARNING" >&2
    [ -z "$WARNINGS" ] || printf '%s' "$WARNINGS" >&2
    if [ -n "$ERRORS" ]; then
        {
            echo "error execution phase preflight: [preflight] Some fatal errors occurred:"
            printf '%s' "$ERRORS"
            echo "[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\`"
            echo "$STACK"
        } >&2
        exit 1
    fi
}
