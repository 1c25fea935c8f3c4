#!/bin/sh
# The SDK as a third party meets it: installs the SDK component into a fresh
# prefix, checks the CMake package (its version is the ABI version: bbr-sdk 1.1
# and 1 are found, 2 is refused; every documented variable is set) and the .pc,
# builds the C and C++ examples FROM THE INSTALLED COPY (share/bbr-sdk/examples)
# with find_package(bbr-sdk 1.1), then loads them with `bbr-host plugins
# validate` and runs them in a chain with `bbr-host chain run`.
#
# usage: sdk_install_test.sh <cmake> <build dir> <source dir> <bbr-host> <work dir> [generator]
set -eu

CMAKE=$1
BUILD_DIR=$2
SOURCE_DIR=$3
BBR_HOST=$4
WORK=$5
GENERATOR=${6:-}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Compact JSON text (no white space) for fixed-string matching of the output.
squash() { tr -d ' \n\t'; }

# The ABI version plugin.h declares: what the package must report.
ABI_MAJOR=$(sed -n 's/^#define BBR_ABI_MAJOR \([0-9]*\).*/\1/p' "$SOURCE_DIR/sdk/include/bbr/plugin.h")
ABI_MINOR=$(sed -n 's/^#define BBR_ABI_MINOR \([0-9]*\).*/\1/p' "$SOURCE_DIR/sdk/include/bbr/plugin.h")
[ -n "$ABI_MAJOR" ] && [ -n "$ABI_MINOR" ] || fail "cannot read the ABI version from plugin.h"

configure() {  # configure <source> <build> [cmake args...]
  src=$1
  bld=$2
  shift 2
  if [ -n "$GENERATOR" ]; then
    "$CMAKE" -S "$src" -B "$bld" -G "$GENERATOR" -DCMAKE_PREFIX_PATH="$PREFIX" "$@"
  else
    "$CMAKE" -S "$src" -B "$bld" -DCMAKE_PREFIX_PATH="$PREFIX" "$@"
  fi
}

rm -rf "$WORK"
mkdir -p "$WORK"
PREFIX=$WORK/prefix

echo "== install the SDK component into $PREFIX"
"$CMAKE" --install "$BUILD_DIR" --component sdk --prefix "$PREFIX"
for f in include/bbr/plugin.h include/bbr/plugin.hpp; do
  [ -f "$PREFIX/$f" ] || fail "$f not installed"
done
CONFIG=$(find "$PREFIX" -name bbr-sdkConfig.cmake | head -n 1)
[ -n "$CONFIG" ] || fail "bbr-sdkConfig.cmake not installed"
CONFIG_DIR=$(dirname "$CONFIG")
[ -f "$CONFIG_DIR/bbr-sdkConfigVersion.cmake" ] || fail "bbr-sdkConfigVersion.cmake not installed"
[ -f "$CONFIG_DIR/BbrPlugin.cmake" ] || fail "BbrPlugin.cmake not installed"
PC=$(find "$PREFIX" -name bbr-sdk.pc | head -n 1)
[ -n "$PC" ] || fail "bbr-sdk.pc not installed"

# The documentation comes with the SDK: the tutorial, the ABI guide, the
# test-kit guide, and (when doxygen is there to make it) the header reference.
DOCS=$PREFIX/share/doc/bbr-sdk
for doc in plugin-authoring.md abi.md plugin-testing.md; do
  [ -f "$DOCS/$doc" ] || fail "docs/$doc not installed in share/doc/bbr-sdk"
done
if command -v doxygen >/dev/null 2>&1; then
  [ -f "$DOCS/reference/html/index.html" ] || fail "the Doxygen reference is not installed"
  grep -rqs "reject_with" "$DOCS/reference/html" || fail "the Doxygen reference does not show plugin.h"
fi

EXAMPLES=$PREFIX/share/bbr-sdk/examples
for example in c-plugin cpp-plugin; do
  [ -f "$EXAMPLES/$example/CMakeLists.txt" ] || fail "examples/$example not installed in share/bbr-sdk/examples"
done
if [ -d "$SOURCE_DIR/examples/testkit-example" ]; then
  [ -d "$EXAMPLES/testkit-example" ] || fail "examples/testkit-example exists but is not installed"
fi

