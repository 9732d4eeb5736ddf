#!/usr/bin/env bash
# The test command of the README: builds and runs every test suite in release mode with testing
# enabled (numeric kernels run 10-100x slower in debug builds).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-build-deps.sh
swift build -c release -Xswiftc -enable-testing --build-tests
swift test -c release -Xswiftc -enable-testing --skip-build "$@"
