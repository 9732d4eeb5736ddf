#!/usr/bin/env bash
# Installs the system packages mmgraph builds and runs with (Debian/Ubuntu names), only when
# something is missing: libsndfile (audio), libpng and libjpeg-turbo (images), zlib (gzip'd
# tokenizer vocabularies), ffmpeg/ffprobe
# (video frames, run as child processes). Used by Scripts/test.sh, Scripts/bench.sh and .ci/run;
# needs root (or sudo) only when something is missing.
set -euo pipefail
packages="libsndfile1-dev libpng-dev libjpeg62-turbo-dev zlib1g-dev ffmpeg pkg-config"
missing=""
pkg-config --exists sndfile 2>/dev/null || missing="yes"
pkg-config --exists libpng 2>/dev/null || missing="yes"
pkg-config --exists zlib 2>/dev/null || missing="yes"
[ -f /usr/include/jpeglib.h ] || [ -f /usr/include/x86_64-linux-gnu/jpeglib.h ] \
  || [ -f /usr/include/aarch64-linux-gnu/jpeglib.h ] || missing="yes"
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing="yes"
if [ -n "$missing" ]; then
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then as_root="sudo"; fi
  $as_root apt-get update
  # shellcheck disable=SC2086
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages
fi
