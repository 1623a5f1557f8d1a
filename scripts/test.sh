#!/usr/bin/env bash
# Installs everything, then runs every check CI runs: lint, format, types, import rules, all tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh
export QT_QPA_PLATFORM=offscreen
# The catalog's PostgreSQL tests start their own throwaway server from the distribution's package
# (tests/pg_server.py); installed here when running as root. Without a server (a user's machine, not
# root) they are skipped with the reason; CI sets ATELIER_REQUIRE_POSTGRES=1 (.ci/run) so they never skip.
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
fi
PY=.venv/bin/python
echo "== ruff lint";   $PY -m ruff check .
echo "== ruff format"; $PY -m ruff format --check .
echo "== mypy";        $PY -m mypy core catalog app desktop main.py
# One worker per core, each test file on one worker (module fixtures and the real-drag child run once).
echo "== pytest";      $PY -m pytest -n auto --dist loadfile "$@"
