#!/usr/bin/env bash
# Installs everything, then runs every check CI runs: lint, format, types, import rules, all tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh
export QT_QPA_PLATFORM=offscreen
PY=.venv/bin/python
echo "== ruff lint";   $PY -m ruff check .
echo "== ruff format"; $PY -m ruff format --check .
echo "== mypy";        $PY -m mypy core catalog app desktop main.py
# One worker per core, each test file on one worker (module fixtures and the real-drag child run once).
echo "== pytest";      $PY -m pytest -n auto --dist loadfile "$@"
