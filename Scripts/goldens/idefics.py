"""Goldens for Idefics (IdeficsForVisionText2Text, transformers 5.24): a tiny random checkpoint built
here (no hub) — CLIP-like vision tower, Perceiver Resampler, LLaMA decoder with gated
cross-attention layers every `cross_layer_interval` layers, decoupled embeddings/lm_head for the
additional vocabulary — saved as `save_pretrained` of the model and of the processor writes it.

Every weight is re-drawn (the gates `alpha_cross_attn`/`alpha_dense` initialize to zero, which
would make a parity test blind to the whole cross-attention path; norms initialize to ones/zeros).

Writes Tests/Fixtures/idefics/tiny/ (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json, preprocessor_config.json, processor_config.json when written),
Tests/Fixtures/idefics/dog.jpg, and Tests/Goldens/idefics/goldens.safetensors + cases.json.
"""
import json
import pathlib
import shutil
import sys

# Scripts/goldens/tokenizers.py would shadow the tokenizers package.
sys.path = [p for p in sys.path if pathlib.Path(p or ".").resolve() != pathlib.Path(__file__).resolve().parent]

import torch
from PIL import Image
from safetensors.torch import save_file
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    IdeficsConfig,
    IdeficsForVisionText2Text,
    IdeficsImageProcessor,
    IdeficsProcessor,
    PreTrainedTokenizerFast,
)
from transformers.models.idefics.image_processing_pil_idefics import IdeficsImageProcessorPil

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests/Fixtures/idefics"
MODEL = FIXTURES / "tiny"
GOLD = ROOT / "Tests/Goldens/idefics"
for d in (MODEL, GOLD):
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
DOG = FIXTURES / "dog.jpg"
shutil.copy(ROOT.parent / "shared/testdata/dog_image.jpg" if (ROOT.parent / "shared/testdata").exists()
            else "/work/shared/testdata/dog_image.jpg", DOG)
SMALL = ROOT / "Tests/Fixtures/image/baseline444.jpg"

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 3  # 3: varied greedy tokens in both cases
torch.manual_seed(SEED)

# --- Tokenizer: 256 byte tokens (id = byte), <s> 256, </s> 257 (the text vocabulary, 258), then the
# additional vocabulary of the decoupled embedding: <fake_token_around_image> 258, <image> 259.
bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
cs = bs[:]
n = 0
for b in range(256):
    if b not in bs:
        bs.append(b)
        cs.append(256 + n)
        n += 1
vocab = {chr(c): b for b, c in zip(bs, cs)}
tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
specials = ["<s>", "</s>", "<fake_token_around_image>", "<image>"]
tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
assert [tok.token_to_id(t) for t in specials] == [256, 257, 258, 259]
# The idefics-9b-instruct conversation style: "User:…<end_of_utterance>\nAssistant:" without the
# end-of-utterance token (this tokenizer has none, like the base idefics-9b); the images are
# written where the user content holds them.
template = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}User:{% else %}Assistant:"
    "{% endif %}{{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}"
)
fast = PreTrainedTokenizerFast(
    tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="</s>", unk_token=None,
    chat_template=template)

# --- Model
config = IdeficsConfig(
    vocab_size=258, additional_vocab_size=2, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
    num_attention_heads=4, max_position_embeddings=128, rms_norm_eps=1e-6, cross_layer_interval=2,
    qk_layer_norms=True, alpha_type="float", use_resampler=True, bos_token_id=256, eos_token_id=257,
    pad_token_id=257, tie_word_embeddings=False,
    vision_config=dict(embed_dim=32, image_size=32, patch_size=8, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, hidden_act="gelu", layer_norm_eps=1e-5),
    perceiver_config=dict(use_resampler=True, resampler_n_latents=8, resampler_depth=2, resampler_n_heads=2,
                          resampler_head_dim=16, qk_layer_norms_perceiver=True),
)
model = IdeficsForVisionText2Text(config).eval()
g = torch.Generator().manual_seed(1 + SEED)
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith(("alpha_cross_attn", "alpha_dense")):
            p.copy_((torch.rand(p.shape, generator=g) * 0.6 + 0.4) * torch.sign(torch.randn(p.shape, generator=g)))
        elif p.ndim == 1 and ("norm" in name or "layer_norm" in name or name.endswith(".ln.weight")):
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            else:
                p.copy_(1 + torch.randn(p.shape, generator=g) * 0.2)
        elif name.endswith(("ln.bias",)):
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        else:
            p.copy_(torch.randn(p.shape, generator=g) * (0.15 if p.ndim > 1 else 0.1))
# Stored as f16 (half the fixture's size); the goldens come from these f16 values computed in f32.
model.half().save_pretrained(MODEL)

