"""Helper of Benchmarks/compare_imagebind_audio.sh (run it through that script).

`prepare DIR`: ImageBind's own ImageBindModel with the audio trunk of imagebind_huge (768 wide,
12 blocks, 12 heads, bias_kv; the other modalities tiny, unused) and seeded random weights; writes
DIR/audio_huge.safetensors (the audio tensors, ImageBind's keys, float32), DIR/audio_huge.json
(imagebind_huge's configuration), DIR/clips.npy (3 random spectrogram clips [3, 1, 128, 204]).
`time DIR THREADS REPS`: ImageBind's forward on those clips with torch.set_num_threads(THREADS):
one warm-up call, then REPS timed calls; prints `pytorch THREADS first=S best=S median=S` and
saves DIR/pytorch.npy (the unit embedding).
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

import importlib.util  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

# Scripts/goldens/imagebind.py (its import shims and ImageBind's model), under another name than
# the `imagebind` package it imports.
_spec = importlib.util.spec_from_file_location("imagebind_goldens", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "Scripts", "goldens", "imagebind.py"))
goldens = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(goldens)

SMALL = dict(vision_embed_dim=32, vision_num_blocks=1, vision_num_heads=4, text_embed_dim=32, text_num_blocks=1,
             text_num_heads=2, depth_embed_dim=16, depth_num_blocks=1, depth_num_heads=2, thermal_embed_dim=16,
             thermal_num_blocks=1, thermal_num_heads=2, imu_embed_dim=16, imu_num_blocks=1, imu_num_heads=2,
             out_embed_dim=1024)


def model(directory=None):
    torch.manual_seed(0)
    m = goldens.ImageBindModel(**SMALL).eval()  # audio at ImageBindModel's defaults = imagebind_huge's
    if directory:
        m.load_state_dict(load_file(os.path.join(directory, "audio_huge.safetensors")), strict=False)
    return m


def prepare(directory):
    os.makedirs(directory, exist_ok=True)
    m = model()
    state = {k: v.contiguous() for k, v in m.state_dict().items() if ".audio." in k}
    save_file(state, os.path.join(directory, "audio_huge.safetensors"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "Tests", "Fixtures", "imagebind", "huge.json")) as source:
        config = json.load(source)
    with open(os.path.join(directory, "audio_huge.json"), "w") as target:
        json.dump(config, target)
    np.save(os.path.join(directory, "clips.npy"), goldens.noise([3, 1, 128, 204], 3).numpy())


def run(directory, threads, reps):
    torch.set_num_threads(threads)
    m = model(directory)
    clips = torch.from_numpy(np.load(os.path.join(directory, "clips.npy")))[None]
    times = []
    with torch.no_grad():
        for _ in range(reps + 1):
            start = time.perf_counter()
            out = m({"audio": clips})["audio"]
            times.append(time.perf_counter() - start)
    unit = torch.nn.functional.normalize(out, dim=-1).numpy()
    np.save(os.path.join(directory, "pytorch.npy"), unit)
    print(f"pytorch {threads} first={times[0]:.3f} best={min(times[1:]):.3f} "
          f"median={statistics.median(times[1:]):.3f}")


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    else:
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
