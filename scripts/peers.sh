#!/usr/bin/env bash
# Builds the real peers the end-to-end tests run against, once per machine:
#   jaeger            Jaeger v2 from the Go module in peers/jaeger (go.mod pins the version)
#   otelcol-oprelay   an OpenTelemetry Collector built by the collector builder (ocb) from
#                     peers/otelcol/manifest.yaml
# into $OPRELAY_PEERS_DIR (default: .cache/peers in the repo, ignored by git). A peer whose inputs
# (go.mod/go.sum, the manifest) have not changed since its last build is skipped. A failed build
# exits non-zero with the tail of its log. Arguments name the peers to build (default: both), e.g.
# `scripts/peers.sh jaeger`; Go is needed only for a peer that must be built.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${OPRELAY_PEERS_DIR:-$root/.cache/peers}"
mkdir -p "$out"
builder_version=v0.165.0

fingerprint() { cat "$@" | sha256sum | cut -d' ' -f1; }

# build NAME STAMP_INPUT... -- COMMAND...: runs COMMAND unless $out/NAME.stamp matches the inputs.
build() {
  local name=$1; shift
  local inputs=()
  while [ "$1" != "--" ]; do inputs+=("$1"); shift; done
  shift
  local stamp
  stamp="$(fingerprint "${inputs[@]}")"
  if [ -x "$out/$name" ] && [ "$(cat "$out/$name.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "peers: $name is up to date ($out/$name)"
    return 0
  fi
  command -v go >/dev/null 2>&1 || { echo "peers: the Go toolchain (go) is required to build $name" >&2; exit 1; }
  local log="$out/$name.build.log" started=$SECONDS
  echo "peers: building $name ..."
  if ! "$@" >"$log" 2>&1; then
    echo "peers: building $name FAILED after $((SECONDS - started)) s; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  echo "$stamp" >"$out/$name.stamp"
  echo "peers: built $name in $((SECONDS - started)) s"
}

build_jaeger() {
  cd "$root/peers/jaeger"
  go build -o "$out/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger
}

build_collector() {
  GOBIN="$out/tools" go install "go.opentelemetry.io/collector/cmd/builder@$builder_version"
  local manifest
  manifest="$(mktemp)"
  # The manifest's output_path is rewritten to the cache folder; everything else is used as is.
  sed "s|^\(  output_path:\).*|\1 $out/otelcol-build|" "$root/peers/otelcol/manifest.yaml" >"$manifest"
  "$out/tools/builder" --config "$manifest"
  rm -f "$manifest"
  cp "$out/otelcol-build/otelcol-oprelay" "$out/otelcol-oprelay"
}

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(jaeger otelcol-oprelay)
for peer in "${wanted[@]}"; do
  case "$peer" in
    jaeger) build jaeger "$root/peers/jaeger/go.mod" "$root/peers/jaeger/go.sum" -- build_jaeger ;;
    otelcol-oprelay) build otelcol-oprelay "$root/peers/otelcol/manifest.yaml" -- build_collector ;;
    *) echo "peers: unknown peer \"$peer\" (jaeger, otelcol-oprelay)" >&2; exit 2 ;;
  esac
done
