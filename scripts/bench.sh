#!/usr/bin/env bash
# The benchmarks (make bench), each next to PyTorch on the same thread count:
#   engine  build/neurop-bench (op_matmul / op_bmm GFLOP/s next to plain cblas_sgemm, and an MLP
#           training step) and dev/bench_torch.py (the same step in PyTorch)
#           -> bench/results/engine.txt
#   meta    build/neurop-bench-meta (one Meta-GNN training step per task, its GFLOP/s against the
#           cblas_sgemm ceiling) and dev/bench_metagnn_torch.py (the same step in PyTorch, built from
#           the graph, parameters and batch that neurop-bench-meta dumps; it checks that the loss and
#           gradient norm at init match neurop's) -> bench/results/metagnn.txt
# Each writes everything, with the commands, the date, the commit and the load average.
#   scripts/bench.sh [all|engine|meta]      (default all)
#   OMP_NUM_THREADS   thread count for both sides (default 2)
#   OMP_WAIT_POLICY   default passive: with libgomp's busy-waiting, any other process on the machine
#                     makes every parallel region wait for a descheduled thread (both our MLP step
#                     and PyTorch's slow down 8-30x on a shared 2-core box). Set it to active on an
#                     idle machine to measure that mode.
#   META_TASKS        tasks of the Meta-GNN step (default "sumfirst addmod arc")
#   TORCH_MALLOC      default "tuned": PyTorch runs with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=64G, so
#                     glibc keeps the step's large buffers instead of unmapping them and faulting them
#                     in again every step (a page fault costs ~10-40 us on this machine; neurop's
#                     arena never returns memory). "default" measures PyTorch with glibc's defaults.
#   BUILD             build directory holding the benchmarks (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT="${1:-all}"
case "$WHAT" in all|engine|meta) ;; *) echo "usage: scripts/bench.sh [all|engine|meta]" >&2; exit 2 ;; esac
scripts/deps.sh --bench                      # python3-torch for the reference (idempotent)

T="${OMP_NUM_THREADS:-2}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
BUILD="${BUILD:-build}"
PY=/usr/bin/python3                          # Debian's python3, the one python3-torch installs into
mkdir -p bench/results

loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'; }
commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
dirty=""; git diff --quiet HEAD -- src bench dev 2>/dev/null || dirty=" (with uncommitted changes in src/, bench/ or dev/)"
cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?')"
compiler="$(${CC:-cc} --version | head -n1); $(dpkg-query -W -f='libopenblas0 ${Version}' libopenblas0 2>/dev/null || echo 'openblas ?')"

