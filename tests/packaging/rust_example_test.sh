#!/bin/sh
# The Rust example (examples/rust-plugin) as an author in another language
# meets the ABI: built with cargo alone (offline, no crates: the FFI is
# declared by hand from plugin.h), then loaded by `bbr-host plugins validate`
# (its schema, its default filled in by the host) and run in a chain.
#
# usage: rust_example_test.sh <cargo> <example dir> <bbr-host> <work dir>
set -eu

CARGO=$1
EXAMPLE=$2
BBR_HOST=$3
WORK=$4

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

rm -rf "$WORK"
mkdir -p "$WORK/plugins"
echo "== cargo build --offline --release"
"$CARGO" build --offline --release --manifest-path "$EXAMPLE/Cargo.toml" \
  --target-dir "$WORK/target" || fail "cargo build failed"
SO=$WORK/plugins/model-header-rs.so
cp "$WORK/target/release/libmodel_header_rs.so" "$SO"

echo "== bbr-host plugins validate"
OUT=$("$BBR_HOST" plugins validate "$SO") || fail "plugins validate refused it: $OUT"
echo "$OUT"
case $OUT in
  *"model-header-rs 1.0.0 [request,thread-safe] request: continued"*) ;;
  *) fail "validate did not run its request hook: $OUT" ;;
esac
if OUT=$("$BBR_HOST" plugins validate "$SO" --parameters '{"headerName":"x-m","bogus":1}'); then
  fail "validate accepted a parameter its schema refuses"
fi
case $OUT in
  *"parameters.bogus: unknown field"*) ;;
  *) fail "the schema's refusal is not shown: $OUT" ;;
esac

echo "== bbr-host chain run: the header is set, named by the schema default"
OUT=$("$BBR_HOST" chain run --plugin-dir "$WORK/plugins" --plugin model-header-rs:m \
  --body '{"model":"llama"}' | tr -d ' \n') || fail "chain run failed"
case $OUT in
  *'{"key":"x-model-rs","value":"llama"}'*) ;;
  *) fail "x-model-rs: llama not set: $OUT" ;;
esac
OUT=$("$BBR_HOST" chain run --plugin-dir "$WORK/plugins" \
  --plugin 'model-header-rs:m:{"headerName":"x-chosen"}' --body '{"model":7}' | tr -d ' \n') \
  || fail "chain run failed"
case $OUT in
  *'"status":400'*'modelmustbeastring'*) ;;
  *) fail "a model that is not a string was not refused with 400: $OUT" ;;
esac
echo "OK"
