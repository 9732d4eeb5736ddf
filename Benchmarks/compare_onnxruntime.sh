#!/usr/bin/env bash
# Side-by-side latency of a ViT-B/16 image encoder (CLIP ViT-B/16's vision tower: 224 px, patch 16,
# width 768, 12 layers, 12 heads, MLP 3072; random weights, batch 1) in ONNX Runtime and in
# mmgraph (`mmgraph bench clip-vision`) on the same weights, at each thread count, in alternating
# rounds so that machine load hits both alike. Prints the medians and mmgraph / ORT (lower is
# better for mmgraph; ≤ 1.0 is the target), wall time and process CPU time per call.
#
#   Benchmarks/compare_onnxruntime.sh
#
# Environment: PYTHON (a Python with torch, transformers, onnx==1.23.1, onnxruntime==1.30.0;
# default /work/venv/bin/python), THREADS ("1 2"), ROUNDS (3), MIN_TIME (seconds per measurement,
# 5), CACHE (~/.cache/mmgraph/vit-b16: the exported model, ~700 MB, made once), MMGRAPH (a built
# mmgraph binary; default: swift build -c release --product mmgraph).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$([ -x /work/venv/bin/python ] && echo /work/venv/bin/python || echo python3)}
THREADS=${THREADS:-"1 2"}
ROUNDS=${ROUNDS:-3}
MIN_TIME=${MIN_TIME:-5}
CACHE=${CACHE:-$HOME/.cache/mmgraph/vit-b16}

if [ ! -f "$CACHE/model.onnx" ] || [ ! -f "$CACHE/model.safetensors" ]; then
  echo "exporting the random ViT-B/16 to $CACHE" >&2
  "$PYTHON" "$ROOT/Benchmarks/compare_onnxruntime.py" export "$CACHE" >&2
fi
if [ -z "${MMGRAPH:-}" ]; then
  (cd "$ROOT" && swift build -c release --product mmgraph >&2)
  MMGRAPH="$ROOT/.build/release/mmgraph"
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for round in $(seq 1 "$ROUNDS"); do
  for t in $THREADS; do
    echo "round $round, $t threads: onnxruntime" >&2
    "$PYTHON" "$ROOT/Benchmarks/compare_onnxruntime.py" time "$CACHE" "$t" "$MIN_TIME" >"$OUT/ort-$round-$t.json"
    echo "round $round, $t threads: mmgraph" >&2
    "$MMGRAPH" bench clip-vision --model "$CACHE" --threads "$t" --min-time "$MIN_TIME" --json \
      >"$OUT/mmgraph-$round-$t.json"
  done
done

"$PYTHON" - "$OUT" "$THREADS" <<'PY'
import glob, json, statistics, sys
out, threads = sys.argv[1], sys.argv[2].split()
print("| threads | ORT ms (median of rounds; range) | mmgraph ms | mmgraph / ORT | ORT CPU ms/run | mmgraph CPU ms/run | CPU ratio |")
print("|---|---|---|---|---|---|---|")
for t in threads:
    ort = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/ort-*-{t}.json"))]
    mm = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/mmgraph-*-{t}.json"))]
    a = [r["ms_median"] for r in ort]
    b = [r["ms_median"] for r in mm]
    ca = statistics.median(r["cpu_ms_per_run"] for r in ort)
    cb = statistics.median(r["cpu_ms_per_run"] for r in mm)
    ma, mb = statistics.median(a), statistics.median(b)
    rng = lambda v: f" ({min(v):.0f}–{max(v):.0f})"
    print(f"| {t} | {ma:.1f}{rng(a)} | {mb:.1f}{rng(b)} | {mb / ma:.2f} | {ca:.0f} | {cb:.0f} | {cb / ca:.2f} |")
PY
