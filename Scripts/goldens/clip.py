#!/usr/bin/env python3
"""Fixture and goldens for MMModels' CLIP (Hugging Face `CLIPModel`).

Writes
  Tests/Fixtures/clip/tiny/   config.json, model.safetensors (random weights, seed 0) and the
                              tokenizer (tokenizer.json: the first 1,000 merges of CLIP's BPE),
                              a `CLIPModel` built here (no download): text width 32, 2 layers,
                              4 heads, quick_gelu; vision 224 px, patch 32, width 16, 2 layers,
                              gelu; projection 16.
  Tests/Goldens/clip/tiny.safetensors
      pixel_values [1, 3, 224, 224] (f16: CLIPImageProcessor on ../shared/testdata/dog_image.jpg,
      its default torchvision backend; the PIL backend's difference is printed), input_ids [3, 77] (the fixture tokenizer, padded to 77 with
      <|endoftext|>), every named intermediate (the reference run on the f16-rounded pixels), the
      image/text embeddings, logits_per_image, and text_embeds_eos_first: the text tower rebuilt
      with eos_token_id = <|endoftext|> (pooling at the first eos instead of argmax) on ids
      that hold a larger "added" id.

Usage: /work/venv/bin/python Scripts/goldens/clip.py
"""

import gzip
import json
import os
import sys
import tempfile
from pathlib import Path

# This folder holds a tokenizers.py of its own: keep it from shadowing the `tokenizers` package.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import (  # noqa: E402
    CLIPConfig,
    CLIPImageProcessor,
    CLIPImageProcessorPil,
    CLIPModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "Tests/Fixtures/clip/tiny"
GOLDEN = ROOT / "Tests/Goldens/clip/tiny.safetensors"
IMAGE = ROOT.parent / "shared/testdata/dog_image.jpg"
if not IMAGE.exists():
    IMAGE = Path("/work/shared/testdata/dog_image.jpg")
FULL_GZ = Path(os.environ.get("IMAGEBIND_SRC", "/work/ref/ImageBind")) / "imagebind/bpe/bpe_simple_vocab_16e6.txt.gz"
MERGES = 1000
TEXTS = ["a photo of a dog", "a red car parked on a street", "&quot;CATS&quot; 123"]


