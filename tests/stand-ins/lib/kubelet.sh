# shellcheck shell=sh
# The kubelet side of the stand-ins (sourced by kubeadm after lib/standin.sh, never run): the
# kubeadm patches of target "kubeletconfiguration" that init and join apply to the kubelet's
# config (kubeadm's app/util/patches: files "target[suffix][+patchtype].extension" in the
# --patches directory; other targets are another phase's, unknown ones are ignored with a
# line, a missing directory fails the phase), and, when that config has
# serverTLSBootstrap: true, the kubelet's request for a serving certificate: a pending
# kubernetes.io/kubelet-serving CSR by system:node:<name>, subject O=system:nodes,
# CN=system:node:<name>, SANs DNS:<name> and IP:<node-ip> (the node's Hostname and
# InternalIP addresses), made with the real openssl so the step reads a real request.
# CSRs live under $LABKUBE_STANDIN_CLUSTER/csr/<name>/ (signer, username, request.pem,
# approved when approved); a kubelet serving a CA-signed certificate has
# $LABKUBE_STANDIN_CLUSTER/serving/<node> (its SANs, as openssl prints them). Also the kubelet
# unit's life: (re)started by systemctl it reports its package's version, or crash-loops while
# the test's $S/kubelet-crashloop exists (kubelet_started, kubelet_settle).

# The openssl of this machine (the stand-in openssl shadows it on PATH).
real_openssl() {
    for candidate in /usr/bin/openssl /bin/openssl /usr/local/bin/openssl; do
        if [ -x "$candidate" ]; then
            "$candidate" "$@"
            return
        fi
    done
    standin_die "the stand-ins need this machine's openssl to make certificate requests"
}

# kubelet_apply_patches DIR PHASE: apply DIR's kubeletconfiguration patches to
# /var/lib/kubelet/config.yaml (DIR as given to --patches; empty: no patches).
kubelet_apply_patches() {
    [ -n "$1" ] || return 0
    if [ ! -d "$R$1" ]; then
        echo "error execution phase $2: could not list patch files for path \"$1\": lstat $1: no such file or directory" >&2
        echo "$STACK" >&2
        exit 1
    fi
    for f in "$R$1"/*; do
        [ -f "$f" ] || continue
        base=${f##*/}
        case "$base" in
            *.yaml | *.json) ;;
            *)
                echo "[patches] Ignoring file \"$base\": the file extension must be one of [json yaml]"
                continue
                ;;
        esac
        case "$base" in
            kubeletconfiguration*+merge.*) type=application/merge-patch+json ;;
            kubeletconfiguration*+json.*) standin_die "JSON patches of the kubelet config are not modelled" ;;
            kubeletconfiguration*+strategic.*) type=application/strategic-merge-patch+json ;;
            kubeletconfiguration*+*)
                echo "error execution phase $2: unknown or missing patch type after '+', must be one of [json merge strategic]" >&2
                exit 1
                ;;
            kubeletconfiguration*) type=application/strategic-merge-patch+json ;;
            kube-apiserver* | kube-controller-manager* | kube-scheduler* | etcd* | corednsdeployment*) continue ;;
            *)
                echo "[patches] Ignoring file \"$base\": unknown target, must be one of [etcd kube-apiserver kube-controller-manager kube-scheduler kubeletconfiguration corednsdeployment]"
                continue
                ;;
        esac
        grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$f" >>"$R/var/lib/kubelet/config.yaml"
        echo "[patches] Applied patch of type \"$type\" to target \"kubeletconfiguration\""
    done
}

