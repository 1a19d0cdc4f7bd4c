#!/usr/bin/env bash
# Make a chart renderer available for tests/chart: helm if installed, else the Go renderer,
# built from Debian packages (no module proxy needed). Safe to run again: it only does missing work.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/renderer/main.go"
bin="$here/.bin/crm-render"

if command -v helm >/dev/null 2>&1; then
    echo "chart: using $(command -v helm)"
    exit 0
fi

# Test workers run this at the same time (make test runs two): one builds, the others wait for it.
mkdir -p "$here/.bin"
exec 9>"$here/.bin/setup.lock"
flock 9

if [[ -x "$bin" && "$bin" -nt "$src" ]]; then
    exit 0
fi

gocode=/usr/share/gocode/src
if ! command -v go >/dev/null 2>&1 \
    || [[ ! -d "$gocode/github.com/Masterminds/sprig" ]] \
    || [[ ! -d "$gocode/sigs.k8s.io/yaml" ]]; then
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "chart: need root to install golang-go and the sprig/yaml Go sources (or put helm on PATH)" >&2
        exit 1
    fi
    echo "chart: installing Go and the renderer's libraries from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev >/dev/null
fi

echo "chart: building $bin"
mkdir -p "$here/.bin"
cache="${GOCACHE:-$here/.bin/gocache}"
(
    cd "$here/renderer"
    GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE="$cache" \
        go build -o "$bin.tmp" .
)
mv "$bin.tmp" "$bin"
