#!/bin/sh
# Runs CPack against the existing build tree (no rebuild) and inspects the .debs:
# contents, Depends from dpkg-shlibdeps, and that the packaged binary finds its
# packaged plugins once unpacked.
#   $1 build dir (with CPackConfig.cmake)  $2 scratch dir  $3 source dir
set -eu
build_dir=$1
work=$2
source_dir=$3

for tool in cpack dpkg-deb dpkg-shlibdeps file; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed (dpkg-dev and file provide what CPack's DEB generator needs)"
    exit 77
  fi
done

fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"
# -B: packages and CPack's staging go to the scratch dir, not the build tree.
cpack --config "$build_dir/CPackConfig.cmake" -G DEB -B "$work" >"$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log"; fail "cpack failed"; }

# The Dockerfile installs /packages/bbr-host_*.deb: the name must keep matching.
set -- "$work"/bbr-host_*.deb
[ -f "$1" ] || { ls -l "$work"; fail "no bbr-host_*.deb produced"; }
server_deb=$1
set -- "$work"/bbr-host-sdk_*.deb
[ -f "$1" ] || { ls -l "$work"; fail "no bbr-host-sdk_*.deb produced"; }
sdk_deb=$1
echo "built: $(basename "$server_deb") $(basename "$sdk_deb")"

dpkg-deb -c "$server_deb" >"$work/server.contents"
dpkg-deb -c "$sdk_deb" >"$work/sdk.contents"

has() {  # has <contents file> <path suffix>
  grep -q -E " \./$2\$" "$1" || { cat "$1"; fail "$(basename "$1" .contents) package lacks $2"; }
}
lacks() {
  if grep -q -E "$2" "$1"; then fail "$(basename "$1" .contents) package should not contain $2"; fi
}

has "$work/server.contents" "usr/bin/bbr-host"
# Every in-tree plugin (plugins/<type>/ with a CMakeLists.txt) is packaged.
plugin_count=0
for dir in "$source_dir"/plugins/*/; do
  [ -f "$dir/CMakeLists.txt" ] || continue
  type=$(basename "$dir")
  has "$work/server.contents" "usr/lib/bbr-host/plugins/$type\.so"
  plugin_count=$((plugin_count + 1))
done
[ "$plugin_count" -gt 0 ] || fail "no in-tree plugins found under $source_dir/plugins"
has "$work/server.contents" "usr/share/bbr-host/config.example.yaml"
has "$work/server.contents" "usr/lib/systemd/system/bbr-host.service"
# bbr-host refuses group/world-writable plugins: the package must not ship them so.
if grep -E '\./usr/lib/bbr-host/plugins/.*\.so$' "$work/server.contents" | grep -q -E '^.....w|^........w'; then
  fail "a packaged plugin is group- or world-writable"
fi
lacks "$work/server.contents" 'usr/include/'

has "$work/sdk.contents" "usr/include/bbr/plugin\.h"
has "$work/sdk.contents" "usr/include/bbr/plugin\.hpp"
grep -q -E 'cmake/bbr-sdk/bbr-sdkConfig\.cmake$' "$work/sdk.contents" || fail "sdk package lacks bbr-sdkConfig.cmake"
grep -q -E 'pkgconfig/bbr-sdk\.pc$' "$work/sdk.contents" || fail "sdk package lacks bbr-sdk.pc"
lacks "$work/sdk.contents" 'usr/bin/'

depends=$(dpkg-deb -f "$server_deb" Depends)
echo "bbr-host Depends: $depends"
for lib in 'libc6' 'libstdc\+\+6' 'libgrpc\+\+' 'libprotobuf' 'libyaml-cpp' 'libssl'; do
  echo "$depends" | grep -q -E "(^|, )$lib" || fail "Depends lacks $lib (dpkg-shlibdeps did not run?): $depends"
done
# The SDK carries the test kit, a shared library: the package is per architecture.
[ "$(dpkg-deb -f "$sdk_deb" Architecture)" = "$(dpkg --print-architecture)" ] \
  || fail "bbr-host-sdk should be Architecture: $(dpkg --print-architecture) (it ships libbbr-testkit.so)"
dpkg-deb -c "$sdk_deb" | grep -q 'libbbr-testkit.so' || fail "bbr-host-sdk lacks libbbr-testkit.so"
[ "$(dpkg-deb -f "$server_deb" Package)" = bbr-host ] || fail "server package is not named bbr-host"

# Unpacked, the binary finds the plugins next to it (<exe>/../lib/bbr-host/plugins).
root="$work/root"
dpkg-deb -x "$server_deb" "$root"
"$root/usr/bin/bbr-host" plugins list >"$work/plugins-list.txt" 2>&1 \
  || { cat "$work/plugins-list.txt"; fail "packaged bbr-host plugins list failed"; }
for dir in "$source_dir"/plugins/*/; do
  [ -f "$dir/CMakeLists.txt" ] || continue
  type=$(basename "$dir")
  grep -q -F "$type" "$work/plugins-list.txt" \
    || { cat "$work/plugins-list.txt"; fail "packaged bbr-host does not list plugin type $type"; }
done
# Stripped: no debug sections left in the packaged binary.
if file "$root/usr/bin/bbr-host" | grep -q 'with debug_info'; then fail "packaged binary is not stripped"; fi

echo "deb packages OK ($plugin_count in-tree plugins)"
