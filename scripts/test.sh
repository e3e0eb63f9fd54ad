#!/usr/bin/env bash
# Runs every labkube test, after installing what the tests need (apt, pip, npm and cargo only).
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Build outputs live outside the checkout so fresh clones reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/labkube-target}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# System packages the build and the tests need (apt only).
bash scripts/test-deps.sh

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
