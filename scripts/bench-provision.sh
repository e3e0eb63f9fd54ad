#!/usr/bin/env bash
# Provisioning benchmark: the same step scripts run by labkube (the test kit's Batch, over the
# engine's fan-out and russh) and by ansible-playbook (ansible-core from PyPI: pipelining on,
# forks = host count) against the same OpenSSH sshd hosts on 127.0.0.N, in one run. Results:
# docs/BENCHMARKS.md.
#
# What it does:
# - creates a venv with ansible-core (only if it has no ansible-playbook yet) under
#   $LABKUBE_BENCH_VENV (default: ~/.cache/labkube-bench/ansible-venv), with $PYTHON
#   (default: python3);
# - runs scripts/test-setup-ssh.sh (sshd, ssh, /run/sshd);
# - runs `cargo bench --bench BENCH` with LABKUBE_ANSIBLE_PLAYBOOK pointing at the venv's
#   ansible-playbook (the bench fails, never skips, without it).
#
# Usage: scripts/bench-provision.sh [BENCH]
#   BENCH: provision (default: per-step overhead and fan-out) or critical_path (a whole
#   /cluster create of ten hosts, two of them slow, against its critical path).
set -euo pipefail
cd "$(dirname "$0")/.."

bench="${1:-provision}"
case "$bench" in
  provision | critical_path) ;;
  *)
    echo "unknown benchmark: $bench (expected provision or critical_path)" >&2
    exit 2
    ;;
esac
echo "command: scripts/bench-provision.sh $bench"

# Build outputs live outside the checkout so fresh clones reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/labkube-target}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

venv="${LABKUBE_BENCH_VENV:-$HOME/.cache/labkube-bench/ansible-venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/ansible-playbook" ]; then
  echo "installing ansible-core into $venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet ansible-core
fi
# Ansible refuses to start without a UTF-8 locale.
export LC_ALL=C.UTF-8
"$venv/bin/ansible-playbook" --version | head -n 1

as_root bash scripts/test-setup-ssh.sh

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is not installed: install the Rust toolchain named in rust-toolchain.toml" >&2
  exit 1
fi

LABKUBE_ANSIBLE_PLAYBOOK="$venv/bin/ansible-playbook" exec cargo bench --locked --bench "$bench"
