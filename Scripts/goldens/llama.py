"""Tiny LLaMA checkpoints and logits goldens for MMLLM (transformers' LlamaForCausalLM is the
reference; the GGUF files are written with gguf-py exactly as llama.cpp's convert_hf_to_gguf.py
lays them out, Q and K rows permuted for llama.cpp's interleaved RoPE).

Run:  .venv-goldens/bin/python Scripts/goldens/llama.py
Writes:
  Tests/Fixtures/llama/tiny/config.json, model.safetensors
        hidden 64, 2 layers, 4 heads, 2 KV heads (GQA), intermediate 128, vocab 256,
        rope_theta 10000, untied lm_head; weights rounded to bf16 and stored as BF16
        (config.json as transformers 5 writes it: `rope_parameters`)
  Tests/Fixtures/llama/tiny-f32.gguf, tiny-q8_0.gguf
        the same model in GGUF (general.architecture llama): 2-d weights F32 or Q8_0
        (gguf.quants.quantize, bit-exact with ggml), norms F32
  Tests/Fixtures/llama/llama3/config.json, model.safetensors
        hidden 64, 2 layers, 4 heads, 1 KV head (MQA), explicit head_dim 32, intermediate 128,
        llama3 rope_scaling (factor 4, low 1, high 4, original 32), tied embeddings,
        attention_bias and mlp_bias; weights rounded to f16 and stored as F16 (config.json in
        the transformers 4 style of real checkpoints: `rope_theta` + `rope_scaling`)
  Tests/Fixtures/llama/llama3-f16.gguf
        the same model in GGUF F16 with `rope_freqs.weight` (the converter's llama3 factors)
  Tests/Goldens/llama/prompt{0,1,2}.npy                 int32 token ids (7, 1 and 80 tokens)
  Tests/Goldens/llama/{tiny,tiny_q8_0,llama3}_logits{0,1,2}.npy
        float32 [tokens, 256]: logits at every position of each prompt; tiny_q8_0 is the HF
        model with the Q8_0 GGUF weights dequantized by gguf-py (and un-permuted)
"""

import copy
import json
import os
import shutil
import sys

# Keep this folder off the import path (Scripts/goldens/gguf.py would shadow the package).
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402
import torch  # noqa: E402
import gguf  # noqa: E402
from gguf import GGMLQuantizationType as T  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "llama")
GOLDENS = os.path.join(ROOT, "Tests", "Goldens", "llama")


