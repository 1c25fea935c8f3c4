#!/usr/bin/env bash
# Installs everything bbr-host needs to build and test on Debian 12 (bookworm).
# Safe to run again: apt-get skips what is already there. Runs as root, or
# through sudo when that exists.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  # compiler cache: scripts/build.sh uses it when present (rebuilds, local loop)
  ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  nlohmann-json3-dev libcli11-dev libfmt-dev libyaml-cpp-dev libsimdjson-dev
  prometheus-cpp-dev libssl-dev openssl
  catch2 libbenchmark-dev
  # regexes in plugins (model-rewrite, model-selector, guardrail): linear time, no recursion
  libre2-dev
  # the guardrail's patterns in one pass at memory speed; x86-64 only (skipped
  # elsewhere: the build then matches with RE2::Set alone)
  libhyperscan-dev
  curl
  # packaging tests: CPack's DEB generator (dpkg-shlibdeps, file), YAML checks
  dpkg-dev file yamllint python3-yaml
  # the SDK's reference of plugin.h, plugin.hpp and testkit.hpp (share/doc/bbr-sdk)
  doxygen
  # the Rust example plugin (examples/rust-plugin): rustc comes with cargo; no crates
  cargo
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup-debian.sh: need root (or sudo) to install: ${packages[*]}" >&2; exit 1
  fi
}

missing=()
arch=$(dpkg --print-architecture)
for p in "${packages[@]}"; do
  if [ "$p" = libhyperscan-dev ] && [ "$arch" != amd64 ]; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-debian.sh: installing ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
