#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test (unit, ABI, integration
# against the real binary, SDK install, packaging checks, fuzz corpus replay).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-debian.sh
./scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" --timeout 300
