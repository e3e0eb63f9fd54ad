# shellcheck shell=sh disable=SC2154
# Helpers shared by the step scripts. The engine (src/provision/scripts.rs) sends this file
# in front of every step, so each step sees these functions; it only defines functions, so a
# truncated upload still runs nothing. They read, at call time, the globals every step sets:
#   R     the host root prefix (empty in production, a per-host directory in tests);
#   STEP  the step name, for messages.
# containerd's functions are in containerd.sh, sent right after this file.

# fail MESSAGE: the step's error on stderr, exit 1.
fail() {
    echo "$STEP: $*" >&2
    exit 1
}

# The mark on the /etc/hosts line that makes the cluster's API endpoint name resolve
# (prepare_host writes it, reset removes it).
api_name_mark() {
    echo "# labkube: the cluster's API endpoint"
}

# drop_api_name FILE: FILE's lines without labkube's API endpoint line, on stdout.
drop_api_name() {
    grep -vF "$(api_name_mark)" "$1" 2>/dev/null || true
}

# forget_api_name: remove labkube's API endpoint line from /etc/hosts, in place (it may be a
# mount point), keeping every other line.
forget_api_name() {
    grep -qF "$(api_name_mark)" "$R/etc/hosts" 2>/dev/null || return 0
    kept=$(drop_api_name "$R/etc/hosts")
    printf '%s\n' "$kept" >"$R/etc/hosts" || fail "cannot write /etc/hosts"
    echo "$STEP: removed the cluster's API endpoint name from /etc/hosts"
}

# map_api_name NAME ADDRESS: make NAME resolve to ADDRESS on this host by labkube's marked
# /etc/hosts line, rewritten in place (in containers and on some images /etc/hosts is a mount
# point), every other line kept. A line labkube did not write that names NAME stops the step
# before anything changed.
map_api_name() {
    want="$2 $1 $(api_name_mark)"
    grep -qxF "$want" "$R/etc/hosts" 2>/dev/null && return 0
    theirs=$(awk -v n="$1" -v m="$(api_name_mark)" '
        index($0, m) == 0 && $1 !~ /^#/ { for (i = 2; i <= NF && $i !~ /^#/; i++) if ($i == n) print }
    ' "$R/etc/hosts" 2>/dev/null || true)
    [ -z "$theirs" ] ||
        fail "/etc/hosts maps $1 in a line labkube did not write ($theirs); labkube needs that name for the cluster's API endpoint: remove the line and run the create again"
    hosts_new=$(mktemp)
    { drop_api_name "$R/etc/hosts" && printf '%s\n' "$want"; } >"$hosts_new" || fail "cannot read /etc/hosts"
    cat "$hosts_new" >"$R/etc/hosts" || fail "cannot write /etc/hosts"
    rm -f "$hosts_new"
    echo "/etc/hosts: $1 is $2"
}

# remove_api_proxy: api_proxy's service and files, when labkube wrote them (haproxy itself
# goes with the packages labkube noted it installed).
remove_api_proxy() {
    unit=/etc/systemd/system/labkube-api-proxy.service
    grep -qs '^# Managed by labkube' "$R$unit" || return 0
    systemctl disable --now labkube-api-proxy
    remove "$unit" /etc/labkube/api-proxy.cfg
    systemctl daemon-reload
}

# node_name: what Kubernetes calls this host's node (kubeadm's default: the host name, lower
# case).
node_name() {
    { cat "$R/proc/sys/kernel/hostname" 2>/dev/null || uname -n; } | tr '[:upper:]' '[:lower:]'
}

# schedule_here ADMIN: in a cluster of control planes only (SCHEDULE_ON_CONTROL_PLANE=yes),
# the workloads run on them: kubeadm's control-plane taint is removed from this host's node,
# as the kubeadm guide says for a single-machine cluster ("Control plane node isolation").
# Probed first, so a second run changes nothing.
schedule_here() { # ADMIN
    [ "$SCHEDULE_ON_CONTROL_PLANE" = yes ] || return 0
    node=$(node_name)
    taints=$(kubectl --kubeconfig "$1" get node "$node" -o 'jsonpath={.spec.taints[*].key}')
    case " $taints " in
        *" node-role.kubernetes.io/control-plane "*)
            kubectl --kubeconfig "$1" taint nodes "$node" node-role.kubernetes.io/control-plane-
            ;;
    esac
}

