"""Goldens for AudioClips (Tests/MMMediaIOTests/AudioClipsTests.swift): ImageBind's own
`imagebind.data.load_and_transform_audio_data` on real and synthetic recordings, and
pytorchvideo's `ConstantClipsPerVideoSampler` clip ranges for edge-case durations.

Run: /work/venv/bin/python Scripts/goldens/imagebind_audio.py
Needs: numpy, torch 2.15, torchaudio 2.11.1, torchvision 0.29.2, soundfile, pytorchvideo 0.1.5
from PyPI (for its dependencies and its "legacy" sampler), an ImageBind checkout (IMAGEBIND_ROOT,
default /work/ref/ImageBind, at 53680b0) and a source checkout of the pytorchvideo commit
ImageBind's requirements.txt pins, 6cdc929 ($PYTORCHVIDEO_SRC, default /tmp/pytorchvideo-6cdc929;
`git -C pytorchvideo archive 6cdc929 pytorchvideo | tar -x -C /tmp/pytorchvideo-6cdc929`). The
commit matters: its ConstantClipsPerVideoSampler spaces clip starts by max_start / (clips - 1),
where 0.1.5 on PyPI divides by clips. The ImageBind outputs use the pinned sampler (the script
checks it got it); the clip-range table covers both.

What is patched around ImageBind's code, and why:
- `torchaudio.load` in torchaudio 2.11 needs torchcodec, which is not installed. It is replaced
  by an equivalent loader: soundfile (libsndfile) decoding every channel to float32
  [channels, frames], integers divided by 2^(bits-1) (int16 / 32768), as torchaudio does.
- pytorchvideo 0.1.5 imports `torchvision.transforms.functional_tensor`, removed from torchvision;
  it is aliased to `torchvision.transforms.functional`.
- `imagebind/__init__.py` imports the model (timm, ftfy) and `data.py` imports `pkg_resources`
  and the text tokenizer; none is used by the audio path, so `imagebind.data` is imported with
  stubs for those modules. The audio functions run unchanged.

The reference run ("precise"): ImageBind's function with three float32 steps evaluated more
precisely — torchaudio's resample accumulated in float64 (with the float32 kernel torchaudio
builds for float32 audio), `waveform.mean()` correctly rounded to float32 (float64 sum), and
torchaudio's kaldi fbank run in float64 on the float32 clip, cast back to float32. Everything
discrete (lengths, clip slices, in-place mean subtraction of overlapping clips, channel 0,
padding) is ImageBind's own code. Why: in near-empty mel bins (a pure tone's 16-bit quantization
floor) the log energy is set by float32 rounding noise, so the unmodified float32 run differs
from the precise one by up to ~4e-4 after normalization (dog, tone); no other implementation can
reproduce that noise. The Swift code (Double accumulation) is held to the precise run at 1e-4,
and to the unmodified run on car_audio.wav (where float32 noise is small) at 1e-4 too.
Not reproducible either way: the resampling kernel itself is float32 (torch's vectorized
sin/cos); 1-ulp kernel differences set the deep-stopband content of *upsampled* audio, which
moved the top mel bins of an 8 kHz synthetic sweep by 2e-3. The fixtures here downsample.

Outputs (Tests/Goldens/audio/imagebind_*.npy), for each input NAME:
- NAME_sub: the precise output [3, 1, 128, 204] flattened, every 31st value (float32).
- NAME_rowsums: float32 [2, clips, 128]: the sum over the 204 frames of each mel row, of the
  precise run (row 0) and of ImageBind's unmodified float32 run (row 1).
- car_f32_sub: every 31st value of ImageBind's unmodified float32 run on car_audio.wav.
- clip_params: float64 [cases, 5]: frames, sample rate, clip duration (s), clips per video,
  spacing (0: the pinned sampler, 1: PyPI 0.1.5's); clip_ranges: int32 [cases, 2 * 5]:
  (int(start * sr), int(end * sr)) per clip as ImageBind slices them, -1 padded. The first five
  cases are the inputs above after resampling.
"""
import math
import os
import sys
import types
from fractions import Fraction

