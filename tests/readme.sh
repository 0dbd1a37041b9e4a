#!/usr/bin/env bash
# Runs the ```sh block of README.md's "Using it" verbatim, line by line and in order, in an empty
# folder whose build/neurop is the binary under test. One change: each `neurop train` gets
# --steps 10 --set eval_n=16, so the block takes seconds. Then checks what the block promises:
# exec prints one number per input, and `neurop data` of every task pipes into `neurop exec` of a
# program of that task. Quiet on success; on failure prints the line, its output, and exits 1.
# Usage: tests/readme.sh BUILD_DIR   (the C test readme_using_it_runs_verbatim runs it)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(cd "${1:?usage: tests/readme.sh BUILD_DIR}" && pwd)/neurop"
[ -x "$bin" ] || { echo "readme.sh: no $bin" >&2; exit 1; }
tmp="$(mktemp -d /tmp/neurop-readme-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/build" && ln -s "$bin" "$tmp/build/neurop"
ln -s "$root/examples" "$tmp/examples"   # the README trains on a shipped task file
awk '/^## Using it/ { on = 1 } on && /^```sh/ { body = 1; next } body && /^```/ { exit } body' \
  "$root/README.md" > "$tmp/block"
n_lines=$(grep -c . "$tmp/block")
[ "$n_lines" -ge 8 ] || { echo "readme.sh: README.md's 'Using it' block has $n_lines lines" >&2; exit 1; }
cd "$tmp"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

fail() { echo "readme.sh: $1" >&2; [ -f out ] && sed 's/^/    /' out >&2; exit 1; }
run() {   # run LINE: runs it with bash, output in ./out
  bash -o pipefail -c "$1" > out 2>&1 || fail "exit $? from: $1"
}
numbers() {   # numbers N: out holds N lines, each one number (a SUMFIRST program's output)
  [ "$(grep -cE '^-?[0-9.]+(e[-+]?[0-9]+)?$' out)" -eq "$1" ] && [ "$(wc -l < out)" -eq "$1" ] ||
    fail "want $1 lines of one number each"
}

while IFS= read -r line; do
  [ -z "$line" ] && continue
  line="$(printf '%s\n' "$line" | sed -E 's/^(build\/neurop train [^#]*[^ #])/\1 --steps 10 --set eval_n=16/')"
  run "$line"
  case "$line" in
    echo*exec*) numbers 1 ;;
    *"data sumfirst"*exec*) numbers 3 ;;
  esac
done < block

# neurop data | neurop exec, for the two Transformer tasks (the block above pipes SUMFIRST).
run "build/neurop synth runs/addmod-gnn-s0 --intent p=83 -o p83.safetensors"
run "build/neurop data addmod --intent p=83 --n 5 | build/neurop exec p83.safetensors"
[ "$(grep -cE '^[0-9]+$' out)" -eq 5 ] || fail "addmod: want 5 classes"
run "build/neurop train --task arc --method gnn --steps 2 --set eval_n=8 --quiet"
run "build/neurop synth runs/arc-gnn-s0 --intent move:k=3 -o k3.safetensors"
run "build/neurop data arc --intent move:k=3 --n 3 | build/neurop exec k3.safetensors"
[ "$(grep -cE '^[0-9]( [0-9]){32}$' out)" -eq 3 ] || fail "arc: want 3 rows of 33 classes"
exit 0
