#!/usr/bin/env bash
# Installs everything, then starts the Atelier desktop app (extra arguments are passed to main.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh
exec .venv/bin/python main.py "$@"
