# shellcheck shell=sh disable=SC2154
# containerd on the hosts: its version against Kubernetes, its config, its proxy and its
# registry mirrors. Sent after helpers.sh in front of every step (install_containerd,
# install_kube and reset use it); it only defines functions. Besides R and STEP (helpers.sh),
# they read at call time the caller's work (a private temp dir) and the step's environment
# (commands/README.md, "install_containerd").

# containerd_version: the installed containerd's version (1.6.20, 1.7.28, 2.2.1) from
# 'containerd --version', whatever the packager added ("v2.2.1", "1.6.20~ds1"); empty if none.
containerd_version() {
    containerd --version 2>/dev/null |
        awk '{ v = $3; sub(/^v/, "", v); sub(/[^0-9.].*$/, "", v); print v; exit }'
}

# version_at_least A B: whether dotted version A (x.y.z) is B or newer.
version_at_least() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        split(a, x, "."); split(b, y, ".")
        for (i = 1; i <= 3; i++) {
            if (x[i] + 0 > y[i] + 0) exit 0
            if (x[i] + 0 < y[i] + 0) exit 1
        }
        exit 0
    }'
}

# check_containerd_version REMOVE FRESH: fail unless the installed containerd is one containerd
# recommends for Kubernetes $K8S_MINOR: at least the minimum of its own release series among
# $CONTAINERD_MINIMUMS (newest series first, e.g. "2.2.0 2.1.5 1.7.28"), or newer than the
# newest. REMOVE is how to remove it on this OS, for the message; FRESH is yes when this step
# has just installed it from Docker's repository (then that repository is what is too old).
check_containerd_version() {
    [ -n "${CONTAINERD_MINIMUMS:-}" ] ||
        fail "CONTAINERD_MINIMUMS must list the containerd versions Kubernetes ${K8S_MINOR:-?} needs, such as 2.2.0 2.1.5 1.7.28"
    version=$(containerd_version)
    case "$version" in
        [0-9]*.[0-9]*.[0-9]*) ;;
        *) fail "cannot tell containerd's version from 'containerd --version' ($(containerd --version 2>&1 | head -n 1))" ;;
    esac
    newest=""
    wanted=""
    for minimum in $CONTAINERD_MINIMUMS; do
        [ -n "$newest" ] || newest=$minimum
        wanted="${wanted:+$wanted, }$minimum+"
        if [ "${minimum%.*}" = "${version%.*}" ] && version_at_least "$version" "$minimum"; then
            return 0
        fi
    done
    if version_at_least "$version" "$newest"; then
        return 0
    fi
    if [ "${2:-no}" = yes ]; then
        fail "containerd.io $version, the newest Docker's repository has for this OS release, is too old for Kubernetes ${K8S_MINOR:-?}: containerd recommends $wanted (containerd RELEASES.md, \"Kubernetes Support\"). Choose an older supported Kubernetes minor (k8s=) or a newer OS release"
    fi
    fail "containerd $version is too old for Kubernetes ${K8S_MINOR:-?}: containerd recommends $wanted (containerd RELEASES.md, \"Kubernetes Support\"). Upgrade it to one of those, or remove it ($1) so that labkube installs containerd.io from Docker's repository, then run the step again"
}

# kubeadm_pause_image: the sandbox (pause) image the installed kubeadm expects
# (registry.k8s.io/pause:3.10.1); empty when kubeadm is not installed yet.
kubeadm_pause_image() {
    command -v kubeadm >/dev/null 2>&1 || return 0
    kversion=$(kubeadm version -o short 2>/dev/null) || return 0
    image=$(kubeadm config images list --kubernetes-version "$kversion" 2>/dev/null |
        grep '/pause:' | head -n 1) || return 0
    case "$image" in
        *[!A-Za-z0-9./:_-]*) ;;
        *) printf '%s\n' "$image" ;;
    esac
}

