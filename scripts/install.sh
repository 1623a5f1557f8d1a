#!/usr/bin/env bash
# Installs Atelier and its test tools into ./.venv (idempotent; safe to run again).
# Usage: bash scripts/install.sh        (source it to keep the variables it exports)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"

# Qt needs a few shared libraries even offscreen; install them on Debian-like systems when missing.
need_libs=()
for lib in libEGL.so.1 libxkbcommon.so.0 libfontconfig.so.1 libdbus-1.so.3 libGL.so.1; do
  ldconfig -p 2>/dev/null | grep -q "$lib" || need_libs+=("$lib")
done
if [ ${#need_libs[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing Qt system libraries (${need_libs[*]})"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 >/dev/null
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# constraints.txt pins the CPU build of torch; drop "-c constraints.txt" to get your platform's default.
.venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
