# shellcheck shell=sh
# Sourced by the kubeadm stand-in (after lib/standin.sh, lib/kubelet.sh, lib/nodes.sh and
# lib/kubeadm-preflight.sh; never run): the control plane's static pod manifests, and
# `kubeadm upgrade plan [VERSION]`, `upgrade apply VERSION` and `upgrade node`, in kubeadm 1.35's
# and 1.36's words (tests/stand-ins/README.md, "Upgrades", names the sources). Uses what the
# kubeadm stand-in sets before it calls these: R, S, VERSION (v1.36.5), MINOR (1.36), STACK.
#
# The cluster's version is its kubeadm-config ClusterConfiguration's kubernetesVersion,
# $LABKUBE_STANDIN_CLUSTER/version (kubeadm init and upgrade apply write it); each control plane
# runs the versions its manifests name (their image tags).

# What kubeadm of MINOR deploys (cmd/kubeadm/app/constants: CoreDNSVersion, SupportedEtcdVersion).
coredns_for() { case "$1" in 1.3[0-5]) echo v1.13.1 ;; *) echo v1.14.2 ;; esac; }
etcd_for() { case "$1" in 1.3[0-5]) echo 3.6.6-0 ;; *) echo 3.6.8-0 ;; esac; }

minor_of() { # vX.Y.Z -> Y
    v=${1#v}
    v=${v#*.}
    echo "${v%%.*}"
}

version_lt() { # A B: A is an older version than B
    [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | head -n 1)" = "${1#v}" ]
}

klog_warning() { # FILE:LINE MESSAGE: a klog warning line on stderr, as kubeadm prints them
    echo "W0601 10:00:00.000000    4242 $1] $2" >&2
}

# static_pod_manifest COMPONENT VERSION ADDRESS: the manifest kubeadm writes for a control plane
# component (the fields that matter here: the image, and the address it advertises).
static_pod_manifest() {
    case "$1" in
        etcd) image=registry.k8s.io/etcd:$(etcd_for "$MINOR") flag=--advertise-client-urls=https://$3:2379 ;;
        kube-apiserver) image=registry.k8s.io/kube-apiserver:$2 flag=--advertise-address=$3 ;;
        *) image=registry.k8s.io/$1:$2 flag=--bind-address=127.0.0.1 ;;
    esac
    cat <<MANIFEST
apiVersion: v1
kind: Pod
metadata:
  labels:
    component: $1
    tier: control-plane
  name: $1
  namespace: kube-system
spec:
  containers:
  - command:
    - $1
    - $flag
    image: $image
    imagePullPolicy: IfNotPresent
    name: $1
  hostNetwork: true
  priorityClassName: system-node-critical
status: {}
MANIFEST
}

# write_static_pod COMPONENT VERSION ADDRESS: into this host's /etc/kubernetes/manifests.
write_static_pod() {
    mkdir -p "$R/etc/kubernetes/manifests"
    static_pod_manifest "$@" >"$R/etc/kubernetes/manifests/$1.yaml"
}

# cluster_version: the ClusterConfiguration's kubernetesVersion.
cluster_version() {
    cat "$C/version" 2>/dev/null ||
        manifest_tag "$(cat "$C/control-plane-root" 2>/dev/null)/etc/kubernetes/manifests/kube-apiserver.yaml"
}