# ---------------------------------------------------------------- engine
engine() {
  local OUT=bench/results/engine.txt
  [ -x "$BUILD/neurop-bench" ] || make --no-print-directory "$BUILD/neurop-bench"
  local ours_cmd="OMP_NUM_THREADS=$T OMP_WAIT_POLICY=$OMP_WAIT_POLICY $BUILD/neurop-bench"
  local torch_cmd="OMP_NUM_THREADS=$T OMP_WAIT_POLICY=$OMP_WAIT_POLICY $PY dev/bench_torch.py"
  local load_before load_after ours torch ours_ms torch_ms
  load_before="$(loadavg)"
  ours="$(OMP_NUM_THREADS=$T "$BUILD/neurop-bench")"
  torch="$(OMP_NUM_THREADS=$T "$PY" dev/bench_torch.py)"
  load_after="$(loadavg)"
  ms() { awk '$1 == "mlp_step_ms" { print $2 }' <<<"$1"; }
  ours_ms="$(ms "$ours")"
  torch_ms="$(ms "$torch")"
  {
    echo "# neurop engine benchmark"
    echo "command:  make bench  (scripts/bench.sh: $ours_cmd; $torch_cmd)"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "commit:   $commit$dirty"
    echo "machine:  $(nproc) CPUs, $cpu; load average before $load_before, after $load_after"
    echo "compiler: $compiler"
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
}

# ---------------------------------------------------------------- Meta-GNN step
meta() {
  local OUT=bench/results/metagnn.txt
  [ -x "$BUILD/neurop-bench-meta" ] || make --no-print-directory "$BUILD/neurop-bench-meta"
  local tasks="${META_TASKS:-sumfirst addmod arc}"
  local -a tenv=()
  [ "${TORCH_MALLOC:-tuned}" = tuned ] && tenv=(MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736)
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  local ours_cmd="OMP_NUM_THREADS=$T OMP_WAIT_POLICY=$OMP_WAIT_POLICY $BUILD/neurop-bench-meta --dump DIR TASK"
  local torch_cmd="${tenv[*]:+${tenv[*]} }OMP_NUM_THREADS=$T OMP_WAIT_POLICY=$OMP_WAIT_POLICY $PY dev/bench_metagnn_torch.py DIR TASK"
  local load_before load_after ours="" torch="" task
  load_before="$(loadavg)"
  # task by task, ours then torch, so both sides of a row see about the same load
  for task in $tasks; do
    echo "bench: Meta-GNN step, $task ..." >&2
    ours+="$(OMP_NUM_THREADS=$T "$BUILD/neurop-bench-meta" --dump "$tmp" "$task")"$'\n'
    torch+="$(env ${tenv[@]+"${tenv[@]}"} OMP_NUM_THREADS="$T" "$PY" dev/bench_metagnn_torch.py "$tmp" "$task")"$'\n'
  done
  load_after="$(loadavg)"
  {
    echo "# neurop Meta-GNN training-step benchmark"
    echo "command:  make bench  (scripts/bench.sh meta, per task: $ours_cmd; $torch_cmd)"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "commit:   $commit$dirty"
    echo "machine:  $(nproc) CPUs, $cpu; load average before $load_before, after $load_after"
    echo "compiler: $compiler; $("$PY" -c 'import torch; print("torch", torch.__version__)' 2>/dev/null)"
    echo
    echo "One training step (zero grads, Meta-GNN -> θ -> batched target execution, loss, backward, clip, AdamW) with"
    echo "the task's default Meta-GNN config; median of the timed steps after warm-up (min in brackets). The batch"
    echo "sampling is not in either time (ours: data_ms below; torch reuses one batch). GFLOP/s = the step's"
    echo "dense-product FLOPs (neurop info's count) / median time. ceiling = cblas_sgemm [512,512]x[512,512], the"
    echo "better of OpenBLAS on 1 and on $T threads, measured right after our steps; ideal = $T x its one-thread rate."
    echo
    printf "%-9s %10s %10s %11s %19s %13s %8s %9s %8s %9s  %s\n" task "ours ms" "torch ms" "torch/ours" "(min: ours, torch)" "ours GFLOP/s" ceiling "/ceiling" "/ideal" "torch GF/s" check
    local o t c k
    for task in $tasks; do
      o="$(grep "^meta_step task=$task " <<<"$ours" || true)"
      t="$(grep "^torch_step task=$task " <<<"$torch" || true)"
      c="$(grep "^meta_ratio task=$task " <<<"$ours" || true)"
      k="$(grep "^torch_check task=$task " <<<"$torch" | awk '{ print $NF }' || true)"
      awk -v task="$task" -v o="$o" -v t="$t" -v c="$c" -v k="$k" '
        function kv(s, key,   n, i, a, p) { n = split(s, a, " "); for (i = 1; i <= n; i++) { split(a[i], p, "="); if (p[1] == key) return p[2] } return "" }
        BEGIN {
          om = kv(o, "ms"); tm = kv(t, "ms"); f = kv(o, "gflop")
          printf "%-9s %10.2f %10.2f %11.2f %19s %13.2f %8.1f %9.3f %8.3f %9.2f  %s\n", task, om, tm, tm / om,
                 sprintf("(%.1f, %.1f)", kv(o, "min_ms"), kv(t, "min_ms")), kv(c, "ours_gflops"), kv(c, "ceiling"),
                 kv(c, "fraction"), kv(c, "fraction_ideal"), f / (tm * 1e-3), (k == "" ? "?" : k)
        }'
    done
    echo
    echo "## ours (bench/bench_meta.c)"
    printf "%s" "$ours"
    echo
    echo "## torch (dev/bench_metagnn_torch.py)"
    printf "%s" "$torch"
  } | tee "$OUT.tmp"
  mv "$OUT.tmp" "$OUT"
  echo "wrote $OUT" >&2
}

case "$WHAT" in
  all) engine; echo; meta ;;
  engine) engine ;;
  meta) meta ;;
esac
