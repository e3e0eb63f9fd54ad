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
# $LABKUBE_STANDIN_CLUSTER/serving/<node> (its SANs, as openssl prints them).

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

# kubelet_restarted: a kubelet (re)started on a node of the cluster asks for a serving
# certificate when its config says so and it has none from the CA yet (the kubelet keeps that
# one apart from its self-signed kubelet.crt, in pki/kubelet-server-current.pem).
kubelet_restarted() {
    [ -n "${LABKUBE_STANDIN_CLUSTER:-}" ] || return 0
    standin_cluster
    node=$(host_name)
    if [ ! -f "$C/nodes/$node" ] || [ -f "$C/serving/$node" ]; then return 0; fi
    kubelet_request_serving_cert "$node" "$(sed -n 's/^ip=//p' "$C/nodes/$node" | tail -n 1)"
}

# kubelet_request_serving_cert NODE IP: the started kubelet asks for its serving certificate
# when its config says serverTLSBootstrap: true.
kubelet_request_serving_cert() {
    grep -qx 'serverTLSBootstrap: true' "$R/var/lib/kubelet/config.yaml" 2>/dev/null || return 0
    standin_cluster
    csr=$C/csr/csr-$(random_hex 3)
    mkdir -p "$csr"
    echo kubernetes.io/kubelet-serving >"$csr/signer"
    echo "system:node:$1" >"$csr/username"
    real_openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
        -subj "/O=system:nodes/CN=system:node:$1" -addext "subjectAltName=DNS:$1,IP:$2" \
        -out "$csr/request.pem" 2>/dev/null
}
