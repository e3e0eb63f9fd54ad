# shellcheck shell=sh
# Sourced by the kubeadm stand-in after lib/kubeadm-upgrade.sh (never run): `kubeadm upgrade
# plan [VERSION]`, reading only, and the version policies `upgrade apply` enforces, in kubeadm
# 1.35's and 1.36's words (tests/stand-ins/README.md, "Upgrades").

# kubeadm upgrade plan [VERSION] [--kubeconfig FILE] (cmd/kubeadm/app/cmd/upgrade/plan.go and
# common.go enforceRequirements; the versions: phases/upgrade/compute.go GetAvailableUpgrades,
# VERSION standing for every release label as its offline version getter does). Reads only.
upgrade_plan() {
    target=""
    kubeconfig=/etc/kubernetes/admin.conf
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --kubeconfig) kubeconfig=${2:-} && shift ;;
            --kubeconfig=*) kubeconfig=$(flag_value "$1") ;;
            -*) standin_die "unsupported invocation: kubeadm upgrade plan $1" ;;
            *)
                [ -z "$target" ] || standin_die "unsupported invocation: kubeadm upgrade plan with two versions"
                target=$1
                version_arg "$1" >/dev/null
                ;;
        esac
        shift
    done
    upgrade_client "$kubeconfig"
    echo "[preflight] Running pre-flight checks."
    # The CoreDNS migration checks read the coredns ConfigMap first.
    if ! api_get /api/v1/namespaces/kube-system/configmaps/coredns?timeout=10s; then
        {
            echo "[preflight] Some fatal errors occurred:"
            printf '\t[ERROR CoreDNSUnsupportedPlugins]: %s\n\t[ERROR CoreDNSMigration]: %s\n' "$API_ERROR" "$API_ERROR"
            echo "[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\`"
            echo "error: preflight checks failed"
            echo "$STACK"
        } >&2
        exit 1
    fi
    read_kubeadm_config upgrade/config "[upgrade/init config] FATAL"
    if ! health_checks; then
        echo "error: [upgrade/health] FATAL: preflight checks failed" >&2
        echo "$STACK" >&2
        exit 1
    fi
    echo "[upgrade] Fetching available versions to upgrade to"
    # The cluster's version: the newest API server among the control planes (their pods' images).
    rows=$(control_planes | while IFS= read -r node; do
        manifests=$(node_field "$node" root)/etc/kubernetes/manifests
        for component in kube-apiserver kube-controller-manager kube-scheduler etcd; do
            printf '%s\t%s\t%s\n' "$component" "${node##*/}" "$(manifest_tag "$manifests/$component.yaml")"
        done
    done)
    cluster=$(printf '%s\n' "$rows" | awk -F '\t' '$1 == "kube-apiserver" { print $3 }' | sort -V | tail -n 1)
    echo "[upgrade/versions] Cluster version: ${cluster#v}"
    echo "[upgrade/versions] kubeadm version: $VERSION"
    stable=$target
    if [ -z "$stable" ]; then
        offline_fallback stable
        stable=$VERSION
    fi
    echo "[upgrade/versions] Target version: $stable"
    upgrade=no
    if ! version_lt "$stable" "$cluster"; then
        branch=1.$(minor_of "$cluster")
        patch=$stable
        if [ -z "$target" ]; then
            offline_fallback "stable-$branch"
            patch=$VERSION
        fi
        echo "[upgrade/versions] Latest version in the v$branch series: $patch"
        ! version_lt "$cluster" "$patch" || upgrade=yes
    fi
    echo
    [ "$upgrade" = yes ] || return 0
    after=$patch
    version_lt "$VERSION" "$patch" || after=$VERSION
    echo "Components that must be upgraded manually after you have upgraded the control plane with 'kubeadm upgrade apply':"
    {
        printf 'COMPONENT\tNODE\tCURRENT\tTARGET\n'
        kubelets=$(for node in "$C"/nodes/*; do [ -f "$node" ] && printf '%s\t%s\n' "$(node_field "$node" version)" "${node##*/}"; done)
        versions=$(printf '%s\n' "$kubelets" | cut -f1 | sort -u)
        if [ "$(printf '%s\n' "$versions" | wc -l)" -gt 1 ] || [ "$versions" != "$patch" ]; then
            for v in $versions; do
                printf '%s\n' "$kubelets" | awk -F '\t' -v v="$v" -v t="$patch" '$1 == v { print "kubelet\t" $2 "\t" v "\t" t }'
            done
        fi
    } | tabulate 10
    echo
    echo "Upgrade to the latest version in the v$branch series:"
    echo
    {
        printf 'COMPONENT\tNODE\tCURRENT\tTARGET\n'
        for component in kube-apiserver kube-controller-manager kube-scheduler; do
            for v in $(printf '%s\n' "$rows" | awk -F '\t' -v c="$component" '$1 == c { print $3 }' | sort -u); do
                printf '%s\n' "$rows" | awk -F '\t' -v c="$component" -v v="$v" -v t="$patch" '$1 == c && $3 == v { print c "\t" $2 "\t" v "\t" t }'
            done
        done
        printf 'kube-proxy\t\t%s\t%s\n' "${cluster#v}" "$patch"
        printf 'CoreDNS\t\t%s\t%s\n' "$(cat "$C/coredns" 2>/dev/null || echo v1.13.1)" "$(coredns_for "$MINOR")"
        for v in $(printf '%s\n' "$rows" | awk -F '\t' '$1 == "etcd" { print $3 }' | sort -u); do
            printf '%s\n' "$rows" | awk -F '\t' -v v="$v" -v t="$(etcd_for "$MINOR")" '$1 == "etcd" && $3 == v { print "etcd\t" $2 "\t" v "\t" t }'
        done
    } | tabulate 10
    echo
    echo "You can now apply the upgrade by executing the following command:"
    echo
    printf '\tkubeadm upgrade apply %s\n' "$patch"
    echo
    if [ "$after" != "$VERSION" ]; then
        echo "Note: Before you can perform this upgrade, you have to update kubeadm to $after."
        echo
    fi
    echo "_____________________________________________________________________"
    echo
    echo
    echo "The table below shows the current state of component configs as understood by this version of kubeadm."
    echo "Configs that have a \"yes\" mark in the \"MANUAL UPGRADE REQUIRED\" column require manual config upgrade or"
    echo "resetting to kubeadm defaults before a successful upgrade can be performed. The version to manually"
    echo "upgrade to is denoted in the \"PREFERRED VERSION\" column."
    echo
    printf 'API GROUP\tCURRENT VERSION\tPREFERRED VERSION\tMANUAL UPGRADE REQUIRED\nkubeproxy.config.k8s.io\tv1alpha1\tv1alpha1\tno\nkubelet.config.k8s.io\tv1beta1\tv1beta1\tno\n' | tabulate 10
    echo "_____________________________________________________________________"
    echo
}

