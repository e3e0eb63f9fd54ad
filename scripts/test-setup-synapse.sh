#!/usr/bin/env bash
# Installs the Synapse homeserver the Matrix tests run (PyPI matrix-synapse in a venv), once:
# a later run finds the marker and does nothing. Usage: scripts/test-setup-synapse.sh
# The venv lives in $LABKUBE_PEERS (default ~/.cache/labkube-peers)/synapse-venv.
set -euo pipefail
SYNAPSE_VERSION=1.163.2
peers="${LABKUBE_PEERS:-$HOME/.cache/labkube-peers}"
venv="$peers/synapse-venv"
marker="$venv/.labkube-synapse-$SYNAPSE_VERSION"
[ -e "$marker" ] && exit 0

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# Debian's python3 needs python3-venv for `python3 -m venv`.
if ! python3 -m venv --help >/dev/null 2>&1; then
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
fi
mkdir -p "$peers"
rm -rf "$venv"
echo "installing matrix-synapse $SYNAPSE_VERSION into $venv (about 30 s)"
python3 -m venv "$venv"
"$venv/bin/pip" install -q "matrix-synapse==$SYNAPSE_VERSION"
touch "$marker"
