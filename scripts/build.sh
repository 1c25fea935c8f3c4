#!/usr/bin/env bash
# Configures and builds bbr-host into ./build (or $BUILD_DIR). Extra arguments
# go to the cmake configure step. BUILD_TARGETS (space-separated) builds only
# those targets instead of everything.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
launcher=()
# ccache, when installed, makes rebuilds (and the sanitizer builds' shared
# headers) cheap; without it nothing changes. Arguments given to this script
# come later on the command line, so they can still override it.
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths relative to the checkout, so a clone elsewhere (CI's) reuses the
  # cache; debug builds then share objects across folders too.
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
  # The precompiled headers (BBR_PRECOMPILE_HEADERS): ccache caches sources
  # compiled with one only with this sloppiness (ccache's manual, "Precompiled
  # headers"); the header's own content is still hashed.
  export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
fi
# Release by default: what users run and what the benchmarks measure, so CI
# keeps a Release build with tests compiling (-O3 finds warnings -O2 does not).
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
  "${launcher[@]}" "$@"
targets=()
for target in ${BUILD_TARGETS:-}; do targets+=(--target "$target"); done
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}"
