#!/usr/bin/env bash
# The benchmarks (make bench), each next to PyTorch on the same thread count, measured in the same run:
#   engine  build/neurop-bench (op_matmul / op_bmm GFLOP/s next to plain cblas_sgemm, and an MLP
#           training step) and dev/bench_torch.py (the same step in PyTorch)
#           -> bench/results/engine.txt
#   step    one training step per task (sumfirst, addmod, arc) and method (gnn: Meta-GNN, direct) on
#           the shipped defaults: build/neurop-bench-meta, then dev/bench_step_torch.py (the same step in
#           PyTorch, built from the graph, index tables, parameters and batch that neurop-bench-meta
#           dumps; it checks that the loss and gradient norm at init equal neurop's), then the sgemm
#           ceiling (before and after the steps) -> bench/results/step.txt. Prints one line per measured step:
#   step task=T method=M ours_ms= torch_ms= speedup=torch_ms/ours_ms gflops= ceiling_gflops= ceiling_fraction=
#           and after it that step's check line (check ... ok|KINK|MISMATCH); exits 1 when a check fails
#           (the results file is written all the same, with the failure in it).
# Each results file has the commands, the date, the commit, the machine and BLAS kernel, the load average.
#   solve   one 1D-ARC task solved in its own process (neurop solve RUN TASK.json, spawn to exit;
#           build/neurop-bench-process) by an arc-demo Meta-GNN and a Meta-MLP run, each at
#           OMP_NUM_THREADS and at one thread, beside a process that does nothing and the warm time per task
#           -> bench/results/solve.txt
#   scripts/bench.sh [all|engine|step|solve]      (default all)
#   OMP_NUM_THREADS   thread count for both sides (default 2)
#   GOMP_SPINCOUNT    default 20000, for both sides (both use libgomp): a short spin, then sleep, between
#                     parallel regions, as neurop sets it (src/engine/cpu.c). With libgomp's long
#                     default spin any other process on the machine makes every parallel region wait
#                     for a descheduled thread (8-30x on a shared 2-core box); OMP_WAIT_POLICY=passive
#                     (sleep at once) costs a wake per region. A policy set in the environment is kept.
#   OPENBLAS_CORETYPE default: the kernel neurop runs (its machine line), for PyTorch too: torch calls
#                     the same Debian OpenBLAS, which falls back to its SSE3 kernel on CPUs it does not
#                     know (neurop's cpu_setup picks the kernel then; PyTorch would not).
#   BENCH_TASKS       tasks of the step benchmark (default "sumfirst addmod arc")
#   BENCH_METHODS     methods of the step benchmark (default "gnn direct")
#   BENCH_SET         changes to the shipped defaults, e.g. "head=3 B=8" (neurop-bench-meta --set; the
#                     PyTorch side reads the configuration from the dump); the results file says so
#   BENCH_STEPS       timed steps per measurement, both sides (default 20, 10 for arc; after 5 warm-up steps)
#   BENCH_ROUNDS      measurements per side of each step line, alternating ours and torch (default 3); a
#                     line reports each side's best median, so a minute when the machine is busy with
#                     something else (a shared VM: ±30%) counts against neither side
#   BENCH_SPAWNS      runs of one solve task (and of neurop help) in the solve benchmark (default 30)
#   BENCH_NOTE        a line of context written into the results files
#   TORCH_MALLOC      default "tuned": PyTorch runs with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=64G, so
#                     glibc keeps the step's large buffers instead of unmapping them and faulting them
#                     in again every step (a page fault costs ~10-40 us on this machine; neurop's
#                     arena never returns memory). "default" measures PyTorch with glibc's defaults.
#   BUILD             build directory holding the benchmarks (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT="${1:-all}"
case "$WHAT" in all|engine|step|solve) ;; *) echo "usage: scripts/bench.sh [all|engine|step|solve]" >&2; exit 2 ;; esac
scripts/deps.sh --bench                      # python3-torch for the reference (idempotent)

