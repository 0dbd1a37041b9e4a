#!/usr/bin/env bash
# `make test`: the C tests (build/neurop-tests), then the Python tests (tests/python/run.py), each
# in its own format; their two summary lines are replaced by one that sums both, so the last line
# is still `N passed, N failed, N skipped`. Exits 1 when anything failed (or a runner crashed).
# An argument selects tests by name in both runners, as `build/neurop-tests NAME` does.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}   # Debian's, where apt's python3-numpy and python3-torch live
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs one runner, passing its lines through but keeping its summary line in $tmp/$1.
run() {
  local tag=$1; shift
  "$@" | awk -v f="$tmp/$tag" '/^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ {print > f; next} {print; fflush()}'
  local rc=${PIPESTATUS[0]}
  if [ ! -s "$tmp/$tag" ]; then echo "$tag tests ended without a summary (exit status $rc)"; echo "0 passed, 1 failed, 0 skipped" > "$tmp/$tag"; fi
  [ "$rc" -eq 0 ] || echo fail >> "$tmp/rc"
}
run c "$B/neurop-tests" "$@"
run python env PYTHONPATH=python NEUROP_BIN="$B/neurop" NEUROP_LIB="$PWD/$B/libneurop.so" "$PY" tests/python/run.py "$@"
cat "$tmp/c" "$tmp/python" | awk '{p += $1; f += $3; s += $5} END {printf "%d passed, %d failed, %d skipped\n", p, f, s}'
[ ! -e "$tmp/rc" ]