if command -v pkg-config >/dev/null 2>&1; then
  echo "== pkg-config: headers, version = ABI version, documented variables"
  PCP=$(dirname "$PC")
  CFLAGS=$(PKG_CONFIG_PATH=$PCP pkg-config --cflags bbr-sdk)
  INCLUDE_DIR=$(echo "${CFLAGS#-I}" | tr -d " ")
  [ -f "$INCLUDE_DIR/bbr/plugin.h" ] || fail "pkg-config --cflags gave '$CFLAGS', no bbr/plugin.h there"
  [ "$(PKG_CONFIG_PATH=$PCP pkg-config --modversion bbr-sdk)" = "$ABI_MAJOR.$ABI_MINOR" ] \
    || fail "bbr-sdk.pc Version is not the ABI version $ABI_MAJOR.$ABI_MINOR"
  [ "$(PKG_CONFIG_PATH=$PCP pkg-config --variable=abi_major bbr-sdk)" = "$ABI_MAJOR" ] || fail "abi_major"
  [ "$(PKG_CONFIG_PATH=$PCP pkg-config --variable=abi_minor bbr-sdk)" = "$ABI_MINOR" ] || fail "abi_minor"
  [ -f "$(PKG_CONFIG_PATH=$PCP pkg-config --variable=examplesdir bbr-sdk)/c-plugin/CMakeLists.txt" ] \
    || fail "examplesdir does not hold the examples"
  for v in plugin_cflags plugin_ldflags includedir; do
    [ -n "$(PKG_CONFIG_PATH=$PCP pkg-config --variable=$v bbr-sdk)" ] || fail "bbr-sdk.pc lacks $v"
  done
fi

echo "== find_package(bbr-sdk <version>): SameMajorVersion on the ABI version"
mkdir -p "$WORK/probe"
cat > "$WORK/probe/CMakeLists.txt" <<'PROBE'
cmake_minimum_required(VERSION 3.16)
project(probe NONE)
find_package(bbr-sdk ${WANT} REQUIRED)
foreach(v bbr-sdk_VERSION bbr-sdk_ABI_MAJOR bbr-sdk_ABI_MINOR bbr-sdk_ABI_VERSION
          bbr-sdk_INCLUDE_DIR bbr-sdk_EXAMPLES_DIR)
  message(STATUS "probe: ${v}=${${v}}")
endforeach()
if(NOT TARGET bbr::sdk OR NOT COMMAND bbr_add_plugin)
  message(FATAL_ERROR "probe: bbr::sdk or bbr_add_plugin missing")
endif()
if(NOT EXISTS "${bbr-sdk_INCLUDE_DIR}/bbr/plugin.h" OR NOT EXISTS "${bbr-sdk_EXAMPLES_DIR}/c-plugin")
  message(FATAL_ERROR "probe: bbr-sdk_INCLUDE_DIR or bbr-sdk_EXAMPLES_DIR wrong")
endif()
PROBE
for want in "$ABI_MAJOR.$ABI_MINOR" "$ABI_MAJOR" "$ABI_MAJOR.0"; do
  rm -rf "$WORK/probe-build"
  configure "$WORK/probe" "$WORK/probe-build" -DWANT="$want" > "$WORK/probe.log" 2>&1 \
    || { cat "$WORK/probe.log"; fail "find_package(bbr-sdk $want) failed"; }
  grep -q "probe: bbr-sdk_VERSION=$ABI_MAJOR.$ABI_MINOR\$" "$WORK/probe.log" \
    || { cat "$WORK/probe.log"; fail "bbr-sdk_VERSION is not $ABI_MAJOR.$ABI_MINOR"; }
  grep -q "probe: bbr-sdk_ABI_VERSION=$ABI_MAJOR.$ABI_MINOR\$" "$WORK/probe.log" || fail "bbr-sdk_ABI_VERSION"
  grep -q "probe: bbr-sdk_ABI_MAJOR=$ABI_MAJOR\$" "$WORK/probe.log" || fail "bbr-sdk_ABI_MAJOR"
  grep -q "probe: bbr-sdk_ABI_MINOR=$ABI_MINOR\$" "$WORK/probe.log" || fail "bbr-sdk_ABI_MINOR"
done
for want in "$((ABI_MAJOR + 1))" "$ABI_MAJOR.$((ABI_MINOR + 1))"; do
  rm -rf "$WORK/probe-build"
  if configure "$WORK/probe" "$WORK/probe-build" -DWANT="$want" > "$WORK/probe.log" 2>&1; then
    fail "find_package(bbr-sdk $want) was accepted by an ABI $ABI_MAJOR.$ABI_MINOR SDK"
  fi
done

