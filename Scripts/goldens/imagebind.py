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
float32. The text preprocessor is ImageBind's own `TextPreprocessor` with the vocabulary of the
committed small CLIP BPE (Tests/Fixtures/clip/tokenizer/bpe_10k.txt.gz: 10,000 merges, so 256 + 256
+ 10,000 + 2 = 10,514 tokens, `<|startoftext|>` 10512, `<|endoftext|>` 10513) instead of 49408
(a full table would be 3 MB even at this width): ImageBind's `SimpleTokenizer` given that file
gives the ids, so real strings embed (mmgraph's `imagebind.text` with `vocabulary` = that file).
The ids of the full vocabulary are stored too (`text.ids_real`) for the tokenizer test.

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
(Tests/Fixtures/video/h264_128x96_29.97fps.mkv), `e2e.text` (ImageBind's tokenizer with the small
BPE above; the ids also as text_ids.npy, a graph input).
The shared-space graphs (Tests/Goldens/imagebind/graphs.json, Tests/CLITests/ImageBindSpaceGraphTests):
see `graph_goldens` below.
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
SMALL_BPE = os.path.join(FIXTURES, "clip", "tokenizer", "bpe_10k.txt.gz")
TEXT_VOCAB = 256 + 256 + 10000 + 2  # the small BPE's merges (checked in main)
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



# ---- the shared-space graphs (Graphs/imagebind-*.json beyond the embed-* ones) ----------------
SHARED = os.environ.get("MMGRAPH_TESTDATA", os.path.join(os.path.dirname(ROOT), "shared", "testdata"))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared/testdata"
VIDEOS = os.path.join(FIXTURE_OUT, "videos")


def make_videos():
    """Tiny H.264 videos of the two shared photos (3 s, 8 fps, 128 × 96), made once with
    ffmpeg and committed (decoding H.264 is exact, so mmgraph and decord see the same frames)."""
    import subprocess
    os.makedirs(VIDEOS, exist_ok=True)
    for name in ("dog", "car"):
        path = os.path.join(VIDEOS, f"{name}.mkv")
        if not os.path.exists(path):
            subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-loop", "1", "-framerate", "8", "-i",
                            os.path.join(SHARED, f"{name}_image.jpg"), "-t", "3", "-vf", "scale=128:96,setsar=1",
                            "-c:v", "libx264", "-crf", "30", "-pix_fmt", "yuv420p", "-threads", "1",
                            "-bitexact", path], check=True)


def unit(x):
    return x / x.norm(dim=-1, keepdim=True)


