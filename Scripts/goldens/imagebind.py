"""Goldens for ImageBind's encoders (Tests/MMModelsTests/ImageBind, Tests/PluginTests,
Tests/CLITests): ImageBind's own `ImageBindModel` (checkout at 53680b0 in /work/ref/ImageBind,
or $IMAGEBIND_ROOT) built with small sizes and seeded random weights, run unmodified.

Run: /work/venv/bin/python Scripts/goldens/imagebind.py  (or `… imagebind.py tiny.pth` to save the
tiny model as an ImageBind .pth checkpoint instead, the input of Scripts/convert_imagebind.py)
Needs (Scripts/goldens/requirements.txt): torch, torchvision, torchaudio, timm, einops, ftfy,
regex, iopath, soundfile, safetensors, decord and pytorchvideo (the pinned 6cdc929 source checkout
in $PYTORCHVIDEO_SRC, see video.py / imagebind_audio.py: its clip sampler is ImageBind's).

What is replaced around ImageBind's code, and why (nothing inside the model is touched):
- `pkg_resources` (setuptools ≥ 81 dropped it): `resource_filename` is given its one-line
  meaning (package folder + relative path), used by data.py for the BPE vocabulary.
- `torchaudio.load` needs torchcodec in torchaudio 2.11: replaced by soundfile decoding to
  float32 [channels, frames] (int16 / 32768), as torchaudio does (as imagebind_audio.py).
- pytorchvideo imports `torchvision.transforms.functional_tensor`: aliased to `functional`.

The tiny model (Tests/Fixtures/imagebind/tiny.safetensors + tiny.json): ImageBindModel with
every size small and different per modality (so a mixed-up size fails), weights drawn from a
seeded normal distribution (LayerNorms around 1, every bias and bias_k/v non-zero), stored as
float16 to keep the fixture small; the reference runs on exactly those float16 values widened to
float32. The text preprocessor is ImageBind's own `TextPreprocessor` with a 1000-token vocabulary
instead of 49408 (a full table would be 6 MB): the text inputs are the real tokenizer's ids for
real sentences, folded into it (start 49406 → 998, end 49407 → 999, others modulo 998) so the end
token stays the largest id, which is what ImageBind's pooling (argmax) looks for. The real ids are
stored too (`text.ids_real`) for the tokenizer test.

Goldens (Tests/Goldens/imagebind/parity.safetensors), for each modality M in vision, video,
audio, text, depth, thermal, imu:
- `M.input`: the input (vision/audio: real media through ImageBind's data.py, rounded to
  float16 and used rounded; video/depth/thermal/imu: `noise(shape, seed)` below, which the Swift
  test recomputes, so it is not stored).
- `M.preprocessor` [1, L, D] (the trunk's input tokens), `M.trunk.pre` [1, L, D] (after the
  pre-transformer LayerNorm; vision and video only, elsewhere it is the identity),
  `M.trunk.blocks.K` [1, L, D] (batch-first, as the Swift trunk keeps them; ImageBind's trunk
  runs L-first) — these token stages for the first batch item (or clip) only, to keep the
  goldens small — then `M.head` [N, E], `M.postprocessor` [N, E], `M.output`
  (ImageBindModel.forward's value: for clips, the mean over clips of the postprocessed clips).
End to end (Tests/Goldens/imagebind/end_to_end.safetensors), the tiny model on real files through
ImageBind's data.py (float32 inputs, not rounded): `e2e.vision` (Tests/Fixtures/image/
baseline444.jpg), `e2e.audio` (Tests/Fixtures/audio/speech_espeak_22050.wav, precise fbank as in
imagebind_audio.py is NOT used: ImageBind's float32 pipeline), `e2e.video`
(Tests/Fixtures/video/h264_128x96_29.97fps.mkv), `e2e.text` (ImageBind's tokenizer on the
folded vocabulary above; the ids also as text_ids.npy, a graph input).
"""
import math
import os
import sys
import types

import numpy as np
import soundfile
import torch
import torchaudio
import torchvision.transforms.functional
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")
FIXTURE_OUT = os.path.join(FIXTURES, "imagebind")
GOLDEN_OUT = os.path.join(ROOT, "Tests", "Goldens", "imagebind")
IMAGEBIND = os.environ.get("IMAGEBIND_ROOT", "/work/ref/ImageBind")
PYTORCHVIDEO_SRC = os.environ.get("PYTORCHVIDEO_SRC", "/tmp/pytorchvideo-6cdc929")
if os.path.isdir(os.path.join(PYTORCHVIDEO_SRC, "pytorchvideo")):
    sys.path.insert(0, PYTORCHVIDEO_SRC)
sys.path.insert(0, IMAGEBIND)

sys.modules["torchvision.transforms.functional_tensor"] = torchvision.transforms.functional
pkg_resources = types.ModuleType("pkg_resources")
pkg_resources.resource_filename = lambda package, name: os.path.join(
    os.path.dirname(sys.modules[package].__file__), name)
sys.modules["pkg_resources"] = pkg_resources


