"""PyTorch (and CTranslate2) side of Benchmarks/compare_whisper.sh: transcribes one audio file
with the weights of a CTranslate2 Whisper folder, greedy, the same way `mmgraph bench whisper`
does — log-mel of the 16 kHz audio padded to 30 s (transformers' WhisperFeatureExtractor), the
encoder, greedy decoding with a KV cache (suppress_ids at every step, suppress_ids_begin at the
first) — after one warm-up, and prints one JSON line per engine.

  python Benchmarks/compare_whisper.py --model DIR --audio FILE --threads N [--repetitions R]
      [--engine torch|ctranslate2]

torch: transformers' WhisperForConditionalGeneration with the model.bin weights converted to f32
(Scripts/goldens/whisper_ct2.py), `torch.set_num_threads(N)`, inference mode.
ctranslate2: the ctranslate2 package itself on model.bin (compute_type float32, intra_threads N).
"""

import argparse
import importlib.util
import json
import os
import statistics
import time

import numpy as np
import soundfile as sf

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def load_audio(path):
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    if rate != 16000:
        import torch
        import torchaudio

        mono = torchaudio.functional.resample(torch.from_numpy(mono), rate, 16000).numpy()
    return mono[:480000]


def torch_runner(model_dir, threads):
    import torch
    from transformers import WhisperFeatureExtractor
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache

    torch.set_num_threads(threads)
    spec = importlib.util.spec_from_file_location("whisper_ct2", os.path.join(ROOT, "Scripts/goldens/whisper_ct2.py"))
    whisper_ct2 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(whisper_ct2)
    model, ids = whisper_ct2.load_hf_model(model_dir)
    config = json.load(open(os.path.join(model_dir, "config.json")))
    suppress, begin = config["suppress_ids"], config["suppress_ids_begin"]
    extractor = WhisperFeatureExtractor(feature_size=model.config.num_mel_bins)
    prompt = [ids["<|startoftranscript|>"], ids["<|notimestamps|>"]]
    eot = ids["<|endoftext|>"]
    limit = model.config.max_target_positions

    def run(audio):
        t0 = time.perf_counter()
        features = extractor(audio, sampling_rate=16000, return_tensors="pt").input_features
        t1 = time.perf_counter()
        with torch.inference_mode():
            encoded = model.model.encoder(features).last_hidden_state
            t2 = time.perf_counter()
            cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
            tokens, step = [], torch.tensor([prompt])
            while len(prompt) + len(tokens) < limit:
                out = model(encoder_outputs=(encoded,), decoder_input_ids=step, past_key_values=cache, use_cache=True)
                cache = out.past_key_values
                logits = out.logits[0, -1]
                logits[suppress] = -float("inf")
                if not tokens:
                    logits[begin] = -float("inf")
                next_id = int(torch.argmax(logits))
                if next_id == eot:
                    break
                tokens.append(next_id)
                step = torch.tensor([[next_id]])
        t3 = time.perf_counter()
        return [t1 - t0, t2 - t1, t3 - t2], tokens

    return run


def ctranslate2_runner(model_dir, threads):
    import ctranslate2
    from transformers import WhisperFeatureExtractor

    model = ctranslate2.models.Whisper(model_dir, device="cpu", compute_type="float32", intra_threads=threads)
    tokenizer = json.load(open(os.path.join(model_dir, "tokenizer.json")))
    ids = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    prompt = [ids["<|startoftranscript|>"], ids["<|notimestamps|>"]]
    extractor = WhisperFeatureExtractor(feature_size=model.n_mels)

    def run(audio):
        t0 = time.perf_counter()
        features = extractor(audio, sampling_rate=16000, return_tensors="np").input_features
        t1 = time.perf_counter()
        view = ctranslate2.StorageView.from_array(features)
        encoded = model.encode(view)
        t2 = time.perf_counter()
        result = model.generate(encoded, [prompt], beam_size=1)
        t3 = time.perf_counter()
        return [t1 - t0, t2 - t1, t3 - t2], result[0].sequences_ids[0]

    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--audio", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--engine", choices=["torch", "ctranslate2"], default="torch")
    args = parser.parse_args()
    audio = load_audio(args.audio)
    duration = len(audio) / 16000
    run = (torch_runner if args.engine == "torch" else ctranslate2_runner)(args.model, args.threads)
    run(audio)  # warm-up
    runs = sorted((run(audio) for _ in range(args.repetitions)), key=lambda r: sum(r[0]))
    best, median = sum(runs[0][0]), sum(runs[len(runs) // 2][0])
    print(
        json.dumps(
            {
                "engine": args.engine,
                "threads": args.threads,
                "audio_s": duration,
                "seconds": best,
                "rtf": best / duration,
                "rtf_median": median / duration,
                "frontend_s": runs[0][0][0],
                "encoder_s": runs[0][0][1],
                "decoder_s": runs[0][0][2],
                "tokens": runs[0][1],
                "repetitions": args.repetitions,
                "spread_s": statistics.pstdev(sum(r[0]) for r in runs),
            }
        )
    )


if __name__ == "__main__":
    main()