T="${OMP_NUM_THREADS:-2}"
export OMP_NUM_THREADS="$T"
[ -n "${OMP_WAIT_POLICY:-}" ] || export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-20000}"
BUILD="${BUILD:-build}"
PY=/usr/bin/python3                          # Debian's python3, the one python3-torch installs into
mkdir -p bench/results
[ -x "$BUILD/neurop-bench" ] && [ -x "$BUILD/neurop-bench-meta" ] && [ -x "$BUILD/neurop-bench-process" ] ||
  make --no-print-directory "$BUILD/neurop-bench" "$BUILD/neurop-bench-meta" "$BUILD/neurop-bench-process"

loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'; }
commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
dirty=""; git diff --quiet HEAD -- src bench dev scripts ':!bench/results' 2>/dev/null || dirty=" (with uncommitted changes in src/, bench/, dev/ or scripts/)"
compiler="$(${CC:-cc} --version | head -n1); $(dpkg-query -W -f='libopenblas0 ${Version}' libopenblas0 2>/dev/null || echo 'openblas ?')"
torch_version="$("$PY" -c 'import torch; print("torch", torch.__version__)' 2>/dev/null || echo 'torch ?')"
# the CPU and the OpenBLAS kernel neurop runs (cpu_describe), and that kernel for PyTorch too
machine="$("$BUILD/neurop-bench-meta" --machine | sed -n 's/^machine //p')"
core="$(sed -n 's/.*(kernel \([A-Za-z0-9_]*\).*/\1/p' <<<"$machine")"
declare -a tenv=(OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$core}")
[ "${TORCH_MALLOC:-tuned}" = tuned ] && tenv+=(MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736)
header() {   # title, commands, load before, load after
  echo "# $1"
  echo "command:  make bench  ($2)"
  echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "commit:   $commit$dirty"
  echo "machine:  $(getconf _NPROCESSORS_ONLN) CPUs, $machine; load average before $3, after $4"
  echo "threads:  $T for both sides (OMP_NUM_THREADS), OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset} GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-unset}; PyTorch with ${tenv[*]}"
  echo "compiler: $compiler; $torch_version"
  [ -z "${BENCH_SET:-}" ] || echo "config:   the shipped defaults with $BENCH_SET"
  [ -z "${BENCH_NOTE:-}" ] || echo "note:     $BENCH_NOTE"
}