# upgrade_client KUBECONFIG: kubeadm's client from that kubeconfig (getClient,
# kubeconfigutil.ClientSetFromFile); sets KUBECONFIG_FILE, SERVER.
upgrade_client() {
    case "$1" in
        "$R"/*) KUBECONFIG_FILE=$1 ;;
        *) KUBECONFIG_FILE=$R$1 ;;
    esac
    if [ ! -f "$KUBECONFIG_FILE" ]; then
        echo "error: couldn't create a Kubernetes client from file \"${1#"$R"}\": failed to load admin kubeconfig: open ${1#"$R"}: no such file or directory" >&2
        echo "$STACK" >&2
        exit 1
    fi
    SERVER=$(sed -n 's|^ *server: https\{0,1\}://||p' "$KUBECONFIG_FILE" | head -n 1)
    standin_cluster
}

# api_get PATH: REACHED is the address:port of the API server a request reaches; status 1, with
# Go's error for a GET of PATH in API_ERROR, when none answers.
api_get() {
    API_ERROR=""
    if ! REACHED=$(resolve "$SERVER"); then
        API_ERROR="Get \"https://$SERVER$1\": $REACHED"
        return 1
    fi
    if [ ! -f "$C/initialised" ] || ! api_live "$REACHED"; then
        API_ERROR="Get \"https://$SERVER$1\": dial tcp $REACHED: connect: connection refused"
        return 1
    fi
}

# read_kubeadm_config PREFIX FATAL: FetchInitConfigurationFromCluster: the kubeadm-config
# ConfigMap, its version normalized against this kubeadm's minimum (one minor below its own).
read_kubeadm_config() {
    echo "[$1] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"..."
    echo "[$1] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it."
    if ! api_get /api/v1/namespaces/kube-system/configmaps/kubeadm-config?timeout=10s; then
        echo "error: $2: failed to get config map: $API_ERROR" >&2
        echo "$STACK" >&2
        exit 1
    fi
    CLUSTER=$(cluster_version)
    below_minimum "$CLUSTER" "$2"
}

# below_minimum VERSION PREFIX: NormalizeKubernetesVersion's "MinimumControlPlaneVersion".
below_minimum() {
    lowest=1.$(($(minor_of "$VERSION") - 1)).0
    version_lt "$1" "v$lowest" || return 0
    echo "error: $2: this version of kubeadm only supports deploying clusters with the control plane version >= $lowest. Current version: $1" >&2
    echo "$STACK" >&2
    exit 1
}

# health_checks: CheckClusterHealth (cmd/kubeadm/app/phases/upgrade/health.go): a Job can run
# somewhere (CreateJob: skipped when every node is cordoned), every control plane is Ready, this
# host has the static pod manifests. Status 1 with kubeadm's report on stderr.
health_checks() {
    echo "[upgrade] Running cluster health checks"
    errors=""
    schedulable=no
    runs=no
    for node in "$C"/nodes/*; do
        [ -f "$node" ] || continue
        [ "$(node_field "$node" cordoned)" != yes ] || continue
        schedulable=yes
        if node_ready "$node"; then runs=yes; fi
    done
    if [ "$schedulable" = no ]; then
        klog_warning health.go:130 "The preflight check \"CreateJob\" was skipped because there are no schedulable Nodes in the cluster."
    elif [ "$runs" = no ]; then
        errors="$errors	[ERROR CreateJob]: Job \"upgrade-health-check-$(random_hex 3 | cut -c1-5)\" in the namespace \"kube-system\" did not complete in 15s: no condition of type Complete
"
    fi
    not_ready=$(control_planes | while IFS= read -r node; do node_ready "$node" || printf '%s ' "${node##*/}"; done)
    if [ -n "$not_ready" ]; then
        errors="$errors	[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [${not_ready% }]
"
    fi
    missing=""
    for component in kube-apiserver kube-controller-manager kube-scheduler; do
        [ -f "$R/etc/kubernetes/manifests/$component.yaml" ] ||
            missing="$missing${missing:+ }/etc/kubernetes/manifests/$component.yaml"
    done
    if [ -n "$missing" ]; then
        errors="$errors	[ERROR StaticPodManifest]: The control plane seems to be Static Pod-hosted, but some of the manifests don't seem to exist on disk. This probably means you're running 'kubeadm upgrade' on a remote machine, which is not supported for a Static Pod-hosted cluster. Manifest files not found: [$missing]
"
    fi
    [ -n "$errors" ] || return 0
    {
        echo "[preflight] Some fatal errors occurred:"
        printf '%s' "$errors"
        echo "[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\`"
    } >&2
    return 1
}

