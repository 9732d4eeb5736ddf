#!/usr/bin/env bash
# The test command of the README: builds and runs every test suite in release mode with testing
# enabled (numeric kernels run 10-100x slower in debug builds).
set -euo pipefail
cd "$(dirname "$0")/.."
# System libraries the package links (Debian/Ubuntu names); installed only when missing.
if ! pkg-config --exists sndfile 2>/dev/null; then
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then as_root="sudo"; fi
  $as_root apt-get update
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y libsndfile1-dev pkg-config
fi
swift build -c release -Xswiftc -enable-testing --build-tests
swift test -c release -Xswiftc -enable-testing --skip-build "$@"