# node_param: fail unless $NODE is a node name (the engine sends a validated one).
node_param() {
    case "${NODE:-}" in
        "" | *[!a-z0-9.-]*) fail "NODE must be a node name" ;;
    esac
}

# upgrade_label: the label an upgrade keeps on a node while it is part-way
# (mark_upgrade, finish_upgrade, upgrade_marks read it as labkube.io/upgrade-to too).
upgrade_label() {
    echo labkube.io/upgrade-to
}

# admin_conf: the path of /etc/kubernetes/admin.conf; fails unless this host is a control
# plane that has one.
admin_conf() {
    [ -f "$R/etc/kubernetes/admin.conf" ] || fail "no /etc/kubernetes/admin.conf: this is not a control plane"
    echo "$R/etc/kubernetes/admin.conf"
}

# need_ping: fail unless ping is installed (a missing one would read as an address that does
# not answer).
need_ping() {
    command -v ping >/dev/null 2>&1 ||
        fail "ping is not installed: install iputils-ping (Debian, Ubuntu) or iputils (RHEL family); the virtual IP's checks need it"
}

# vip_params NEED_INTERFACE: fail unless VIP is an IPv4 or IPv6 address and, when
# NEED_INTERFACE is yes, VIP_INTERFACE a network interface name (1-15 of A-Z a-z 0-9 . _ -,
# as the kernel's dev_valid_name takes them, not starting with a dot).
vip_params() {
    case "${VIP:-}" in
        "" | *[!0-9A-Fa-f.:]*) fail "VIP must be an IPv4 or IPv6 address" ;;
    esac
    [ "$1" = yes ] || return 0
    case "${VIP_INTERFACE:-}" in
        "" | .* | *[!A-Za-z0-9._-]* | ????????????????*) fail "VIP_INTERFACE must be a network interface name such as eth0" ;;
    esac
}

# put_file SRC DEST MODE: replace DEST by SRC (atomically, through a file beside DEST) unless
# DEST already has the same bytes. Returns 0 if DEST changed, 1 if it was already right.
# The file beside DEST is this process's own: a run orphaned by a bot that was killed may
# still be writing the same file while the resumed job's run does.
# (Called in if conditions, where set -e is off: hence the explicit || fail.)
put_file() {
    if [ -f "$2" ] && cmp -s "$1" "$2"; then
        return 1
    fi
    { mkdir -p "${2%/*}" && cp "$1" "$2.labkube-new.$$" && chmod "$3" "$2.labkube-new.$$" &&
        mv -f "$2.labkube-new.$$" "$2"; } || {
        rm -f "$2.labkube-new.$$"
        fail "cannot write ${2#"$R"}"
    }
}

installed_by_labkube() {
    grep -qx "$1" "$R/var/lib/labkube/installed" 2>/dev/null
}

# note_installed PACKAGE: remember that labkube installed PACKAGE (for reset).
note_installed() {
    mkdir -p "$R/var/lib/labkube"
    grep -qx "$1" "$R/var/lib/labkube/installed" 2>/dev/null ||
        printf '%s\n' "$1" >>"$R/var/lib/labkube/installed"
}

fetch() { # URL FILE
    curl -fsSL --proto '=https' --tlsv1.2 --retry 3 --connect-timeout 20 --max-time 300 -o "$2" "$1"
}

# release_tag NAME VALUE EXAMPLE: fail unless VALUE is a release tag (v1.2.3, letters, digits,
# '.', '+', '-' only), naming the variable and an example.
release_tag() {
    case "$2" in
        v[0-9]*.[0-9]*.[0-9]*) ;;
        *) fail "$1 must be a release tag such as $3" ;;
    esac
    case "$2" in
        *[!0-9A-Za-z.+-]*) fail "$1 must be a release tag such as $3" ;;
    esac
}