# upgrade_static_pods TARGET: PerformStaticPodUpgrade on this host (phases/upgrade/staticpods.go):
# etcd, then the API server, controller-manager and scheduler, each one's certificates renewed,
# its old manifest kept under /etc/kubernetes/tmp, the kubelet restarting it (a manifest that did
# not change: the static pod restarted, 1.34 on).
upgrade_static_pods() {
    stamp=$(/bin/date +%Y-%m-%d-%H-%M-%S)
    new=/etc/kubernetes/tmp/kubeadm-upgraded-manifests$(od -An -N4 -tu4 /dev/urandom | tr -d ' \n')
    backup=/etc/kubernetes/tmp/kubeadm-backup-manifests-$stamp
    mkdir -p "$R$new" "$R$backup"
    echo "[upgrade/staticpods] Writing new Static Pod manifests to \"$new\""
    if [ "$(minor_of "$1")" -gt "$(minor_of "$VERSION")" ]; then
        klog_warning staticpods.go:331 "[upgrade/etcd] could not find officially supported version of etcd for Kubernetes $1, falling back to the nearest etcd version ($(etcd_for "$MINOR"))"
    fi
    pods=$(control_planes | wc -l | tr -d ' ')
    address=$(sed -n 's/^[[:space:]]*- --advertise-address=//p' "$R/etc/kubernetes/manifests/kube-apiserver.yaml")
    for component in etcd kube-apiserver kube-controller-manager kube-scheduler; do
        manifest=/etc/kubernetes/manifests/$component.yaml
        static_pod_manifest "$component" "$1" "$address" >"$R$new/$component.yaml"
        echo "[upgrade/staticpods] Preparing for \"$component\" upgrade"
        case "$component" in
            etcd) certs="etcd-server etcd-peer etcd-healthcheck-client" ;;
            kube-apiserver) certs="apiserver apiserver-kubelet-client front-proxy-client apiserver-etcd-client" ;;
            kube-controller-manager) certs=controller-manager.conf ;;
            kube-scheduler) certs=scheduler.conf ;;
        esac
        for cert in $certs; do
            echo "[upgrade/staticpods] Renewing $cert certificate"
            file=$(printf '%s' "$cert" | sed 's|^etcd-|etcd/|')
            [ ! -f "$R/etc/kubernetes/pki/$file.crt" ] || random_hex 32 >"$R/etc/kubernetes/pki/$file.crt"
        done
        cp "$R$manifest" "$R$backup/$component.yaml"
        if cmp -s "$R$new/$component.yaml" "$R$manifest"; then
            echo "[upgrade/staticpods] Restarting the $component static pod and backing up its manifest to \"$backup/$component.yaml\""
        else
            echo "[upgrade/staticpods] Moving new manifest to \"$manifest\" and backing up old manifest to \"$backup/$component.yaml\""
            cp "$R$new/$component.yaml" "$R$manifest"
        fi
        echo "[upgrade/staticpods] Waiting for the kubelet to restart the component"
        echo "[upgrade/staticpods] This can take up to 5m0s"
        [ "$component" != kube-apiserver ] || slow_phase upgrade
        echo "[apiclient] Found $pods Pods for label selector component=$component"
        echo "[upgrade/staticpods] Component \"$component\" upgraded successfully!"
        [ "$component" != etcd ] || echo "[upgrade/etcd] Waiting for etcd to become available"
    done
    rm -rf "${R:?}$new"
}

# kubelet_config_phase PATCHES: this node's /var/lib/kubelet/config.yaml rewritten from the
# cluster's kubelet-config ConfigMap, with the kubeletconfiguration patches of --patches only
# (the ones init or join applied are not kept), the old one backed up.
kubelet_config_phase() {
    dir=/etc/kubernetes/tmp/kubeadm-kubelet-config-$(/bin/date +%Y-%m-%d-%H-%M-%S)
    klog_warning postupgrade.go:105 "Using temporary directory $dir for kubelet config. To override it set the environment variable KUBEADM_UPGRADE_DRYRUN_DIR"
    mkdir -p "$R$dir" "$R/var/lib/kubelet"
    cp "$R/var/lib/kubelet/config.yaml" "$R$dir/config.yaml" 2>/dev/null || true
    echo "[upgrade] Backing up kubelet config file to $dir/config.yaml"
    echo "cgroupDriver: systemd" >"$R/var/lib/kubelet/config.yaml"
    kubelet_apply_patches "$1" kubelet-config
    echo "[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\""
    echo "[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!"
}

