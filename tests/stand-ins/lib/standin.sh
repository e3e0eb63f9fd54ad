# shellcheck shell=sh
# Shared by the stand-ins (sourced, never run). A stand-in replaces a tool that must not really
# run in tests (it would change this machine or reach the network). Each one:
#   - refuses to run unless LABKUBE_ROOT names a per-host test directory (never /) and
#     LABKUBE_RECORD names the host's recording file;
#   - appends one line per call to $LABKUBE_RECORD: the tool name and its arguments,
#     tab-separated (tabs and newlines inside an argument become spaces);
#   - keeps the host's state under $LABKUBE_ROOT/.standin (installed packages, services,
#     loaded modules, firewall rules...) and the cluster's under $LABKUBE_STANDIN_CLUSTER;
#   - fails on purpose, with the real tool's kind of message on stderr, when
#     $LABKUBE_ROOT/.fail has a line "<tool>" or "<tool> <subcommand>";
#   - takes its time when $LABKUBE_ROOT/.slow holds a number of seconds (crash tests use it
#     to kill the bot in the middle of a phase);
#   - dies loudly (exit 97, "stand-in <tool>: ...") on an invocation it does not model, so a
#     script that starts using a new option is noticed instead of silently "succeeding".

STANDIN_DIR=${0%/*}
FIXTURES=$STANDIN_DIR/fixtures
# shellcheck source-path=SCRIPTDIR source=network.sh
. "$STANDIN_DIR/lib/network.sh"

# standin_begin TOOL ARG...: check the environment, record the call, set R (the host root) and
# S (the stand-in state directory).
standin_begin() {
    TOOL=$1
    shift
    case "${LABKUBE_ROOT:-}" in
        "" | / | //) standin_die "LABKUBE_ROOT must name a per-host test directory; refusing to act on the real host" ;;
    esac
    [ -d "$LABKUBE_ROOT" ] || standin_die "LABKUBE_ROOT=$LABKUBE_ROOT is not a directory"
    [ -n "${LABKUBE_RECORD:-}" ] || standin_die "LABKUBE_RECORD is not set"
    R=$LABKUBE_ROOT
    S=$R/.standin
    mkdir -p "$S"
    {
        printf '%s' "$TOOL"
        for arg in "$@"; do
            case "$arg" in
                *"	"* | *"
"*) arg=$(printf '%s' "$arg" | tr '\t\n' '  ') ;;
            esac
            printf '\t%s' "$arg"
        done
        printf '\n'
    } >>"$LABKUBE_RECORD"
    if [ -f "$R/.slow" ]; then
        delay=0
        read -r delay <"$R/.slow" || true
        sleep "$delay"
    fi
}

# standin_download PACKAGE...: fetching the packages an install adds. $S/install-seconds makes
# a fetch that includes kubeadm take that many seconds longer, as a lab VM behind a slow
# package mirror does (the benchmarks' slow host).
standin_download() {
    case " $* " in *" kubeadm "*) ;; *) return 0 ;; esac
    [ -f "$S/install-seconds" ] || return 0
    secs=0
    read -r secs <"$S/install-seconds" || true
    sleep "$secs"
}

standin_die() {
    printf 'stand-in %s: %s\n' "${TOOL:-?}" "$*" >&2
    exit 97
}

# standin_injected SUBCOMMAND: true if .fail asks this call to fail.
standin_injected() {
    [ -f "$LABKUBE_ROOT/.fail" ] || return 1
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in
            "$TOOL" | "$TOOL $1") return 0 ;;
        esac
    done <"$LABKUBE_ROOT/.fail"
    return 1
}

# standin_maybe_fail SUBCOMMAND STATUS MESSAGE: exit with MESSAGE on stderr if injected.
standin_maybe_fail() {
    if standin_injected "$1"; then
        printf '%s\n' "$3" >&2
        exit "$2"
    fi
}

# What dash prints for a command that is not installed.
standin_not_found() {
    printf 'sh: 1: %s: not found\n' "$TOOL" >&2
    exit 127
}

# Packages: $S/pkgs/<name> holds the installed version.
pkg_installed() { [ -f "$S/pkgs/$1" ]; }
pkg_version() { cat "$S/pkgs/$1" 2>/dev/null || true; }
pkg_set() {
    mkdir -p "$S/pkgs"
    printf '%s\n' "$2" >"$S/pkgs/$1"
}
pkg_unset() { rm -f "$S/pkgs/$1" "$S/held/$1"; }

# Services: $S/systemd/<unit>.enabled and .active exist when the unit is.
# A unit that systemd keeps restarting (Restart=always) after its process exited has
# <unit>.auto-restart instead of .active; stopping it ends that too.
svc_set() { # UNIT enabled|active yes|no
    mkdir -p "$S/systemd"
    if [ "$3" = yes ]; then : >"$S/systemd/$1.$2"; else rm -f "$S/systemd/$1.$2"; fi
    if [ "$2" = active ]; then rm -f "$S/systemd/$1.auto-restart"; fi
}
svc_is() { [ -f "$S/systemd/$1.$2" ]; }
svc_forget() { rm -f "$S/systemd/$1.enabled" "$S/systemd/$1.active" "$S/systemd/$1.auto-restart"; }

# os_field KEY: a value of the host's os-release.
os_field() {
    sed -n "s/^$1=//p" "$R/etc/os-release" 2>/dev/null | tr -d "\"'"
}

host_name() {
    cat "$R/proc/sys/kernel/hostname" 2>/dev/null || echo localhost
}

# The containerd version a node reports (1.7.28), empty if none is installed.
containerd_version() {
    for p in containerd containerd.io; do
        if pkg_installed "$p"; then
            pkg_version "$p" | sed 's/-.*//'
            return 0
        fi
    done
}

