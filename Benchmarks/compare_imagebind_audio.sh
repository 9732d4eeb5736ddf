#!/usr/bin/env bash
# Side by side: ImageBind's audio encoder in the imagebind_huge configuration (768 wide, 12 blocks,
# 12 heads, bias_kv; seeded random weights) on 3 spectrogram clips [3, 1, 128, 204] — mmgraph's
# `imagebind.audio` node vs ImageBind's own PyTorch code, on the same machine, 1 and 2 threads.
#
#   Benchmarks/compare_imagebind_audio.sh
#
# Environment: THREADS ("1 2"), REPS (3), PYTHON (/work/venv/bin/python: torch, timm, einops, …
# as Scripts/goldens/requirements.txt), IMAGEBIND_ROOT (the ImageBind checkout), MMGRAPH (a built
# mmgraph binary; default: swift build -c release --product mmgraph), WORK (a scratch folder for
# the 340 MB of random weights; default a temporary one, removed at the end).
#
# Two mmgraph times: `mmgraph bench imagebind-audio` (the forward call alone, weights loaded and
# the encoder built first, one warm-up then at least 3 calls: what PyTorch's number is) and the
# `embed` node's seconds from `mmgraph run --json` (one process per run: it includes mapping the
# weights file and building the encoder). PyTorch's is the forward call (weights already in
# memory), first call and best/median of REPS more.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
THREADS=${THREADS:-"1 2"}
REPS=${REPS:-3}
PYTHON=${PYTHON:-$([ -x /work/venv/bin/python ] && echo /work/venv/bin/python || echo python3)}
if [ -z "${MMGRAPH:-}" ]; then
  (cd "$ROOT" && swift build -c release --product mmgraph >&2)
  MMGRAPH="$ROOT/.build/release/mmgraph"
fi
if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi

"$PYTHON" "$ROOT/Benchmarks/compare_imagebind_audio.py" prepare "$WORK" 2>/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for threads in $THREADS; do
  "$PYTHON" "$ROOT/Benchmarks/compare_imagebind_audio.py" time "$WORK" "$threads" "$REPS" 2>/dev/null
  "$MMGRAPH" bench imagebind-audio --weights "$WORK/audio_huge.safetensors" --input "$WORK/clips.npy" \
    --out "$WORK/forward.npy" --threads "$threads" --min-time 0 --json |
    "$PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print("mmgraph-forward %d best=%.3f median=%.3f runs=%d" % (d["threads"], d["ms"] / 1e3, d["ms_median"] / 1e3, d["runs"]))'
  best=""
  all=""
  for _ in $(seq 1 "$REPS"); do
    rm -rf "$WORK/out"
    seconds=$(cd "$ROOT" && "$MMGRAPH" run Benchmarks/imagebind-audio-encoder.json --input "$WORK/clips.npy" \
      --set "weights=$WORK/audio_huge.safetensors" --out "$WORK/out" --no-cache --threads "$threads" --json |
      "$PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print([n["seconds"] for n in d["nodes"] if n["name"] == "embed"][0])')
    all="$all $seconds"
  done
  echo "mmgraph $threads runs=[$all ] best=$(echo $all | tr ' ' '\n' | sort -g | head -1)"
  "$PYTHON" -c "
import numpy as np
a = np.load('$WORK/out/embedding.npy'); b = np.load('$WORK/pytorch.npy'); c = np.load('$WORK/forward.npy')
print(f'outputs agree: max |a - b| = {np.abs(a - b).max():.2e}, forward {np.abs(c - b).max():.2e}')"
done