# addon_phase TARGET: CoreDNS and kube-proxy move to TARGET's once no other control plane runs
# an older API server (cmd/kubeadm/app/cmd/phases/upgrade/addons.go, shouldUpgradeAddons).
addon_phase() {
    behind=$(control_planes | while IFS= read -r node; do
        [ "${node##*/}" != "$(host_name)" ] || continue
        [ "$(manifest_tag "$(node_field "$node" root)/etc/kubernetes/manifests/kube-apiserver.yaml")" = "$1" ] ||
            printf '%s ' "${node##*/}"
    done)
    if [ -n "$behind" ]; then
        # once for CoreDNS, once for kube-proxy
        echo "[upgrade/addon] Skipping upgrade of addons because control plane instances [${behind% }] have not been upgraded"
        echo "[upgrade/addon] Skipping upgrade of addons because control plane instances [${behind% }] have not been upgraded"
        return 0
    fi
    coredns_for "$MINOR" >"$C/coredns"
    echo "[addons] Applied essential addon: CoreDNS"
    echo "[addons] Applied essential addon: kube-proxy"
}

# post_upgrade_phase: kubeadm 1.35 rewrites the kubelet's environment file (1.36 no longer).
post_upgrade_phase() {
    [ "$(minor_of "$VERSION")" -le 35 ] || return 0
    dir=/etc/kubernetes/tmp/kubeadm-kubelet-env$(od -An -N4 -tu4 /dev/urandom | tr -d ' \n')
    klog_warning postupgrade.go:203 "Using temporary directory $dir for kubelet env file. To override it set the environment variable KUBEADM_UPGRADE_DRYRUN_DIR"
    mkdir -p "$R$dir"
    cp "$R/var/lib/kubelet/kubeadm-flags.env" "$R$dir/kubeadm-flags.env" 2>/dev/null || true
    echo "[upgrade] Backing up kubelet env file to $dir/kubeadm-flags.env"
    echo "[kubelet-start] Writing kubelet environment file with flags to file \"/var/lib/kubelet/kubeadm-flags.env\""
}

# version_arg VERSION: a release version as kubeadm normalizes it (v added); labels (stable,
# latest) would be looked up on dl.k8s.io, and pre-releases need --allow-*-upgrades: not modelled.
version_arg() {
    case "$1" in
        v[0-9]*.[0-9]*.[0-9]* | [0-9]*.[0-9]*.[0-9]*) ;;
        *) standin_die "unsupported version for kubeadm upgrade: $1 (only a release version is modelled)" ;;
    esac
    case "$1" in *[!v0-9.]*) standin_die "unsupported version for kubeadm upgrade: $1 (pre-releases are not modelled)" ;; esac
    echo "v${1#v}"
}

# api_version: the version the API server answering says it runs (/version): its manifest's.
api_version() {
    answering=$(control_planes | while IFS= read -r node; do
        if [ "$(node_field "$node" ip):6443" = "$REACHED" ]; then
            manifest_tag "$(node_field "$node" root)/etc/kubernetes/manifests/kube-apiserver.yaml"
            break
        fi
    done)
    [ -n "$answering" ] || answering=$(cluster_version)
    echo "$answering"
}