# pkg_conffiles PACKAGE: the config files a package ships, put in place on install unless one
# is already there (dpkg keeps a conffile the admin changed; rpm a %config(noreplace)). Docker's
# containerd.io ships /etc/containerd/config.toml with the CRI plugin disabled
# (docker/containerd-packaging, common/containerd.toml): kubelet cannot talk to it as is.
pkg_conffiles() {
    case "$1" in
        containerd.io)
            [ -e "$R/etc/containerd/config.toml" ] && return 0
            mkdir -p "$R/etc/containerd"
            printf '%s\n' '#   Copyright 2018-2022 Docker Inc.' '' 'disabled_plugins = ["cri"]' '' \
                '#root = "/var/lib/containerd"' '#state = "/run/containerd"' >"$R/etc/containerd/config.toml"
            ;;
    esac
}

# Installed packages that depend on package $1 (a small table of the relationships the tests
# care about: software a user may have installed on top of labkube's containerd).
pkg_dependents() {
    case "$1" in
        containerd | runc) deps="docker.io" ;;
        containerd.io) deps="docker-ce" ;;
        container-selinux) deps="podman" ;;
        *) deps="" ;;
    esac
    for dep in $deps; do
        if pkg_installed "$dep"; then echo "$dep"; fi
    done
}

# standin_cluster: C = the cluster-wide state directory.
standin_cluster() {
    [ -n "${LABKUBE_STANDIN_CLUSTER:-}" ] || standin_die "LABKUBE_STANDIN_CLUSTER is not set"
    C=$LABKUBE_STANDIN_CLUSTER
    mkdir -p "$C"
}

# resolve HOST:PORT: where a connection to HOST:PORT arrives, with a name looked up in this
# host's /etc/hosts as glibc's "files" source does (first line that names it); an address is
# itself. Fails, saying what Go's resolver says (kubeadm, kubectl and the kubelet are Go
# programs), for a name it does not find. A loopback address where api_proxy's
# labkube-api-proxy runs arrives, through it, at the first server of the configuration it
# loaded that is a live API server (haproxy's health check skips the others); with none live
# it arrives at the proxy itself, which has nothing to hand the connection to.
resolve() {
    host=${1%:*}
    port=${1##*:}
    case "$host" in
        *[!0-9.]*)
            addr=$(awk -v n="$host" '$1 !~ /^#/ { for (i = 2; i <= NF && $i !~ /^#/; i++) if ($i == n) { print $1; exit } }' "$R/etc/hosts" 2>/dev/null)
            if [ -z "$addr" ]; then
                echo "dial tcp: lookup $host on 127.0.0.53:53: no such host"
                return 1
            fi
            ;;
        *) addr=$host ;;
    esac
    # A virtual IP arrives at the API server of the host that carries it, when this host
    # reaches it; otherwise the neighbour lookup fails (lib/network.sh).
    if [ -n "$(net_holder "$addr")" ] || net_was_vip "$addr"; then
        if ! net_reaches "$addr"; then
            echo "dial tcp $addr:$port: connect: no route to host"
            return 1
        fi
        echo "$(net_address_of "$(net_holder "$addr")"):$port"
        return 0
    fi
    if [ "$addr" = 127.0.0.1 ] && svc_is labkube-api-proxy active &&
        grep -qE "^[[:space:]]*bind[[:space:]]+127\.0\.0\.1:$port\$" "$S/api-proxy-loaded.cfg" 2>/dev/null; then
        live=$(awk '$1 == "server" { print $3 }' "$S/api-proxy-loaded.cfg" | while IFS= read -r server; do
            if api_live "$server"; then
                echo "$server"
                break
            fi
        done)
        if [ -n "$live" ]; then
            echo "$live"
            return 0
        fi
    fi
    echo "$addr:$port"
}

# cluster_now: the cluster's clock in Unix seconds (the machine's, moved by the test's
# $LABKUBE_STANDIN_CLUSTER/clock-offset seconds: "a day later").
cluster_now() {
    now=$(awk 'BEGIN { srand(); print srand() }')
    echo $((now + $(cat "${LABKUBE_STANDIN_CLUSTER:-/nonexistent}/clock-offset" 2>/dev/null || echo 0)))
}

# api_live ADDR:PORT: an API server of the cluster listens there (kubeadm init and a
# control-plane join add theirs to $C/apiservers, kubeadm reset takes it away).
api_live() {
    grep -qxF "$1" "${LABKUBE_STANDIN_CLUSTER:-/nonexistent}/apiservers" 2>/dev/null
}

