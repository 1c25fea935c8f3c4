#!/bin/sh
# Installs the bbr-host SDK into a fresh prefix, builds examples/c-plugin and
# examples/cpp-plugin out of tree with find_package(bbr-sdk), then loads them
# with `bbr-host plugins validate` and runs them with `bbr-host chain run`.
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

if command -v pkg-config >/dev/null 2>&1; then
  echo "== pkg-config points at the installed headers"
  CFLAGS=$(PKG_CONFIG_PATH=$(dirname "$PC") pkg-config --cflags bbr-sdk)
  INCLUDE_DIR=$(echo "${CFLAGS#-I}" | tr -d " ")
  [ -f "$INCLUDE_DIR/bbr/plugin.h" ] || fail "pkg-config --cflags gave '$CFLAGS', no bbr/plugin.h there"
fi

build_example() {
  name=$1
  echo "== build examples/$name against the installed SDK"
  if [ -n "$GENERATOR" ]; then
    "$CMAKE" -S "$SOURCE_DIR/examples/$name" -B "$WORK/$name" -G "$GENERATOR" \
      -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release
  else
    "$CMAKE" -S "$SOURCE_DIR/examples/$name" -B "$WORK/$name" \
      -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release
  fi
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

echo "== bbr-host chain run: the C++ guard refuses max_tokens over the limit with 400"
printf '%s' '{"model":"m","max_tokens":5000}' > "$WORK/too-many.json"
OUT=$("$BBR_HOST" chain run --body "$WORK/too-many.json" --plugin-dir "$WORK/cpp-plugin" \
  --plugin 'max-tokens-guard:guard:{"limit":1024}') || fail "chain run failed"
echo "$OUT"
FLAT=$(echo "$OUT" | squash)
case "$FLAT" in
  *'"immediateResponse":{"status":400'*) ;;
  *) fail "no 400 immediate response for max_tokens 5000 > 1024" ;;
esac
case "$FLAT" in
  *max_tokens_exceeded*invalid_request_error*|*invalid_request_error*max_tokens_exceeded*) ;;
  *) fail "the 400 body is not the OpenAI-shaped error" ;;
esac

echo "== bbr-host chain run: the C++ guard lets max_tokens within the limit through"
printf '%s' '{"model":"m","max_tokens":100}' > "$WORK/fine.json"
OUT=$("$BBR_HOST" chain run --body "$WORK/fine.json" --plugin-dir "$WORK/cpp-plugin" \
  --plugin 'max-tokens-guard:guard:{"limit":1024}') || fail "chain run failed"
FLAT=$(echo "$OUT" | squash)
case "$FLAT" in
  *'"immediateResponse":null'*) ;;
  *) echo "$OUT"; fail "a request within the limit was refused" ;;
esac

echo "PASS"
