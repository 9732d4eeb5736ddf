#!/usr/bin/env python3
"""Goldens for the spectral kernels: torch.stft, torchaudio melscale_fbanks, librosa.filters.mel.

Writes one small JSON file per case under Tests/Goldens/spectral/:
  stft_*.json: {"op": "stft", "signal", <torch.stft options>, "output": "power"|"magnitude"|"complex",
                "frames", "bins", "values"}   values are [frames, bins] or [frames, bins, 2]
                (torch's [bins, frames] transposed; complex = torch.view_as_real).
  mel_*.json:  {"op": "torchaudio"|"librosa", <options>, "shape", "layout", "values"}
All float32, flattened row-major, printed with 9 significant digits (exact round trip).
Signals come from numpy's seeded default_rng and are stored in the file.
Run: .venv-goldens/bin/python Scripts/goldens/spectral.py
"""
import json
import pathlib
import zlib

import librosa
import numpy as np
import torch
import torchaudio.functional as AF

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Goldens" / "spectral"


def flat(a):
    return [float(f"{v:.9g}") for v in np.asarray(a, dtype=np.float32).reshape(-1).tolist()]


def write(name, record):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(record, separators=(",", ":")) + "\n")
    size = path.stat().st_size
    assert size < 200_000, f"{path} is {size} bytes"
    print(f"{path.relative_to(ROOT)}: {size} bytes")


def signal(name, count, sample_rate=16000):
    """A tone pair plus seeded noise: energy in a few bins and everywhere else."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    t = np.arange(count) / sample_rate
    x = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.25 * np.sin(2 * np.pi * 3150.5 * t + 0.3)
    x = x + 0.1 * rng.standard_normal(count)
    return x.astype(np.float32)


def window(kind, length, periodic):
    if kind == "hann":
        return torch.hann_window(length, periodic=periodic)
    if kind == "hamming":
        return torch.hamming_window(length, periodic=periodic)
    if kind == "blackman":
        return torch.blackman_window(length, periodic=periodic)
    if kind == "povey":
        return torch.hann_window(length, periodic=periodic).pow(0.85)
    if kind == "rectangular":
        return torch.ones(length)
    raise ValueError(kind)


def stft_case(name, count, n_fft, hop_length, win_length, kind, periodic, center, pad_mode,
              output, normalized=False):
    x = signal(name, count)
    w = window(kind, win_length, periodic)
    s = torch.stft(torch.from_numpy(x), n_fft, hop_length=hop_length, win_length=win_length,
                   window=w, center=center, pad_mode=pad_mode, normalized=normalized,
                   onesided=True, return_complex=True)
    s = s.transpose(0, 1)  # [frames, bins]
    if output == "power":
        values = s.abs() ** 2
    elif output == "magnitude":
        values = s.abs()
    else:
        values = torch.view_as_real(s)
    write(name, {
        "op": "stft", "signal": flat(x), "n_fft": n_fft, "hop_length": hop_length,
        "win_length": win_length, "window": kind, "periodic": periodic, "center": center,
        "pad_mode": pad_mode, "normalized": normalized, "output": output,
        "window_values": flat(w), "frames": s.shape[0], "bins": s.shape[1],
        "values": flat(values),
    })


def torchaudio_case(name, n_freqs, f_min, f_max, n_mels, sample_rate, norm, mel_scale):
    fb = AF.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm=norm,
                            mel_scale=mel_scale)
    write(name, {
        "op": "torchaudio", "n_freqs": n_freqs, "f_min": f_min, "f_max": f_max, "n_mels": n_mels,
        "sample_rate": sample_rate, "norm": norm or "none", "mel_scale": mel_scale,
        "layout": "frequenciesByMels", "shape": list(fb.shape), "values": flat(fb),
    })


def librosa_case(name, sr, n_fft, n_mels, fmin=0.0, fmax=None, htk=False, norm="slaney"):
    fb = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk,
                             norm=norm)
    write(name, {
        "op": "librosa", "sr": sr, "n_fft": n_fft, "n_mels": n_mels, "fmin": fmin, "fmax": fmax,
        "htk": htk, "norm": norm or "none", "layout": "melsByFrequencies",
        "shape": list(fb.shape), "values": flat(fb),
    })


def main():
    # Whisper's log-mel front end: n_fft 400, hop 160, periodic hann, center reflect, |X|².
    stft_case("stft_whisper", 2000, 400, 160, 400, "hann", True, True, "reflect", "power")
    # win_length < n_fft: the window is zero-padded, centered, to n_fft.
    stft_case("stft_winlength", 1500, 512, 128, 400, "hann", True, True, "reflect", "complex")
    # center=False: frames start at sample 0, no padding.
    stft_case("stft_nocenter", 1200, 256, 100, 256, "hann", True, False, "reflect", "magnitude")
    # hamming, constant (zero) padding.
    stft_case("stft_hamming", 1000, 400, 160, 400, "hamming", True, True, "constant", "magnitude")
    # Kaldi-like: symmetric povey window of 400 in a 512 FFT, no centering.
    stft_case("stft_povey", 1600, 512, 160, 400, "povey", False, False, "reflect", "power")
    # Odd prime n_fft (Bluestein), symmetric blackman, normalized.
    stft_case("stft_blackman_odd", 900, 257, 64, 241, "blackman", False, True, "reflect",
              "complex", normalized=True)

    torchaudio_case("mel_torchaudio_htk", 201, 0.0, 8000.0, 40, 16000, None, "htk")
    torchaudio_case("mel_torchaudio_slaney_slaney", 257, 20.0, 7600.0, 64, 16000, "slaney",
                    "slaney")
    torchaudio_case("mel_torchaudio_htk_slaney", 129, 50.0, 4000.0, 23, 8000, "slaney", "htk")
    torchaudio_case("mel_torchaudio_slaney_none", 161, 0.0, 8000.0, 30, 16000, None, "slaney")

    librosa_case("mel_librosa_whisper80", 16000, 400, 80)
    librosa_case("mel_librosa_whisper128", 16000, 400, 128)
    librosa_case("mel_librosa_htk", 22050, 512, 40, fmin=30.0, htk=True, norm=None)


if __name__ == "__main__":
    main()