# random_hex BYTES
random_hex() {
    od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

# urls_match FILE URL: true if a line of FILE (a glob) matches URL.
urls_match() {
    [ -f "$1" ] || return 1
    while IFS= read -r pattern || [ -n "$pattern" ]; do
        [ -n "$pattern" ] || continue
        # shellcheck disable=SC2254 # the line is a glob on purpose
        case "$2" in $pattern) return 0 ;; esac
    done <"$1"
    return 1
}

# The deterministic test release tarball of Helm VERSION for ARCH: linux-ARCH/helm is a
# stand-in that reports VERSION (fixtures/helm.in).
helm_tarball() { # VERSION ARCH
    tmp=$(mktemp -d)
    mkdir -p "$tmp/linux-$2"
    sed "s/@VERSION@/$1/g" "$FIXTURES/helm.in" >"$tmp/linux-$2/helm"
    printf 'Test fixture standing in for the Helm %s release (Apache-2.0).\n' "$1" >"$tmp/linux-$2/LICENSE"
    chmod 0755 "$tmp/linux-$2" "$tmp/linux-$2/helm"
    chmod 0644 "$tmp/linux-$2/LICENSE"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 \
        -C "$tmp" -cf - "linux-$2" | gzip -n
    rm -rf "$tmp"
}

# standin_serve URL: write the fixture for URL to stdout; status 7 (curl's "couldn't connect")
# with a message for a URL without one. Nothing here ever touches the network.
standin_serve() {
    url=$1
    body=""
    case "$url" in
        https://pkgs.k8s.io/core:/stable:/v1.[0-9]*/deb/Release.key)
            body=$(cat "$FIXTURES/pkgs.k8s.io-Release.key")
            ;;
        https://download.docker.com/linux/debian/gpg | https://download.docker.com/linux/ubuntu/gpg)
            body=$(cat "$FIXTURES/download.docker.com-gpg")
            ;;
        https://github.com/flannel-io/flannel/releases/download/v[0-9]*/kube-flannel.yml)
            version=${url#https://github.com/flannel-io/flannel/releases/download/}
            version=${version%%/*}
            body=$(sed "s/@FLANNEL_VERSION@/$version/g" "$FIXTURES/kube-flannel.yml.in")
            ;;
        https://raw.githubusercontent.com/rancher/local-path-provisioner/v[0-9]*/deploy/local-path-storage.yaml)
            version=${url#https://raw.githubusercontent.com/rancher/local-path-provisioner/}
            version=${version%%/*}
            body=$(sed "s/@LOCAL_PATH_VERSION@/$version/g" "$FIXTURES/local-path-storage.yaml.in")
            ;;
        https://github.com/kubernetes-sigs/metrics-server/releases/download/v[0-9]*/components.yaml)
            version=${url#https://github.com/kubernetes-sigs/metrics-server/releases/download/}
            version=${version%%/*}
            body=$(sed "s/@METRICS_SERVER_VERSION@/$version/g" "$FIXTURES/metrics-server-components.yaml.in")
            ;;
        https://get.helm.sh/helm-v[0-9]*-linux-amd64.tar.gz | https://get.helm.sh/helm-v[0-9]*-linux-arm64.tar.gz)
            name=${url#https://get.helm.sh/helm-}
            version=${name%-linux-*}
            arch=${name##*-linux-}
            arch=${arch%.tar.gz}
            helm_tarball "$version" "$arch"
            if urls_match "$LABKUBE_ROOT/.corrupt" "$url"; then printf 'corrupted in transit\n'; fi
            return 0
            ;;
        https://get.helm.sh/helm-v[0-9]*-linux-amd64.tar.gz.sha256sum | https://get.helm.sh/helm-v[0-9]*-linux-arm64.tar.gz.sha256sum)
            name=${url#https://get.helm.sh/helm-}
            version=${name%-linux-*}
            arch=${name##*-linux-}
            arch=${arch%.tar.gz.sha256sum}
            sum=$(helm_tarball "$version" "$arch" | sha256sum | cut -c1-64)
            body=$(printf '%s  helm-%s-linux-%s.tar.gz' "$sum" "$version" "$arch")
            ;;
        *)
            printf 'curl: (7) stand-in: no fixture for %s (tests never reach the network; add one to tests/stand-ins/fixtures)\n' "$url" >&2
            return 7
            ;;
    esac
    printf '%s\n' "$body"
    if urls_match "$LABKUBE_ROOT/.corrupt" "$url"; then printf 'corrupted in transit\n'; fi
}

# A kubeconfig for SERVER and USER with made-up key material (never a token).
kubeconfig_for() { # SERVER USER
    cat <<KUBECONFIG
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: $(random_hex 48)
    server: https://$1
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: $2
  name: $2@kubernetes
current-context: $2@kubernetes
kind: Config
preferences: {}
users:
- name: $2
  user:
    client-certificate-data: $(random_hex 48)
    client-key-data: $(random_hex 48)
KUBECONFIG
}