def load(path, *args, **kwargs):
    """torchaudio.load's result for PCM/FLAC: float32 [channels, frames], int / 2^(bits-1)."""
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    return torch.from_numpy(np.ascontiguousarray(samples.T)), rate


torchaudio.load = load

from imagebind import data  # noqa: E402
from imagebind.models.imagebind_model import ImageBindModel  # noqa: E402
from imagebind.models.multimodal_preprocessors import SimpleTokenizer, TextPreprocessor  # noqa: E402

# The sizes of the tiny model; tiny.json repeats them under ImageBindConfiguration's names.
SIZES = dict(
    video_frames=2, kernel_size=(2, 14, 14), audio_kernel_size=16, audio_stride=10, out_embed_dim=16,
    vision_embed_dim=32, vision_num_blocks=2, vision_num_heads=4,
    audio_embed_dim=24, audio_num_blocks=2, audio_num_heads=2, audio_num_mel_bins=128, audio_target_len=204,
    text_embed_dim=32, text_num_blocks=2, text_num_heads=2,
    depth_embed_dim=16, depth_kernel_size=16, depth_num_blocks=2, depth_num_heads=2,
    thermal_embed_dim=24, thermal_kernel_size=16, thermal_num_blocks=2, thermal_num_heads=4,
    imu_embed_dim=16, imu_kernel_size=8, imu_num_blocks=2, imu_num_heads=4,
)
TEXT_VOCAB = 1000
CONFIG = {
    "out_embed_dim": 16,
    "vision": {"embed_dim": 32, "num_blocks": 2, "num_heads": 4, "kernel_size": [2, 14, 14],
               "image_size": 224, "video_frames": 2},
    "audio": {"embed_dim": 24, "num_blocks": 2, "num_heads": 2, "kernel_size": 16, "stride": 10,
              "num_mel_bins": 128, "target_len": 204},
    "text": {"embed_dim": 32, "num_blocks": 2, "num_heads": 2, "vocab_size": TEXT_VOCAB,
             "context_length": 77},
    "depth": {"embed_dim": 16, "num_blocks": 2, "num_heads": 2, "kernel_size": 16, "image_size": 224},
    "thermal": {"embed_dim": 24, "num_blocks": 2, "num_heads": 4, "kernel_size": 16, "image_size": 224},
    "imu": {"embed_dim": 16, "num_blocks": 2, "num_heads": 4, "kernel_size": 8, "channels": 6,
            "length": 2000},
}
SENTENCES = ["A dog.", "a car driving on the road at night", "Hello, world! Ünïcode & 123"]


def noise(shape, seed):
    """Deterministic values in [-1, 1) the Swift tests recompute exactly (integer hashing only):
    element i is ((i + seed) * 2654435761 mod 2^32) / 2^31 - 1, in float64, rounded to float32."""
    count = int(np.prod(shape))
    index = np.arange(count, dtype=np.uint64)
    hashed = ((index + np.uint64(seed)) * np.uint64(2654435761)) % np.uint64(2**32)
    return torch.from_numpy((hashed.astype(np.float64) / 2**31 - 1).astype(np.float32).reshape(shape))


def fold(ids):
    """Real CLIP ids → the tiny vocabulary (see the docstring)."""
    folded = ids.clone()
    folded[ids == 49406] = TEXT_VOCAB - 2
    folded[ids == 49407] = TEXT_VOCAB - 1
    other = (ids != 49406) & (ids != 49407) & (ids != 0)
    folded[other] = ids[other] % (TEXT_VOCAB - 2)
    return folded


def build():
    torch.manual_seed(20261129)
    model = ImageBindModel(**SIZES)
    model.modality_preprocessors["text"] = TextPreprocessor(
        vocab_size=TEXT_VOCAB, context_length=77, embed_dim=SIZES["text_embed_dim"], causal_masking=True)
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "log_logit_scale" in name:
                parameter.fill_(math.log(1 / 0.07) + 0.3)  # ImageBind's init + a visible change
            elif parameter.ndim in (2, 4, 5):  # Linear, Conv2d, Conv3d weights, the token table
                fan_in = int(np.prod(parameter.shape[1:]))
                parameter.copy_(torch.randn(parameter.shape, generator=generator) / math.sqrt(fan_in))
            else:  # biases, bias_k/v, CLS tokens, positions
                parameter.copy_(0.2 * torch.randn(parameter.shape, generator=generator))
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.copy_(1 + 0.2 * torch.randn(module.weight.shape, generator=generator))
        # Round every parameter to float16: the fixture stores them so, the reference uses them so.
        for parameter in model.parameters():
            parameter.copy_(parameter.half().float())
    return model.eval()


def state_dict_f16(model):
    """The checkpoint as ImageBind names it (buffers included: the fixed logit scales and the
    text causal mask, as in imagebind_huge.pth), matrices and vectors as float16; the scalar
    logit scales and the mask stay float32."""
    out = {}
    for key, value in model.state_dict().items():
        value = value.detach().contiguous()
        out[key] = value if value.ndim == 0 or key.endswith(".mask") else value.half()
    return out