import numpy as np
import soundfile
import torch
import torchaudio
import torchvision.transforms.functional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Goldens", "audio")
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "audio")
SHARED = os.path.join(ROOT, "..", "shared", "testdata")
IMAGEBIND = os.environ.get("IMAGEBIND_ROOT", "/work/ref/ImageBind")
PYTORCHVIDEO_SRC = os.environ.get("PYTORCHVIDEO_SRC", "/tmp/pytorchvideo-6cdc929")
if os.path.isdir(os.path.join(PYTORCHVIDEO_SRC, "pytorchvideo")):
    sys.path.insert(0, PYTORCHVIDEO_SRC)
STRIDE = 31
MAX_CLIPS = 5

sys.modules["torchvision.transforms.functional_tensor"] = torchvision.transforms.functional
package = types.ModuleType("imagebind")
package.__path__ = [os.path.join(IMAGEBIND, "imagebind")]
models = types.ModuleType("imagebind.models")
models.__path__ = []
preprocessors = types.ModuleType("imagebind.models.multimodal_preprocessors")
preprocessors.SimpleTokenizer = None
sys.modules.update({
    "imagebind": package, "imagebind.models": models,
    "imagebind.models.multimodal_preprocessors": preprocessors,
    "pkg_resources": types.ModuleType("pkg_resources"),
})
import imagebind.data as imagebind_data  # noqa: E402
from pytorchvideo.data.clip_sampling import ConstantClipsPerVideoSampler  # noqa: E402


