"""CTranslate2 Whisper `model.bin` → transformers `WhisperForConditionalGeneration`.

A reader of CTranslate2's binary format (version 6, as `ctranslate2/specs/model_spec.py`
`_serialize` writes it) and the table from its `WhisperSpec` variable names to the Hugging Face
checkpoint keys. CTranslate2 fuses q/k/v of self-attention ([3·d, d], k's bias stored as zeros)
and k/v of cross-attention ([2·d, d]); they are split back by rows here. Used by
Scripts/goldens/whisper.py and Benchmarks/compare_whisper.py.
"""

import json
import os
import struct

import numpy as np

# Type ids of `ctranslate2/specs/model_spec.py` `_dtype_to_type_id`.
CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_model_bin(path):
    """(spec name, revision, {name: ndarray}, {alias: target}) of a CTranslate2 model.bin."""
    data = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        value = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return value[0]

    def string():
        nonlocal pos
        n = take("H")
        text = data[pos : pos + n - 1].decode("utf-8")
        pos += n
        return text

    version = take("I")
    assert version == 6, f"binary version {version}"
    spec = string()
    revision = take("I")
    variables = {}
    for _ in range(take("I")):
        name = string()
        shape = [take("I") for _ in range(take("B"))]
        dtype = CT2_DTYPES[take("B")]
        size = take("I")
        variables[name] = np.frombuffer(data, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=pos).reshape(shape)
        pos += size
    aliases = {}
    for _ in range(take("I")):
        alias = string()
        aliases[alias] = string()
    assert pos == len(data)
    return spec, revision, variables, aliases


def hf_state_dict(variables, dtype=np.float32):
    """The transformers state dict (numpy arrays) of a CTranslate2 WhisperSpec's variables."""
    v = {k: np.asarray(a, dtype=dtype) for k, a in variables.items() if a.ndim > 0}
    out = {}

    def norm(hf, ct2):
        out[hf + ".weight"] = v[ct2 + "/gamma"]
        out[hf + ".bias"] = v[ct2 + "/beta"]

    def linear(hf, ct2, rows=None, bias=True):
        w, b = v[ct2 + "/weight"], v[ct2 + "/bias"]
        if rows is not None:
            w, b = w[rows], b[rows]
        out[hf + ".weight"] = w
        if bias:
            out[hf + ".bias"] = b

    for side in ("encoder", "decoder"):
        layers = 0
        while f"{side}/layer_{layers}/ffn/linear_0/weight" in v:
            layers += 1
        for i in range(layers):
            hf, ct = f"model.{side}.layers.{i}", f"{side}/layer_{i}"
            d = v[f"{ct}/self_attention/linear_1/weight"].shape[0]
            norm(f"{hf}.self_attn_layer_norm", f"{ct}/self_attention/layer_norm")
            qkv = f"{ct}/self_attention/linear_0"
            linear(f"{hf}.self_attn.q_proj", qkv, slice(0, d))
            linear(f"{hf}.self_attn.k_proj", qkv, slice(d, 2 * d), bias=False)
            linear(f"{hf}.self_attn.v_proj", qkv, slice(2 * d, 3 * d))
            linear(f"{hf}.self_attn.out_proj", f"{ct}/self_attention/linear_1")
            if side == "decoder":
                norm(f"{hf}.encoder_attn_layer_norm", f"{ct}/attention/layer_norm")
                linear(f"{hf}.encoder_attn.q_proj", f"{ct}/attention/linear_0")
                kv = f"{ct}/attention/linear_1"
                linear(f"{hf}.encoder_attn.k_proj", kv, slice(0, d), bias=False)
                linear(f"{hf}.encoder_attn.v_proj", kv, slice(d, 2 * d))
                linear(f"{hf}.encoder_attn.out_proj", f"{ct}/attention/linear_2")
            norm(f"{hf}.final_layer_norm", f"{ct}/ffn/layer_norm")
            linear(f"{hf}.fc1", f"{ct}/ffn/linear_0")
            linear(f"{hf}.fc2", f"{ct}/ffn/linear_1")
        norm(f"model.{side}.layer_norm", f"{side}/layer_norm")
    for conv in ("conv1", "conv2"):
        linear(f"model.encoder.{conv}", f"encoder/{conv}")
    out["model.encoder.embed_positions.weight"] = v["encoder/position_encodings/encodings"]
    out["model.decoder.embed_positions.weight"] = v["decoder/position_encodings/encodings"]
    out["model.decoder.embed_tokens.weight"] = v["decoder/embeddings/weight"]
    return {k: np.ascontiguousarray(a) for k, a in out.items()}


