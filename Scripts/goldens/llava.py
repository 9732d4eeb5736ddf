"""Goldens for LLaVA (LlavaForConditionalGeneration, transformers 5.24): a tiny random checkpoint
(CLIP vision tower 32 wide, 3 layers, 32 px images in 8 px patches; LLaMA text model 64 wide, 2
layers, 4 heads / 2 KV heads; gelu projector) saved as transformers saves it, with a byte-level
tokenizer whose `<image>` is the added special token 256 and a LLaVA-1.5-style chat template, and
the processor's preprocessor_config.json.

The text model's vocabulary is exactly the tokenizer's 258 tokens, so every greedy token decodes.

Writes Tests/Fixtures/llava/tiny/ (the checkpoint folder) and Tests/Goldens/llava/:
  tiny.safetensors  pixel_values [1, 3, 32, 32] (CLIPImageProcessor on the shared dog photo),
                    pixel_values_pil (the PIL backend), hidden_states_{i} [1, 17, 32] (every
                    hidden state of the vision tower), features [16, 32] (layer -2 without CLS),
                    projected [16, 64] (multi_modal_projector), logits [1, vocab] (last position
                    of image + prompt through the full model), features_multi [16, 64] (layers
                    [-3, -1] concatenated, for the list form of vision_feature_layer),
                    projected_multi [16, 64] (through the multi checkpoint's projector)
  tiny.json         the prompt text, its rendered form, input ids (one <image> per patch as
                    the processor expands it), the greedy tokens of `generate` and their text.
Also Tests/Fixtures/llava/multi/: a vision-tower + projector-only checkpoint whose
vision_feature_layer is [-3, -1] (projector input 64 wide), for the list form, with the image
processor only inside processor_config.json (tiny/ also has preprocessor_config.json, as hub
checkpoints do).

Run: /work/venv/bin/python Scripts/goldens/llava.py
"""
import json
import pathlib
import shutil
import sys

# Scripts/goldens/tokenizers.py would shadow the tokenizers package.
sys.path = [p for p in sys.path if pathlib.Path(p or ".").resolve() != pathlib.Path(__file__).resolve().parent]

import torch
from safetensors.torch import save_file
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
from transformers import (CLIPImageProcessor, CLIPImageProcessorPil, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                          LlavaForConditionalGeneration, LlavaProcessor, PreTrainedTokenizerFast)
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "Tests/Fixtures/llava"
MODEL = FIX / "tiny"
MULTI = FIX / "multi"
GOLD = ROOT / "Tests/Goldens/llava"
PHOTO = (ROOT / "../shared/testdata/dog_image.jpg").resolve()
for d in (MODEL, MULTI):  # rebuilt from scratch: no stale files from another transformers version
    shutil.rmtree(d, ignore_errors=True)
for d in (MODEL, MULTI, GOLD):
    d.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)

# --- Tokenizer: 256 single-byte tokens (id = byte value) + "<image>" (256) + "</s>" (257).
bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
cs = bs[:]
n = 0
for b in range(256):
    if b not in bs:
        bs.append(b)
        cs.append(256 + n)
        n += 1
byte_to_char = {b: chr(c) for b, c in zip(bs, cs)}
vocab = {byte_to_char[b]: b for b in range(256)}
tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
tok.add_special_tokens([AddedToken("<image>", special=True, normalized=False),
                        AddedToken("</s>", special=True, normalized=False)])
IMAGE_ID = tok.token_to_id("<image>")
EOS_ID = tok.token_to_id("</s>")
assert (IMAGE_ID, EOS_ID) == (256, 257)
# LLaVA 1.5's conversation format on plain-string messages: "USER: <image>\n... ASSISTANT:".
TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] + ' ' }}"
    "{% elif message['role'] == 'user' %}{{ 'USER: ' + message['content'] + ' ' }}"
    "{% else %}{{ 'ASSISTANT: ' + message['content'] + eos_token }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)
fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", extra_special_tokens={"image_token": "<image>"})
fast.chat_template = TEMPLATE

# --- The model.
vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                          image_size=32, patch_size=8, projection_dim=32, hidden_act="quick_gelu")
text = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, vocab_size=258, max_position_embeddings=256, rms_norm_eps=1e-5,
                   tie_word_embeddings=False, bos_token_id=None, eos_token_id=EOS_ID, pad_token_id=None)
config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=IMAGE_ID, vision_feature_layer=-2,
                     vision_feature_select_strategy="default", projector_hidden_act="gelu",
                     multimodal_projector_bias=True)
model = LlavaForConditionalGeneration(config).eval()
with torch.no_grad():  # random weights of a visible size (the default init is tiny)
    for name, p in model.named_parameters():
        if "norm" in name and name.endswith("weight"):
            p.copy_(1 + 0.1 * torch.randn_like(p))
        else:
            p.copy_(0.2 * torch.randn_like(p) if p.dim() > 1 else 0.05 * torch.randn_like(p))
model.save_pretrained(MODEL, safe_serialization=True)

