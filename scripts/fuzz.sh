#!/usr/bin/env bash
# Fuzzes what strangers and VM owners can hand the bot (docs/RELIABILITY.md): the command
# grammar, the config loader, kubeconfig parsing, and Telegram and Matrix event decoding.
# Each target runs FUZZ_SECS seconds (default 600) on the corpus kept in fuzz/corpus/<target>,
# which is then minimised in place; a crash stops the script and leaves its input in
# fuzz/artifacts/<target>. Needs a nightly toolchain (libFuzzer's sanitizer flags) and
# cargo-fuzz; not part of the test suite.
#
#   scripts/fuzz.sh                 every target
#   FUZZ_SECS=60 scripts/fuzz.sh grammar config
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${FUZZ_SECS:-600}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(grammar config kubeconfig telegram matrix)
fi
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/labkube-fuzz}"

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz.sh: needs the nightly toolchain (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo +stable install --locked cargo-fuzz@0.13.2
fi

cargo +nightly fuzz build --fuzz-dir fuzz
for t in "${targets[@]}"; do
    log="$CARGO_TARGET_DIR/fuzz-$t.log"
    echo "== $t: ${secs} s"
    # -rss_limit_mb: a parser that balloons on a small input is a finding too.
    cargo +nightly fuzz run --fuzz-dir fuzz "$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        >"$log" 2>&1 || { tail -n 40 "$log"; echo "fuzz.sh: $t found a crash" >&2; exit 1; }
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+[[:space:]]+DONE)' "$log" || true
    cargo +nightly fuzz cmin --fuzz-dir fuzz "$t" >>"$log" 2>&1
    echo "   corpus: $(find "fuzz/corpus/$t" -type f | wc -l) inputs after cmin"
done
