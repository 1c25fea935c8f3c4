#!/usr/bin/env bash
# Installs dependencies, builds, and starts the server with the default chain
# (model -> X-Gateway-Model-Name, then base model -> X-Gateway-Base-Model-Name).
# Arguments are passed to `bbr-host serve` (e.g. --streaming --secure-serving=false).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-debian.sh
./scripts/build.sh >&2
exec "./${BUILD_DIR:-build}/bin/bbr-host" serve "$@"
