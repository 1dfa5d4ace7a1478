#!/usr/bin/env bash
# Lints, type-checks and tests the Python client in .venv-python/ (made by scripts/python-env.sh);
# the tests start the built bridge (dist/cli.js), so `npm run build` comes first.
set -euo pipefail
cd "$(dirname "$0")/../clients/python"
VENV=../../.venv-python/bin
"$VENV/ruff" check .
"$VENV/mypy" --strict
"$VENV/python" -m pytest --durations=5
