"""ImageBind's PyTorch checkpoint (.pth) → safetensors with the same keys + the JSON configuration
mmgraph's ImageBind loader reads (Sources/MMModels/ImageBind/ImageBindConfiguration.swift).

    python Scripts/convert_imagebind.py .checkpoints/imagebind_huge.pth \
        ~/.cache/mmgraph/models/imagebind/imagebind_huge.safetensors [--dtype f16]

writes imagebind_huge.safetensors and imagebind_huge.json side by side (and, with --bpe
imagebind/bpe/bpe_simple_vocab_16e6.txt.gz, the text tokenizer's vocabulary beside them). Every size is read from
the tensors' shapes (embed dims, block counts, kernels, vocabulary, context length, image sizes)
except the attention heads, which a state dict does not record: they default to
`imagebind_huge()`'s (vision 16, text 16, audio 12, depth 8, thermal 12, imu 8) and are set with
`--heads vision=4 audio=2 …` for other models. The audio spectrogram size (128 mel bins × 204
frames) is ImageBind's and is checked against the audio positions.

Needs torch and safetensors (Scripts/goldens/requirements.txt). The weights keep their dtype
(ImageBind's release is float32) unless --dtype asks for f16 or bf16; scalars (the logit scales)
and the text mask stay float32.
"""
import argparse
import json
import math
import os
import re
import shutil
import sys

import torch
from safetensors.torch import save_file

HUGE_HEADS = {"vision": 16, "text": 16, "audio": 12, "depth": 8, "thermal": 12, "imu": 8}
MODALITIES = ["vision", "audio", "text", "depth", "thermal", "imu"]


class ConversionError(Exception):
    pass


def shape(state, key):
    if key not in state:
        raise ConversionError(f"tensor '{key}' is missing: not an ImageBind checkpoint?")
    return list(state[key].shape)


def blocks(state, modality):
    pattern = re.compile(rf"^modality_trunks\.{modality}\.blocks\.(\d+)\.")
    indices = {int(m.group(1)) for key in state for m in [pattern.match(key)] if m}
    if indices != set(range(len(indices))):
        raise ConversionError(f"{modality}: block indices {sorted(indices)} are not 0..n-1")
    return len(indices)


def square_side(patches, what):
    side = int(round(math.sqrt(patches)))
    if side * side != patches:
        raise ConversionError(f"{what}: {patches} patches are not a square grid")
    return side


def configuration(state, heads):
    """The JSON configuration from the tensors' shapes (see the module docstring)."""
    config = {"out_embed_dim": shape(state, "modality_heads.vision.2.weight")[0]}
    trunk = {}
    for m in MODALITIES:
        dim = shape(state, f"modality_trunks.{m}.blocks.0.norm_1.weight")[0]
        h = heads.get(m, HUGE_HEADS[m])
        if dim % h:
            raise ConversionError(f"{m}: {h} heads do not divide embed_dim {dim} (set --heads {m}=N)")
        trunk[m] = {"embed_dim": dim, "num_blocks": blocks(state, m), "num_heads": h}

    kernel = shape(state, "modality_preprocessors.vision.rgbt_stem.proj.1.weight")[2:]
    vision_patches = shape(state, "modality_preprocessors.vision.pos_embedding_helper.pos_embed")[1] - 1
    frames = kernel[0]  # PadIm2Video repeats an image to 2 frames; the stem covers them in one step
    side = square_side(vision_patches, "vision") * kernel[1]
    config["vision"] = dict(trunk["vision"], kernel_size=kernel, image_size=side, video_frames=frames)

    audio_kernel = shape(state, "modality_preprocessors.audio.rgbt_stem.proj.weight")[2]
    audio_patches = shape(state, "modality_preprocessors.audio.pos_embedding_helper.pos_embed")[1] - 1
    stride, mel, target = 10, 128, 204
    expected = ((mel - audio_kernel) // stride + 1) * ((target - audio_kernel) // stride + 1)
    if audio_patches != expected:
        raise ConversionError(
            f"audio: {audio_patches} positions, expected {expected} for 128 × 204 spectrograms, stride 10")
    config["audio"] = dict(trunk["audio"], kernel_size=audio_kernel, stride=stride, num_mel_bins=mel,
                           target_len=target)

    vocab = shape(state, "modality_preprocessors.text.token_embedding.weight")[0]
    context = shape(state, "modality_preprocessors.text.pos_embed")[1]
    config["text"] = dict(trunk["text"], vocab_size=vocab, context_length=context)

    for m, stem in (("depth", "depth_stem"), ("thermal", "rgbt_stem")):
        k = shape(state, f"modality_preprocessors.{m}.{stem}.proj.weight")[2]
        patches = shape(state, f"modality_preprocessors.{m}.pos_embedding_helper.pos_embed")[1] - 1
        config[m] = dict(trunk[m], kernel_size=k, image_size=square_side(patches, m) * k)

    features = shape(state, "modality_preprocessors.imu.imu_stem.proj.weight")[1]
    channels = 6
    imu_kernel = features // channels
    imu_patches = shape(state, "modality_preprocessors.imu.pos_embed")[1] - 1
    config["imu"] = dict(trunk["imu"], kernel_size=imu_kernel, channels=channels, length=imu_patches * imu_kernel)
    return config


def convert(source, target, dtype=None, heads=None):
    """Writes `target` (.safetensors) and the .json beside it; returns the configuration."""
    state = torch.load(source, map_location="cpu", weights_only=True, mmap=True)
    if "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    config = configuration(state, heads or {})
    cast = {"f16": torch.float16, "bf16": torch.bfloat16, None: None, "f32": torch.float32}[dtype]
    tensors = {}
    for key, value in state.items():
        value = value.detach()
        if cast is not None and value.ndim > 0 and value.is_floating_point() and not key.endswith(".mask"):
            value = value.to(cast)
        tensors[key] = value.contiguous()
    os.makedirs(os.path.dirname(os.path.abspath(target)) or ".", exist_ok=True)
    save_file(tensors, target, metadata={"source": os.path.basename(source), "format": "pt"})
    with open(os.path.splitext(target)[0] + ".json", "w") as file:
        json.dump(config, file, indent=2)
        file.write("\n")
    return config


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="ImageBind's .pth (imagebind_huge.pth)")
    parser.add_argument("output", help="the .safetensors to write (its .json goes beside it)")
    parser.add_argument("--dtype", choices=["f32", "f16", "bf16"], help="cast the weights (default: keep)")
    parser.add_argument("--bpe", help="copy CLIP's vocabulary (ImageBind's imagebind/bpe/"
                        "bpe_simple_vocab_16e6.txt.gz) beside the output, for imagebind.text")
    parser.add_argument("--heads", nargs="*", default=[], metavar="MODALITY=N",
                        help="attention heads per modality (default: imagebind_huge's)")
    args = parser.parse_args()
    heads = {}
    for item in args.heads:
        name, _, value = item.partition("=")
        if name not in MODALITIES or not value.isdigit() or int(value) < 1:
            parser.error(f"--heads {item}: expected MODALITY=N with MODALITY in {', '.join(MODALITIES)}")
        heads[name] = int(value)
    try:
        config = convert(args.checkpoint, args.output, args.dtype, heads)
    except ConversionError as error:
        sys.exit(f"{args.checkpoint}: {error}")
    if args.bpe:
        shutil.copyfile(args.bpe, os.path.join(os.path.dirname(os.path.abspath(args.output)),
                                               "bpe_simple_vocab_16e6.txt.gz"))
    print(json.dumps(config))


if __name__ == "__main__":
    main()
