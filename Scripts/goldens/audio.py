"""Writes audio goldens under Tests/Goldens/audio/ (.npy, float32):
torchaudio.compliance.kaldi.fbank for several option sets and torchaudio.functional.resample.

Run: /work/venv/bin/python Scripts/goldens/audio.py
Fbank goldens are torchaudio's fbank run in float64 on the float32 inputs (compared at 1e-4); the
`_f32` files are torchaudio's float32 run of the ImageBind call (compared at 3e-3, see below).
Inputs are deterministic synthetic signals (seeded chirp + tone + noise) and a 1 s excerpt of
../shared/testdata/dog_audio.wav (int16 / 32768, channels averaged), stored next to the outputs.
"""
import os
import wave

import numpy as np
import torch
import torchaudio

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Goldens", "audio")
os.makedirs(OUT, exist_ok=True)


def save(name, array):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(array, dtype=np.float32))


def synthetic(sr, seconds, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    f0, f1 = 100.0, 0.4 * sr
    chirp = np.sin(2 * np.pi * (f0 * t + (f1 - f0) / (2 * seconds) * t * t))
    tone = 0.3 * np.sin(2 * np.pi * 440.0 * t + 0.25)
    noise = 0.05 * rng.standard_normal(t.shape)
    return (0.5 * chirp + tone + noise).astype(np.float32)


def dog_excerpt():
    path = os.path.join(ROOT, "..", "shared", "testdata", "dog_audio.wav")
    if not os.path.exists(path):
        path = "/work/shared/testdata/dog_audio.wav"
    with wave.open(path) as w:
        sr, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        assert width == 2
        raw = np.frombuffer(w.readframes(n), dtype="<i2").reshape(-1, ch).astype(np.float32) / 32768.0
    mono = raw.mean(axis=1).astype(np.float32)
    start = sr // 2
    return mono[start:start + sr].copy(), sr


# Kaldi fbank: (name, sample rate, options)
FBANK_CASES = [
    ("default", {}),
    ("imagebind", dict(htk_compat=True, use_energy=False, window_type="hanning", num_mel_bins=128,
                       dither=0.0, frame_length=25, frame_shift=10)),
    ("energy_hamming_nosnip", dict(dither=0.0, use_energy=True, window_type="hamming", snip_edges=False,
                                   num_mel_bins=40, low_freq=50, high_freq=-400)),
    ("energy_htk_raw_floor", dict(dither=0.0, use_energy=True, htk_compat=True, raw_energy=False,
                                  energy_floor=1.0, window_type="blackman", num_mel_bins=23)),
    ("power_nolog_rect", dict(dither=0.0, use_log_fbank=False, use_power=False, window_type="rectangular",
                              round_to_power_of_two=False, num_mel_bins=30, remove_dc_offset=False,
                              preemphasis_coefficient=0.0)),
    ("subtract_mean_nosnip", dict(dither=0.0, subtract_mean=True, snip_edges=False, frame_length=20,
                                  frame_shift=7, num_mel_bins=64)),
]


def fbank64(signal, sr, opts):
    """torchaudio's fbank run in float64 (the same algorithm; the input float32 samples widened)."""
    x = torch.from_numpy(signal.astype(np.float64))[None]
    return torchaudio.compliance.kaldi.fbank(x, sample_frequency=float(sr), **opts).numpy()


def fbank_goldens(signal, sr, prefix):
    save(prefix + "_input", signal)
    for name, opts in FBANK_CASES:
        opts = dict(opts)
        opts.setdefault("dither", 0.0)
        save(f"{prefix}_fbank_{name}", fbank64(signal, sr, opts))
    # torchaudio's own float32 run, for the ImageBind options only: float32 rounding inside
    # torchaudio moves low-energy log bins by up to ~1.5e-3 from the float64 run.
    x = torch.from_numpy(signal)[None]
    out = torchaudio.compliance.kaldi.fbank(x, sample_frequency=float(sr), **dict(FBANK_CASES[1][1]))
    save(f"{prefix}_fbank_imagebind_f32", out.numpy())


def main():
    sig16 = synthetic(16000, 1.25, seed=7)
    fbank_goldens(sig16, 16000, "synth16k")
    dog, dog_sr = dog_excerpt()
    # ImageBind centres the waveform before fbank.
    dog_c = dog - dog.mean()
    save("dog44k_input", dog_c)
    imagebind = dict(htk_compat=True, use_energy=False, window_type="hanning", num_mel_bins=128,
                     dither=0.0, frame_length=25, frame_shift=10)
    save("dog44k_fbank_imagebind", fbank64(dog_c, dog_sr, imagebind))
    out = torchaudio.compliance.kaldi.fbank(torch.from_numpy(dog_c)[None], sample_frequency=dog_sr, **imagebind)
    save("dog44k_fbank_imagebind_f32", out.numpy())

    # Resampling
    for src, dst, seconds, seed in [(44100, 16000, 0.5, 3), (16000, 44100, 0.25, 4), (48000, 16000, 0.5, 5),
                                    (16000, 22050, 0.3, 6), (8000, 12000, 0.2, 8)]:
        x = synthetic(src, seconds, seed)
        y = torchaudio.functional.resample(torch.from_numpy(x), src, dst)
        save(f"resample_{src}_{dst}_input", x)
        save(f"resample_{src}_{dst}_output", y.numpy())
    y = torchaudio.functional.resample(torch.from_numpy(dog[:22050]), dog_sr, 16000)
    save("resample_dog_44100_16000_input", dog[:22050])
    save("resample_dog_44100_16000_output", y.numpy())


def whisper_log_mel(signal, n_mels=80):
    """transformers WhisperFeatureExtractor._torch_extract_fbank_features, in float64."""
    import librosa
    x = torch.from_numpy(signal.astype(np.float64))
    window = torch.hann_window(400, dtype=torch.float64)
    stft = torch.stft(x, 400, 160, window=window, return_complex=True)
    magnitudes = stft[..., :-1].abs() ** 2
    filters = torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=400, n_mels=n_mels).astype(np.float64))
    mel_spec = filters @ magnitudes
    log_spec = torch.clamp(mel_spec, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).numpy()


def whisper_goldens():
    save("synth16k_whisper80", whisper_log_mel(synthetic(16000, 1.25, seed=7)))
    # A quiet tail makes the max − 8 clamp bite.
    quiet = synthetic(16000, 0.5, seed=9)
    quiet[4000:] *= 1e-5
    save("quiet16k_input", quiet)
    save("quiet16k_whisper128", whisper_log_mel(quiet, 128))


if __name__ == "__main__":
    whisper_goldens()
    main()