def permute(weights, n_head, n_head_kv):
    """convert_hf_to_gguf.py's LlamaModel.permute: rotate-half pairs → interleaved pairs."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2)
            .reshape(weights.shape))


def unpermute(weights, n_head):
    """The inverse of permute (interleaved → rotate-half)."""
    return (weights.reshape(n_head, weights.shape[0] // n_head // 2, 2, *weights.shape[1:])
            .swapaxes(1, 2)
            .reshape(weights.shape))


def make_model(config, seed, dtype):
    """A random model whose logits are far from uniform: weights N(0, 0.15), norm weights near 1."""
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
            # Weights exactly representable in the stored dtype: goldens see the stored values.
            p.copy_(p.to(dtype).to(torch.float32))
    return model


def logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids], dtype=torch.long)).logits[0].float().numpy()


GGUF_NAMES = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm",
    "post_attention_layernorm": "ffn_norm",
}


def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".")  # model.layers.N.<module>.<sub>.weight
    layer = parts[2]
    module = ".".join(parts[3:-1])
    return f"blk.{layer}.{GGUF_NAMES[module]}.{parts[-1]}"


def llama3_rope_factors(config):
    """convert_hf_to_gguf.py's LlamaModel.generate_extra_tensors for rope_type llama3."""
    import math
    rope = config.rope_parameters
    base = rope["rope_theta"]
    dim = config.head_dim
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor = rope["factor"]
    low, high = rope["low_freq_factor"], rope["high_freq_factor"]
    old = rope["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / low, old / high
    factors = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            factors.append(1)
        elif wavelen > low_wavelen:
            factors.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(factors, dtype=np.float32)


def write_gguf(model, config, path, qtype):
    """The model as convert_hf_to_gguf.py writes a LlamaForCausalLM; returns the tensors a reader
    gets back, dequantized and un-permuted into HF names (for the Q8_0 goldens)."""
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("mmgraph tiny llama")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(config.rope_parameters["rope_theta"])
    writer.add_rope_dimension_count(config.head_dim)
    if config.head_dim != config.hidden_size // heads:
        writer.add_key_length(config.head_dim)
        writer.add_value_length(config.head_dim)
    writer.add_vocab_size(config.vocab_size)
    writer.add_file_type({T.F32: 0, T.F16: 1, T.Q8_0: 7}[qtype])
    if config.rope_parameters.get("rope_type") == "llama3":
        writer.add_tensor("rope_freqs.weight", llama3_rope_factors(config))
    readback = {}
    for name, p in model.state_dict().items():
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        data = p.float().numpy()
        if name.endswith(("q_proj.weight", "q_proj.bias")):
            data = permute(data, heads, heads)
        if name.endswith(("k_proj.weight", "k_proj.bias")):
            data = permute(data, heads, kv_heads)
        data = np.ascontiguousarray(data)
        if data.ndim == 1 or qtype == T.F32:
            stored = data.astype(np.float32)
            writer.add_tensor(gguf_name(name), stored)
            back = stored
        elif qtype == T.F16:
            stored = data.astype(np.float16)
            writer.add_tensor(gguf_name(name), stored)
            back = stored.astype(np.float32)
        else:
            blocks = gguf.quants.quantize(data, qtype)
            writer.add_tensor(gguf_name(name), blocks, raw_dtype=qtype)
            back = gguf.quants.dequantize(blocks, qtype).reshape(data.shape)
        if name.endswith(("q_proj.weight", "q_proj.bias")):
            back = unpermute(back, heads)
        if name.endswith(("k_proj.weight", "k_proj.bias")):
            back = unpermute(back, kv_heads)
        readback[name] = torch.from_numpy(np.ascontiguousarray(back))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return readback


def save_npy(name, array):
    np.save(os.path.join(GOLDENS, name), array)


def main():
    shutil.rmtree(FIXTURES, ignore_errors=True)
    os.makedirs(FIXTURES)
    os.makedirs(GOLDENS, exist_ok=True)
    rng = np.random.default_rng(20261201)
    prompts = [rng.integers(0, 256, size=n).astype(np.int32) for n in (7, 1, 80)]
    for i, ids in enumerate(prompts):
        save_npy(f"prompt{i}.npy", ids)

    # 1. tiny: GQA, untied, bf16 safetensors; f32 and Q8_0 GGUF.
    tiny = LlamaConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=256, max_position_embeddings=128, rope_theta=10000.0,
        rms_norm_eps=1e-5, tie_word_embeddings=False)
    model = make_model(tiny, seed=1, dtype=torch.bfloat16)
    folder = os.path.join(FIXTURES, "tiny")
    # Save a copy: Module.to(dtype) would also round the rotary `inv_freq` buffer.
    copy.deepcopy(model).to(torch.bfloat16).save_pretrained(folder)
    for i, ids in enumerate(prompts):
        save_npy(f"tiny_logits{i}.npy", logits(model, ids.tolist()))
    write_gguf(model, tiny, os.path.join(FIXTURES, "tiny-f32.gguf"), T.F32)
    readback = write_gguf(model, tiny, os.path.join(FIXTURES, "tiny-q8_0.gguf"), T.Q8_0)
    quantized = LlamaForCausalLM(tiny).eval()
    quantized.load_state_dict(readback)
    for i, ids in enumerate(prompts):
        save_npy(f"tiny_q8_0_logits{i}.npy", logits(quantized, ids.tolist()))

    # 2. llama3: MQA, explicit head_dim, llama3 rope scaling, tied, biases; f16.
    llama3 = LlamaConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, head_dim=32, vocab_size=256, max_position_embeddings=128,
        rope_theta=10000.0,
        rope_scaling={"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 32},
        rms_norm_eps=1e-6, tie_word_embeddings=True, attention_bias=True, mlp_bias=True)
    model = make_model(llama3, seed=2, dtype=torch.float16)
    folder = os.path.join(FIXTURES, "llama3")
    copy.deepcopy(model).to(torch.float16).save_pretrained(folder)
    for i, ids in enumerate(prompts):
        save_npy(f"llama3_logits{i}.npy", logits(model, ids.tolist()))
    write_gguf(model, llama3, os.path.join(FIXTURES, "llama3-f16.gguf"), T.F16)
    # Real Llama 3.x checkpoints spell the rope settings the transformers 4 way.
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        config = json.load(f)
    rope = config.pop("rope_parameters")
    config["rope_theta"] = rope.pop("rope_theta")
    config["rope_scaling"] = rope
    with open(path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    for folder in ("tiny", "llama3"):
        extra = os.path.join(FIXTURES, folder, "generation_config.json")
        if os.path.exists(extra):
            os.remove(extra)

    total = 0
    for base in (FIXTURES, GOLDENS):
        for dirpath, _, files in os.walk(base):
            total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    print(f"fixtures + goldens: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
