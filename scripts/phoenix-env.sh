#!/usr/bin/env bash
# Builds the Arize Phoenix peer the end-to-end suite exports to, once per machine: a virtualenv
# with arize-phoenix (pinned below) under $OPRELAY_PEERS_DIR/phoenix-venv (default
# .cache/peers/phoenix-venv, ignored by git). Skipped when the pinned version is already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${OPRELAY_PEERS_DIR:-$root/.cache/peers}"
venv="$out/phoenix-venv"
phoenix_version=20.26.1
PYTHON="${PYTHON:-python3}"
mkdir -p "$out"
if [ -x "$venv/bin/phoenix" ] && [ "$(cat "$venv/phoenix.stamp" 2>/dev/null)" = "$phoenix_version" ]; then
  echo "peers: phoenix $phoenix_version is up to date ($venv)"
  exit 0
fi
started=$SECONDS
echo "peers: building phoenix $phoenix_version into $venv ..."
log="$out/phoenix.build.log"
if ! { "$PYTHON" -m venv "$venv" && "$venv/bin/python" -m pip install --disable-pip-version-check "arize-phoenix==$phoenix_version"; } >"$log" 2>&1; then
  echo "peers: building phoenix FAILED after $((SECONDS - started)) s; last lines of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
echo "$phoenix_version" >"$venv/phoenix.stamp"
echo "peers: built phoenix in $((SECONDS - started)) s"