# ---------------------------------------------------------------- engine
engine() {
  local OUT=bench/results/engine.txt
  local ours_cmd="$BUILD/neurop-bench"
  local torch_cmd="$PY dev/bench_torch.py"
  local load_before load_after ours torch ours_ms torch_ms
  load_before="$(loadavg)"
  ours="$("$BUILD/neurop-bench")"
  torch="$(env "${tenv[@]}" "$PY" dev/bench_torch.py)"
  load_after="$(loadavg)"
  ms() { awk '$1 == "mlp_step_ms" { print $2 }' <<<"$1"; }
  ours_ms="$(ms "$ours")"
  torch_ms="$(ms "$torch")"
  {
    header "neurop engine benchmark" "scripts/bench.sh engine: $ours_cmd; $torch_cmd" "$load_before" "$load_after"
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

# ---------------------------------------------------------------- training steps
# Of the lines on stdin that match the pattern, the one with the smallest ms= (none: nothing).
fastest() {
  grep "$1" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) { print substr($i, 4) + 0, NR, $0; break } }' |
    sort -n -k1,1 -k2,2 | head -n1 | cut -d' ' -f3- || true
}
step() {
  local OUT=bench/results/step.txt
  local tasks="${BENCH_TASKS:-sumfirst addmod arc}" methods="${BENCH_METHODS:-gnn direct}"
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  local ours_cmd="$BUILD/neurop-bench-meta --dump DIR --method METHOD TASK"
  local torch_cmd="$PY dev/bench_step_torch.py DIR TASK.METHOD"
  local ceil_cmd="$BUILD/neurop-bench-meta --ceiling"   # before and after
  local load_before load_after ours="" torch="" task method o t rc failed=0
  local -a nsteps=()
  [ -z "${BENCH_STEPS:-}" ] || nsteps=(--steps "$BENCH_STEPS")
  local -a nsets=()
  local kv
  for kv in ${BENCH_SET:-}; do nsets+=(--set "$kv"); done
  load_before="$(loadavg)"
  # the ceiling before and after the steps (the better counts: other jobs only ever take from it)
  echo "bench: sgemm ceiling ..." >&2
  ours+="$("$BUILD/neurop-bench-meta" --ceiling)"$'\n'
  # step by step, ours then torch, BENCH_ROUNDS times, so both sides of a line see about the same load
  local rounds="${BENCH_ROUNDS:-3}" r
  [[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_ROUNDS must be a positive integer, not '$rounds'" >&2; return 2; }
  for task in $tasks; do
    for method in $methods; do
      for ((r = 1; r <= rounds; r++)); do
        echo "bench: $task $method step, round $r of $rounds ..." >&2
        ours+="$("$BUILD/neurop-bench-meta" --dump "$tmp" --method "$method" ${nsteps[@]+"${nsteps[@]}"} ${nsets[@]+"${nsets[@]}"} "$task")"$'\n'
        rc=0
        t="$(env "${tenv[@]}" "$PY" dev/bench_step_torch.py "$tmp" ${nsteps[@]+"${nsteps[@]}"} "$task.$method")" || rc=$?
        torch+="$t"$'\n'
        # 3: KINK, the loss equal but a gradient undecided because a ReLU of this batch sits within
        # rounding of its kink (dev/bench_step_torch.py); the parity test in `make test` decides on
        # another seed's batch. Anything else non-zero is a failure.
        [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || failed=1
      done
    done
  done
  echo "bench: sgemm ceiling ..." >&2
  ours+="$("$BUILD/neurop-bench-meta" --ceiling)"$'\n'
  load_after="$(loadavg)"
  local ceiling
  ceiling="$(awk '$1 == "sgemm_ceiling" { sub("gflops=", "", $2); if ($2 + 0 > c) c = $2 + 0 } END { print c }' <<<"$ours")"
  local summary
  summary="$(
    header "neurop training-step benchmark" "scripts/bench.sh step, $ceil_cmd, then per task and method: $ours_cmd; $torch_cmd; then $ceil_cmd again" \
      "$load_before" "$load_after"
    echo "kernel:   OpenBLAS $core for ours, $(sed -n 's/^torch_threads .*OpenBLAS \([A-Za-z0-9_?]*\).*/\1/p' <<<"$torch" | sort -u | tr '\n' ' ')for PyTorch"
    echo
    echo "One training step (zero grads, forward, loss, backward, clip, AdamW) with the task's default config of"
    echo "the method (gnn: Meta-GNN -> θ -> batched target execution; direct: its own network on [U, X]); the"
    echo "median of the timed steps after warm-up (5; then ${BENCH_STEPS:-20, 10 for arc}), the best of $rounds such medians per side,"
    echo "measured alternately (ours, torch, ours, ...; every round is in the output below). The batch sampling is in neither"
    echo "time (ours: data_ms below; torch reuses one batch). gflops = the step's dense-product FLOPs (neurop"
    echo "info's count) / our median time. ceiling_gflops = cblas_sgemm [512,512]x[512,512], the better of"
    echo "OpenBLAS on 1 and on $T threads with the kernel named above, measured before and after the steps (the"
    echo "better of the two; both are in the output below). check: loss"
    echo "and gradient norm at init, PyTorch against neurop, relative difference (ok below 1e-5 for the loss, 1e-4 for the norm, 1e-3 per gradient view)."
    echo
    for task in $tasks; do
      for method in $methods; do
        o="$(fastest "^meta_step task=$task method=$method " <<<"$ours")"
        t="$(fastest "^torch_step task=$task method=$method " <<<"$torch")"
        awk -v task="$task" -v method="$method" -v o="$o" -v t="$t" -v c="$ceiling" '
          function kv(s, key,   n, i, a, p) { n = split(s, a, " "); for (i = 1; i <= n; i++) { split(a[i], p, "="); if (p[1] == key) return p[2] } return "" }
          BEGIN {
            om = kv(o, "ms"); tm = kv(t, "ms"); gf = kv(o, "gflops")
            if (om == "" || tm == "") { printf "step task=%s method=%s ours_ms=%s torch_ms=%s (a side did not finish)\n", task, method, om, tm; exit }
            printf "step task=%s method=%s ours_ms=%.3f torch_ms=%.3f speedup=%.2f gflops=%.2f ceiling_gflops=%.2f ceiling_fraction=%.3f\n",
                   task, method, om, tm, tm / om, gf, c, gf / c
          }'
        local k
        k="$(grep -m1 "^torch_check task=$task method=$method " <<<"$torch" || true)"
        if [ -z "$k" ]; then echo "check task=$task method=$method FAILED (no torch_check line)"
        else sed 's/^torch_check /check /' <<<"$k"; fi
      done
    done
  )"
  echo "$summary"   # the header and the step and check lines; the file also gets both sides' own output
  {
    echo "$summary"
    echo
    echo "## ours (bench/bench_meta.c)"
    printf "%s" "$ours"
    echo
    echo "## torch (dev/bench_step_torch.py)"
    printf "%s" "$torch"
  } > "$OUT.tmp"
  mv "$OUT.tmp" "$OUT"
  echo "wrote $OUT" >&2
  if [ "$failed" -ne 0 ] || grep -q "^torch_check .* MISMATCH$" <<<"$torch"; then
    echo "bench: a PyTorch check failed: the two sides do not run the same model (see $OUT)" >&2
    return 1
  fi
}

# ---------------------------------------------------------------- one task, one process
# `neurop solve RUN TASK.json` as a script calling it per task sees it: spawn to exit
# (build/neurop-bench-process), on an arc-demo run of the default size of each method that makes a
# program (2 training steps: the synthesis costs the same whatever the weights), at the benchmark's
# thread count and at one thread (a small synthesis can lose more to waking the second core than it
# gains). Beside them, in the same run: a process that does nothing (`neurop help`), the warm time
# per task when one process solves every real file, and what using a program from PyTorch starts
# with (a python3 that imports torch).
solve() {
  local OUT=bench/results/solve.txt tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  local n="${BENCH_SPAWNS:-30}" task=data/1d-arc/1d_fill/1d_fill_0.json load_before load_after m
  local P="$BUILD/neurop-bench-process" methods="gnn mlp"
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_SPAWNS must be a positive integer, not '$n'" >&2; return 2; }
  for m in $methods; do
    echo "bench: an arc-demo $m run of the default size (2 steps) ..." >&2
    "$BUILD/neurop" train --task arc-demo --method "$m" --steps 2 --quiet --out "$tmp/$m" >/dev/null
  done
  load_before="$(loadavg)"
  echo "bench: one task per process, $n times per method and thread count; neurop help; python3 -c 'import torch' ..." >&2
  local help="" all="" torch r rounds="${BENCH_ROUNDS:-3}" th ths="$T"
  [ "$T" = 1 ] || ths="$T 1"
  declare -A one
  [[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_ROUNDS must be a positive integer, not '$rounds'" >&2; return 2; }
  # what `neurop solve` itself prints for the task: its synthesis and run, in a fresh process (the
  # process's start and opening the run not counted), the median of n
  declare -A inmed
  local i
  for ((r = 1; r <= rounds; r++)); do   # alternating, as the step benchmark does; the best median counts
    help+="$("$P" "$n" "$BUILD/neurop" help)"$'\n'
    for m in $methods; do
      for th in $ths; do
        one[$m.$th]+="$(OMP_NUM_THREADS=$th "$P" "$n" "$BUILD/neurop" solve "$tmp/$m" "$task") threads=$th"$'\n'
        inmed[$m.$th]+="$(for ((i = 0; i < n; i++)); do
          # into a file, read once the process has ended: nothing runs beside it
          OMP_NUM_THREADS=$th "$BUILD/neurop" solve "$tmp/$m" "$task" >"$tmp/out"
          sed -n 's/.* in \([0-9.]*\) ms$/\1/p' "$tmp/out"
        done | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }') "
      done
    done
  done
  torch="$("$P" 5 env "${tenv[@]}" "$PY" -c "import torch")"
  local inproc=""
  for m in $methods; do
    for th in $ths; do
      inproc+="in_process method=$m threads=$th first_task_ms=$(tr ' ' '\n' <<<"${inmed[$m.$th]}" | sort -g | sed -n '/./{p;q}') (the best median; all: ${inmed[$m.$th]% })"$'\n'
    done
  done
  echo "bench: every real 1D-ARC file in one process ..." >&2
  for m in $methods; do   # the best of the rounds, as above
    all+="$(for ((r = 1; r <= rounds; r++)); do "$BUILD/neurop" solve "$tmp/$m" data/1d-arc; done |
      awk -v m="$m" '$1 == "all" && (best == "" || $5 < best) { best = $5; n = $2 } END { print "warm method=" m " tasks=" n " ms_per_task=" best " (the best of the rounds)" }')"$'\n'
  done
  load_after="$(loadavg)"
  med() { sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$1" | sort -g | head -n1; }   # the best median
  {
    header "neurop solve benchmark" "scripts/bench.sh solve: $P $n $BUILD/neurop solve RUN $task (RUN: Meta-GNN and Meta-MLP; OMP_NUM_THREADS=${ths// / and }); $P $n $BUILD/neurop help; $P 5 $PY -c 'import torch'; $BUILD/neurop solve RUN data/1d-arc" \
      "$load_before" "$load_after"
    echo
    for m in $methods; do
      echo "RUN $m: neurop train --task arc-demo --method $m --steps 2 (the default size: $("$BUILD/neurop" info "$tmp/$m" | sed -n 's/^|θ| *//p'))."
    done
    echo "One task: spawn to exit, median of $n runs one after the other, the best of $rounds such medians (alternating"
    echo "with neurop help; this VM's timings drift by a third over minutes). Warm: the mean time per task (synthesis"
    echo "and run) when one process solves all the real files, the best of $rounds such processes. In process: the synthesis and run of the one task as"
    echo "neurop solve prints it, in a fresh process (its start and opening the run not counted), the best of $rounds"
    echo "medians of $n (measured in the same rounds as the spawns)."
    echo "Issue 18's goal for one task: under 10 ms."
    echo
    for m in $methods; do
      for th in $ths; do sed "s|$tmp/$m|RUN-$m|" <<<"${one[$m.$th]%$'\n'}"; done
    done
    echo "${help%$'\n'}"
    echo "$torch"
    echo "${all%$'\n'}"
    echo "${inproc%$'\n'}"
    for m in $methods; do
      for th in $ths; do
        awk -v m="$m" -v th="$th" -v o="$(med "${one[$m.$th]}")" -v h="$(med "$help")" -v t="$(med "$torch")" 'BEGIN {
          printf "solve_one_task method=%s threads=%s ms=%.2f process_floor_ms=%.2f (neurop help) above_floor_ms=%.2f torch_import_ms=%.1f torch_import / solve_one_task = %.0f\n", m, th, o, h, o - h, t, t / o }'
      done
    done
  } | tee "$OUT.tmp"
  mv "$OUT.tmp" "$OUT"
  echo "wrote $OUT" >&2
}

case "$WHAT" in
  all) engine; echo; step; echo; solve ;;
  engine) engine ;;
  step) step ;;
  solve) solve ;;
esac