# containerd_config: /etc/containerd/config.toml from 'containerd config default' (config
# version 2 of containerd 1.x, version 3 of 2.x) with SystemdCgroup = true (inserted under the
# runc options when the default lacks it: containerd 2.0.x and 2.1.0-2.1.4,
# containerd/containerd#12101), the CNI plugins in /opt/cni/bin, the registry hosts in
# /etc/containerd/certs.d, and kubeadm's sandbox image once kubeadm is installed. A config
# labkube did not write is kept once as config.toml.pre-labkube. Sets CONTAINERD_CHANGED=yes
# when the file changed.
containerd_config() {
    conf="$R/etc/containerd/config.toml"
    sandbox=$(kubeadm_pause_image)
    {
        echo "# Managed by labkube: 'containerd config default' with SystemdCgroup = true, the CNI"
        echo "# plugins in /opt/cni/bin, registry hosts in /etc/containerd/certs.d and kubeadm's"
        echo "# sandbox image. The install_containerd and install_kube steps rewrite this file."
        containerd config default
    } >"$work/default.toml"
    insert=yes
    if grep -q '^[[:space:]]*SystemdCgroup[[:space:]]*=' "$work/default.toml"; then insert=no; fi
    awk -v sandbox="$sandbox" -v insert="$insert" -v sq="'" '
        function value(v,    q) { q = index($0, sq) ? sq : "\""; return q v q }
        function indent() { match($0, /^[[:space:]]*/); return substr($0, 1, RLENGTH) }
        /^[[:space:]]*\[/ {
            table = $0
            print
            if (insert == "yes" && table ~ /runtimes\.runc\.options\]/) print indent() "  SystemdCgroup = true"
            next
        }
        /^[[:space:]]*SystemdCgroup[[:space:]]*=/ { print indent() "SystemdCgroup = true"; next }
        /^[[:space:]]*bin_dir[[:space:]]*=/ { print indent() "bin_dir = " value("/opt/cni/bin"); next }
        /^[[:space:]]*bin_dirs[[:space:]]*=/ { print indent() "bin_dirs = [" value("/opt/cni/bin") "]"; next }
        /^[[:space:]]*config_path[[:space:]]*=/ && table ~ /\.registry\]/ {
            print indent() "config_path = " value("/etc/containerd/certs.d"); next
        }
        /^[[:space:]]*sandbox(_image)?[[:space:]]*=/ && sandbox != "" {
            split($0, kv, "="); sub(/[[:space:]]*$/, "", kv[1])
            print kv[1] " = " value(sandbox); next
        }
        { print }
    ' "$work/default.toml" >"$work/config.toml"
    grep -q '^[[:space:]]*SystemdCgroup[[:space:]]*=[[:space:]]*true' "$work/config.toml" ||
        fail "'containerd config default' has no runc options table to turn SystemdCgroup on in (containerd $(containerd_version)); not writing a config kubelet could not use"

    if [ -f "$conf" ] && ! grep -q '^# Managed by labkube' "$conf" && [ ! -e "$conf.pre-labkube" ] &&
        ! installed_by_labkube containerd && ! installed_by_labkube containerd.io; then
        cp -p "$conf" "$conf.pre-labkube"
        echo "containerd: the previous config is kept as /etc/containerd/config.toml.pre-labkube"
    fi
    if put_file "$work/config.toml" "$conf" 0644; then
        CONTAINERD_CHANGED=yes
        [ -n "$sandbox" ] || sandbox="containerd's default until kubeadm is installed"
        echo "containerd: /etc/containerd/config.toml written (SystemdCgroup = true, sandbox image $sandbox)"
    fi
}