# networks NAME VALUE: fail unless VALUE is an IP network such as 10.244.0.0/16, or two of them
# comma-separated for dual stack (IPv4,IPv6), as the engine validated them.
networks() {
    case "$2" in
        "" | ,* | *, | *,*,* | *[!0-9A-Fa-f.:/,]*) fail "$1 must be a network such as 10.244.0.0/16, or IPv4,IPv6 networks for dual stack" ;;
    esac
    for part in $(printf '%s' "$2" | tr ',' ' '); do
        case "$part" in
            */*/*) fail "$1 must be a network such as 10.244.0.0/16, or IPv4,IPv6 networks for dual stack" ;;
            */[0-9] | */[0-9][0-9] | */[0-9][0-9][0-9]) ;;
            *) fail "$1 must be a network such as 10.244.0.0/16, or IPv4,IPv6 networks for dual stack" ;;
        esac
    done
}

# ipv6_network VALUE: the IPv6 network of a (valid) dual-stack pair, or nothing.
ipv6_network() {
    for part in $(printf '%s' "$1" | tr ',' ' '); do
        case "$part" in *:*) printf '%s\n' "$part" ;; esac
    done
}

# The kubelet's environment file its systemd unit reads: /etc/sysconfig/kubelet on RHEL-family
# hosts (they have /etc/sysconfig), /etc/default/kubelet elsewhere (the kubeadm packages' drop-in).
kubelet_env_file() {
    if [ -d "$R/etc/sysconfig" ]; then
        echo "$R/etc/sysconfig/kubelet"
    else
        echo "$R/etc/default/kubelet"
    fi
}

# set_node_ip IP: make the kubelet register and serve on IP (--node-ip), not on the address of
# the default route, which on a VM with several NICs is often another network (kubeadm's
# "Check network adapters"). Returns 0 if the file changed, 1 if it was already right.
set_node_ip() {
    file=$(kubelet_env_file)
    tmp=$(mktemp)
    printf '# Managed by labkube: the address the kubelet registers (kubeadm_init, kubeadm_join).\nKUBELET_EXTRA_ARGS=--node-ip=%s\n' "$1" >"$tmp"
    if put_file "$tmp" "$file" 0644; then
        rm -f "$tmp"
        return 0
    fi
    rm -f "$tmp"
    return 1
}

# kubelet_patches: write the patch kubeadm init and join apply to the kubelet's configuration
# (--patches /etc/kubernetes/patches, target "kubeletconfiguration"): serverTLSBootstrap, so
# the kubelet asks the cluster CA for its serving certificate (a kubelet-serving CSR, which
# approve_csrs checks and approves) instead of signing its own, which metrics-server refuses.
kubelet_patches() {
    tmp=$(mktemp)
    printf '# Managed by labkube (kubeadm_init, kubeadm_join): a serving certificate from the cluster CA.\nserverTLSBootstrap: true\n' >"$tmp"
    if put_file "$tmp" "$R/etc/kubernetes/patches/kubeletconfiguration+merge.yaml" 0644; then
        echo "$STEP: /etc/kubernetes/patches/kubeletconfiguration+merge.yaml written (serverTLSBootstrap: true)"
    fi
    rm -f "$tmp"
}

# kubelet_serving_bootstrap: turn serverTLSBootstrap on in the config of a kubelet set up before
# kubelet_patches existed (kubeadm applies patches only when it writes that file, at init or
# join). Returns 0 if the file changed (the kubelet must restart), 1 if it was already on.
kubelet_serving_bootstrap() {
    config="$R/var/lib/kubelet/config.yaml"
    [ -f "$config" ] || return 1
    if grep -qx 'serverTLSBootstrap: true' "$config"; then return 1; fi
    tmp=$(mktemp)
    { grep -v '^serverTLSBootstrap:' "$config" || true; echo 'serverTLSBootstrap: true'; } >"$tmp"
    put_file "$tmp" "$config" 0644 || true
    rm -f "$tmp"
    echo "$STEP: serverTLSBootstrap turned on in /var/lib/kubelet/config.yaml"
}

