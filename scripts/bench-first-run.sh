#!/usr/bin/env bash
# The README's first command from a fresh clone with a cold cargo cache (issue 17, item 6):
# clones this repository's HEAD into a temporary directory, gives cargo an empty CARGO_HOME
# (every crate downloaded again) and an empty target directory, runs
#   cargo run -p labkube --no-default-features -- console
# and reports the seconds until the console prompt's banner and the bot's resident memory 3 s
# later (idle), then ends the console (end of input).
#   scripts/bench-first-run.sh dist   times `cargo build --locked --profile dist` (the image's
#                                     binary, every feature) the same way, and the idle
#                                     resident memory of its console.
set -euo pipefail
what="${1:-README}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/labkube"
cd "$work/labkube"
export CARGO_HOME="$work/cargo-home" CARGO_TARGET_DIR="$work/target" CARGO_TERM_COLOR=never
# rustup's toolchains stay where they are (RUSTUP_HOME); only cargo's caches are cold.
export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# Starts `$@` (a console) on a fifo, waits (at most 30 minutes) for its banner, prints the
# seconds since $start, waits 3 s and prints the VmRSS of the process running `$bin`.
console_until_prompt() {
  local bin="$1"; shift
  local fifo="$work/in-$RANDOM"
  mkfifo "$fifo"
  ( "$@" <"$fifo" >"$work/out" 2>>"$work/build.log" ) &
  exec 3>"$fifo"
  local deadline=$(( $(date +%s) + 1800 ))
  until grep -q "labkube console: you are" "$work/out" 2>/dev/null; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
      echo "no prompt within 30 minutes" >&2
      tail -20 "$work/build.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "to the console prompt: $(secs "$start" "$(date +%s%N)") s"
  sleep 3
  local pid
  pid="$(pgrep -f -n "^$bin console")"
  echo "idle resident memory of $(basename "$(dirname "$bin")")/labkube: $(awk '/VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$pid/status")"
  exec 3>&-
  wait
  rm -f "$work/out"
}

start=$(date +%s%N)
if [ "$what" = dist ]; then
  cargo build --locked --profile dist --bin labkube >"$work/build.log" 2>&1
  echo "dist build, fresh clone and cold cargo cache: $(secs "$start" "$(date +%s%N)") s"
  ls -l "$CARGO_TARGET_DIR/dist/labkube"
  start=$(date +%s%N)
  console_until_prompt "$CARGO_TARGET_DIR/dist/labkube" \
    "$CARGO_TARGET_DIR/dist/labkube" console --data "$work/data"
  exit 0
fi
echo "README's first command, fresh clone and cold cargo cache:"
console_until_prompt "$CARGO_TARGET_DIR/debug/labkube" \
  cargo run --locked -p labkube --no-default-features -- console --data "$work/data"
grep -E "Finished" "$work/build.log" | tail -1