def load_hf_model(model_dir, dtype=np.float32):
    """`WhisperForConditionalGeneration` with the weights of `model_dir`/model.bin (and its
    CTranslate2 config.json's suppress lists), plus the ids of <|startoftranscript|>,
    <|notimestamps|> and <|endoftext|> from its tokenizer.json."""
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    spec, _, variables, _ = read_model_bin(os.path.join(model_dir, "model.bin"))
    assert spec == "WhisperSpec", spec
    state = hf_state_dict(variables, dtype)
    ct2_config = json.load(open(os.path.join(model_dir, "config.json")))
    vocab = {t["content"]: t["id"] for t in json.load(open(os.path.join(model_dir, "tokenizer.json")))["added_tokens"]}
    d = state["model.encoder.conv1.weight"].shape[0]
    count = lambda side: sum(1 for k in state if k.startswith(f"model.{side}.layers.") and k.endswith("fc1.weight"))
    config = WhisperConfig(
        vocab_size=state["model.decoder.embed_tokens.weight"].shape[0],
        num_mel_bins=state["model.encoder.conv1.weight"].shape[1],
        d_model=d,
        encoder_layers=count("encoder"),
        decoder_layers=count("decoder"),
        encoder_attention_heads=int(variables["encoder/num_heads"]),
        decoder_attention_heads=int(variables["decoder/num_heads"]),
        encoder_ffn_dim=state["model.encoder.layers.0.fc1.weight"].shape[0],
        decoder_ffn_dim=state["model.decoder.layers.0.fc1.weight"].shape[0],
        max_source_positions=state["model.encoder.embed_positions.weight"].shape[0],
        max_target_positions=state["model.decoder.embed_positions.weight"].shape[0],
        eos_token_id=vocab["<|endoftext|>"],
        bos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"],
        decoder_start_token_id=vocab["<|startoftranscript|>"],
        suppress_tokens=ct2_config["suppress_ids"],
        begin_suppress_tokens=ct2_config["suppress_ids_begin"],
        tie_word_embeddings=True,
    )
    model = WhisperForConditionalGeneration(config).eval()
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(a) for k, a in state.items()}, strict=False)
    assert not unexpected and set(missing) <= {"proj_out.weight"}, (missing, unexpected)
    model.tie_weights()
    ids = {name: vocab[name] for name in ("<|startoftranscript|>", "<|notimestamps|>", "<|endoftext|>")}
    return model, ids


def greedy(model, features, prefix, eos, suppress, begin_suppress, max_length):
    """Greedy decoding as CTranslate2 and transformers do it for Whisper without timestamps:
    `suppress` masked at every step, `begin_suppress` at the first generated token, stop at `eos`
    (not included) or when the sequence reaches `max_length` tokens (prefix included)."""
    import torch

    with torch.no_grad():
        encoded = model.model.encoder(torch.from_numpy(features)).last_hidden_state
        tokens = list(prefix)
        generated = []
        while len(tokens) < max_length:
            logits = model(encoder_outputs=(encoded,), decoder_input_ids=torch.tensor([tokens])).logits[0, -1]
            logits[list(suppress)] = -float("inf")
            if not generated:
                logits[list(begin_suppress)] = -float("inf")
            next_id = int(torch.argmax(logits))
            if next_id == eos:
                break
            tokens.append(next_id)
            generated.append(next_id)
    return generated
