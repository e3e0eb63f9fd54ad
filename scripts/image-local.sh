#!/usr/bin/env bash
# Builds labkube's image with podman and runs it, where no container registry is reachable
# (issue 17, item 4). The official bases (docker.io's rust and debian) cannot be pulled, so:
#   1. a Debian bookworm base is made here: debootstrap (minbase, ca-certificates) from
#      Debian's mirror, imported as localhost/labkube-base:bookworm (the root filesystem is
#      cached in ~/.cache/labkube-peers/debian-rootfs);
#   2. the bot is built on this host with the image's profile and the locked dependencies:
#      cargo build --locked --profile dist --bin labkube (about 14 minutes on 2 cores, cold);
#   3. deploy/bot/Containerfile is built with RUNTIME=that base and BINARY=prebuilt (its Rust
#      build stage is skipped), as localhost/labkube:local;
#   4. the image is run as it would be deployed (its own unprivileged user, a read-only root
#      filesystem, the data directory a tmpfs): --version, check-config, and a console session
#      that runs a selftest job. Each check prints what ran and what it showed.
# Needs root (debootstrap, podman's storage) and apt for podman, runc and debootstrap.
# LABKUBE_IMAGE_PREBUILT=1 takes target/dist/labkube as it is (to repeat steps 3-4).
# LABKUBE_OCI_RUNTIME picks the OCI runtime (default runc: crun refuses this machine's
# hybrid cgroups); the rlimits are set explicitly because a container may not raise them.
set -euo pipefail
cd "$(dirname "$0")/.."
peers="${LABKUBE_PEERS_DIR:-$HOME/.cache/labkube-peers}"
rootfs="$peers/debian-rootfs"
base=localhost/labkube-base:bookworm
image=localhost/labkube:local
runtime=(--runtime "${LABKUBE_OCI_RUNTIME:-runc}")
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

need=()
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null || need+=("$tool")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "== installing ${need[*]} (apt)"
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
  $sudo_ apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi

if ! podman image exists "$base"; then
  if [ ! -x "$rootfs/usr/bin/apt-get" ]; then
    echo "== debootstrap bookworm (minbase) into $rootfs"
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" \
      http://deb.debian.org/debian >"$peers/debootstrap.log" 2>&1
  fi
  echo "== importing $rootfs as $base"
  tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$base" >/dev/null
fi

if [ "${LABKUBE_IMAGE_PREBUILT:-}" = 1 ] && [ -x target/dist/labkube ]; then
  echo "== the binary target/dist/labkube as it is (LABKUBE_IMAGE_PREBUILT=1)"
else
  echo "== cargo build --locked --profile dist --bin labkube"
  cargo build --locked --profile dist --bin labkube
fi
ls -l target/dist/labkube

echo "== podman build (RUNTIME=$base, BINARY=prebuilt)"
podman "${runtime[@]}" build "${limits[@]}" -f deploy/bot/Containerfile \
  --build-arg RUNTIME="$base" --build-arg BINARY=prebuilt -t "$image" . >/dev/null
podman image inspect "$image" --format 'image {{.Id}}: user {{.Config.User}}, entrypoint {{.Config.Entrypoint}}, {{.Size}} bytes'

run() {
  podman "${runtime[@]}" run --rm -i "${limits[@]}" --read-only \
    --tmpfs /var/lib/labkube:rw,mode=0700,U "$@"
}

echo "== labkube --version in the image"
run "$image" --version

echo "== check-config in the image (a config mounted read-only)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf 'data_dir = "/var/lib/labkube"\n[metrics]\nlisten = "127.0.0.1:9712"\n' >"$work/config.toml"
chmod 0644 "$work/config.toml"
run -v "$work/config.toml:/etc/labkube/config.toml:ro" "$image" check-config /etc/labkube/config.toml

echo "== a console session in the image: /whoami, then a selftest job to its end"
out="$(printf '/whoami\n/selftest steps=2 ms=50\n' | run -e USER=lab "$image" console --data /var/lib/labkube)"
echo "$out"
grep -q "you are lab on console, with the admin role" <<<"$out"
grep -q "job #1 selftest (2 steps) succeeded" <<<"$out"
echo "== the image builds and runs: every check above passed"
