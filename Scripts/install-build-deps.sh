#!/usr/bin/env bash
# Installs the system libraries the package links (Debian/Ubuntu names), only when missing.
# Used by Scripts/test.sh and Scripts/bench.sh; needs root (or sudo) only when something is missing.
set -euo pipefail
if ! pkg-config --exists sndfile 2>/dev/null; then
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then as_root="sudo"; fi
  $as_root apt-get update
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y libsndfile1-dev pkg-config
fi