def trace(model, modality, value):
    """ImageBindModel.forward on {modality: value} with every stage recorded by hooks."""
    key = "vision" if modality == "video" else modality
    record = {}
    hooks = []
    preprocessor = model.modality_preprocessors[key]
    trunk = model.modality_trunks[key]

    def keep(name, transform=lambda x: x):
        def hook(module, inputs, output):
            record[name] = transform(output).detach().clone()
        return hook

    hooks.append(preprocessor.register_forward_hook(keep("preprocessor", lambda o: o["trunk"]["tokens"])))
    hooks.append(trunk.pre_transformer_layer.register_forward_hook(keep("trunk.pre", lambda o: o.transpose(0, 1))))
    for index, block in enumerate(trunk.blocks):
        hooks.append(block.register_forward_hook(keep(f"trunk.blocks.{index}", lambda o: o.transpose(0, 1))))
    hooks.append(model.modality_heads[key].register_forward_hook(keep("head")))
    hooks.append(model.modality_postprocessors[key].register_forward_hook(keep("postprocessor")))
    with torch.no_grad():
        output = model({key: value})[key]
    for hook in hooks:
        hook.remove()
    record["output"] = output.detach().clone()
    if key != "vision":  # the pre-transformer layer is the identity: the same as `preprocessor`
        del record["trunk.pre"]
    # The [N, L, D] token stages of the first item only (the fixture stays small).
    return {f"{modality}.{name}": (tensor[:1] if tensor.ndim == 3 else tensor).float().contiguous()
            for name, tensor in record.items()}


def main():
    os.makedirs(FIXTURE_OUT, exist_ok=True)
    os.makedirs(GOLDEN_OUT, exist_ok=True)
    model = build()
    if len(sys.argv) > 1:  # `imagebind.py PATH.pth`: the tiny model as ImageBind saves a checkpoint
        torch.save(model.state_dict(), sys.argv[1])  # (to test Scripts/convert_imagebind.py)
        return
    save_file(state_dict_f16(model), os.path.join(FIXTURE_OUT, "tiny.safetensors"))
    import json
    with open(os.path.join(FIXTURE_OUT, "tiny.json"), "w") as file:
        json.dump(CONFIG, file, indent=2)
        file.write("\n")

    image_path = os.path.join(FIXTURES, "image", "baseline444.jpg")
    audio_path = os.path.join(FIXTURES, "audio", "speech_espeak_22050.wav")
    video_path = os.path.join(FIXTURES, "video", "h264_128x96_29.97fps.mkv")
    tokenizer = SimpleTokenizer(bpe_path=data.return_bpe_path())
    real_ids = tokenizer(SENTENCES)

    image = data.load_and_transform_vision_data([image_path], "cpu")  # [1, 3, 224, 224]
    audio = data.load_and_transform_audio_data([audio_path], "cpu")  # [1, 3, 1, 128, 204]
    video = data.load_and_transform_video_data([video_path], "cpu")  # [1, 15, 3, 2, 224, 224]
    ids = fold(real_ids)

    goldens = {}
    inputs = {
        "vision": image.half().float(),
        "audio": audio.half().float(),
        "video": noise([1, 2, 3, 2, 224, 224], 11),
        "text": ids,
        "depth": noise([2, 1, 224, 224], 12),
        "thermal": noise([1, 1, 224, 224], 13),
        "imu": noise([2, 6, 2000], 14),
    }
    for modality, value in inputs.items():
        goldens.update(trace(model, modality, value))
    goldens["vision.input"] = inputs["vision"].half()
    goldens["audio.input"] = inputs["audio"].half()
    goldens["text.input"] = ids.to(torch.int32)
    goldens["text.ids_real"] = real_ids.to(torch.int32)
    save_file({k: v.contiguous() for k, v in goldens.items()}, os.path.join(GOLDEN_OUT, "parity.safetensors"))

    end_to_end = {}
    with torch.no_grad():
        end_to_end["e2e.vision"] = model({"vision": image})["vision"]
        end_to_end["e2e.audio"] = model({"audio": audio})["audio"]
        end_to_end["e2e.video"] = model({"vision": video})["vision"]
        end_to_end["e2e.text"] = model({"text": ids})["text"]
    end_to_end["e2e.video_clips"] = torch.tensor([video.shape[1]], dtype=torch.int32)
    np.save(os.path.join(GOLDEN_OUT, "text_ids.npy"), ids.numpy().astype(np.int32))  # a graph input
    save_file({k: v.contiguous() for k, v in end_to_end.items()},
              os.path.join(GOLDEN_OUT, "end_to_end.safetensors"))

    for folder in (FIXTURE_OUT, GOLDEN_OUT):
        for name in sorted(os.listdir(folder)):
            print(f"{folder}/{name}: {os.path.getsize(os.path.join(folder, name))} bytes")
    for name in sorted(goldens):
        print(name, tuple(goldens[name].shape))


if __name__ == "__main__":
    main()
