#!/usr/bin/env bash
# Installs Atelier and its test tools into ./.venv, plus the system libraries Qt's window needs
# (idempotent and quiet: safe to run again; it only speaks when it does or needs something).
#
# Usage: bash scripts/install.sh
#   ATELIER_TORCH_INDEX=https://download.pytorch.org/whl/cpu bash scripts/install.sh
#       installs torch from that index first (the CPU build here; .../whl/cu126 for a CUDA 12.6 build),
#       at the version constraints.txt pins; see "Installing" in README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# pip runs when the dependencies changed since the last install (the package itself is editable, so
# code changes need nothing): a second run is instant and silent.
stamp=.venv/.atelier-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ] \
  || [ -n "${ATELIER_TORCH_INDEX:-}" ] || ! .venv/bin/python -c "import PySide6, requests, sqlalchemy" 2>/dev/null; then
  .venv/bin/python -m pip install -q --upgrade pip
  if [ -n "${ATELIER_TORCH_INDEX:-}" ]; then
    torch_pin="$(grep -E '^torch==' constraints.txt | head -n 1)"
    .venv/bin/python -m pip install -q --index-url "$ATELIER_TORCH_INDEX" "${torch_pin:-torch}"
  fi
  # constraints.txt pins torch's version (not its build: that is the index's choice, see README.md).
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
  touch "$stamp"
fi

# Qt's window (the xcb platform plugin) and its offscreen platform load system libraries that a fresh
# Debian/Ubuntu lacks; without them the app aborts at start. ldd says which are missing.
mapfile -t qt_packages < <(bash scripts/qt_system_libs.sh)
if command -v fc-list >/dev/null && [ -z "$(fc-list 2>/dev/null | head -n 1)" ]; then
  qt_packages+=(fonts-dejavu-core)  # no font at all: every label would be empty
fi
if [ ${#qt_packages[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing the system libraries Qt needs: ${qt_packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${qt_packages[@]}" >/dev/null
  elif command -v apt-get >/dev/null; then
    echo "Qt needs system libraries to open its window. Install them with:"
    echo "  sudo apt-get install ${qt_packages[*]}"
  else
    echo "Qt needs system libraries to open its window; install the packages providing:"
    echo "  ${qt_packages[*]}"
  fi
fi