# remove_on_exit DIR: remove DIR (a mktemp -d directory) however the step ends.
remove_on_exit() {
    # shellcheck disable=SC2064 # the path is expanded now, on purpose
    trap "rm -rf '$1'" EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# fetch_checked URL FILE EXPECTED NAME: fetch URL to FILE; when EXPECTED (the operator's
# pinned sha256, given as variable NAME) is set, fail unless the download has it.
fetch_checked() {
    fetch "$1" "$2"
    if [ -n "$3" ]; then
        actual=$(sha256sum "$2" | awk '{ print $1 }')
        [ "$actual" = "$3" ] || fail "$1 has sha256 $actual, expected $4=$3"
    fi
}

# Non-interactive apt that waits for a running apt (unattended-upgrades on a fresh VM) instead
# of failing on its lock, and keeps existing config files.
apt_get() {
    apt-get -q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef \
        -o Dpkg::Options::=--force-confold "$@"
}

# minor_param: fail unless $K8S_MINOR is a Kubernetes minor release (1.35).
minor_param() {
    case "${K8S_MINOR:-}" in
        1.[0-9] | 1.[0-9][0-9]) ;;
        *) fail "K8S_MINOR must be a Kubernetes minor release such as 1.35" ;;
    esac
}

# deb_version PACKAGE: its installed version (1.35.5-1.1), empty if it is not installed.
deb_version() {
    # shellcheck disable=SC2016 # ${...} are dpkg-query fields, not shell expansions
    dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$1" 2>/dev/null |
        awk '$1 == "installed" { print $2 }'
}

# rpm_version PACKAGE: its installed version (1.35.5), empty if it is not installed.
rpm_version() {
    rpm -q --qf '%{VERSION}\n' "$1" 2>/dev/null | grep -v 'not installed' || true
}

# kube_behind VERSION_OF PACKAGE...: those of the packages not of $K8S_MINOR, space-separated
# on stdout (empty: all are), VERSION_OF being deb_version or rpm_version; fails naming a
# package that is not installed.
kube_behind() {
    version_of=$1
    shift
    behind=""
    for package in "$@"; do
        version=$("$version_of" "$package")
        case "$version" in
            "") fail "$package is not installed: this host is not a node labkube set up" ;;
            "$K8S_MINOR".*) ;;
            *) behind="${behind:+$behind }$package" ;;
        esac
    done
    printf '%s\n' "$behind"
}

# kubelet_running: the kubelet started again if it is not running (one that crash-looped after
# an upgrade and was mended since).
kubelet_running() {
    if ! systemctl is-active --quiet kubelet; then
        systemctl restart kubelet
        echo "$STEP: the kubelet was not running: restarted"
    fi
}

# kube_deb_repository WORK: the pkgs.k8s.io repository of $K8S_MINOR for apt, which only holds
# that minor's patch releases (the pin): its Release.key dearmored into
# /etc/apt/keyrings/kubernetes-apt-keyring.gpg and /etc/apt/sources.list.d/kubernetes.list
# (written only when its bytes change; WORK is a scratch directory).
kube_deb_repository() {
    repo="https://pkgs.k8s.io/core:/stable:/v$K8S_MINOR/deb/"
    keyring="$R/etc/apt/keyrings/kubernetes-apt-keyring.gpg"
    cat >"$1/kubernetes.list" <<LIST
# Managed by labkube: Kubernetes $K8S_MINOR packages (the install_kube step writes this file).
deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] $repo /
LIST
    if [ -s "$keyring" ] && cmp -s "$1/kubernetes.list" "$R/etc/apt/sources.list.d/kubernetes.list"; then
        return 0
    fi
    if ! command -v curl >/dev/null 2>&1 || ! command -v gpg >/dev/null 2>&1; then
        apt_get update
        apt_get install ca-certificates curl gnupg
    fi
    fetch "${repo}Release.key" "$1/Release.key"
    mkdir -m 0700 "$1/gnupg"
    gpg --batch --yes --homedir "$1/gnupg" --dearmor -o "$1/keyring.gpg" "$1/Release.key"
    if put_file "$1/keyring.gpg" "$keyring" 0644; then
        echo "kubernetes: repository key written to /etc/apt/keyrings/kubernetes-apt-keyring.gpg"
    fi
    if put_file "$1/kubernetes.list" "$R/etc/apt/sources.list.d/kubernetes.list" 0644; then
        echo "kubernetes: repository $repo configured"
    fi
}

