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
# - runs `cargo bench --bench provision` with LABKUBE_ANSIBLE_PLAYBOOK pointing at the venv's
#   ansible-playbook (the bench fails, never skips, without it).
#
# Usage: scripts/bench-provision.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "command: scripts/bench-provision.sh"

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

LABKUBE_ANSIBLE_PLAYBOOK="$venv/bin/ansible-playbook" exec cargo bench --locked --bench provision
