#!/usr/bin/env python3
"""Goldens for the MMNN layers (Sources/MMNN) from PyTorch's own modules.

Run with /work/venv/bin/python Scripts/goldens/mmnn.py from the package root. Writes
Tests/Goldens/mmnn/layers.safetensors: each case's weights under the module's own state-dict
keys (prefixed by the case name), its inputs (`<case>.x`, `<case>.context`, `<case>.key_mask`)
and its output (`<case>.out`). References:
  - torch.nn.Linear (f32 and f16 weights), torch.nn.LayerNorm
  - torch.nn.MultiheadAttention: fused in_proj, add_bias_kv, key_padding_mask, causal attn_mask,
    cross-attention with kdim/vdim (separate q/k/v_proj_weight)
  - a pre-norm transformer block (x + attn(ln1(x)); x + mlp(ln2(x))) as ViT/CLIP/ImageBind write it
"""
import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Goldens", "mmnn")
torch.manual_seed(0)
tensors = {}


def put(case, module, **values):
    for k, v in module.state_dict().items():
        tensors[f"{case}.{k}"] = v.detach().clone().contiguous()
    for k, v in values.items():
        tensors[f"{case}.{k}"] = v.detach().clone().contiguous()


with torch.no_grad():
    # Linear, f32 and f16 weights (f16 rounded weights used in f32 math, as the GEMM widens them).
    lin = nn.Linear(24, 40)
    x = torch.randn(2, 5, 24)
    put("linear", lin, x=x, out=lin(x))
    lin16 = nn.Linear(24, 40)
    w16 = lin16.weight.half()
    out16 = x @ w16.float().T + lin16.bias
    tensors["linear_f16.weight"] = w16.contiguous()
    tensors["linear_f16.bias"] = lin16.bias.clone()
    tensors["linear_f16.x"] = x.clone()
    tensors["linear_f16.out"] = out16

    ln = nn.LayerNorm(24, eps=1e-6)
    ln.weight.normal_()
    ln.bias.normal_()
    put("layernorm", ln, x=x, out=ln(x))

    # Self-attention with a fused in_proj, bias_kv and a key padding mask.
    mha = nn.MultiheadAttention(32, 4, add_bias_kv=True, batch_first=True)
    q = torch.randn(3, 7, 32)
    pad = torch.zeros(3, 7, dtype=torch.bool)
    pad[1, 5:] = True
    pad[2, 3:] = True
    out, _ = mha(q, q, q, key_padding_mask=pad, need_weights=False)
    key_mask = torch.zeros(3, 7).masked_fill(pad, float("-inf"))
    put("mha_bias_kv", mha, x=q, key_mask=key_mask, out=out)

    # Causal self-attention (ImageBind's text trunk, CLIP's text model).
    mha = nn.MultiheadAttention(32, 4, batch_first=True)
    causal = torch.triu(torch.full((7, 7), float("-inf")), diagonal=1)
    out, _ = mha(q, q, q, attn_mask=causal, need_weights=False)
    put("mha_causal", mha, x=q, out=out)

    # Cross-attention with a context of another width (kdim = vdim = 20).
    mha = nn.MultiheadAttention(32, 4, kdim=20, vdim=20, batch_first=True)
    ctx = torch.randn(3, 9, 20)
    out, _ = mha(q, ctx, ctx, need_weights=False)
    put("mha_cross", mha, x=q, context=ctx, out=out)

    # Pre-norm block.
    class Block(nn.Module):
        def __init__(self, dim, heads, hidden):
            super().__init__()
            self.norm_1 = nn.LayerNorm(dim)
            self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.norm_2 = nn.LayerNorm(dim)
            self.fc1 = nn.Linear(dim, hidden)
            self.fc2 = nn.Linear(hidden, dim)

        def forward(self, x):
            h = self.norm_1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.fc2(nn.functional.gelu(self.fc1(self.norm_2(x))))

    block = Block(32, 4, 64)
    for p in block.parameters():
        p.add_(torch.randn_like(p) * 0.1)
    put("block", block, x=q, out=block(q))

os.makedirs(OUT, exist_ok=True)
save_file(tensors, os.path.join(OUT, "layers.safetensors"))
print("wrote", len(tensors), "tensors to", OUT)
