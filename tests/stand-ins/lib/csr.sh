# shellcheck shell=sh
# CertificateSigningRequests for the kubectl stand-in (sourced after lib/standin.sh and
# lib/kubelet.sh, with C set; never run). The requests are those lib/kubelet.sh makes (or a
# test forges) under $C/csr/<name>/. What kubectl prints is kubectl's own
# (staging/src/k8s.io/kubectl/pkg/cmd/certificates/certificates.go: "<resource>/<name>
# approved"; a missing request is the API server's NotFound). Approving a kubelet-serving
# request stands in for kube-controller-manager's signer and the kubelet that loads the
# certificate: $C/serving/<node> then holds the SANs the request asked for.

CSR_RESOURCE=certificatesigningrequests.certificates.k8s.io

csr_not_found() { # NAME
    echo "Error from server (NotFound): $CSR_RESOURCE \"$1\" not found" >&2
    exit 1
}

# kubectl get csr [NAME] -o OUTPUT
csr_get() { # NAME OUTPUT
    if [ -n "$1" ]; then
        [ -d "$C/csr/$1" ] || csr_not_found "$1"
        [ "$2" = 'jsonpath={.spec.request}' ] || standin_die "unsupported output for a CSR: $2"
        base64 -w0 "$C/csr/$1/request.pem"
        return 0
    fi
    # shellcheck disable=SC2016 # a jsonpath, not a shell expansion
    [ "$2" = 'jsonpath={range .items[*]}{.metadata.name}{" "}{.spec.signerName}{" "}{.spec.username}{" "}{.status.conditions[*].type}{"\n"}{end}' ] ||
        standin_die "unsupported output for CSRs: $2"
    for dir in "$C"/csr/*; do
        [ -d "$dir" ] || continue
        conditions=""
        [ ! -f "$dir/approved" ] || conditions=Approved
        printf '%s %s %s %s\n' "${dir##*/}" "$(cat "$dir/signer")" "$(cat "$dir/username")" "$conditions"
    done
}

# kubectl certificate approve NAME
csr_approve() { # NAME
    [ -n "$1" ] || standin_die "kubectl certificate approve needs a name"
    [ -d "$C/csr/$1" ] || csr_not_found "$1"
    : >"$C/csr/$1/approved"
    user=$(cat "$C/csr/$1/username")
    if [ "$(cat "$C/csr/$1/signer")" = kubernetes.io/kubelet-serving ] &&
        [ -f "$C/nodes/${user#system:node:}" ]; then
        mkdir -p "$C/serving"
        real_openssl req -in "$C/csr/$1/request.pem" -noout -text |
            awk '/X509v3 Subject Alternative Name:/ { getline; sub(/^[ \t]+/, ""); print }' \
                >"$C/serving/${user#system:node:}"
    fi
    echo "$CSR_RESOURCE/$1 approved"
}