image_processor = IdeficsImageProcessor(image_size=32)
processor = IdeficsProcessor(image_processor=image_processor, tokenizer=fast, image_size=32)
processor.save_pretrained(MODEL)
# transformers 5 nests the image processor in processor_config.json; hub Idefics checkpoints (and
# transformers 4) have preprocessor_config.json: write it too. Likewise the chat template goes to
# chat_template.jinja and, as transformers 4 wrote it, into tokenizer_config.json.
image_processor.save_pretrained(MODEL)
tokenizer_config = json.loads((MODEL / "tokenizer_config.json").read_text())
tokenizer_config["chat_template"] = template
(MODEL / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")
print(sorted(p.name for p in MODEL.iterdir()))

# Reload from disk: the goldens come from the saved checkpoint.
model = IdeficsForVisionText2Text.from_pretrained(MODEL, dtype=torch.float32).eval()
processor = IdeficsProcessor.from_pretrained(MODEL)
tokenizer = processor.tokenizer

dog = Image.open(DOG)
small = Image.open(SMALL)
tensors = {}
with torch.no_grad():
    pixels = processor.image_processor([dog, small], return_tensors="pt")
    pixels = pixels["pixel_values"] if isinstance(pixels, dict) or hasattr(pixels, "keys") else pixels
    tensors["pixel_values_dog"] = pixels[0].contiguous()
    tensors["pixel_values_small"] = pixels[1].contiguous()
    # The PIL backend of the same processor (PIL's bicubic resize on 8-bit pixels, which mmgraph
    # reproduces exactly); the default torchvision backend resizes the uint8 tensor in floats and
    # rounds, differing by one 8-bit level on a few pixels.
    pil = IdeficsImageProcessorPil(image_size=32)([dog, small], return_tensors="pt")
    pil = pil["pixel_values"] if hasattr(pil, "keys") else pil
    tensors["pixel_values_dog_pil"] = pil[0].contiguous()
    tensors["pixel_values_small_pil"] = pil[1].contiguous()
    vision = model.model.vision_model(pixel_values=pixels).last_hidden_state
    tensors["vision_dog"] = vision[0].contiguous()
    tensors["vision_small"] = vision[1].contiguous()
    vision_pil = model.model.vision_model(pixel_values=pil).last_hidden_state
    tensors["vision_dog_pil"] = vision_pil[0].contiguous()
    # idefics.video: both frames (PIL-preprocessed, as the node does) through the resampler at once.
    tensors["perceiver_frames_pil"] = model.model.perceiver_resampler(
        vision_pil.reshape(1, -1, vision_pil.shape[-1]))[0].contiguous()
    resampler = model.model.perceiver_resampler
    tensors["perceiver_dog"] = resampler(vision[0:1])[0].contiguous()
    tensors["perceiver_small"] = resampler(vision[1:2])[0].contiguous()
    # Flamingo's "any number of frames": both images' patches as one context.
    tensors["perceiver_frames"] = resampler(vision.reshape(1, -1, vision.shape[-1]))[0].contiguous()

cases = []
prompts = {
    "one_image": (["User:", dog, "Describe this image.\nAssistant:"], [dog]),
    "two_images": (["User:", dog, "What is this?", small, "And this one?\nAssistant:"], [dog, small]),
}
for name, (prompt, images) in prompts.items():
    inputs = processor(text=prompt, return_tensors="pt")
    ids = inputs["input_ids"][0].tolist()
    with torch.no_grad():
        out = model(**inputs)
        generated = model.generate(**inputs, max_new_tokens=10, do_sample=False, eos_token_id=None,
                                   pad_token_id=257)
    new = generated[0, len(ids):].tolist()
    # mmgraph's idefics.vision node preprocesses as the PIL backend: the end-to-end graph gives
    # these tokens (checked equal to the torchvision-backend ones).
    pil_pixels = IdeficsImageProcessorPil(image_size=32)(images, return_tensors="pt")
    pil_pixels = pil_pixels["pixel_values"] if hasattr(pil_pixels, "keys") else pil_pixels
    with torch.no_grad():
        pil_generated = model.generate(**{**inputs, "pixel_values": pil_pixels[None]}, max_new_tokens=10,
                                       do_sample=False, eos_token_id=None, pad_token_id=257)
    assert pil_generated[0, len(ids):].tolist() == new, (name, pil_generated[0, len(ids):].tolist(), new)
    tensors[f"{name}_logits"] = out.logits[0].contiguous()
    tensors[f"{name}_image_attention_mask"] = inputs["image_attention_mask"][0].to(torch.int32).contiguous()
    text = tokenizer.decode(ids)
    cases.append({"name": name, "prompt_text": text, "prompt_ids": ids, "tokens": new,
                  "text": tokenizer.decode(new, skip_special_tokens=True),
                  "images": [DOG.name if im is dog else "../image/baseline444.jpg" for im in images]})
    print(name, ids, new)

# The chat template as the lead's llm.chat renders it (the prompt text above, from messages).
rendered = tokenizer.apply_chat_template(
    [{"role": "user", "content": "<fake_token_around_image><image><fake_token_around_image>Describe this image."}],
    tokenize=False, add_generation_prompt=True)
assert rendered == cases[0]["prompt_text"], (rendered, cases[0]["prompt_text"])

save_file(tensors, str(GOLD / "goldens.safetensors"))
(GOLD / "cases.json").write_text(json.dumps({"max_new_tokens": 10, "cases": cases}, indent=1) + "\n")
