"""Goldens for AudioFile (Tests/MMMediaIOTests/AudioFileTests.swift).

Reads the shared recordings with Python's `wave` module (int16 / 32768) and the fixtures in
Tests/Fixtures/audio (made with sox/ffmpeg) with scipy.io.wavfile, after decoding FLAC/OGG to WAV
with sox. Writes Tests/Goldens/audiofile/<name>.json: channels, frames, sampleRate, the first 1000
samples of each channel, and per-channel sum, sum |x| and sum x^2 over all samples.

Run: /work/venv/bin/python Scripts/goldens/audiofile.py
"""
import json, os, subprocess, tempfile, wave
import numpy as np
from scipy.io import wavfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(ROOT, "..", "shared", "testdata")
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "audio")
OUT = os.path.join(ROOT, "Tests", "Goldens", "audiofile")


def write(name, planar, rate):
    planar = np.asarray(planar, dtype=np.float64)
    doc = {
        "channels": int(planar.shape[0]), "frames": int(planar.shape[1]), "sampleRate": int(rate),
        "head": [[float(v) for v in ch[:1000]] for ch in planar],
        "sum": [float(ch.sum()) for ch in planar],
        "sumAbs": [float(np.abs(ch).sum()) for ch in planar],
        "sumSquares": [float((ch * ch).sum()) for ch in planar],
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(doc, f)


def with_wave(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
        return data.reshape(-1, w.getnchannels()).T, w.getframerate()


def with_scipy(path):
    rate, data = wavfile.read(path)
    data = data.reshape(len(data), -1)
    if data.dtype == np.uint8:
        x = (data.astype(np.float64) - 128) / 128
    elif data.dtype == np.int16:
        x = data / 32768.0
    elif data.dtype == np.int32:  # scipy returns 24-bit samples left-justified in int32
        x = data / 2147483648.0
    else:
        x = data.astype(np.float64)
    return x.T, rate


os.makedirs(OUT, exist_ok=True)
for name in ["car_audio", "dog_audio"]:
    write(name, *with_wave(os.path.join(SHARED, name + ".wav")))
for name in sorted(os.listdir(FIXTURES)):
    path = os.path.join(FIXTURES, name)
    base, ext = os.path.splitext(name)
    if ext == ".wav":
        write(base, *with_scipy(path))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            wav = os.path.join(tmp, "x.wav")
            encoding = ["-e", "floating-point", "-b", "32"] if ext == ".ogg" else ["-b", "16"]
            subprocess.run(["sox", path, *encoding, wav], check=True)
            write(base, *with_scipy(wav))
print("wrote", sorted(os.listdir(OUT)))
