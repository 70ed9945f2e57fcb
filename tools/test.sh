#!/usr/bin/env bash
# The project's test command: installs what is missing (tools/setup.sh), then the Swift test suite,
# then the Python tools' tests (numpy only).
#
#   bash tools/test.sh              the suite as users build it (oneDNN's SGEMM on Linux)
#   bash tools/test.sh --portable   the suite with the portable SGEMM (--disable-default-traits),
#                                   in its own build folder, .build-portable
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
build=()
if [ "${1:-}" = "--portable" ]; then
  build=(--disable-default-traits --scratch-path .build-portable)
fi
swift build --build-tests "${build[@]}"
swift test --skip-build "${build[@]}"
if [ -z "${build[*]}" ] && ls tools/tests/test_*.py >/dev/null 2>&1; then
  python3 -m pytest -q tools/tests
fi