# kube_rpm_repository WORK: /etc/yum.repos.d/kubernetes.repo, the pkgs.k8s.io repository of
# $K8S_MINOR for dnf, with exclude= so that a plain 'dnf upgrade' never moves a node past the
# control plane (RHEL's equivalent of apt-mark hold; installs and upgrades name the packages
# with --disableexcludes=kubernetes). Written only when its bytes change.
kube_rpm_repository() {
    repo="https://pkgs.k8s.io/core:/stable:/v$K8S_MINOR/rpm/"
    cat >"$1/kubernetes.repo" <<REPO
# Managed by labkube: Kubernetes $K8S_MINOR packages (the install_kube step writes this file).
[kubernetes]
name=Kubernetes $K8S_MINOR
baseurl=$repo
enabled=1
gpgcheck=1
gpgkey=${repo}repodata/repomd.xml.key
exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni
REPO
    if put_file "$1/kubernetes.repo" "$R/etc/yum.repos.d/kubernetes.repo" 0644; then
        echo "kubernetes: repository $repo configured"
    fi
}

deb_installed() {
    # shellcheck disable=SC2016 # ${...} is a dpkg-query field, not a shell expansion
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

rpm_installed() {
    rpm -q --quiet "$1" 2>/dev/null
}

remove_state() {
    remove /etc/cni/net.d /var/lib/cni /run/flannel /opt/cni/bin/flannel \
        /etc/kubernetes /var/lib/kubelet /var/lib/etcd
    for dir in /opt/cni/bin /opt/cni /etc/cni; do
        rmdir "$R$dir" 2>/dev/null || true
    done
    env_file=$(kubelet_env_file)
    if [ -f "$env_file" ] && grep -q '^# Managed by labkube' "$env_file"; then
        remove "${env_file#"$R"}"
    fi
}

remove() { # PATH... : rm -rf those that exist, saying so
    for path in "$@"; do
        if [ -e "$R$path" ] || [ -L "$R$path" ]; then
            rm -rf "$R$path"
            echo "reset: removed $path"
        fi
    done
}

# kubeadm reset unmounts the pods' volumes; if some are still mounted (an NFS volume that
# hangs, say), deleting /var/lib/kubelet would delete their data: stop before anything else.
refuse_mounted_volumes() {
    if awk '$2 ~ "^/var/lib/kubelet(/|$)" { found = 1 } END { exit !found }' "$R/proc/mounts" 2>/dev/null; then
        fail "volumes are still mounted under /var/lib/kubelet (see /proc/mounts); unmount them or reboot, then run reset again. Not deleting through mounts"
    fi
}

kubeadm_reset() {
    kubeadm version -o short >/dev/null 2>&1 || return 0
    for state in etc/kubernetes/admin.conf etc/kubernetes/kubelet.conf etc/kubernetes/pki \
        etc/kubernetes/manifests/kube-apiserver.yaml var/lib/kubelet/config.yaml var/lib/etcd/member; do
        if [ -e "$R/$state" ]; then
            kubeadm reset -f --cri-socket=unix:///run/containerd/containerd.sock
            echo "reset: kubeadm reset done"
            return 0
        fi
    done
}

delete_links() {
    for link in cni0 flannel.1; do
        if ip link show "$link" >/dev/null 2>&1; then
            ip link delete "$link"
            echo "reset: network interface $link deleted"
        fi
    done
}