# kubeadm upgrade apply VERSION [-y|--yes] [-f|--force] [--patches DIR] [--kubeconfig FILE]
# (cmd/kubeadm/app/cmd/upgrade/apply.go and its phases, cmd/kubeadm/app/cmd/phases/upgrade/apply:
# preflight, control-plane, upload-config, kubeconfig, kubelet-config, bootstrap-token, addon,
# post-upgrade).
upgrade_apply() {
    yes=no
    force=no
    patches=""
    kubeconfig=/etc/kubernetes/admin.conf
    args=0
    target=""
    while [ "$#" -gt 0 ]; do
        case "$1" in
            -y | --yes | --yes=true) yes=yes ;;
            --yes=false) yes=no ;;
            -f | --force | --force=true) force=yes ;;
            --force=false) force=no ;;
            --patches) patches=${2:-} && shift ;;
            --patches=*) patches=$(flag_value "$1") ;;
            --kubeconfig) kubeconfig=${2:-} && shift ;;
            --kubeconfig=*) kubeconfig=$(flag_value "$1") ;;
            -*) standin_die "unsupported invocation: kubeadm upgrade apply $1" ;;
            *)
                args=$((args + 1))
                target=$1
                ;;
        esac
        shift
    done
    # cmdutil.ValidateExactArgNumber
    if [ "$args" -gt 1 ]; then
        echo "error: too many arguments. Required arguments: [version]" >&2
        echo "$STACK" >&2
        exit 1
    fi
    if [ "$args" -eq 0 ]; then
        echo "error: missing one or more required arguments. Required arguments: [version]" >&2
        echo "$STACK" >&2
        exit 1
    fi
    target=$(version_arg "$target")
    upgrade_client "$kubeconfig"
    read_kubeadm_config upgrade "[upgrade] FATAL"
    echo "[upgrade/preflight] Running preflight checks"
    if ! health_checks; then
        echo "error: error execution phase preflight: preflight checks failed" >&2
        echo "$STACK" >&2
        exit 1
    fi
    below_minimum "$target" "error execution phase preflight"
    echo "[upgrade/preflight] You have chosen to upgrade the cluster version to \"$target\""
    API_VERSION=$(api_version)
    echo "[upgrade/versions] Cluster version: $API_VERSION"
    echo "[upgrade/versions] kubeadm version: $VERSION"
    policy_errors "$target"
    if [ -n "$MANDATORY" ]; then
        {
            echo "error: error execution phase preflight: the version argument is invalid due to these fatal errors:"
            echo
            error_list "$MANDATORY"
            echo
            echo "Please fix the misalignments highlighted above and try upgrading again"
            echo "$STACK"
        } >&2
        exit 1
    fi
    if [ -n "$SKIPPABLE" ]; then
        if [ "$force" = no ]; then
            {
                echo "error: error execution phase preflight: the version argument is invalid due to these errors:"
                echo
                error_list "$SKIPPABLE"
                echo
                echo "Can be bypassed if you pass the --force flag"
                echo "$STACK"
            } >&2
            exit 1
        fi
        echo "[upgrade/preflight] Found $(printf '%s' "$SKIPPABLE" | wc -l | tr -d ' ') potential version compatibility errors but skipping since the --force flag is set: "
        echo
        error_list "$SKIPPABLE"
    fi
    if [ "$yes" = no ] && [ "$force" = no ]; then
        # cmdutil.InteractivelyConfirmAction: one line from stdin, y or yes.
        printf '[upgrade] Are you sure you want to proceed? [y/N]: '
        answer=""
        read -r answer || true
        case "$answer" in
            [yY] | [yY][eE][sS]) ;;
            *)
                echo "error: error execution phase preflight: won't proceed; the user didn't answer (Y|y) in order to continue" >&2
                echo "$STACK" >&2
                exit 1
                ;;
        esac
    fi
    echo "[upgrade/preflight] Pulling images required for setting up a Kubernetes cluster"
    echo "[upgrade/preflight] This might take a minute or two, depending on the speed of your internet connection"
    echo "[upgrade/preflight] You can also perform this action beforehand using 'kubeadm config images pull'"
    echo "[upgrade/control-plane] Upgrading your static Pod-hosted control plane to version \"$target\" (timeout: 5m0s)..."
    upgrade_static_pods "$target"
    echo "[upgrade/control-plane] The control plane instance for this node was successfully upgraded!"
    echo "[upload-config] Storing the configuration used in ConfigMap \"kubeadm-config\" in the \"kube-system\" Namespace"
    echo "$target" >"$C/version"
    echo "[kubelet] Creating a ConfigMap \"kubelet-config\" in namespace kube-system with the configuration for the kubelets in the cluster"
    echo "[upgrade/kubeconfig] The kubeconfig files for this node were successfully upgraded!"
    kubelet_config_phase "$patches"
    echo "[upgrade/bootstrap-token] Configuring bootstrap token and cluster-info RBAC rules"
    echo "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes"
    echo "[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials"
    echo "[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token"
    echo "[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster"
    if [ "$(minor_of "$VERSION")" -ge 36 ]; then
        echo "[bootstrap-token] Configured RBAC rules to allow the API server kubelet client certificate to access the kubelet API"
    fi
    addon_phase "$target"
    post_upgrade_phase
    echo
    echo "[upgrade] SUCCESS! A control plane node of your cluster was upgraded to \"$target\"."
    echo
    echo "[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order."
}

