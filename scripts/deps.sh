#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for neurop. Idempotent: does nothing when all is there.
# Usage: scripts/deps.sh          build + test dependencies
#        scripts/deps.sh --bench  also python3-torch (the reference implementation for make bench)
#        scripts/deps.sh --fuzz   also clang-14, libFuzzer and libomp (make fuzz)
set -euo pipefail
pkgs=(build-essential libopenblas-dev libcjson-dev gnuplot-nox)
[ "${1:-}" = "--bench" ] && pkgs+=(python3-torch python3-numpy)
[ "${1:-}" = "--fuzz" ] && pkgs+=(clang-14 libclang-rt-14-dev libomp-14-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
