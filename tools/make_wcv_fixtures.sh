#!/usr/bin/env bash
# Regenerates fixtures/wcv: sources and expected values from PyTorch (tools/make_wcv_sources.py),
# then the .wcv conversions written by the Swift writer itself (`weightconv import`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/work/.venv-tools/bin/python}
OUT=fixtures/wcv
"$PY" tools/make_wcv_sources.py "$OUT"
swift build --product weightconv
for expected in "$OUT"/*.expected.json; do
  name=$(basename "$expected" .expected.json)
  source=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["source"])' "$expected")
  dtype=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["dtype"] or "")' "$expected")
  rm -f "$OUT/$name.wcv"
  # Relative paths: provenance records only the file name, never the folder it was made in.
  (cd "$OUT" && swift run --package-path ../.. --skip-build weightconv import "$source" -o "$name.wcv" ${dtype:+--dtype "$dtype"})
done
du -ch "$OUT"/*.wcv "$OUT"/src/* | tail -1