processor_images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                                      resample=3, do_convert_rgb=True)
processor = LlavaProcessor(image_processor=processor_images, tokenizer=fast, patch_size=8,
                           vision_feature_select_strategy="default", chat_template=TEMPLATE,
                           num_additional_image_tokens=1)
processor.save_pretrained(MODEL)  # transformers 5: processor_config.json with an image_processor object
processor_images.save_pretrained(MODEL)  # preprocessor_config.json, the hub's layout (llava-1.5-7b-hf)
fast.save_pretrained(MODEL)
cfg_path = MODEL / "tokenizer_config.json"
tcfg = json.loads(cfg_path.read_text())
tcfg["chat_template"] = TEMPLATE
cfg_path.write_text(json.dumps(tcfg, indent=2) + "\n")
for extra in ("chat_template.jinja", "chat_template.json", "generation_config.json"):
    (MODEL / extra).unlink(missing_ok=True)

# --- Reload as a user would, and compute the goldens.
model = LlavaForConditionalGeneration.from_pretrained(MODEL, dtype=torch.float32).eval()
processor = LlavaProcessor.from_pretrained(MODEL)
photo = Image.open(PHOTO)
prompt = "<image>\nWhat is in the picture?"
messages = [{"role": "user", "content": prompt}]
rendered = processor.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
inputs = processor(images=photo, text=rendered, return_tensors="pt", add_special_tokens=False)
pixel_values = inputs["pixel_values"]
pil = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}, resample=3)
pixel_values_pil = pil(photo, return_tensors="pt")["pixel_values"]
ids = inputs["input_ids"][0].tolist()
assert ids.count(IMAGE_ID) == 16, ids.count(IMAGE_ID)
out = {"pixel_values": pixel_values, "pixel_values_pil": pixel_values_pil}
with torch.no_grad():
    vt = model.model.vision_tower(pixel_values, output_hidden_states=True)
    for i, h in enumerate(vt.hidden_states):
        out[f"hidden_states_{i}"] = h
    features = vt.hidden_states[-2][0, 1:]
    projected = model.model.multi_modal_projector(features)
    image_features = model.model.get_image_features(pixel_values).pooler_output[0]
    assert torch.allclose(image_features, projected, atol=1e-6)
    out["features"] = features
    out["projected"] = projected
    logits = model(**inputs).logits[:, -1]
    out["logits"] = logits
    gen = model.generate(**inputs, max_new_tokens=10, do_sample=False, eos_token_id=None, pad_token_id=0)
new = gen[0, len(ids):].tolist()

# --- The list form: layers [-3, -1] concatenated (CLS dropped from each) → a 64-wide projector.
mconfig = LlavaConfig(vision_config=vision, text_config=text, image_token_index=IMAGE_ID,
                      vision_feature_layer=[-3, -1], vision_feature_select_strategy="default",
                      projector_hidden_act="gelu", multimodal_projector_bias=True)
multi = LlavaForConditionalGeneration(mconfig).eval()
with torch.no_grad():
    multi.model.vision_tower.load_state_dict(model.model.vision_tower.state_dict())
    for p in multi.model.multi_modal_projector.parameters():
        p.copy_(0.2 * torch.randn_like(p))
    mf = multi.model.get_image_features(pixel_values).pooler_output[0]
    hs = multi.model.vision_tower(pixel_values, output_hidden_states=True).hidden_states
    fm = torch.cat([hs[-3][0, 1:], hs[-1][0, 1:]], dim=-1)
    out["features_multi"] = fm
    out["projected_multi"] = multi.model.multi_modal_projector(fm)
    assert torch.allclose(mf, out["projected_multi"], atol=1e-6)
multi.save_pretrained(MULTI, safe_serialization=True)
# Keep only the vision tower and the projector (the list form is about them).
from safetensors.torch import load_file
state = load_file(MULTI / "model.safetensors")
state = {k: v for k, v in state.items() if not k.startswith(("language_model", "lm_head", "model.language_model"))}
save_file(state, MULTI / "model.safetensors", metadata={"format": "pt"})
(MULTI / "generation_config.json").unlink(missing_ok=True)
# Only processor_config.json here: the image processor settings inside it (transformers 5's layout).
shutil.copy(MODEL / "processor_config.json", MULTI / "processor_config.json")

for folder in (MODEL, MULTI):  # save_pretrained writes model.safetensors as 0600
    for f in folder.iterdir():
        f.chmod(0o644)
save_file({k: v.float().contiguous().clone() for k, v in out.items()}, GOLD / "tiny.safetensors")
golden = {"image": "../shared/testdata/dog_image.jpg", "prompt": prompt, "rendered": rendered,
          "image_token_id": IMAGE_ID, "image_tokens": 16, "input_ids": ids, "max_new_tokens": 10,
          "tokens": new, "text": processor.tokenizer.decode(new, skip_special_tokens=True)}
(GOLD / "tiny.safetensors").chmod(0o644)
(GOLD / "tiny.json").write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n")
print(json.dumps(golden, ensure_ascii=False)[:800])
print("keys:", sorted(load_file(MODEL / "model.safetensors").keys())[:6])
print("pixel max |Δ| torchvision vs PIL:", (pixel_values - pixel_values_pil).abs().max().item())
