#!/usr/bin/env bash
# The crash sweep (docs/RELIABILITY.md): the real binary runs `/cluster create` on three
# stand-in hosts (OpenSSH sshd on 127.0.0.N) and `/ge install`, `/ge upgrade`, `/rollback` of
# orion on the fake API server, SIGKILLed at POINTS points spread over the scenario (default
# 50) and restarted each time; prints where the kills landed, what the peers counted, and any
# problem (the run fails on one). The suite runs the same test with 5 points.
#
# Usage: scripts/crash-sweep.sh [POINTS]
set -euo pipefail
cd "$(dirname "$0")/.."

points="${1:-50}"
echo "command: scripts/crash-sweep.sh $points"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/labkube-target}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_root bash scripts/test-setup-ssh.sh
LABKUBE_CRASH_POINTS="$points" exec cargo test --locked --test it \
  crash_sweep::sigkill_anywhere_in_create_install_upgrade_rollback_repeats_and_loses_nothing -- --exact --nocapture
