#!/usr/bin/env bash
# Prints the path of promtool from Debian's `prometheus` package (the version the rehearsal's
# Prometheus image installs), unpacked under $CACHE without installing the package: no daemon
# is started, nothing lands in /usr.
#
#   scripts/promtool.sh [CACHE]     -> .../usr/bin/promtool on stdout
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${1:-${CACHE:-$REPO/.cache}}
VERSION=2.42.0+ds-5+deb12u1  # bookworm's; keep equal to monitoring/prometheus.Dockerfile
DIR=$CACHE/prometheus-deb-$VERSION
if [[ ! -x $DIR/usr/bin/promtool ]]; then
    command -v apt-get >/dev/null || { echo "promtool.sh: needs apt-get (Debian) to fetch prometheus $VERSION" >&2; exit 1; }
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && apt-get download -q "prometheus=$VERSION" >/dev/null 2>&1) \
        || { apt-get update -q >/dev/null && (cd "$tmp" && apt-get download -q "prometheus=$VERSION" >/dev/null 2>&1); } \
        || { echo "promtool.sh: apt-get download prometheus=$VERSION failed" >&2; exit 1; }
    rm -rf "$DIR.tmp"
    dpkg-deb -x "$tmp"/prometheus_*.deb "$DIR.tmp"
    rm -rf "$DIR"
    mv "$DIR.tmp" "$DIR"
fi
echo "$DIR/usr/bin/promtool"
