#!/usr/bin/env bash
# Creates (or refreshes) .venv-python/ with the Python client installed editable and its pinned
# test tools. Safe to run again: pip skips what is already installed at the pinned versions.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv-python
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r clients/python/requirements-test.txt -e clients/python
"$VENV/bin/python" --version