# proxy_variable NAME: the value of environment variable NAME in any case (http_proxy,
# HTTP_PROXY, Http_Proxy), refused if it could break out of a unit file line.
proxy_variable() {
    v=$(env | awk -F= -v n="$1" 'tolower($1) == n { sub(/^[^=]*=/, ""); print; exit }')
    case "$v" in
        *[[:space:]\"\'\\]*) fail "the $1 of [ssh] remote_env has spaces, quotes or backslashes; not writing it into containerd's unit" ;;
    esac
    printf '%s\n' "$v" | sed 's/%/%%/g' # systemd expands %-specifiers in Environment=
}

# containerd_proxy: /etc/systemd/system/containerd.service.d/http-proxy.conf from the proxy
# variables of [ssh] remote_env, with a NO_PROXY that keeps the cluster's own traffic
# (localhost, $POD_CIDR, $SERVICE_CIDR, $NODE_ADDRESSES, .svc, .cluster.local) off the proxy;
# removed when no proxy is configured any more. Sets CONTAINERD_RELOAD=yes when it changed.
containerd_proxy() {
    dropin=/etc/systemd/system/containerd.service.d/http-proxy.conf
    http=$(proxy_variable http_proxy)
    https=$(proxy_variable https_proxy)
    user_no=$(proxy_variable no_proxy)
    if [ -z "$http" ] && [ -z "$https" ]; then
        if remove_proxy_drop_in; then
            CONTAINERD_RELOAD=yes
            echo "containerd: proxy drop-in removed (no proxy in [ssh] remote_env)"
        fi
        return 0
    fi
    for value in "${POD_CIDR:-}" "${SERVICE_CIDR:-}" "${NODE_ADDRESSES:-}"; do
        case "$value" in
            "" | *[!0-9A-Fa-f.:/,]*) fail "POD_CIDR, SERVICE_CIDR and NODE_ADDRESSES must be set to addresses and networks (for containerd's NO_PROXY)" ;;
        esac
    done
    no="localhost,127.0.0.1,::1,$POD_CIDR,$SERVICE_CIDR,$NODE_ADDRESSES,.svc,.cluster.local${user_no:+,$user_no}"
    {
        echo "# Managed by labkube: containerd pulls through the proxy of [ssh] remote_env (the"
        echo "# install_containerd step writes this file, reset removes it)."
        echo "[Service]"
        [ -z "$http" ] || echo "Environment=\"HTTP_PROXY=$http\""
        [ -z "$https" ] || echo "Environment=\"HTTPS_PROXY=$https\""
        echo "Environment=\"NO_PROXY=$no\""
    } >"$work/http-proxy.conf"
    if [ -f "$R$dropin" ] && ! grep -q '^# Managed by labkube' "$R$dropin" &&
        [ ! -e "$R$dropin.pre-labkube" ]; then
        mv "$R$dropin" "$R$dropin.pre-labkube" # systemd reads only *.conf
        echo "containerd: the site's $dropin is kept as http-proxy.conf.pre-labkube"
    fi
    # 0600: a proxy URL may carry credentials (user:password@).
    if put_file "$work/http-proxy.conf" "$R$dropin" 0600; then
        CONTAINERD_RELOAD=yes
        echo "containerd: proxy drop-in $dropin written (NO_PROXY covers the pod and service networks and the nodes)"
    fi
}

# remove_proxy_drop_in: labkube's proxy drop-in goes and the site's comes back, if there was
# one; returns 1 if there was nothing of labkube's to remove.
remove_proxy_drop_in() {
    dropin=/etc/systemd/system/containerd.service.d/http-proxy.conf
    [ -f "$R$dropin" ] && grep -q '^# Managed by labkube' "$R$dropin" || return 1
    rm -f "$R$dropin"
    if [ -f "$R$dropin.pre-labkube" ]; then
        mv "$R$dropin.pre-labkube" "$R$dropin"
        echo "containerd: the site's $dropin is back"
    fi
    rmdir "$R${dropin%/*}" 2>/dev/null || true
}

