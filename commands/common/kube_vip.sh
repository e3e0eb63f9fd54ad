#!/bin/sh
# kube_vip: on a control plane of a cluster with a virtual IP (endpoint=), kube-vip as a
# static pod that keeps the address on one working control plane (ARP mode, with leader
# election on the Lease plndr-cp-lock in kube-system), so the workers and the bot reach the
# API by it whichever control plane is lost. The manifest is the one `kube-vip manifest pod
# --controlplane --arp --leaderElection` writes (kube-vip pkg/kubevip/config_generator.go):
# the pinned image ghcr.io/kube-vip/kube-vip:$KUBE_VIP_VERSION, NET_ADMIN and NET_RAW only,
# the host's network, and /etc/kubernetes/admin.conf, through which kube-vip talks to this
# host's own API server at kubernetes:6443 (pkg/manager/manager.go; the host alias maps that
# name to 127.0.0.1).
#   It runs after this host's kubeadm init or join, when admin.conf exists and is bound to
#   cluster-admin: kube-vip's documented first-host workaround (super-admin.conf during init,
#   kube-vip#684) is for clusters whose endpoint is the VIP itself, which a first kubeadm init
#   must reach before any kube-vip runs; here the endpoint is a name that leads to the host's
#   own API server on a control plane, so nothing waits for the address until the workers
#   join. kubeadm reset deletes the manifest with /etc/kubernetes/manifests, and kube-vip
#   gives the address up when it stops (pkg/cluster/cluster.go, cleanupVIPs).
#   Then it waits (at most WAIT_SECONDS) until the address answers from this host: the first
#   control plane's kube-vip takes it; a joining one finds it on the leader.
#
# Privileges:  root.
# Env:         VIP               the virtual IP, an IPv4 or IPv6 address (required)
#              VIP_INTERFACE     the interface of this host's cluster address, where kube-vip
#                                announces the VIP (required)
#              KUBE_VIP_VERSION  kube-vip release tag, e.g. v1.2.3 (required)
#              WAIT_SECONDS      how long the address may take to answer, 10-600 (required)
#              LABKUBE_ROOT (tests only) prefixes every host path; empty in production.
# Output:      one line per change, then "kube_vip: VIP answers".
# Exit:        0; 1 for malformed parameters, a host that is not a control plane, or an
#              address that does not answer in time (with where to look).
# Idempotency: the manifest is replaced only when its bytes differ (the kubelet then restarts
#              the pod); the wait is a read.
set -eu
R="${LABKUBE_ROOT:-}"
# shellcheck disable=SC2034 # read by commands/lib/helpers.sh, sent in front of this script
STEP=kube_vip

manifest() {
    case "$VIP" in *:*) subnet=128 ;; *) subnet=32 ;; esac
    cat <<MANIFEST
# Managed by labkube: kube-vip keeps the cluster's virtual IP on a working control plane.
apiVersion: v1
kind: Pod
metadata:
  name: kube-vip
  namespace: kube-system
spec:
  containers:
  - name: kube-vip
    image: ghcr.io/kube-vip/kube-vip:$KUBE_VIP_VERSION
    imagePullPolicy: IfNotPresent
    args:
    - manager
    env:
    - name: vip_arp
      value: "true"
    - name: port
      value: "6443"
    - name: vip_nodename
      valueFrom:
        fieldRef:
          fieldPath: spec.nodeName
    - name: vip_interface
      value: $VIP_INTERFACE
    - name: vip_subnet
      value: "$subnet"
    - name: dns_mode
      value: first
    - name: cp_enable
      value: "true"
    - name: cp_namespace
      value: kube-system
    - name: vip_leaderelection
      value: "true"
    - name: vip_leasename
      value: plndr-cp-lock
    - name: vip_leaseduration
      value: "15"
    - name: vip_renewdeadline
      value: "10"
    - name: vip_retryperiod
      value: "2"
    - name: address
      value: $VIP
    securityContext:
      capabilities:
        add:
        - NET_ADMIN
        - NET_RAW
        drop:
        - ALL
    volumeMounts:
    - mountPath: /etc/kubernetes/admin.conf
      name: kubeconfig
  hostAliases:
  - hostnames:
    - kubernetes
    ip: 127.0.0.1
  hostNetwork: true
  volumes:
  - hostPath:
      path: /etc/kubernetes/admin.conf
    name: kubeconfig
MANIFEST
}

main() {
    vip_params yes
    release_tag KUBE_VIP_VERSION "${KUBE_VIP_VERSION:-}" v1.2.3
    case "${WAIT_SECONDS:-}" in
        [1-9][0-9] | [1-5][0-9][0-9] | 600) ;;
        *) fail "WAIT_SECONDS must be a number of seconds from 10 to 600" ;;
    esac
    need_ping
    admin_conf >/dev/null
    [ -d "$R/etc/kubernetes/manifests" ] || fail "no /etc/kubernetes/manifests: this is not a control plane"
    work=$(mktemp -d)
    remove_on_exit "$work"
    manifest >"$work/kube-vip.yaml"
    if put_file "$work/kube-vip.yaml" "$R/etc/kubernetes/manifests/kube-vip.yaml" 0600; then
        echo "kube_vip: /etc/kubernetes/manifests/kube-vip.yaml keeps $VIP on a control plane (kube-vip $KUBE_VIP_VERSION, $VIP_INTERFACE)"
    fi
    waited=0
    until ping -c 1 -W 1 -q "$VIP" >/dev/null 2>&1; do
        [ "$waited" -lt "$WAIT_SECONDS" ] ||
            fail "$VIP does not answer after ${WAIT_SECONDS} s: kube-vip has not taken it (see 'crictl ps -a --name kube-vip' and 'crictl logs' of it), or the lab's network drops it"
        sleep 2
        waited=$((waited + 2))
    done
    echo "kube_vip: $VIP answers"
}

# The whole script is parsed before anything runs (a truncated upload runs nothing), and no
# command can read the rest of the script from stdin (it arrives on sh -s's stdin).
main "$@" </dev/null
