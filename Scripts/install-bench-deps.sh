#!/usr/bin/env bash
# Installs the Debian packages the benchmark and model-fetching scripts need (Python with venv),
# when they are missing. The libraries the build links are Scripts/install-build-deps.sh's job.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(python3 python3-venv python3-pip)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# A python3 on PATH with venv support (pyenv, the image's own) is as good as Debian's.
if command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing=()
fi
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "mmgraph: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
