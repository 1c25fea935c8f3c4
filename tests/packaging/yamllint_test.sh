#!/bin/sh
# yamllint over the plain YAML files (the Helm templates are Go templates, not YAML).
set -eu
source_dir=$1
if ! command -v yamllint >/dev/null 2>&1; then
  echo "SKIP: yamllint is not installed (apt-get install yamllint)"
  exit 77
fi
config='{extends: default, rules: {line-length: {max: 140}, document-start: disable, comments: {min-spaces-from-content: 1}}}'
yamllint --strict -d "$config" \
  "$source_dir/packaging/helm/bbr-host/Chart.yaml" \
  "$source_dir/packaging/helm/bbr-host/values.yaml" \
  "$source_dir/packaging/config.example.yaml" \
  "$source_dir/packaging/adapters.example.yaml" \
  "$source_dir/examples/envoy/envoy-buffered.yaml" \
  "$source_dir/examples/envoy/envoy-streamed.yaml"
echo "yamllint: all files clean"
