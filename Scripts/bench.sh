#!/usr/bin/env bash
# The README's main job (for now): build mmgraph in release mode and run its kernels side by side
# with numpy/OpenBLAS on this machine, printing the speed ratio per shape.
#   Scripts/bench.sh [--rounds N] [--threads 1 2] [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-build-deps.sh
bash Scripts/install-bench-deps.sh
venv=.venv-bench
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check numpy threadpoolctl
fi
swift build -c release --product mmgraph
"$venv/bin/python" Benchmarks/compare_numpy.py --mmgraph .build/release/mmgraph "$@"