def graph_goldens(model, tokenizer):
    """What the graphs compute, from ImageBind's own model, data.py and SimpleTokenizer (the small
    BPE) on the shared media — into Tests/Goldens/imagebind/graphs.json:
    - zero-shot (imagebind-zero-shot-{audio,image}.json): the labels of Samples/{sound,photo}-labels.txt
      put into ImageBind's prompt ("the sound of a {}." / "a photo of a {}."), the text encoder,
      probabilities softmax(s · cos(query, label)) with s the text encoder's learned logit scale
      (its postprocessor's exp(log_logit_scale)). For an image that is exactly ImageBind's demo,
      softmax(vision @ text.T) (vision is unit, text is s · unit); for audio the demo's
      `audio @ text.T` would also multiply by audio's fixed scale 20 and the clip-mean's length,
      so mmgraph (and this golden) compares unit vectors with the text's scale as for images.
    - retrieval (audio-to-image, text-to-video, compose): cosines of unit vectors, best first;
      compose is ImageBind's embedding arithmetic normalize(unit(image) + unit(audio)).
    """
    import json
    make_videos()

    def run(modality, value):
        with torch.no_grad():
            return model({modality: value})[modality]

    def text(prompts):
        return run("text", torch.cat([tokenizer(p).unsqueeze(0) for p in prompts]))

    image = {n: unit(run("vision", data.load_and_transform_vision_data([os.path.join(SHARED, f"{n}_image.jpg")], "cpu")))[0]
             for n in ("dog", "car")}
    image["baseline444"] = unit(run("vision", data.load_and_transform_vision_data(
        [os.path.join(FIXTURES, "image", "baseline444.jpg")], "cpu")))[0]
    audio = {n: unit(run("audio", data.load_and_transform_audio_data([os.path.join(SHARED, f"{n}_audio.wav")], "cpu")))[0]
             for n in ("dog", "car")}
    video = {n: unit(run("vision", data.load_and_transform_video_data([os.path.join(VIDEOS, f"{n}.mkv")], "cpu")))[0]
             for n in ("dog", "car")}
    scale = float(model.modality_postprocessors["text"][1].log_logit_scale.exp().clamp(max=100))

    def classify(query, labels_file, template):
        labels = [line.strip() for line in open(os.path.join(ROOT, labels_file)) if line.strip()]
        texts = text([template.format(label) for label in labels])
        cosines = unit(texts) @ query
        probabilities = torch.softmax(scale * cosines.double(), dim=0)
        if template.startswith("a photo"):  # ImageBind's demo formula, literally
            demo = torch.softmax((query.unsqueeze(0) @ texts.T).double(), dim=-1)[0]
            assert torch.allclose(demo, probabilities, atol=1e-6)
        order = sorted(range(len(labels)), key=lambda i: -float(probabilities[i]))
        return [{"label": labels[i], "probability": float(probabilities[i]), "score": float(cosines[i])}
                for i in order]

    def search(query, gallery):
        names = sorted(gallery)
        scores = {name: float(gallery[name] @ query) for name in names}
        return [{"name": name, "score": scores[name]} for name in sorted(names, key=lambda n: -scores[n])]

    photos = {f"{n}_image.jpg": image[n] for n in ("dog", "car")}
    photos3 = dict(photos, **{"baseline444.jpg": image["baseline444"]})
    videos = {f"{n}.mkv": video[n] for n in ("dog", "car")}
    goldens = {
        "logit_scale": scale,
        "zero_shot_audio": [{"input": f"{n}_audio.wav", "labels": "Samples/sound-labels.txt",
                             "ranking": classify(audio[n], "Samples/sound-labels.txt", "the sound of a {}.")}
                            for n in ("dog", "car")],
        "zero_shot_image": [{"input": f"{n}_image.jpg", "labels": "Samples/photo-labels.txt",
                             "ranking": classify(image[n], "Samples/photo-labels.txt", "a photo of a {}.")}
                            for n in ("dog", "car")],
        "audio_to_image": [{"input": f"{n}_audio.wav", "ranking": search(audio[n], photos)} for n in ("dog", "car")],
        "text_to_video": [{"query": q, "ranking": search(unit(text([q]))[0], videos)}
                          for q in ("a dog", "a car driving on the road")],
        "compose": [{"image": f"{i}_image.jpg", "audio": f"{a}_audio.wav",
                     "ranking": search(unit(image[i] + audio[a]), photos3)} for i, a in (("car", "dog"), ("dog", "car"))],
        "text": {"a dog": unit(text(["a dog"]))[0].tolist()},
    }
    with open(os.path.join(GOLDEN_OUT, "graphs.json"), "w") as file:
        json.dump(goldens, file, indent=1)
        file.write("\n")

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
    real_ids = SimpleTokenizer(bpe_path=data.return_bpe_path())(SENTENCES)
    small = SimpleTokenizer(bpe_path=SMALL_BPE)
    assert len(small.encoder) == TEXT_VOCAB and small.encoder["<|endoftext|>"] == TEXT_VOCAB - 1

    image = data.load_and_transform_vision_data([image_path], "cpu")  # [1, 3, 224, 224]
    audio = data.load_and_transform_audio_data([audio_path], "cpu")  # [1, 3, 1, 128, 204]
    video = data.load_and_transform_video_data([video_path], "cpu")  # [1, 15, 3, 2, 224, 224]
    ids = small(SENTENCES)

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

    graph_goldens(model, small)

    for folder in (FIXTURE_OUT, GOLDEN_OUT):
        for name in sorted(os.listdir(folder)):
            print(f"{folder}/{name}: {os.path.getsize(os.path.join(folder, name))} bytes")
    for name in sorted(goldens):
        print(name, tuple(goldens[name].shape))


if __name__ == "__main__":
    main()
