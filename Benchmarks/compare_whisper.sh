#!/usr/bin/env bash
# Side-by-side speech recognition speed of mmgraph's Whisper and PyTorch (transformers'
# WhisperForConditionalGeneration) on the same weights — the CTranslate2 model.bin of Whisper
# tiny.en, converted to f32 tensors for PyTorch — transcribing one file end to end (log-mel of the
# first 30 s, encoder, greedy decoding with a KV cache), at each thread count, in alternating
# rounds so that machine load hits all engines alike. CTranslate2 itself (the package that wrote
# model.bin) runs too, for reference. Prints real-time factors (processing time / audio duration,
# lower is faster) and the ratio PyTorch / mmgraph (> 1: mmgraph is faster).
#
#   Benchmarks/compare_whisper.sh [AUDIO]
#
# Environment: MODEL (default ~/.cache/mmgraph/models/whisper-tiny-en, from
# Scripts/fetch-models.sh whisper-tiny-en), THREADS ("1 2"), REPS (3 per run), ROUNDS (2),
# PYTHON (a python with torch, transformers, soundfile and ctranslate2; default /work/venv/bin/python
# when present, else python3), ENGINES ("torch ctranslate2"), MMGRAPH (a built mmgraph binary;
# default: swift build -c release --product mmgraph).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
AUDIO=${1:-$ROOT/Samples/question.wav}
MODEL=${MODEL:-$HOME/.cache/mmgraph/models/whisper-tiny-en}
THREADS=${THREADS:-"1 2"}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-2}
ENGINES=${ENGINES:-"torch ctranslate2"}
if [ -z "${PYTHON:-}" ]; then
  if [ -x /work/venv/bin/python ]; then PYTHON=/work/venv/bin/python; else PYTHON=python3; fi
fi

[ -f "$MODEL/model.bin" ] || { echo "no $MODEL/model.bin: bash Scripts/fetch-models.sh whisper-tiny-en" >&2; exit 1; }
[ -f "$AUDIO" ] || { echo "audio not found: $AUDIO" >&2; exit 1; }

if [ -z "${MMGRAPH:-}" ]; then
  (cd "$ROOT" && swift build -c release --product mmgraph >&2)
  MMGRAPH="$ROOT/.build/release/mmgraph"
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "model: $MODEL, audio: $AUDIO" >&2
for round in $(seq 1 "$ROUNDS"); do
  for t in $THREADS; do
    echo "round $round, $t threads: mmgraph" >&2
    "$MMGRAPH" bench whisper --model "$MODEL" --audio "$AUDIO" --threads "$t" --repetitions "$REPS" --json \
      >"$OUT/mmgraph-$round-$t.json"
    for engine in $ENGINES; do
      echo "round $round, $t threads: $engine" >&2
      "$PYTHON" "$ROOT/Benchmarks/compare_whisper.py" --model "$MODEL" --audio "$AUDIO" --threads "$t" \
        --repetitions "$REPS" --engine "$engine" 2>/dev/null | tail -1 >"$OUT/$engine-$round-$t.json"
    done
  done
done

"$PYTHON" - "$OUT" "$THREADS" "$ENGINES" <<'PY'
import glob, json, statistics, sys
out, threads, engines = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
names = {"torch": "PyTorch", "ctranslate2": "CTranslate2"}
def rtfs(engine, t):
    return [json.loads(open(p).read())["rtf_median"] for p in sorted(glob.glob(f"{out}/{engine}-*-{t}.json"))]
first = json.loads(open(sorted(glob.glob(f"{out}/mmgraph-*.json"))[0]).read())
print(f"audio {first['audio_s']:.2f} s, transcript: {first['text']!r} ({first['tokens']} tokens)")
print("| threads | mmgraph RTF | " + " | ".join(f"{names[e]} RTF" for e in engines) + " | " +
      " | ".join(f"{names[e]} / mmgraph" for e in engines) + " |")
print("|---" * (2 + 2 * len(engines)) + "|")
for t in threads:
    mm = rtfs("mmgraph", t)
    cells = [f"{statistics.mean(mm):.3f}"]
    ratios = []
    for e in engines:
        other = rtfs(e, t)
        cells.append(f"{statistics.mean(other):.3f}" if other else "-")
        ratios.append(f"{statistics.mean(other) / statistics.mean(mm):.2f}" if other else "-")
    print(f"| {t} | " + " | ".join(cells + ratios) + " |")
PY