build_example() {
  name=$1
  echo "== build the installed examples/$name against the installed SDK"
  configure "$EXAMPLES/$name" "$WORK/$name" -DCMAKE_BUILD_TYPE=Release
  "$CMAKE" --build "$WORK/$name"
  # The host refuses plugins writable by group/others; make that hold whatever the umask.
  chmod go-w "$WORK/$name" "$WORK/$name"/*.so
}
build_example c-plugin
build_example cpp-plugin
C_PLUGIN=$WORK/c-plugin/tenant-from-metadata.so
CPP_PLUGIN=$WORK/cpp-plugin/max-tokens-guard.so
[ -f "$C_PLUGIN" ] || fail "tenant-from-metadata.so not built"
[ -f "$CPP_PLUGIN" ] || fail "max-tokens-guard.so not built"

echo "== bbr-host plugins validate"
"$BBR_HOST" plugins validate "$C_PLUGIN" || fail "plugins validate refused $C_PLUGIN"
"$BBR_HOST" plugins validate --parameters '{"limit":1024}' "$CPP_PLUGIN" \
  || fail "plugins validate refused $CPP_PLUGIN"

echo "== bbr-host plugins list: the in-tree plugins and both examples"
LIST=$("$BBR_HOST" plugins list --plugin-dir "$WORK/c-plugin" --plugin-dir "$WORK/cpp-plugin") \
  || fail "plugins list failed"
echo "$LIST"
for type in body-field-to-header base-model-to-header tenant-from-metadata max-tokens-guard; do
  echo "$LIST" | grep -q "^$type " || fail "plugins list does not show $type"
done

echo "== bbr-host chain run: the C plugin sets x-tenant next to an in-tree plugin"
printf '%s' '{"model":"food-review-1","metadata":{"tenant":"acme"},"max_tokens":10}' > "$WORK/tenant.json"
OUT=$("$BBR_HOST" chain run --body "$WORK/tenant.json" --plugin-dir "$WORK/c-plugin" \
  --plugin 'body-field-to-header:model:{"fieldName":"model","headerName":"X-Gateway-Model-Name"}' \
  --plugin 'tenant-from-metadata:tenant') || fail "chain run failed"
echo "$OUT"
FLAT=$(echo "$OUT" | squash)
case "$FLAT" in
  *'{"key":"x-tenant","value":"acme"}'*) ;;
  *) fail "x-tenant: acme not set" ;;
esac
case "$FLAT" in
  *'{"key":"X-Gateway-Model-Name","value":"food-review-1"}'*) ;;
  *) fail "X-Gateway-Model-Name not set by the in-tree plugin in the same chain" ;;
esac

echo "== bbr-host chain run: the C plugin reads its headerName through the host's parameter_get"
OUT=$("$BBR_HOST" chain run --body "$WORK/tenant.json" --plugin-dir "$WORK/c-plugin" \
  --plugin 'tenant-from-metadata:tenant:{"headerName":"x-org"}') || fail "chain run failed"
case "$(echo "$OUT" | squash)" in
  *'{"key":"x-org","value":"acme"}'*) ;;
  *) echo "$OUT"; fail "headerName parameter not used" ;;
esac
if "$BBR_HOST" chain run --body "$WORK/tenant.json" --plugin-dir "$WORK/c-plugin" \
  --plugin 'tenant-from-metadata:tenant:{"headerName":""}' 2> "$WORK/empty.err"; then
  fail "an empty headerName was accepted"
fi
grep -q "headerName" "$WORK/empty.err" || { cat "$WORK/empty.err"; fail "the refusal does not name headerName"; }

echo "== bbr-host chain run: the C plugin's event hook ends an SSE stream with the tenant"
printf 'data: {"n":1}\n\ndata: [DONE]\n\n' > "$WORK/stream.sse"
for mode in "" --streaming; do
  OUT=$("$BBR_HOST" chain run --body "$WORK/tenant.json" --plugin-dir "$WORK/c-plugin" \
    --plugin 'tenant-from-metadata:tenant' --response-header content-type:text/event-stream \
    --response-body "@$WORK/stream.sse" --response-chunk-bytes 7 $mode) || fail "chain run failed"
  # printf, not echo: the body's escaped \n must stay two characters.
  case "$(printf '%s' "$OUT" | squash)" in
    *'data:[DONE]\n\nevent:bbr-tenant\ndata:{\"tenant\":\"acme\"}\n\n'*) ;;
    *) echo "$OUT"; fail "no bbr-tenant event after [DONE] (mode: ${mode:-buffered})" ;;
  esac
done

echo "== bbr-host chain run: the C++ guard refuses max_tokens over the limit with 400"
printf '%s' '{"model":"m","max_tokens":5000}' > "$WORK/too-many.json"
OUT=$("$BBR_HOST" chain run --body "$WORK/too-many.json" --plugin-dir "$WORK/cpp-plugin" \
  --plugin 'max-tokens-guard:guard:{"limit":1024}') || fail "chain run failed"
echo "$OUT"
FLAT=$(echo "$OUT" | squash)
case "$FLAT" in
  *'"immediateResponse":{"phase":"request","status":400'*) ;;
  *) fail "no 400 immediate response for max_tokens 5000 > 1024" ;;
esac
case "$FLAT" in
  *'"stoppedBy":{"kind":"rejected","phase":"request","plugin":"guard","status":400'*) ;;
  *) fail "stoppedBy does not name the guard" ;;
esac
case "$FLAT" in
  *max_tokens_exceeded*invalid_request_error*|*invalid_request_error*max_tokens_exceeded*) ;;
  *) fail "the 400 body is not the OpenAI-shaped error" ;;
esac

echo "== bbr-host chain run: the C++ guard lets max_tokens within the limit through"
OUT=$("$BBR_HOST" chain run --body '{"model":"m","max_tokens":100}' --plugin-dir "$WORK/cpp-plugin" \
  --plugin 'max-tokens-guard:guard:{"limit":1024}') || fail "chain run failed"
FLAT=$(echo "$OUT" | squash)
case "$FLAT" in
  *'"immediateResponse":null'*) ;;
  *) echo "$OUT"; fail "a request within the limit was refused" ;;
esac

echo "PASS"
