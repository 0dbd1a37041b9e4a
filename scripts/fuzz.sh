#!/usr/bin/env bash
# Runs each libFuzzer harness of tests/fuzz/ for FUZZ_SECONDS (default 60) under ASan and UBSan,
# from its seed corpus (tests/fuzz/seeds/TARGET, and tests/fixtures for safetensors). New inputs
# are kept in build-fuzz/corpus/TARGET; a crash is saved as build-fuzz/crash-TARGET-* and stops
# the run with exit status 1. Usage: scripts/fuzz.sh [TARGET ...] (all by default).
set -euo pipefail
secs=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors arcfile template intent config program checkpoint)
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus"
  seeds=(tests/fuzz/seeds/$t)
  [ "$t" = safetensors ] && seeds=(tests/fixtures)
  echo "fuzz $t: ${secs}s" >&2
  # rss_limit: a parser's memory must be bounded by its input (the largest seed is 120 KB)
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
       build-fuzz/fuzz_$t -max_total_time="$secs" -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/crash-$t-" "$corpus" "${seeds[@]}" 2>build-fuzz/$t.log; then
    tail -40 build-fuzz/$t.log >&2
    echo "fuzz $t: FAILED (build-fuzz/$t.log)" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" build-fuzz/$t.log | sed "s/^/  $t /" >&2
done
