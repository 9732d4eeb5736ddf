"""Goldens for the BLIP-2 / InstructBLIP connectors (Sources/MMModels/BLIP2, Plugins/BLIP2).

Builds two tiny random checkpoints with transformers' own classes (no hub) and saves them as
`save_pretrained` writes model + processor:

  Tests/Fixtures/blip2/blip2-tiny/         Blip2ForConditionalGeneration
  Tests/Fixtures/blip2/instructblip-tiny/  InstructBlipForConditionalGeneration (+ qformer_tokenizer/)

Both: vision ViT hidden 32, 2 layers, image 32, patch 8 (17 tokens); Q-Former hidden 32,
2 layers, cross-attention every other layer (frequency 2: layer 0 only), 8 query tokens; text
model a LlamaForCausalLM hidden 64, 2 layers, 4 heads, 2 KV heads, vocab 264 with a byte-level
tokenizer (ids 0–255 are the bytes) plus <s> 256, </s> 257, <pad> 258, <image> 259; the tokenizer
adds <s> in front (as LLaMA's does).

Then runs the processor on a real photo (Tests/Fixtures/blip2/car.jpg, copied from
../shared/testdata/car_image.jpg) and a prompt, and writes per family into Tests/Goldens/blip2/:

  <family>.safetensors: pixel_values [1,3,32,32] (the saved processor: BlipImageProcessor, the
    torchvision backend), pixel_values_pil (the PIL backend), vision.embeddings [17,32],
    vision.layers.{i} [17,32], vision [17,32] (last_hidden_state after post_layernorm),
    qformer [8,32] (query rows of the Q-Former output), projected [8,64] (language_projection),
    logits [264] (last position of image + prompt through the full model), logits_pil_pixels
    (the same from the PIL backend's pixels, which mmgraph reproduces from the photo)
  <family>.json: prompt, input_ids (as the processor lays them out), qformer_input_ids,
    greedy tokens from generate and their text (from both backends' pixels).
"""
import json
import pathlib
import shutil
import sys

# Scripts/goldens/tokenizers.py would shadow the `tokenizers` package.
sys.path = [p for p in sys.path if pathlib.Path(p or ".").resolve() != pathlib.Path(__file__).resolve().parent]

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import (
    Blip2Config,
    Blip2ForConditionalGeneration,
    Blip2Processor,
    BlipImageProcessor,
    BertTokenizerFast,
    InstructBlipConfig,
    InstructBlipForConditionalGeneration,
    InstructBlipProcessor,
    LlamaConfig,
    PreTrainedTokenizerFast,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "Tests/Fixtures/blip2"
GOLD = ROOT / "Tests/Goldens/blip2"
FIX.mkdir(parents=True, exist_ok=True)
GOLD.mkdir(parents=True, exist_ok=True)
PHOTO = FIX / "car.jpg"
if not PHOTO.exists():
    shutil.copy(ROOT / "../shared/testdata/car_image.jpg", PHOTO)

NUM_QUERY = 8
IMAGE_TOKEN = 259
MAX_NEW = 10


def byte_level_tokenizer():
    """256 single-byte tokens (GPT-2's byte order: id = byte value), no merges, four specials."""
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
    tok.add_special_tokens(["<s>", "</s>", "<pad>", "<image>"])
    assert tok.token_to_id("<image>") == IMAGE_TOKEN
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 256)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")


def wordpiece_tokenizer():
    """A tiny uncased BERT WordPiece vocabulary for InstructBLIP's Q-Former instruction."""
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "what", "is", "in", "the", "photo", "a", "car",
             "describe", "image", "?", ".", ",", "!", "this", "color", "of"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = words + [c for c in letters if c not in words] + ["##" + c for c in letters] + ["##s", "##ing"]
    vocab = {w: i for i, w in enumerate(vocab)}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    fast = BertTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                             cls_token="[CLS]", mask_token="[MASK]")
    return fast, len(vocab)


