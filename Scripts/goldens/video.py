#!/usr/bin/env python3
"""Goldens for video decoding and ImageBind's video sampling (Sources/MMMediaIO/Video,
Sources/MMKernels/Interpolate.swift).

The reference is ImageBind's own `imagebind.data.load_and_transform_video_data` (checkout at
53680b0 in /work/ref/ImageBind, or $IMAGEBIND) on top of decord 0.6.0 and the pytorchvideo commit ImageBind's
requirements.txt pins (6cdc929, 2025; $PYTORCHVIDEO_SRC points at a checkout of it, e.g.
`git -C pytorchvideo archive 6cdc929 pytorchvideo | tar -x -C /tmp/pytorchvideo-6cdc929`). That
commit matters: its ConstantClipsPerVideoSampler spaces clip starts by max_start / (clips - 1)
(the fix of 2022-04-28), where pytorchvideo 0.1.5 on PyPI divides by clips; the script checks
which one it got. The PyPI 0.1.5 sampler, when installed, gives the "legacy" timepoints.

Import shims, all outside ImageBind's code: pytorchvideo imports
`torchvision.transforms.functional_tensor` (gone from torchvision 0.17+), so that name points at
`torchvision.transforms.functional`; ImageBind's
data.py imports `pkg_resources` (setuptools, absent) for the BPE vocabulary path and
`imagebind.models.multimodal_preprocessors` (ftfy, timm) for the text tokenizer — neither is used
by the video path, so both are stubbed, and the `imagebind` package is entered without running its
__init__ (which would build the whole model). decord's get_batch is wrapped only to record which
frames each clip reads.

Fixtures (Tests/Fixtures/video, made with ffmpeg's lavfi testsrc2 when missing or with
--fixtures): h264/mpeg4, 30, 12.5 and 30000/1001 fps, landscape and portrait, an mkv without a
frame count, a clip shorter than ImageBind's 2 s clips, a rotated copy, an audio-only file and a
0-frame AVI.

Goldens (Tests/Goldens/video):
  <stem>.json                 decord's len / fps / duration, the indices of the stored frames,
                              ImageBind's clip timepoints (as floats and exact fractions) and the
                              frame indices each clip reads, for the default and small presets
  <stem>_frames.npy           u8 [k, H, W, 3]: decord get_batch(frame_indices)
  <stem>_fingerprints.npy     i64 [N, 2]: per frame, the byte sum and the sum of byte·(i mod 251 + 1)
  <stem>_timestamps.npy       f32 [N, 2]: decord get_frame_timestamp (start, stop) in seconds
  <stem>_imagebind_strided.npy f32 [15, 3, 2, 13, 13]: load_and_transform_video_data(...)[0] at
                              rows/columns STRIDE of the 224×224 crops
  <stem>_small*.npy           f32: a small preset's full output (some fixtures)
  interpolate.json            torch.nn.functional.interpolate(mode="bilinear") cases
  linspace.json               uniform_temporal_subsample's indices for many (T, n)
  clip_times.json             clip windows whose times or frames naive float arithmetic gets wrong

Run: /work/venv/bin/python Scripts/goldens/video.py [--fixtures]
"""
import json
import os
import subprocess
import sys
import types
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "video")
OUT = os.path.join(ROOT, "Tests", "Goldens", "video")
IMAGEBIND = os.environ.get("IMAGEBIND", "/work/ref/ImageBind")
PYTORCHVIDEO_SRC = os.environ.get("PYTORCHVIDEO_SRC", "/tmp/pytorchvideo-6cdc929")
if os.path.isdir(os.path.join(PYTORCHVIDEO_SRC, "pytorchvideo")):
    sys.path.insert(0, PYTORCHVIDEO_SRC)

# ---- import shims (see the docstring) -------------------------------------------------------
import torch  # noqa: E402
import torchvision.transforms.functional as _tvf  # noqa: E402

sys.modules.setdefault("torchvision.transforms.functional_tensor", _tvf)
_pkg_resources = types.ModuleType("pkg_resources")
_pkg_resources.resource_filename = lambda *args: None
sys.modules.setdefault("pkg_resources", _pkg_resources)
_imagebind = types.ModuleType("imagebind")
_imagebind.__path__ = [os.path.join(IMAGEBIND, "imagebind")]
sys.modules["imagebind"] = _imagebind
_models = types.ModuleType("imagebind.models")
_models.__path__ = []
sys.modules["imagebind.models"] = _models
_preprocessors = types.ModuleType("imagebind.models.multimodal_preprocessors")
_preprocessors.SimpleTokenizer = None
sys.modules["imagebind.models.multimodal_preprocessors"] = _preprocessors

