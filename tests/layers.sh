#!/usr/bin/env bash
# The layers of src/ point one way: a file in a folder includes headers of its own folder and of
# folders before it in this order, never after (README.md's layout table lists them in it).
#   engine -> io -> program -> tasks -> meta -> train -> analysis -> repro -> api -> cli
# (tasks and meta use neither the other today; the order is the table's.)
# Quiet on success; prints each include that points back and exits 1.
# Usage: tests/layers.sh   (from anywhere; the C test layers_point_one_way runs it)
set -u
cd "$(dirname "$0")/.."
order=(engine io program tasks meta train analysis repro api cli)
declare -A rank
for i in "${!order[@]}"; do rank[${order[$i]}]=$i; done
bad=0
for f in src/*/*.[ch]; do
  dir=${f#src/}; dir=${dir%%/*}
  [ -n "${rank[$dir]+x}" ] || { echo "layers.sh: $f is in src/$dir/, which the order does not name" >&2; bad=1; continue; }
  while IFS= read -r inc; do
    to=${inc%%/*}
    [ -n "${rank[$to]+x}" ] || { echo "layers.sh: $f includes \"$inc\", a folder the order does not name" >&2; bad=1; continue; }
    if [ "${rank[$to]}" -gt "${rank[$dir]}" ]; then
      echo "layers.sh: $f ($dir) includes \"$inc\" ($to comes after $dir)" >&2; bad=1
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\/[^"]*\)".*/\1/p' "$f")
done
exit $bad
