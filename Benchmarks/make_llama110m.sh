#!/usr/bin/env bash
# Writes the ~110M-parameter LLaMA benchmark models (random weights; never committed):
#   $OUT/llama110m-f32.gguf and $OUT/llama110m-q8_0.gguf
# LLaMA-2 shape of llama2.c's stories110M: hidden 768, 12 layers, 12 heads (head_dim 64, no
# GQA), FFN 2048, vocab 32000, untied output — 110M parameters read per decoded token
# (85M in the blocks, 24.6M in output.weight). Weights are seeded N(0, 0.02); Q8_0 is
# gguf-py's quantizer (bit-exact with ggml's); norms stay F32, as llama.cpp's converter writes
# them. A placeholder SentencePiece-style vocabulary (<unk>, <s>, </s>, 256 byte tokens, then
# "tok_N") lets llama.cpp load the files.
#
#   Benchmarks/make_llama110m.sh [OUT]     (default ~/.cache/mmgraph/models/llama110m)
#
# Environment: PYTHON (default /work/venv/bin/python, else python3): needs numpy and gguf.
set -euo pipefail
OUT=${1:-${MMGRAPH_MODELS:-$HOME/.cache/mmgraph/models}/llama110m}
PYTHON=${PYTHON:-$([ -x /work/venv/bin/python ] && echo /work/venv/bin/python || echo python3)}
mkdir -p "$OUT"
# Run from $OUT so that no gguf.py on the way shadows the package.
cd "$OUT" && "$PYTHON" - "$OUT" <<'PY'
import os, sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

out = sys.argv[1]
hidden, layers, heads, ffn, vocab, context = 768, 12, 12, 2048, 32000, 2048
rng = np.random.default_rng(110)

def normal(*shape):
    return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)

tensors = [("token_embd.weight", normal(vocab, hidden))]
for i in range(layers):
    b = f"blk.{i}."
    tensors += [
        (b + "attn_norm.weight", np.ones(hidden, np.float32)),
        (b + "attn_q.weight", normal(hidden, hidden)),
        (b + "attn_k.weight", normal(hidden, hidden)),
        (b + "attn_v.weight", normal(hidden, hidden)),
        (b + "attn_output.weight", normal(hidden, hidden)),
        (b + "ffn_norm.weight", np.ones(hidden, np.float32)),
        (b + "ffn_gate.weight", normal(ffn, hidden)),
        (b + "ffn_up.weight", normal(ffn, hidden)),
        (b + "ffn_down.weight", normal(hidden, ffn)),
    ]
tensors += [("output_norm.weight", np.ones(hidden, np.float32)), ("output.weight", normal(vocab, hidden))]
print(f"{sum(t.size for _, t in tensors) / 1e6:.1f}M parameters", file=sys.stderr)

tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
tokens += [f"tok_{i}" for i in range(vocab - len(tokens))]
types = [2, 3, 3] + [6] * 256 + [1] * (vocab - 259)

for qtype, name in ((T.F32, "f32"), (T.Q8_0, "q8_0")):
    path = os.path.join(out, f"llama110m-{name}.gguf")
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name(f"mmgraph llama110m {name} (random weights)")
    writer.add_context_length(context)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(10000.0)
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_vocab_size(vocab)
    writer.add_file_type({T.F32: 0, T.Q8_0: 7}[qtype])
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * 259 + [-float(i) for i in range(vocab - 259)])
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    for tensor_name, data in tensors:
        if data.ndim == 1 or qtype == T.F32:
            writer.add_tensor(tensor_name, data)
        else:
            writer.add_tensor(tensor_name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"wrote {path} ({os.path.getsize(path) / 1e6:.0f} MB)", file=sys.stderr)
PY
