#!/usr/bin/env bash
# The public types of the library products, one "Module: Type" line each, sorted: what a user of
# WeightconvKit or WeightconvRuntime can name. Everything else is `package` or internal.
#   bash tools/public_api.sh           # print the list
#   bash tools/public_api.sh --check   # fail if the list differs from the one in the documentation
set -euo pipefail
cd "$(dirname "$0")/.."
article=Sources/WeightconvKit/WeightconvKit.docc/PublicAPI.md
list() {
  grep -rHE '^\s*public (final |indirect )?(struct|enum|class|protocol|typealias|actor) [A-Za-z0-9_]+' \
      Sources --include='*.swift' |
    sed -E 's#^Sources/([^/]+)/[^:]*:\s*public (final |indirect )?(struct|enum|class|protocol|typealias|actor) ([A-Za-z0-9_]+).*#\1: \4#' |
    sort -u
}
if [ "${1:-}" = "--check" ]; then
  documented=$(sed -n 's/^- `\([A-Za-z]*: [A-Za-z0-9_]*\)`.*/\1/p' "$article" | sort -u)
  if ! diff <(echo "$documented") <(list) >/dev/null; then
    echo "public_api: the public types differ from $article (< documented, > in the code):"
    diff <(echo "$documented") <(list) | grep -E '^[<>]' || true
    exit 1
  fi
  echo "public_api: $(list | wc -l) public types, all listed in $article"
else
  list
fi
