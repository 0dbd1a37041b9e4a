#!/usr/bin/env bash
# The engine benchmark (make bench): build/neurop-bench (op_matmul / op_bmm GFLOP/s next to plain
# cblas_sgemm, and an MLP training step) and dev/bench_torch.py (the same step in PyTorch), both on
# the same thread count; prints the ratios and writes everything, with the command, the date and the
# commit, to bench/results/engine.txt.
#   OMP_NUM_THREADS   thread count for both (default 2)
#   OMP_WAIT_POLICY   default passive: with libgomp's busy-waiting, any other process on the machine
#                     makes every parallel region wait for a descheduled thread (both our MLP step
#                     and PyTorch's slow down 8-30x on a shared 2-core box). Set it to active on an
#                     idle machine to measure that mode.
#   BUILD             build directory holding neurop-bench (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --bench                      # python3-torch for the reference (idempotent)

T="${OMP_NUM_THREADS:-2}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
BUILD="${BUILD:-build}"
PY=/usr/bin/python3                          # Debian's python3, the one python3-torch installs into
OUT=bench/results/engine.txt
[ -x "$BUILD/neurop-bench" ] || make --no-print-directory "$BUILD/neurop-bench"
mkdir -p bench/results

ours_cmd="OMP_NUM_THREADS=$T OMP_WAIT_POLICY=$OMP_WAIT_POLICY $BUILD/neurop-bench"
torch_cmd="OMP_NUM_THREADS=$T OMP_WAIT_POLICY=$OMP_WAIT_POLICY $PY dev/bench_torch.py"
load_before="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
ours="$(OMP_NUM_THREADS=$T "$BUILD/neurop-bench")"
torch="$(OMP_NUM_THREADS=$T "$PY" dev/bench_torch.py)"
load_after="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"

ms() { awk '$1 == "mlp_step_ms" { print $2 }' <<<"$1"; }
ours_ms="$(ms "$ours")"
torch_ms="$(ms "$torch")"
commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
dirty=""; git diff --quiet HEAD -- src bench 2>/dev/null || dirty=" (with uncommitted changes in src/ or bench/)"
cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?')"

{
  echo "# neurop engine benchmark"
  echo "command:  make bench  (scripts/bench.sh: $ours_cmd; $torch_cmd)"
  echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "commit:   $commit$dirty"
  echo "machine:  $(nproc) CPUs, $cpu; load average before $load_before, after $load_after"
  echo "compiler: $(${CC:-cc} --version | head -n1); $(dpkg-query -W -f='libopenblas0 ${Version}' libopenblas0 2>/dev/null || echo 'openblas ?')"
  echo
  echo "## ours (bench/bench.c)"
  echo "$ours"
  echo
  echo "## torch (dev/bench_torch.py)"
  echo "$torch"
  echo
  echo "## ratios"
  awk '$1 == "matmul" || $1 == "bmm" { printf "%-6s %-26s %-7s ours / sgemm ceiling = %s\n", $1, $2 ($3 ~ /^\[/ ? " " $3 : ""), ($3 ~ /^\[/ ? $4 : $3), $NF }' <<<"$ours"
  awk -v o="$ours_ms" -v t="$torch_ms" 'BEGIN { printf "MLP step: ours %.3f ms, torch %.3f ms, torch ms / ours ms = %.2f\n", o, t, t / o }'
} | tee "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT" >&2