# containerd_mirrors: /etc/containerd/certs.d/<registry>/hosts.toml for each entry of
# $REGISTRY_MIRRORS ("docker.io=https://m1,https://m2 quay.io=https://m3"): the mirrors, then
# the registry itself (containerd docs/hosts.md); labkube's files of registries no longer
# listed are removed. containerd reads them at each pull: no restart.
containerd_mirrors() {
    base=/etc/containerd/certs.d
    keep=" "
    for entry in ${REGISTRY_MIRRORS:-}; do
        registry=${entry%%=*}
        urls=${entry#*=}
        case "$registry" in
            "" | *[!a-z0-9.:-]*) fail "REGISTRY_MIRRORS: $registry is not a registry host name" ;;
        esac
        case "$urls" in
            "" | "$entry" | *[!A-Za-z0-9.:/_~,-]*) fail "REGISTRY_MIRRORS: the mirrors of $registry must be https URLs" ;;
        esac
        case "$registry" in
            docker.io) server=https://registry-1.docker.io ;;
            *) server=https://$registry ;;
        esac
        {
            echo "# Managed by labkube: [cluster] registry_mirrors (the install_containerd step writes this file)."
            echo "server = \"$server\""
            for url in $(printf '%s\n' "$urls" | tr ',' ' '); do
                case "$url" in
                    https://?*) ;;
                    *) fail "REGISTRY_MIRRORS: $url is not an https URL" ;;
                esac
                echo
                echo "[host.\"$url\"]"
                echo "  capabilities = [\"pull\", \"resolve\"]"
            done
        } >"$work/hosts.toml"
        if put_file "$work/hosts.toml" "$R$base/$registry/hosts.toml" 0644; then
            echo "containerd: mirrors of $registry written to $base/$registry/hosts.toml"
        fi
        keep="$keep$registry "
    done
    for file in "$R$base"/*/hosts.toml; do
        [ -f "$file" ] || continue
        dir=${file%/hosts.toml}
        case "$keep" in *" ${dir##*/} "*) continue ;; esac
        if grep -q '^# Managed by labkube' "$file"; then
            rm -rf "$dir"
            echo "containerd: mirrors of ${dir##*/} removed (no longer in [cluster] registry_mirrors)"
        fi
    done
}

# containerd_service: enabled, started, and restarted when its config or unit changed
# (CONTAINERD_CHANGED, CONTAINERD_RELOAD: systemd re-reads a changed drop-in only after
# daemon-reload).
containerd_service() {
    if [ "${CONTAINERD_RELOAD:-no}" = yes ]; then
        systemctl daemon-reload
        CONTAINERD_CHANGED=yes
    fi
    if ! systemctl is-enabled --quiet containerd 2>/dev/null; then
        systemctl enable containerd
        echo "containerd: enabled"
    fi
    if ! systemctl is-active --quiet containerd; then
        systemctl start containerd
        echo "containerd: started"
    elif [ "${CONTAINERD_CHANGED:-no}" = yes ]; then
        systemctl restart containerd
        echo "containerd: restarted with the new config"
    fi
}

# configure_containerd: what install_containerd does once a containerd is installed.
configure_containerd() {
    CONTAINERD_CHANGED=no
    CONTAINERD_RELOAD=no
    containerd_config
    containerd_proxy
    containerd_mirrors
    containerd_service
}

# align_sandbox_image: after kubeadm is installed (install_kube), containerd's sandbox image
# becomes kubeadm's, so kubeadm's preflight finds them consistent.
align_sandbox_image() {
    [ -n "$(containerd_version)" ] || return 0
    CONTAINERD_CHANGED=no
    CONTAINERD_RELOAD=no
    containerd_config
    containerd_service
}

# remove_containerd_files: what install_containerd wrote outside /etc/containerd/config.toml
# (the proxy drop-in, the registry hosts files), if labkube wrote them.
remove_containerd_files() {
    if remove_proxy_drop_in; then
        echo "reset: removed labkube's proxy drop-in of containerd"
        systemctl daemon-reload
        if systemctl is-active --quiet containerd; then
            systemctl restart containerd
            echo "reset: containerd restarted without labkube's proxy"
        fi
    fi
    for file in "$R/etc/containerd/certs.d"/*/hosts.toml; do
        if [ -f "$file" ] && grep -q '^# Managed by labkube' "$file"; then
            dir=${file%/hosts.toml}
            remove "${dir#"$R"}"
        fi
    done
    rmdir "$R/etc/containerd/certs.d" 2>/dev/null || true
}
