#!/usr/bin/env bash
# Fuzzes one target for a while on one core with the limits of fuzz/README.md, then prints what
# the run did (executions, coverage, crashes). Needs a nightly toolchain and cargo-fuzz.
#
#   fuzz/run.sh TARGET [SECONDS [LIBFUZZER_FLAGS...]]     (default 3600)
set -euo pipefail
cd "$(dirname "$0")"
target=$1
seconds=${2:-3600}
shift $(($# < 2 ? $# : 2))
# The built-in plugins build with stable: the nightly here may have no wasm32-wasip2 target.
export SIEMFLOW_GUEST_TOOLCHAIN=${SIEMFLOW_GUEST_TOOLCHAIN:-stable}
mkdir -p "corpus/$target" logs
inputs=("corpus/$target")
if [ -d "seeds/$target" ]; then inputs+=("seeds/$target"); fi
log="logs/$target-$(date -u +%Y%m%dT%H%M%SZ).log"
cargo +nightly fuzz run "$target" "${inputs[@]}" -- \
  -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
  -print_final_stats=1 "$@" >"$log" 2>&1 || true
echo "== $target, $seconds s"
grep -E 'Done [0-9]+ runs|^stat::|SUMMARY|panicked at|Test unit written|ERROR: libFuzzer' "$log" || true
echo "log: fuzz/$log"