# kubelet_started: systemd (re)started the kubelet unit (systemctl start/restart, enable --now).
# With $S/kubelet-ready-seconds the node is NotReady for that long after the start.
# It stays up unless the test made it crash-loop ($S/kubelet-crashloop, as a kubelet that cannot
# run its new version's config): it then exits at once and systemd, as the packaged
# kubelet.service says (Restart=always, RestartSec=10), keeps starting it again, the unit
# "activating (auto-restart)" ($S/systemd/kubelet.auto-restart), never active, the node NotReady.
kubelet_started() {
    if [ -f "$S/kubelet-crashloop" ]; then
        svc_set kubelet active no
        : >"$S/systemd/kubelet.auto-restart"
        return 0
    fi
    svc_set kubelet active yes
    # A real kubelet takes a while to report Ready again (runtime and network checks): the
    # test's $S/kubelet-ready-seconds (absent: none).
    rm -f "$S/kubelet-ready-at"
    if [ -f "$S/kubelet-ready-seconds" ]; then
        echo "$(($(/bin/date +%s) + $(cat "$S/kubelet-ready-seconds")))" >"$S/kubelet-ready-at"
    fi
    kubelet_restarted
}

# kubelet_settle ROOT: a crash-looping kubelet on the host whose root is ROOT comes up by itself
# once the cause is gone (the knob removed): systemd's next automatic restart finds it mended.
# Whoever looks at that kubelet (systemctl is-active, kubectl get nodes, kubeadm's health checks)
# settles it first.
kubelet_settle() {
    [ -f "$1/.standin/systemd/kubelet.auto-restart" ] && [ ! -f "$1/.standin/kubelet-crashloop" ] || return 0
    rm -f "$1/.standin/systemd/kubelet.auto-restart"
    : >"$1/.standin/systemd/kubelet.active"
    kubelet_restarted "$1"
}

# kubelet_restarted [ROOT]: the kubelet of the host whose root is ROOT (this one by default) came
# up. On a node of the cluster it reports its own version in the Node's status
# (status.nodeInfo.kubeletVersion: the kubelet package's, not kubeadm's), and serves the
# certificate its config says: with serverTLSBootstrap: true one from the CA, asking for it
# when it has none yet (the kubelet keeps that one apart from its self-signed kubelet.crt, in
# pki/kubelet-server-current.pem); without it, its self-signed one again (kubeadm upgrade
# rewrites config.yaml from the cluster's kubelet-config ConfigMap, without the node's patches
# unless --patches names them).
kubelet_restarted() {
    [ -n "${LABKUBE_STANDIN_CLUSTER:-}" ] || return 0
    standin_cluster
    kl_root=${1:-$R}
    kl_node=$(cat "$kl_root/proc/sys/kernel/hostname" 2>/dev/null || echo localhost)
    [ -f "$C/nodes/$kl_node" ] || return 0
    if [ -f "$kl_root/etc/kubernetes/kubelet.conf" ] && [ -f "$kl_root/.standin/pkgs/kubelet" ]; then
        kl_version=v$(sed 's/-.*//' "$kl_root/.standin/pkgs/kubelet")
        [ "$(sed -n 's/^version=//p' "$C/nodes/$kl_node" | tail -n 1)" = "$kl_version" ] ||
            echo "version=$kl_version" >>"$C/nodes/$kl_node"
    fi
    if ! grep -qx 'serverTLSBootstrap: true' "$kl_root/var/lib/kubelet/config.yaml" 2>/dev/null; then
        rm -f "$C/serving/$kl_node"
        return 0
    fi
    [ ! -f "$C/serving/$kl_node" ] || return 0
    kubelet_request_serving_cert "$kl_node" "$(sed -n 's/^ip=//p' "$C/nodes/$kl_node" | tail -n 1)" "$kl_root"
}

# kubelet_request_serving_cert NODE IP [ROOT]: the started kubelet (of this host by default)
# asks for its serving certificate when its config says serverTLSBootstrap: true.
kubelet_request_serving_cert() {
    grep -qx 'serverTLSBootstrap: true' "${3:-$R}/var/lib/kubelet/config.yaml" 2>/dev/null || return 0
    standin_cluster
    csr=$C/csr/csr-$(random_hex 3)
    mkdir -p "$csr"
    echo kubernetes.io/kubelet-serving >"$csr/signer"
    echo "system:node:$1" >"$csr/username"
    real_openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
        -subj "/O=system:nodes/CN=system:node:$1" -addext "subjectAltName=DNS:$1,IP:$2" \
        -out "$csr/request.pem" 2>/dev/null
}
