#!/bin/sh
# approve_csrs: give every kubelet of this cluster a serving certificate signed by the cluster
#   CA, so metrics-server (and kubectl logs/exec) can verify the kubelets it talks to without
#   --kubelet-insecure-tls. With serverTLSBootstrap (kubeadm_init, kubeadm_join) each kubelet
#   asks for its certificate with a kubernetes.io/kubelet-serving CSR, which nothing in
#   Kubernetes approves (the Kubernetes docs, "Kubelet serving certificates": the signer does
#   not check that the names asked for belong to the node). This step approves a pending one
#   only when
#     - it was requested by system:node:<name> for a node <name> of NODES, with that same
#       common name, and
#     - its subjectAltNames (read with openssl from the request itself) are only that node's
#       name (DNS) and address (IP) as NODES gives them:
#   a VM's owner could otherwise have a certificate for another node's name or address signed
#   by the cluster CA. Requests that fail are not approved (nor denied) and are reported. The
#   step ends when every node's kubelet serves a certificate that verifies against
#   /etc/kubernetes/pki/ca.crt for its address (openssl s_client to <address>:10250).
#
# Privileges:  root (reads /etc/kubernetes/admin.conf and the cluster CA).
# Env:         NODES          the nodes of this cluster, "<name>=<address>" separated by spaces
#                             (required; <name> is the node name, the host name in lower case)
#              CSR_WAIT_SECS  how long to wait for the kubelets' requests and certificates
#                             (optional, default 300; kubelets ask soon after they start)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      one line per node already served, per request approved and per request not
#              approved (with why).
# Exit:        0 when every node serves a CA-signed certificate; kubectl's status if it cannot
#              reach the API server; 1 for malformed parameters, no openssl, a host that is not
#              the control plane, or nodes still without a certificate after CSR_WAIT_SECS
#              (named, with the requests that were not approved).
# Idempotency: nodes whose kubelet already serves a CA-signed certificate for their address
#              are left alone; a second run approves nothing.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=approve_csrs

SIGNER=kubernetes.io/kubelet-serving
# shellcheck disable=SC2016 # a jsonpath, not a shell expansion
LIST='jsonpath={range .items[*]}{.metadata.name}{" "}{.spec.signerName}{" "}{.spec.username}{" "}{.status.conditions[*].type}{"\n"}{end}'

main() {
    set -f # NODES is split into words below, never globbed
    [ -n "${NODES:-}" ] || fail "NODES must list the nodes as <name>=<address>"
    for node in $NODES; do
        name=${node%%=*}
        addr=${node#*=}
        case "$name" in
            "" | *[!a-z0-9.-]* | [.-]* | *[.-]) fail "NODES: '$name' is not a node name" ;;
        esac
        case "$addr" in
            "" | "$node" | *[!0-9A-Fa-f.:]*) fail "NODES: '$node' must be <name>=<IP address>" ;;
        esac
    done
    wait_secs=${CSR_WAIT_SECS:-300}
    case "$wait_secs" in
        "" | *[!0-9]*) fail "CSR_WAIT_SECS must be a number of seconds" ;;
    esac
    openssl version >/dev/null 2>&1 ||
        fail "openssl is not installed on the control plane: it reads the names the kubelets' certificate requests ask for before they are approved. Install the openssl package and run again"
    admin="$R/etc/kubernetes/admin.conf"
    ca="$R/etc/kubernetes/pki/ca.crt"
    { [ -f "$admin" ] && [ -f "$ca" ]; } ||
        fail "no /etc/kubernetes/admin.conf or pki/ca.crt: this is not an initialised control plane (kubeadm_init comes first)"

    work=$(mktemp -d)
    remove_on_exit "$work"
    : >"$work/judged"
    : >"$work/refused"
    deadline=$(($(date +%s) + wait_secs))
    served=already
    while :; do
        waiting=""
        for node in $NODES; do
            if grep -qxF "$node" "$work/served" 2>/dev/null; then continue; fi
            if serves_ca_cert "${node#*=}"; then
                echo "$node" >>"$work/served"
                echo "approve_csrs: ${node%%=*} $served serves a certificate signed by the cluster CA"
            else
                waiting="$waiting ${node%%=*}"
            fi
        done
        [ -n "$waiting" ] || return 0
        served=now
        kubectl --kubeconfig "$admin" get csr -o "$LIST" >"$work/csrs"
        approved=no
        while read -r csr signer user conditions <&3; do
            if [ "$signer" != "$SIGNER" ] || [ -n "${conditions:-}" ]; then continue; fi
            grep -qxF "$csr" "$work/judged" && continue
            echo "$csr" >>"$work/judged"
            if why=$(refusal "$csr" "$user"); then
                echo "approve_csrs: not approving $csr: $why" | tee -a "$work/refused"
            else
                kubectl --kubeconfig "$admin" certificate approve "$csr"
                approved=yes
            fi
        done 3<"$work/csrs"
        if [ "$approved" = no ] && [ "$(date +%s)" -ge "$deadline" ]; then
            refused=$(sed 's/^approve_csrs: //' "$work/refused" | tr '\n' ';')
            fail "after ${wait_secs} s these nodes still serve no certificate signed by the cluster CA:$waiting (with serverTLSBootstrap, which kubeadm_init and kubeadm_join set, a kubelet asks for one soon after it starts; a node set up without it never does). ${refused:+Requests not approved: $refused}"
        fi
        # A kubelet loads its certificate seconds after the approval: look again soon.
        if [ "$approved" = yes ]; then sleep 1; else sleep 5; fi
    done
}

