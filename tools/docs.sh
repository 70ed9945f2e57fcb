#!/usr/bin/env bash
# Builds the DocC documentation of the library products with swift-docc-plugin; any DocC warning
# (an undocumented parameter, a broken link) fails it. The archives land in
# .build/plugins/Swift-DocC/outputs/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/public_api.sh --check
for target in WeightconvRuntime WeightconvKit; do
  log=$(mktemp)
  if ! swift package generate-documentation --target "$target" --warnings-as-errors >"$log" 2>&1; then
    grep -E "^(error|warning)|-->" "$log" | head -40
    echo "docs: the documentation of $target has warnings (above)"
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
  echo "docs: $target built without warnings"
done
