#!/usr/bin/env bash
# Installs the Telegram Bot API emulator the Telegram tests run (the npm package
# telegram-test-api, pinned), once, into ${LABKUBE_PEERS:-~/.cache/labkube-peers}/tg. The tests
# start it through tests/peers/telegram-compat.js. Idempotent and cached; npm only.
set -euo pipefail

VERSION=4.2.1
PEERS="${LABKUBE_PEERS:-$HOME/.cache/labkube-peers}"
DIR="$PEERS/tg"
PKG="$DIR/node_modules/telegram-test-api/package.json"

installed() { [ -f "$PKG" ] && grep -q "\"version\": \"$VERSION\"" "$PKG"; }
installed && exit 0

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "node and npm are needed for the Telegram tests (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
mkdir -p "$DIR"
# One installer at a time (tests may start several emulators at once).
exec 9>"$DIR/.install.lock"
flock 9
installed && exit 0
cd "$DIR"
[ -f package.json ] || printf '{ "name": "labkube-test-peers", "private": true }\n' > package.json
npm install --no-audit --no-fund --loglevel=error "telegram-test-api@$VERSION"
installed
