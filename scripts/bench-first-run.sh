#!/usr/bin/env bash
# The README's first command from a fresh clone with a cold cargo cache (issue 17, item 6):
# clones this repository's HEAD into a temporary directory, gives cargo an empty CARGO_HOME
# (every crate downloaded again) and an empty target directory, runs
#   cargo run -p labkube --no-default-features -- console
# and reports the seconds until the console prompt's banner, then ends the console (end of
# input). Usage: scripts/bench-first-run.sh [README|dist]   (dist: the image's profile, timed to
# the end of `cargo build --profile dist` instead).
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
start=$(date +%s%N)
if [ "$what" = dist ]; then
  cargo build --locked --profile dist --bin labkube >"$work/build.log" 2>&1
  end=$(date +%s%N)
  echo "dist build from a fresh clone, cold cargo cache: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s"
  ls -l "$CARGO_TARGET_DIR/dist/labkube"
  exit 0
fi
fifo="$work/in"
mkfifo "$fifo"
# The console waits on its input; the banner is its first line on stdout.
( cargo run --locked -p labkube --no-default-features -- console --data "$work/data" <"$fifo" >"$work/out" 2>"$work/build.log" ) &
exec 3>"$fifo"
deadline=$(( $(date +%s) + 1800 ))
until grep -q "labkube console: you are" "$work/out" 2>/dev/null; do
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "no prompt within 30 minutes" >&2
    tail -20 "$work/build.log" >&2
    exit 1
  fi
  sleep 0.2
done
end=$(date +%s%N)
exec 3>&-
wait
echo "README's first command, fresh clone and cold cargo cache, to the console prompt: $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s"
grep -E "Finished|Downloaded" "$work/build.log" | tail -3
