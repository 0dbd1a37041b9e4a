#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for neurop. Idempotent: does nothing when all is there.
# Usage: scripts/deps.sh          build + test dependencies (the Python package's tests need numpy and torch)
#        scripts/deps.sh --bench  the same (make bench measures against python3-torch)
set -euo pipefail
pkgs=(build-essential libopenblas-dev libcjson-dev gnuplot-nox python3-numpy python3-torch)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