def legacy_sampler_class():
    """PyPI pytorchvideo 0.1.5's ConstantClipsPerVideoSampler, loaded from the installed file (the
    pinned checkout shadows the package name; the module imports only the standard library)."""
    import importlib.metadata
    import importlib.util
    dist = importlib.metadata.distribution("pytorchvideo")
    assert dist.version == "0.1.5", dist.version
    path = str(dist.locate_file("pytorchvideo/data/clip_sampling.py"))
    spec = importlib.util.spec_from_file_location("pytorchvideo_015_clip_sampling", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ConstantClipsPerVideoSampler


def spacing_of(sampler_class):
    """0 when clip starts are spaced by max_start / (clips - 1), 1 when by max_start / clips."""
    sampler = sampler_class(clip_duration=2, clips_per_video=5)
    second = [sampler(0.0, 10.0, None)[0] for _ in range(5)][1]
    return {2: 0, Fraction(8, 5): 1}[second]


SAMPLERS = [ConstantClipsPerVideoSampler, legacy_sampler_class()]
assert spacing_of(SAMPLERS[0]) == 0, (
    "this pytorchvideo spaces clips by max_start / clips (PyPI 0.1.5); ImageBind pins 6cdc929, "
    "which divides by clips - 1: set PYTORCHVIDEO_SRC (see the docstring)")
assert spacing_of(SAMPLERS[1]) == 1


def load(path, *args, **kwargs):
    """torchaudio.load's result for PCM/FLAC: float32 [channels, frames], int / 2^(bits-1)."""
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    return torch.from_numpy(np.ascontiguousarray(samples.T)), rate


torchaudio.load = load
FBANK32 = torchaudio.compliance.kaldi.fbank
RESAMPLE32 = torchaudio.functional.resample
MEAN32 = torch.Tensor.mean


def fbank64(waveform, **kwargs):
    return FBANK32(waveform.double(), **kwargs).float()


def resample64(waveform, orig_freq, new_freq, **kwargs):
    """torchaudio.functional.resample's own steps, its float32 kernel, float64 accumulation."""
    assert not kwargs
    if orig_freq == new_freq:
        return waveform
    from torchaudio.functional import functional as tf
    gcd = math.gcd(int(orig_freq), int(new_freq))
    kernel, width = tf._get_sinc_resample_kernel(
        orig_freq, new_freq, gcd, 6, 0.99, "sinc_interp_hann", None, waveform.device, waveform.dtype)
    out = tf._apply_sinc_resample_kernel(waveform.double(), orig_freq, new_freq, gcd, kernel.double(), width)
    return out.to(waveform.dtype)


def mean64(self, *args, **kwargs):
    """Tensor.mean() of a float32 tensor, correctly rounded (float64 sum)."""
    if args or kwargs or self.dtype != torch.float32:
        return MEAN32(self, *args, **kwargs)
    return MEAN32(self.double()).to(torch.float32)


def imagebind(path, precise):
    if precise:
        torchaudio.compliance.kaldi.fbank = fbank64
        torchaudio.functional.resample = resample64
        torch.Tensor.mean = mean64
    try:
        return imagebind_data.load_and_transform_audio_data([path], "cpu")[0].numpy()
    finally:
        torchaudio.compliance.kaldi.fbank = FBANK32
        torchaudio.functional.resample = RESAMPLE32
        torch.Tensor.mean = MEAN32


def save(name, array, dtype=np.float32):
    np.save(os.path.join(OUT, "imagebind_" + name + ".npy"), np.ascontiguousarray(array, dtype=dtype))


INPUTS = [
    ("car", os.path.join(SHARED, "car_audio.wav")),
    ("dog", os.path.join(SHARED, "dog_audio.wav")),
    ("speech", os.path.join(FIXTURES, "speech_espeak_22050.wav")),
    ("tone", os.path.join(FIXTURES, "tone_16k_1200ms.wav")),
    ("sweep", os.path.join(FIXTURES, "sweep_24k_8bit_stereo.flac")),
]


def ranges(frames, rate, clip_duration, clips, spacing):
    """ImageBind's slices: get_clip_timepoints over the sampler, then int(t * sample_rate)."""
    sampler = SAMPLERS[spacing](clip_duration=clip_duration, clips_per_video=clips)
    points = imagebind_data.get_clip_timepoints(sampler, frames / rate)
    return [(int(start * rate), int(end * rate)) for start, end in points]


def range_cases(resampled_lengths):
    rng = np.random.default_rng(20261129)
    cases = [(n, 16000, 2, 3, spacing) for spacing in (0, 1) for n in resampled_lengths]
    durations = [2, 2.5, 0.1, 1 / 3, 1.7, 10.0, 0.025]
    rates = [16000, 8000, 22050, 44100, 48000, 11025]
    counts = [1, 2, 3, 5]
    for rate in rates:
        for duration in durations:
            clips = counts[len(cases) % len(counts)]
            exact = int(duration * rate)
            for n in [1, exact - 1, exact, exact + 1, 3 * exact + 1, int(rng.integers(1, 12 * rate))]:
                if n >= 1:
                    cases.append((n, rate, duration, clips, len(cases) % 2))
    for _ in range(30):
        rate = rates[int(rng.integers(len(rates)))]
        cases.append((int(rng.integers(1, 30 * rate)), rate, durations[int(rng.integers(len(durations)))],
                      counts[int(rng.integers(len(counts)))], len(cases) % 2))
    params = np.array(cases, dtype=np.float64)
    table = np.full((len(cases), 2 * MAX_CLIPS), -1, dtype=np.int64)
    for row, (n, rate, duration, clips, spacing) in enumerate(cases):
        for i, (start, end) in enumerate(ranges(n, rate, duration, clips, spacing)):
            table[row, 2 * i: 2 + 2 * i] = (start, end)
    assert table.max() < 2**31
    return params, table


def main():
    os.makedirs(OUT, exist_ok=True)
    lengths = []
    for name, path in INPUTS:
        if not os.path.exists(path):
            sys.exit(f"missing input {path}")
        reference = imagebind(path, precise=True)
        float32_run = imagebind(path, precise=False)
        assert reference.shape == (3, 1, 128, 204), reference.shape
        save(name + "_sub", reference.reshape(-1)[::STRIDE])
        rowsums = np.stack([reference.astype(np.float64).sum(axis=-1)[:, 0],
                            float32_run.astype(np.float64).sum(axis=-1)[:, 0]])
        save(name + "_rowsums", rowsums)
        if name == "car":
            save(name + "_f32_sub", float32_run.reshape(-1)[::STRIDE])
        waveform, rate = load(path)
        resampled = torchaudio.functional.resample(waveform, orig_freq=rate, new_freq=16000)
        lengths.append(resampled.shape[1])
        gap = float(np.abs(reference - float32_run).max())
        print(f"{name}: {waveform.shape[0]} ch, {waveform.shape[1]} frames at {rate} Hz -> "
              f"{resampled.shape[1]} at 16 kHz; unmodified float32 run vs precise run: max |diff| {gap:.2e}")
    params, table = range_cases(lengths)
    save("clip_params", params, np.float64)
    save("clip_ranges", table, np.int32)
    print(f"clip ranges: {len(table)} cases")


if __name__ == "__main__":
    main()