def randomize(model, seed):
    """Weights with enough spread that the tiny model's logits are not near-uniform: matrices
    N(0, 0.15²)·(fan-in scaled), LayerNorm weights 1 ± 0.1, biases and query tokens N(0, 0.1²)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2 and "embed" not in name and "query_tokens" not in name:
                fan_in = int(np.prod(p.shape[1:]))
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / fan_in ** 0.5))
            elif "norm" in name.lower() and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif "embed" in name or "query_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)


def configs(qformer_extra):
    text = LlamaConfig(vocab_size=264, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                       bos_token_id=256, eos_token_id=257, pad_token_id=258, tie_word_embeddings=False,
                       rms_norm_eps=1e-6)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  image_size=32, patch_size=8)
    qformer = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                   cross_attention_frequency=2, **qformer_extra)
    return text, vision, qformer


def run(family):
    torch.manual_seed(0)
    tokenizer = byte_level_tokenizer()
    image_processor = BlipImageProcessor(size={"height": 32, "width": 32})
    if family == "blip2-tiny":
        text, vision, qformer = configs({})
        config = Blip2Config(vision_config=vision, qformer_config=qformer, text_config=text.to_dict(),
                             num_query_tokens=NUM_QUERY, image_token_index=IMAGE_TOKEN)
        model = Blip2ForConditionalGeneration(config)
        processor = Blip2Processor(image_processor, tokenizer, num_query_tokens=NUM_QUERY)
        prompt = "Question: what is in the photo? Answer:"
        seed = 1
    else:
        qtok, qvocab = wordpiece_tokenizer()
        text, vision, qformer = configs({"vocab_size": qvocab, "max_position_embeddings": 64})
        config = InstructBlipConfig(vision_config=vision, qformer_config=qformer, text_config=text.to_dict(),
                                    num_query_tokens=NUM_QUERY, image_token_index=IMAGE_TOKEN)
        model = InstructBlipForConditionalGeneration(config)
        processor = InstructBlipProcessor(image_processor, tokenizer, qtok, num_query_tokens=NUM_QUERY)
        prompt = "What is in the photo?"
        seed = 2
    model = model.float().eval()
    randomize(model, seed)
    out_dir = FIX / family
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    # transformers 5 keeps the image processor inside processor_config.json; hub checkpoints (and
    # older versions) have it as preprocessor_config.json. Write both: the Swift reader takes either.
    image_processor.save_pretrained(out_dir)
    # Reload both from disk: the goldens are what a user loading the folder gets.
    cls = type(model)
    model = cls.from_pretrained(out_dir, dtype=torch.float32).eval()
    processor = type(processor).from_pretrained(out_dir)

    image = Image.open(PHOTO)
    inputs = processor(images=image, text=prompt, return_tensors="pt")
    from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil
    pil = BlipImageProcessorPil(size={"height": 32, "width": 32})(image, return_tensors="pt")["pixel_values"]

    gold = {"pixel_values": inputs["pixel_values"][0], "pixel_values_pil": pil[0]}
    with torch.no_grad():
        pixels = inputs["pixel_values"]
        vm = model.vision_model
        h = vm.embeddings(pixels)
        gold["vision.embeddings"] = h[0]
        for i, layer in enumerate(vm.encoder.layers):
            h = layer(h)
            gold[f"vision.layers.{i}"] = h[0]
        image_embeds = vm(pixel_values=pixels).last_hidden_state
        gold["vision"] = image_embeds[0]
        query_tokens = model.query_tokens
        mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long)
        if family == "blip2-tiny":
            q = model.qformer(query_embeds=query_tokens, encoder_hidden_states=image_embeds,
                              encoder_attention_mask=mask).last_hidden_state
        else:
            qmask = torch.cat([torch.ones(query_tokens.shape[:-1], dtype=torch.long),
                               inputs["qformer_attention_mask"]], dim=1)
            q = model.qformer(input_ids=inputs["qformer_input_ids"], attention_mask=qmask, query_embeds=query_tokens,
                              encoder_hidden_states=image_embeds, encoder_attention_mask=mask).last_hidden_state
            q = q[:, :NUM_QUERY]
        gold["qformer"] = q[0]
        projected = model.language_projection(q)
        gold["projected"] = projected[0]
        # The model's own path must agree with the pieces above.
        features = model.get_image_features(pixel_values=pixels, **(
            {} if family == "blip2-tiny" else
            {"qformer_input_ids": inputs["qformer_input_ids"],
             "qformer_attention_mask": inputs["qformer_attention_mask"]})).pooler_output
        assert torch.allclose(features, projected, atol=1e-6), (features - projected).abs().max()
        logits = model(**inputs).logits
        gold["logits"] = logits[0, -1]
        generated = model.generate(**inputs, max_new_tokens=MAX_NEW, do_sample=False, eos_token_id=None,
                                   pad_token_id=258)
        # The same with PIL-backend pixels: what mmgraph's blip2.vision computes from the photo
        # (PIL's bicubic resize), for end-to-end tests from the image file.
        pil_inputs = dict(inputs)
        pil_inputs["pixel_values"] = pil
        gold["logits_pil_pixels"] = model(**pil_inputs).logits[0, -1]
        generated_pil = model.generate(**pil_inputs, max_new_tokens=MAX_NEW, do_sample=False, eos_token_id=None,
                                       pad_token_id=258)
    ids = inputs["input_ids"][0].tolist()
    new = generated[0, -MAX_NEW:].tolist()
    if generated.shape[1] == len(ids) + MAX_NEW:
        assert generated[0, :len(ids)].tolist() == ids
    save_file({k: v.contiguous().float() for k, v in gold.items()}, str(GOLD / f"{family}.safetensors"))
    record = {
        "prompt": prompt,
        "image": "Tests/Fixtures/blip2/car.jpg",
        "input_ids": ids,
        "image_token_id": IMAGE_TOKEN,
        "num_query_tokens": NUM_QUERY,
        "greedy_tokens": new,
        "greedy_text": tokenizer.decode(new, skip_special_tokens=True),
        "greedy_tokens_pil_pixels": generated_pil[0, -MAX_NEW:].tolist(),
        "pixel_values_torchvision_vs_pil_max_abs": float((inputs["pixel_values"][0] - pil[0]).abs().max()),
    }
    if family != "blip2-tiny":
        record["qformer_input_ids"] = inputs["qformer_input_ids"][0].tolist()
    (GOLD / f"{family}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n")
    print(family, json.dumps(record, ensure_ascii=False)[:700])


if __name__ == "__main__":
    run("blip2-tiny")
    run("instructblip-tiny")
