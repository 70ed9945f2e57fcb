#!/usr/bin/env bash
# Proves weightconv can be adopted as a versioned dependency: tags a temporary clone of the current
# commit, builds tools/downstream (which depends on that tag with `from:`) in release, runs the
# README's library example and the runtime-only example on a committed .wcv file, and checks that
# the runtime-only app links neither libzip nor the checkpoint reader.
#
#   bash tools/check_downstream.sh [FILE.wcv]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
example=${1:-fixtures/examples/shufflenet_seed001.wcv}
version=$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/WeightconvKit/Format/Conversion.swift)

work=$(mktemp -d /tmp/weightconv-downstream.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A clone holds what is committed: the check is of the commit, as a user would get it.
git clone -q "$root" "$work/weightconv"
git -C "$work/weightconv" -c user.name=ci -c user.email=ci@localhost tag -a "$version" -m "release $version"
cp -R tools/downstream "$work/downstream"

echo "check_downstream: building tools/downstream against weightconv $version (a tag, from: \"0.1.0\")"
(cd "$work/downstream" &&
  WEIGHTCONV_PACKAGE_URL="file://$work/weightconv" swift build -c release --scratch-path "$work/build" 2>&1 |
    grep -E "error|warning: .*unsafe|Compiling (LibraryExample|RuntimeExample)|Build complete" || true)
bin="$work/build/release"
[ -x "$bin/LibraryExample" ] && [ -x "$bin/RuntimeExample" ] || { echo "check_downstream: the downstream build failed"; exit 1; }

"$bin/LibraryExample" "$example"
"$bin/RuntimeExample" "$example"

if ldd "$bin/RuntimeExample" | grep -q libzip; then
  echo "check_downstream: RuntimeExample links libzip"; exit 1
fi
if nm -C "$bin/RuntimeExample" 2>/dev/null | grep -q "TorchCheckpoint"; then
  echo "check_downstream: RuntimeExample contains the checkpoint reader"; exit 1
fi
echo "check_downstream: a versioned dependency builds; both examples ran; the runtime-only app links no libzip"