import decord  # noqa: E402
import imagebind.data as ib  # noqa: E402
from pytorchvideo import transforms as pv_transforms  # noqa: E402
from pytorchvideo.data.clip_sampling import ConstantClipsPerVideoSampler  # noqa: E402
from pytorchvideo.data.encoded_video import EncodedVideo  # noqa: E402
from pytorchvideo.transforms.functional import uniform_temporal_subsample  # noqa: E402
from torchvision import transforms  # noqa: E402

# ---- fixtures -------------------------------------------------------------------------------
LAVFI = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i"]
X264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-threads", "1"]
FIXTURE_COMMANDS = {
    "h264_160x120_30fps.mp4": LAVFI + ["testsrc2=size=160x120:rate=30:duration=5"] + X264
    + ["-crf", "30"],
    "mpeg4_96x128_12.5fps.mp4": LAVFI + ["testsrc2=size=96x128:rate=25/2:duration=4", "-c:v",
                                         "mpeg4", "-q:v", "8", "-pix_fmt", "yuv420p"],
    "h264_128x96_29.97fps.mkv": LAVFI + ["testsrc2=size=128x96:rate=30000/1001:duration=3.5"]
    + X264 + ["-crf", "30"],
    "h264_64x48_10fps_short.mp4": LAVFI + ["testsrc2=size=64x48:rate=10:duration=1.5"] + X264
    + ["-crf", "30"],
    "audio_only.m4a": LAVFI + ["sine=frequency=440:duration=0.5", "-c:a", "aac", "-b:a", "32k"],
    "zero_frames.avi": LAVFI + ["testsrc2=size=64x48:rate=10", "-t", "0", "-c:v", "mpeg4"],
}


def make_fixtures(force):
    os.makedirs(FIXTURES, exist_ok=True)
    for name, command in FIXTURE_COMMANDS.items():
        path = os.path.join(FIXTURES, name)
        if force or not os.path.exists(path):
            subprocess.run(command + [path], check=True)
    rotated = os.path.join(FIXTURES, "h264_64x48_rot90.mp4")
    if force or not os.path.exists(rotated):
        # A display matrix of 90° (counterclockwise, as ffprobe reports it) on the short clip.
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i",
                        os.path.join(FIXTURES, "h264_64x48_10fps_short.mp4"), "-c", "copy",
                        "-metadata:s:v", "rotate=90", rotated], check=True)
    total = sum(os.path.getsize(os.path.join(FIXTURES, f)) for f in os.listdir(FIXTURES))
    assert total < 400_000, f"fixtures are {total} bytes"


# ---- the reference pipeline -----------------------------------------------------------------
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
DEFAULT = dict(clip_duration=2, clips_per_video=5, frames_per_clip=2, short_side=224, crop=224,
               crops=3, mean=MEAN, std=STD)
SMALL = dict(clip_duration=1.5, clips_per_video=2, frames_per_clip=3, short_side=20, crop=14,
             crops=3, mean=(0.5, 0.25, 0.125), std=(0.2, 0.3, 0.4))
SMALL_ONE_CROP = dict(SMALL, crops=1, clips_per_video=3, clip_duration=1)
STRIDE = list(range(0, 224, 20)) + [223]

_recorded = []
_get_batch = decord.VideoReader.get_batch


def _recording_get_batch(self, indices):
    _recorded.append(list(indices))
    return _get_batch(self, indices)


decord.VideoReader.get_batch = _recording_get_batch


def check_pinned_sampler():
    sampler = ConstantClipsPerVideoSampler(clip_duration=2, clips_per_video=5)
    starts = [sampler(0.0, 10.0, None)[0] for _ in range(5)]
    assert starts[1] == 2, (
        "this pytorchvideo spaces clips by max_start / clips (PyPI 0.1.5); ImageBind pins "
        f"6cdc929, which divides by clips - 1: set PYTORCHVIDEO_SRC (see the docstring)")