def write_tokenizer(folder: Path) -> CLIPTokenizer:
    """vocab.json + merges.txt for the first MERGES merges (ids as SimpleTokenizer assigns them),
    loaded by HF CLIPTokenizer and saved as tokenizer.json."""
    lines = gzip.open(FULL_GZ).read().decode("utf-8").split("\n")[1 : 1 + MERGES]
    merges = [tuple(line.split()) for line in lines]
    byte_order = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = byte_order[:]
    n = 0
    for b in range(256):
        if b not in byte_order:
            byte_order.append(b)
            codes.append(256 + n)
            n += 1
    symbols = [chr(c) for c in codes]
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
        Path(tmp, "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
        tokenizer = CLIPTokenizer.from_pretrained(tmp)
    tokenizer.save_pretrained(str(folder))
    for extra in ("vocab.json", "merges.txt", "special_tokens_map.json"):
        (folder / extra).unlink(missing_ok=True)
    return tokenizer


def main():
    torch.manual_seed(0)
    FIXTURE.mkdir(parents=True, exist_ok=True)
    tokenizer = write_tokenizer(FIXTURE)
    eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    vocab_size = eot + 1 + 6  # room for "added" ids above <|endoftext|>
    config = CLIPConfig(
        text_config=dict(
            vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=77, hidden_act="quick_gelu", eos_token_id=2,
            bos_token_id=eot - 1, pad_token_id=eot, projection_dim=16,
        ),
        vision_config=dict(
            hidden_size=16, intermediate_size=40, num_hidden_layers=2, num_attention_heads=4, image_size=224,
            patch_size=32, hidden_act="gelu", projection_dim=16,
        ),
        projection_dim=16,
        logit_scale_init_value=2.6592,
    )
    model = CLIPModel(config).eval()
    with torch.no_grad():
        # Random (not the init's near-zero) norms and biases, so every parameter matters.
        for name, p in model.named_parameters():
            if name.endswith("logit_scale"):
                p.fill_(2.3)
            elif p.ndim == 1:
                p.copy_(torch.randn_like(p) * 0.2 + (1.0 if "norm" in name and name.endswith("weight") else 0.0))
    model.save_pretrained(str(FIXTURE), safe_serialization=True)
    (FIXTURE / "generation_config.json").unlink(missing_ok=True)

    image = Image.open(IMAGE)
    pixels = CLIPImageProcessor()(images=image, return_tensors="pt")["pixel_values"]
    pixels_pil = CLIPImageProcessorPil()(images=image, return_tensors="pt")["pixel_values"]
    pixels16 = pixels.to(torch.float16)
    encoded = tokenizer(TEXTS, padding="max_length", max_length=77, return_tensors="pt")
    ids = encoded["input_ids"]

    trace = {}
    hooks = []

    def keep(name):
        def hook(_module, _inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            trace[name] = out.detach().clone().float().contiguous()

        return hook

    for tower in ("vision_model", "text_model"):
        module = getattr(model, tower)
        hooks.append(module.embeddings.register_forward_hook(keep(f"{tower}.embeddings")))
        for i, layer in enumerate(module.encoder.layers):
            hooks.append(layer.register_forward_hook(keep(f"{tower}.encoder.layers.{i}")))
    hooks.append(model.vision_model.pre_layrnorm.register_forward_hook(keep("vision_model.pre_layrnorm")))
    hooks.append(model.vision_model.post_layernorm.register_forward_hook(keep("vision_model.pooled")))
    hooks.append(model.text_model.final_layer_norm.register_forward_hook(keep("text_model.final_layer_norm")))
    with torch.no_grad():
        out = model(input_ids=ids, pixel_values=pixels16.float())
        text_out = model.text_model(input_ids=ids)
    for h in hooks:
        h.remove()
    trace["text_model.pooled"] = text_out.pooler_output.contiguous()
    trace["image_embeds"] = model.visual_projection(trace["vision_model.pooled"]).detach()
    trace["text_embeds"] = model.text_projection(trace["text_model.pooled"]).detach()
    trace["image_embeds_normalized"] = out.image_embeds.contiguous()
    trace["text_embeds_normalized"] = out.text_embeds.contiguous()
    trace["logits_per_image"] = out.logits_per_image.contiguous()

    # Pooling at the first eos_token_id (configs after transformers PR #24773): ids with an
    # "added" id above <|endoftext|>, where argmax and first-eos pick different positions.
    eos_ids = ids.clone()
    eos_ids[:, 1] = eot + 3
    text_config = config.text_config
    text_config.eos_token_id = eot
    eos_model = CLIPTextModelWithProjection(text_config).eval()
    state = {k: v for k, v in model.state_dict().items() if k.startswith("text_model.") or k.startswith("text_projection")}
    eos_model.load_state_dict(state, strict=True)
    with torch.no_grad():
        trace["text_embeds_eos_first"] = eos_model(input_ids=eos_ids).text_embeds.contiguous()
        trace["text_embeds_argmax"] = model.get_text_features(input_ids=eos_ids).pooler_output.contiguous()

    # The graph's pipeline (image.preprocess preset clip = torchvision on PIL: Resize(224, bicubic),
    # CenterCrop, ToTensor, Normalize), embedded by the reference: what Graphs/clip-image-embedding.json
    # must print for the same file.
    from torchvision import transforms

    pipeline = transforms.Compose([
        transforms.Resize(224, interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    ])
    torchvision_pixels = pipeline(image.convert("RGB")).unsqueeze(0)
    with torch.no_grad():
        features = model.get_image_features(pixel_values=torchvision_pixels).pooler_output
        trace["image_embeds_normalized_torchvision"] = (features / features.norm(dim=-1, keepdim=True)).contiguous()
    print("CLIPImageProcessor vs torchvision pipeline: max |Δ| =", float((pixels - torchvision_pixels).abs().max()))

    tensors = {k: v.contiguous() for k, v in trace.items()}
    tensors["pixel_values"] = pixels16.contiguous()
    tensors["input_ids"] = ids.to(torch.int32).contiguous()
    tensors["input_ids_added"] = eos_ids.to(torch.int32).contiguous()
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(GOLDEN))
    (GOLDEN.parent / "tiny_texts.json").write_text(json.dumps({"texts": TEXTS, "image": "dog_image.jpg"}, indent=1) + "\n")
    print("torchvision vs PIL backend: max |Δ| =", float((pixels - pixels_pil).abs().max()))
    print("logits_per_image", out.logits_per_image.numpy())
    size = sum(f.stat().st_size for f in FIXTURE.iterdir()) + GOLDEN.stat().st_size
    print(f"fixture + golden: {size / 1e6:.2f} MB; eot {eot}, vocab_size {vocab_size}")


if __name__ == "__main__":
    main()
