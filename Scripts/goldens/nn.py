#!/usr/bin/env python3
"""Goldens for the NN kernels (Sources/MMKernels: Attention, Norms, Softmax, activations, RoPE).

Run with .venv-goldens/bin/python Scripts/goldens/nn.py from the package root. Writes small JSON
files to Tests/Goldens/nn/, each {"meta": {name: number}, "arrays": {name: [float32 values]}},
arrays flattened row-major. Reference implementations:
  - torch.nn.functional: scaled_dot_product_attention, layer_norm, softmax, log_softmax, gelu, silu
  - transformers: LlamaRMSNorm, GemmaRMSNorm, LlamaRotaryEmbedding + apply_rotary_pos_emb,
    ROPE_INIT_FUNCTIONS['llama3']
  - the interleaved-pair (GGUF / llama.cpp mode 0) rotation, written out as ggml does it, in float64.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import LlamaConfig
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.models.gemma.modeling_gemma import GemmaRMSNorm
from transformers.models.llama.modeling_llama import (
    LlamaRMSNorm,
    LlamaRotaryEmbedding,
    apply_rotary_pos_emb,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Goldens", "nn")
torch.manual_seed(0)
gen = torch.Generator().manual_seed(1234)


def number(v):
    """A float32 value as JSON: exact decimal, or "inf" / "-inf" / "nan" (strings: JSON has none)."""
    v = float(v)
    if math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def flat(t):
    if isinstance(t, torch.Tensor):
        t = t.detach().numpy()
    return [number(v) for v in np.asarray(t, dtype=np.float32).reshape(-1)]


def write(name, meta, arrays):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump({"meta": meta, "arrays": {k: flat(v) for k, v in arrays.items()},
                   "generator": f"Scripts/goldens/nn.py torch {torch.__version__} transformers {transformers.__version__}"}, f)
    print(f"{path}: {os.path.getsize(path)} bytes")


def randn(*shape, scale=1.0):
    return torch.randn(*shape, generator=gen) * scale


# --- Activations --------------------------------------------------------------------------
x = torch.cat([torch.linspace(-10, 10, 1001), randn(500, scale=3)]).float()
write("activation_gelu.json", {}, {"x": x, "y": F.gelu(x)})
write("activation_gelu_tanh.json", {}, {"x": x, "y": F.gelu(x, approximate="tanh")})
write("activation_silu.json", {}, {"x": x, "y": F.silu(x)})

# --- Norms and softmax --------------------------------------------------------------------
rows, dim = 5, 37
x = randn(rows, dim, scale=2) + 0.5
w, b = randn(dim) * 0.5 + 1, randn(dim) * 0.1
write("layer_norm.json", {"rows": rows, "dim": dim, "eps": 1e-5},
      {"x": x, "weight": w, "bias": b, "y": F.layer_norm(x, (dim,), w, b, eps=1e-5)})

rows, dim = 6, 64
x = randn(rows, dim, scale=3)
llama = LlamaRMSNorm(dim, eps=1e-6)
gemma = GemmaRMSNorm(dim, eps=1e-6)
with torch.no_grad():
    llama.weight.copy_(randn(dim) * 0.5 + 1)
    gemma.weight.copy_(randn(dim) * 0.5)
    write("rms_norm_llama.json", {"rows": rows, "dim": dim, "eps": 1e-6, "unit_offset": 0},
          {"x": x, "weight": llama.weight, "y": llama(x)})
    write("rms_norm_gemma.json", {"rows": rows, "dim": dim, "eps": 1e-6, "unit_offset": 1},
          {"x": x, "weight": gemma.weight, "y": gemma(x)})

rows, cols = 4, 50
x = randn(rows, cols, scale=8)
write("softmax.json", {"rows": rows, "cols": cols},
      {"x": x, "softmax": F.softmax(x, dim=-1), "log_softmax": F.log_softmax(x, dim=-1)})


# --- Attention ----------------------------------------------------------------------------
def sdpa(name, heads, kv_heads, lq, lk, d, causal=False, mask=None, scale=None, past=None):
    q, k, v = randn(heads, lq, d), randn(kv_heads, lk, d), randn(kv_heads, lk, d)
    group = heads // kv_heads
    # HF repeat_kv: query head h reads kv head h // group.
    kr, vr = k.repeat_interleave(group, dim=0), v.repeat_interleave(group, dim=0)
    meta = {"heads": heads, "kv_heads": kv_heads, "lq": lq, "lk": lk, "d": d}
    arrays = {"q": q, "k": k, "v": v}
    attn_mask = None
    if past is not None:
        # KV-cache decoding: query i sits at absolute position past + i; key j at j.
        attn_mask = torch.arange(lk)[None, :] <= (past + torch.arange(lq))[:, None]
        meta.update(causal=1, past=past)
    elif mask is not None:
        attn_mask = mask
        arrays["mask"] = mask
    if causal:
        meta["causal"] = 1
    if scale is not None:
        meta["scale"] = scale
    out = F.scaled_dot_product_attention(q[None], kr[None], vr[None], attn_mask=attn_mask,
                                         is_causal=causal, scale=scale)[0]
    arrays["out"] = out
    write(name, meta, arrays)


sdpa("sdpa_plain.json", 4, 2, 5, 9, 16)
sdpa("sdpa_causal.json", 4, 2, 9, 9, 16, causal=True)
m = randn(6, 11)
m[m < -1.0] = float("-inf")
m[:, 0] = 0.0  # no row fully masked (torch gives NaN there; mmgraph gives zeros)
sdpa("sdpa_mask.json", 2, 1, 6, 11, 24, mask=m, scale=0.3)
sdpa("sdpa_past.json", 4, 1, 3, 10, 8, past=7)

# --- RoPE ---------------------------------------------------------------------------------
tokens, heads, head_dim, rotary_dim, base = 7, 3, 64, 32, 10000.0
positions = torch.tensor([0, 1, 5, 17, 100, 1023, 4095])
x = randn(tokens, heads, head_dim)
# HF rotate-half with partial rotary (GPT-NeoX / Phi recipe: rotate x[..., :rotary_dim]).
config = LlamaConfig(head_dim=rotary_dim, hidden_size=heads * rotary_dim, num_attention_heads=heads,
                     rope_theta=base)
rotary = LlamaRotaryEmbedding(config)
cos, sin = rotary(x, positions[None])  # [1, tokens, rotary_dim]
xh = x.permute(1, 0, 2)[None]  # [1, heads, tokens, head_dim]
rot, _ = apply_rotary_pos_emb(xh[..., :rotary_dim], xh[..., :rotary_dim], cos, sin)
y = torch.cat([rot, xh[..., rotary_dim:]], dim=-1)[0].permute(1, 0, 2)
write("rope_hf.json", {"tokens": tokens, "heads": heads, "head_dim": head_dim,
                       "rotary_dim": rotary_dim, "base": base},
      {"x": x, "positions": positions.float(), "y": y})

# Interleaved pairs as in ggml's rope (mode 0, no YaRN): theta = p · base^(−2i/n_dims),
# (x0, x1) → (x0 cos − x1 sin, x0 sin + x1 cos); dims ≥ n_dims pass through.
inv = (1.0 / (base ** (torch.arange(0, rotary_dim, 2, dtype=torch.float) / rotary_dim))).numpy()
xn = x.numpy().astype(np.float64)
yn = xn.copy()
for t, p in enumerate(positions.tolist()):
    theta = (np.float32(p) * inv).astype(np.float64)
    x0, x1 = xn[t, :, 0:rotary_dim:2], xn[t, :, 1:rotary_dim:2]
    yn[t, :, 0:rotary_dim:2] = x0 * np.cos(theta) - x1 * np.sin(theta)
    yn[t, :, 1:rotary_dim:2] = x0 * np.sin(theta) + x1 * np.cos(theta)
write("rope_interleaved.json", {"tokens": tokens, "heads": heads, "head_dim": head_dim,
                                "rotary_dim": rotary_dim, "base": base},
      {"x": x, "positions": positions.float(), "y": yn})

# Llama 3.1 rope scaling, straight from transformers.
scaling = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
           "original_max_position_embeddings": 8192}
config = LlamaConfig(head_dim=128, hidden_size=4096, num_attention_heads=32, rope_theta=500000.0,
                     rope_scaling=scaling, max_position_embeddings=131072)
inv_llama3, _ = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
inv_default, _ = LlamaRotaryEmbedding.compute_default_rope_parameters(config)
assert not torch.equal(inv_llama3, inv_default), "rope_scaling was not applied"
write("rope_llama3_inv_freq.json",
      {"rotary_dim": 128, "base": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
       "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
      {"inv_freq": inv_llama3, "default_inv_freq": inv_default})
