#!/usr/bin/env bash
# The project's test command: the Swift test suite, then the Python tools' tests (numpy only).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build
if ls tools/tests/test_*.py >/dev/null 2>&1; then
  python3 -m pytest -q tools/tests
fi