# serves_ca_cert ADDRESS: the kubelet on ADDRESS serves a certificate for ADDRESS that the
# cluster CA signed (what metrics-server checks).
serves_ca_cert() {
    case "$1" in
        *:*) hostport="[$1]:10250" ;;
        *) hostport="$1:10250" ;;
    esac
    timeout 15 openssl s_client -connect "$hostport" -CAfile "$ca" -verify_return_error \
        -verify_ip "$1" -brief </dev/null >/dev/null 2>&1
}

# refusal CSR USER: print why the kubelet-serving request CSR, made by USER, must not be
# approved, and succeed; fail (print nothing) when it may be.
refusal() {
    name=${2#system:node:}
    addr=""
    for node in $NODES; do
        [ "${node%%=*}" = "$name" ] && addr=${node#*=}
    done
    if [ "$2" = "$name" ] || [ -z "$addr" ]; then
        echo "requested by $2, not by a node of this cluster"
        return 0
    fi
    kubectl --kubeconfig "$admin" get csr "$1" -o 'jsonpath={.spec.request}' |
        base64 -d >"$work/request.pem"
    subject=$(openssl req -in "$work/request.pem" -noout -subject -nameopt RFC2253) || {
        echo "its request is not a readable PEM certificate request"
        return 0
    }
    if [ "$subject" != "subject=CN=system:node:$name,O=system:nodes" ]; then
        echo "its subject is '${subject#subject=}', not CN=system:node:$name,O=system:nodes"
        return 0
    fi
    ip_upper=$(printf '%s' "$addr" | tr '[:lower:]' '[:upper:]')
    sans=$(openssl req -in "$work/request.pem" -noout -text |
        awk '/X509v3 Subject Alternative Name:/ {
                 getline; gsub(/^[ \t]+|[ \t]+$/, ""); n = split($0, san, /, /)
                 for (i = 1; i <= n; i++) print san[i] }')
    [ -n "$sans" ] || {
        echo "it names no DNS name or address"
        return 0
    }
    foreign=$(printf '%s\n' "$sans" | grep -vxF -e "DNS:$name" -e "IP Address:$ip_upper" | tr '\n' ' ' || true)
    if [ -n "$foreign" ]; then
        echo "it asks for ${foreign% }, which node $name ($addr) is not"
        return 0
    fi
    return 1
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