def legacy_sampler_class():
    """pytorchvideo 0.1.5's ConstantClipsPerVideoSampler from the installed distribution, loaded
    from its file (the pinned checkout shadows the package name), or None."""
    import importlib.metadata
    import importlib.util
    try:
        dist = importlib.metadata.distribution("pytorchvideo")
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != "0.1.5":
        return None
    path = str(dist.locate_file("pytorchvideo/data/clip_sampling.py"))
    spec = importlib.util.spec_from_file_location("pytorchvideo_015_clip_sampling", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ConstantClipsPerVideoSampler


def sampled(path, p):
    """ImageBind's steps with every parameter open: the same classes and functions as
    load_and_transform_video_data (checked equal to it for the default preset). Returns the output
    [clips*crops, 3, T, crop, crop], the timepoints and the frame indices of each clip."""
    video = EncodedVideo.from_path(path, decoder="decord", decode_audio=False,
                                   **{"sample_rate": 16000})
    sampler = ConstantClipsPerVideoSampler(clip_duration=p["clip_duration"],
                                           clips_per_video=p["clips_per_video"])
    timepoints = ib.get_clip_timepoints(sampler, video.duration)
    transform = transforms.Compose([pv_transforms.ShortSideScale(p["short_side"]),
                                    ib.NormalizeVideo(mean=p["mean"], std=p["std"])])
    subsample = pv_transforms.UniformTemporalSubsample(num_samples=p["frames_per_clip"])
    clips, indices = [], []
    for start, end in timepoints:
        del _recorded[:]
        clip = video.get_clip(start, end)
        read = _recorded[0]
        chosen = uniform_temporal_subsample(torch.tensor(read), p["frames_per_clip"], 0)
        indices.append([int(i) for i in chosen])
        clips.append(subsample(clip["video"]) / 255.0)
    clips = [transform(c) for c in clips]
    clips = ib.SpatialCrop(p["crop"], num_crops=p["crops"])(clips)
    return torch.stack(clips, dim=0), timepoints, indices, video.duration


def timepoint_record(timepoints, indices):
    return [{"start": float(s), "end": float(e), "start_fraction": str(s), "end_fraction": str(e),
             "frames": idx} for (s, e), idx in zip(timepoints, indices)]


def fingerprints(frames):
    n = frames.shape[0]
    flat = frames.reshape(n, -1).astype(np.int64)
    weights = (np.arange(flat.shape[1], dtype=np.int64) % 251) + 1
    return np.stack([flat.sum(axis=1), (flat * weights).sum(axis=1)], axis=1)


def save(name, array):
    path = os.path.join(OUT, name)
    np.save(path, array)
    print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes")


def write_json(name, record):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(record, f, separators=(",", ":"))
        f.write("\n")
    print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes")


def video_goldens(stem, ext, frame_indices, default_strided, small):
    path = os.path.join(FIXTURES, stem + ext)
    reader = decord.VideoReader(path, ctx=decord.cpu(0))
    count, fps = len(reader), reader.get_avg_fps()
    batch = _get_batch(reader, list(range(count)))  # a torch tensor once pytorchvideo set the bridge
    everything = batch.numpy() if isinstance(batch, torch.Tensor) else batch.asnumpy()
    save(f"{stem}_fingerprints.npy", fingerprints(everything))
    save(f"{stem}_frames.npy", np.ascontiguousarray(everything[frame_indices]))
    timestamps = np.asarray(reader.get_frame_timestamp(list(range(count))), dtype=np.float32)
    save(f"{stem}_timestamps.npy", timestamps)

    record = {"frame_count": count, "fps": fps, "duration": float(count) / float(fps),
              "frame_indices": frame_indices, "stride": STRIDE}
    # The default preset straight from ImageBind's function, and through `sampled`, which must
    # agree with it exactly.
    reference = ib.load_and_transform_video_data([path], "cpu")
    assert reference.shape[0] == 1
    reference = reference[0]
    mine, timepoints, indices, duration = sampled(path, DEFAULT)
    assert torch.equal(reference, mine), f"{stem}: sampled() differs from ImageBind"
    assert duration == record["duration"]
    record["default"] = timepoint_record(timepoints, indices)
    legacy = legacy_sampler_class()
    if legacy is not None:
        # Timepoints only: the PyPI 0.1.5 sampler with the default preset, on the same duration.
        points = ib.get_clip_timepoints(legacy(clip_duration=2, clips_per_video=5), duration)
        record["legacy_default"] = [{"start": float(s), "end": float(e),
                                     "start_fraction": str(s), "end_fraction": str(e)}
                                    for s, e in points]
    record["default_shape"] = list(reference.shape)
    if default_strided:
        strided = reference.numpy()[..., STRIDE, :][..., STRIDE]
        save(f"{stem}_imagebind_strided.npy", np.ascontiguousarray(strided))
    for key, preset, keep_output in small:
        output, timepoints, indices, _ = sampled(path, preset)
        record[key] = timepoint_record(timepoints, indices)
        record[key + "_shape"] = list(output.shape)
        if keep_output:
            save(f"{stem}_{key}.npy", output.numpy())
    write_json(f"{stem}.json", record)


def interpolate_goldens():
    cases = [("up_3x12x16_to_21x28", [3, 12, 16], (21, 28), False),
             ("down_2x9x7_to_4x3", [2, 9, 7], (4, 3), False),
             ("row_1x1x5_to_3x7", [1, 1, 5], (3, 7), False),
             ("same_2x7x7", [2, 7, 7], (7, 7), False),
             ("mixed_2x5x8_to_11x3", [2, 5, 8], (11, 3), False),
             ("short_side_1x6x8_to_30x40", [1, 6, 8], (30, 40), False),
             ("to_one_2x5x6_to_1x1", [2, 5, 6], (1, 1), False),
             ("corners_2x5x8_to_11x3", [2, 5, 8], (11, 3), True),
             ("corners_1x4x4_to_9x7", [1, 4, 4], (9, 7), True)]
    record = []
    for name, shape, size, corners in cases:
        gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
        x = torch.rand(shape, generator=gen)
        y = torch.nn.functional.interpolate(x[None], size=size, mode="bilinear",
                                            align_corners=corners)[0]
        record.append({"name": name, "input_shape": shape, "input": [float(f"{v:.9g}") for v in
                                                                      x.reshape(-1).tolist()],
                       "align_corners": corners, "output_shape": list(y.shape),
                       "output": [float(f"{v:.9g}") for v in y.reshape(-1).tolist()]})
    write_json("interpolate.json", record)


def linspace_goldens():
    record = []
    for t in list(range(1, 41)) + [61, 97, 150, 301, 1000]:
        for n in [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31]:
            x = torch.arange(t)[None, :, None, None]
            chosen = pv_transforms.UniformTemporalSubsample(n)(x)[0, :, 0, 0]
            record.append({"t": t, "n": n, "indices": [int(i) for i in chosen]})
    write_json("linspace.json", record)


def clip_time_goldens():
    """Clip windows where naive float arithmetic (x * k / d + clip) gives other frames ("frames")
    or other times ("times") than pytorchvideo's Fractions: the samplers themselves give the
    times; the frame range is
    EncodedVideoDecord.get_clip's `ceil(fps * start) .. min(ceil(fps * end), len)`."""
    import math
    legacy = legacy_sampler_class()
    samplers = [("last_clip_at_end", ConstantClipsPerVideoSampler)]
    if legacy is not None:
        samplers.append(("pytorchvideo015", legacy))
    record = []
    for num, den in [(25, 1), (30000, 1001), (24000, 1001), (60000, 1001), (15, 1)]:
        fps = num / den
        for frames in range(40, 3000):
            duration = float(frames) / float(fps)
            for clips in (4, 5, 7):
                for spacing, cls in samplers:
                    points = ib.get_clip_timepoints(cls(clip_duration=2, clips_per_video=clips),
                                                    duration)
                    d = max(clips - 1, 1) if spacing == "last_clip_at_end" else clips
                    x = max(duration - 2.0, 0)
                    naive = [(x * k / d, x * k / d + 2.0) for k in range(clips)]
                    ranges = [(math.ceil(fps * float(a)), min(math.ceil(fps * float(b)), frames))
                              for a, b in points]
                    naive_ranges = [(math.ceil(fps * a), min(math.ceil(fps * b), frames))
                                    for a, b in naive]
                    times = [(float(a), float(b)) for a, b in points]
                    kind = ("frames" if ranges != naive_ranges else
                            "times" if times != naive else None)
                    if kind is None:
                        continue
                    record.append({"kind": kind, "fps_num": num, "fps_den": den, "frames": frames,
                                   "clips": clips, "spacing": spacing,
                                   "starts": [float(a) for a, _ in points],
                                   "ends": [float(b) for _, b in points],
                                   "ranges": [list(r) for r in ranges]})
    # A spread of them: up to 4 per (frame rate, spacing, kind), keeping the file small.
    groups = {}
    for case in record:
        groups.setdefault((case["fps_num"], case["spacing"], case["kind"]), []).append(case)
    chosen = [case for cases in groups.values() for case in cases[::max(1, len(cases) // 4)][:4]]
    write_json("clip_times.json", chosen)


def main():
    make_fixtures("--fixtures" in sys.argv)
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    check_pinned_sampler()
    print("torch", torch.__version__, "decord", decord.__version__)
    # (golden key, preset, whether its output is stored besides its clip windows)
    video_goldens("h264_160x120_30fps", ".mp4", [77, 149], True, [("small", SMALL, True)])
    video_goldens("mpeg4_96x128_12.5fps", ".mp4", [31], True,
                  [("small", SMALL, False), ("small_one_crop", SMALL_ONE_CROP, True)])
    video_goldens("h264_128x96_29.97fps", ".mkv", [52], True, [("small", SMALL, False)])
    video_goldens("h264_64x48_10fps_short", ".mp4", [7], False, [("small", SMALL, True)])
    interpolate_goldens()
    linspace_goldens()
    clip_time_goldens()


if __name__ == "__main__":
    main()