# offline_fallback LABEL: no network here, so a release label falls back to kubeadm's own
# version (cmd/kubeadm/app/util/version.go, KubernetesReleaseVersion).
offline_fallback() {
    klog_warning version.go:109 "could not fetch a Kubernetes version from the internet: unable to get URL \"https://dl.k8s.io/release/$1.txt\": Get \"https://dl.k8s.io/release/$1.txt\": dial tcp: lookup dl.k8s.io on 127.0.0.53:53: no such host"
    klog_warning version.go:110 "falling back to the local client version: $VERSION"
}

# error_list ERRORS: kubeadm's formatErrorMsg, one "\t- error" line each.
error_list() {
    printf '%s' "$1" | awk '{ print "\t- " $0 }'
}

# policy_errors TARGET: kubeadm's EnforceVersionPolicies (cmd/kubeadm/app/phases/upgrade/policy.go)
# against the API server's version ($API_VERSION) and the nodes' kubelets: MANDATORY and SKIPPABLE,
# one error a line.
policy_errors() {
    tmin=$(minor_of "$1")
    cmin=$(minor_of "$API_VERSION")
    kmin=$(minor_of "$VERSION")
    MANDATORY=""
    SKIPPABLE=""
    nl='
'
    if [ "$tmin" -gt $((cmin + 1)) ]; then
        MANDATORY="${MANDATORY}Specified version to upgrade to \"$1\" is too high; kubeadm can upgrade only 1 minor version at a time$nl"
    fi
    if [ "$tmin" -lt $((cmin - 1)) ]; then
        MANDATORY="${MANDATORY}Specified version to downgrade to \"$1\" is too low; kubeadm can downgrade only 1 minor version at a time$nl"
    fi
    if version_lt "$VERSION" "$1"; then
        if [ "$tmin" -gt "$kmin" ]; then
            MANDATORY="${MANDATORY}Specified version to upgrade to \"$1\" is at least one minor release higher than the kubeadm minor release ($tmin > $kmin). Such an upgrade is not supported$nl"
        else
            SKIPPABLE="${SKIPPABLE}Specified version to upgrade to \"$1\" is higher than the kubeadm version \"$VERSION\". Upgrade kubeadm first using the tool you used to install kubeadm$nl"
        fi
    fi
    if [ "$kmin" -gt "$tmin" ]; then
        SKIPPABLE="${SKIPPABLE}Kubeadm version $VERSION can only be used to upgrade to Kubernetes version 1.$kmin$nl"
    fi
    # Kubelets more than MaximumAllowedMinorVersionKubeletSkew (3) minors behind the target.
    old=$(for node in "$C"/nodes/*; do
        [ -f "$node" ] || continue
        v=$(node_field "$node" version)
        [ "$tmin" -le $(($(minor_of "$v") + 3)) ] || echo "$v"
    done | sort -u | tr '\n' ' ')
    if [ -n "$old" ]; then
        SKIPPABLE="${SKIPPABLE}There are kubelets in this cluster that are too old that have these versions [${old% }]$nl"
    fi
}