# kubeadm upgrade node [--patches DIR] [--kubeconfig FILE] (cmd/kubeadm/app/cmd/upgrade/node.go
# and its phases, cmd/kubeadm/app/cmd/phases/upgrade/node): a control plane (one with a
# kube-apiserver manifest, talking through admin.conf) upgrades its static pods to the cluster's
# version; every node rewrites its kubelet's configuration from the cluster's (through
# kubelet.conf on a worker: a host that never joined has none). No version check: a kubeadm older
# than the cluster writes the manifests with its own templates.
upgrade_node() {
    patches=""
    kubeconfig=""
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --patches) patches=${2:-} && shift ;;
            --patches=*) patches=$(flag_value "$1") ;;
            --kubeconfig) kubeconfig=${2:-} && shift ;;
            --kubeconfig=*) kubeconfig=$(flag_value "$1") ;;
            *) standin_die "unsupported invocation: kubeadm upgrade node $1" ;;
        esac
        shift
    done
    control_plane=no
    [ ! -f "$R/etc/kubernetes/manifests/kube-apiserver.yaml" ] || control_plane=yes
    if [ -z "$kubeconfig" ]; then
        if [ "$control_plane" = yes ]; then kubeconfig=/etc/kubernetes/admin.conf; else kubeconfig=/etc/kubernetes/kubelet.conf; fi
    fi
    upgrade_client "$kubeconfig"
    read_kubeadm_config upgrade "unable to fetch the kubeadm-config ConfigMap"
    echo "[upgrade/preflight] Running pre-flight checks"
    if [ "$control_plane" = no ]; then
        echo "[upgrade/preflight] Skipping prepull. Not a control plane node."
        echo "[upgrade/control-plane] Skipping phase. Not a control plane node."
        echo "[upgrade/kubeconfig] Skipping phase. Not a control plane node."
        kubelet_config_phase "$patches"
        echo "[upgrade/addon] Skipping the addon/coredns phase. Not a control plane node."
        echo "[upgrade/addon] Skipping the addon/kube-proxy phase. Not a control plane node."
        post_upgrade_phase
        return 0
    fi
    echo "[upgrade/preflight] Pulling images required for setting up a Kubernetes cluster"
    echo "[upgrade/preflight] This might take a minute or two, depending on the speed of your internet connection"
    echo "[upgrade/preflight] You can also perform this action beforehand using 'kubeadm config images pull'"
    echo "[upgrade/control-plane] Upgrading your Static Pod-hosted control plane instance to version \"$CLUSTER\"..."
    upgrade_static_pods "$CLUSTER"
    echo "[upgrade/control-plane] The control plane instance for this node was successfully upgraded!"
    echo "[upgrade/kubeconfig] The kubeconfig files for this node were successfully upgraded!"
    kubelet_config_phase "$patches"
    addon_phase "$CLUSTER"
    post_upgrade_phase
}

# kubeadm upgrade SUBCOMMAND ...
cmd_upgrade() {
    sub=${1:-}
    [ "$#" -eq 0 ] || shift
    case "$sub" in
        plan) upgrade_plan "$@" ;;
        apply) upgrade_apply "$@" ;;
        node) upgrade_node "$@" ;;
        *) standin_die "unsupported invocation: kubeadm upgrade $sub $*" ;;
    esac
}
