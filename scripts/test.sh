#!/usr/bin/env bash
# Runs every labkube test, after installing what the tests need (apt, pip, npm and cargo only).
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Build outputs live outside the checkout so fresh clones reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/labkube-target}"

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
# Python runs the Synapse homeserver of the Matrix tests (installed from PyPI below).
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is not installed: install the Rust toolchain named in rust-toolchain.toml" >&2
  exit 1
fi

# Real test peers: OpenSSH sshd (started per test on 127.0.0.x), sudo, and the two local users
# the non-root SSH tests log in as.
as_root bash scripts/test-setup-ssh.sh
# The Telegram Bot API emulator (npm telegram-test-api), cached under ~/.cache/labkube-peers.
bash scripts/test-setup-telegram.sh

# Synapse (PyPI, in a cached venv) for the Matrix tests, which start their own homeservers.
bash scripts/test-setup-synapse.sh

# Library, binary and integration tests (benchmarks are run separately: see docs/BENCHMARKS.md).
exec cargo test --locked "$@"
