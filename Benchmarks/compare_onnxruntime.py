#!/usr/bin/env python3
"""ViT-B/16 image encoder (CLIP ViT-B/16's vision configuration: 224 px, patch 16, width 768,
12 layers, 12 heads, MLP 3072, quick_gelu; random weights, seed 0) in ONNX Runtime, and the same
weights as a Hugging Face checkpoint folder for `mmgraph bench clip-vision`.

  compare_onnxruntime.py export DIR       writes DIR/config.json, DIR/model.safetensors, DIR/model.onnx
  compare_onnxruntime.py time DIR THREADS  times ORT (intra_op_num_threads=THREADS), prints JSON

Used by Benchmarks/compare_onnxruntime.sh. Needs the dev venv with onnxruntime==1.30.0 and
onnx==1.23.1 (Scripts/goldens/requirements.txt).
"""

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def export(folder: Path):
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    config = CLIPVisionConfig(
        hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, image_size=224,
        patch_size=16, hidden_act="quick_gelu", projection_dim=512,
    )
    model = CLIPVisionModelWithProjection(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder), safe_serialization=True)

    class ImageEmbeds(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, pixel_values):
            return self.inner(pixel_values=pixel_values).image_embeds

    pixels = torch.randn(1, 3, 224, 224)
    torch.onnx.export(
        ImageEmbeds(model), (pixels,), str(folder / "model.onnx"), input_names=["pixel_values"],
        output_names=["image_embeds"], opset_version=17, dynamo=False,
    )
    # The two runtimes must compute the same function: compare on one input.
    import onnxruntime as ort

    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model(pixel_values=pixels).image_embeds.numpy()
    got = session.run(None, {"pixel_values": pixels.numpy()})[0]
    np.save(folder / "check_pixels.npy", pixels.numpy())
    np.save(folder / "check_embeds.npy", expected)
    print(json.dumps({"exported": str(folder), "ort_vs_torch_max_abs": float(np.abs(got - expected).max())}))


def time_ort(folder: Path, threads: int, min_time: float = 5.0):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
    pixels = np.random.default_rng(0).uniform(-2, 2, (1, 3, 224, 224)).astype(np.float32)
    feed = {"pixel_values": pixels}
    for _ in range(2):
        session.run(None, feed)
    times = []
    cpu_start = time.process_time()
    start = time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - t0)
    print(json.dumps({
        "runtime": "onnxruntime " + ort.__version__, "threads": threads, "runs": len(times),
        "ms": min(times) * 1e3, "ms_median": statistics.median(times) * 1e3,
        # Process CPU time per run (all threads): on a shared machine wall time includes waiting
        # for a core, CPU time does not.
        "cpu_ms_per_run": (time.process_time() - cpu_start) / len(times) * 1e3,
    }))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "export":
        export(Path(sys.argv[2]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "time":
        time_ort(Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]) if len(sys.argv) > 4 else 5.0)
    else:
        sys.exit(__doc__)
