#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for neurop, with apt-get. Idempotent: it first checks
# what is needed itself (a test program compiled and linked against OpenBLAS, cJSON and OpenMP;
# the gnuplot command; python3's torch), so it runs apt-get only when something is missing, and
# needs neither dpkg nor root when nothing is.
# Usage: scripts/deps.sh           build and test: a C compiler, OpenBLAS, cJSON, OpenMP, and
#                                  python3 with numpy and torch (the Python package's tests)
#        scripts/deps.sh --plots   also gnuplot (the PNGs of `neurop reproduce` and `neurop clock`)
#        scripts/deps.sh --bench   the same (python3-torch is also the reference of `make bench`)
#        scripts/deps.sh --fuzz    also clang-14, libFuzzer and libomp (`make fuzz`)
#        scripts/deps.sh --mpi     also Open MPI: mpicc and mpirun (`make MPI=1`, `make test`; docs/cluster.md)
#        scripts/deps.sh --format  only clang-format 14 (`make format`, `make format-check`)
set -euo pipefail
CC="${CC:-cc}"

build_ok() {
  local d rc=0
  d="$(mktemp -d)"
  cat > "$d/t.c" <<'C'
#include <cblas.h>
#include <cJSON.h>
#include <omp.h>
int main(void) {
    float x = 1;
    cJSON_Delete(cJSON_CreateObject());
    return (int)cblas_sdot(1, &x, 1, &x, 1) - 1 + (omp_get_max_threads() < 1);
}
C
  # shared (the tests, the Python library) and static (the neurop program: Makefile, NEUROP_LDLIBS)
  $CC -std=c11 -fopenmp -I/usr/include/cjson "$d/t.c" -o "$d/t" -lopenblas -lcjson -lm >/dev/null 2>&1 \
    && "$d/t" \
    && $CC -std=c11 -fopenmp -I/usr/include/cjson "$d/t.c" -o "$d/s" -Wl,-Bstatic -lopenblas -lgomp -Wl,-Bdynamic \
         -Wl,--as-needed -lgfortran -lcjson -lm -lpthread -ldl >/dev/null 2>&1 \
    && "$d/s" || rc=1
  rm -rf "$d"
  return $rc
}
plots_ok() { command -v gnuplot >/dev/null 2>&1; }
bench_ok() { /usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1; }   # Debian's python3, not another on PATH
format_ok() { command -v clang-format-14 >/dev/null 2>&1; }
fuzz_ok() {
  local d rc=0
  d="$(mktemp -d)"
  echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' > "$d/f.c"
  clang-14 -fsanitize=fuzzer,address -fopenmp "$d/f.c" -o "$d/f" >/dev/null 2>&1 || rc=1
  rm -rf "$d"
  return $rc
}
mpi_ok() {
  local d rc=0
  command -v mpirun >/dev/null 2>&1 || return 1
  d="$(mktemp -d)"
  printf '#include <mpi.h>\nint main(int c, char **v) { MPI_Init(&c, &v); MPI_Finalize(); return 0; }\n' > "$d/m.c"
  mpicc "$d/m.c" -o "$d/m" >/dev/null 2>&1 || rc=1
  rm -rf "$d"
  return $rc
}

groups=(build bench)
case "${1:-}" in
  "") ;;
  --plots) groups+=(plots) ;;
  --bench) groups+=(bench) ;;
  --fuzz) groups+=(fuzz) ;;
  --mpi) groups+=(mpi) ;;
  --format) groups=(format) ;;
  *) echo "usage: scripts/deps.sh [--plots | --bench | --fuzz | --mpi | --format]" >&2; exit 2 ;;
esac
declare -A pkgs=([build]="build-essential libopenblas-dev libcjson-dev" [plots]="gnuplot-nox"
                 [bench]="python3-torch python3-numpy" [fuzz]="clang-14 libclang-rt-14-dev libomp-14-dev"
                 [mpi]="libopenmpi-dev openmpi-bin" [format]="clang-format-14")
declare -A what=([build]="a C compiler ($CC) with OpenMP, OpenBLAS and cJSON" [plots]="gnuplot"
                 [bench]="python3 with torch and numpy" [fuzz]="clang-14 with libFuzzer and OpenMP"
                 [mpi]="Open MPI (mpicc, mpirun)" [format]="clang-format 14")
missing=()
for g in "${groups[@]}"; do "${g}_ok" || missing+=("$g"); done
[ ${#missing[@]} -eq 0 ] && exit 0

need=(); names=()
for g in "${missing[@]}"; do need+=(${pkgs[$g]}); names+=("${what[$g]}"); done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps.sh: missing $(IFS=,; echo "${names[*]}") and no apt-get to install them (Debian packages: ${need[*]})" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "deps.sh: installing ${need[*]} needs root, and there is no sudo" >&2; exit 1; }
  SUDO="sudo"
fi
echo "deps.sh: installing ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
for g in "${missing[@]}"; do
  "${g}_ok" || { echo "deps.sh: ${what[$g]} still does not work after installing ${pkgs[$g]}" >&2; exit 1; }
done
