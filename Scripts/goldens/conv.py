#!/usr/bin/env python3
"""Goldens for the convolution and pooling kernels, from torch.nn.functional.

Writes one small JSON file per case under Tests/Goldens/conv/:
  {"op", "input_shape", "input", [weight_shape, weight, bias,] <options>, "output_shape", "output"}
All tensors are float32, flattened row-major, printed with 9 significant digits (exact round trip).
Run: .venv-goldens/bin/python Scripts/goldens/conv.py
"""
import json
import zlib
import pathlib

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Goldens" / "conv"


def flat(t):
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def write(name, record):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(record, separators=(",", ":")) + "\n")
    size = path.stat().st_size
    assert size < 200_000, f"{path} is {size} bytes"
    print(f"{path.relative_to(ROOT)}: {size} bytes")


def conv_case(name, rank, input_shape, weight_shape, bias=True, stride=1, padding=0, dilation=1,
              groups=1):
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    x = torch.randn(input_shape, generator=gen)
    w = torch.randn(weight_shape, generator=gen) * 0.5
    b = torch.randn(weight_shape[0], generator=gen) if bias else None
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]
    y = fn(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    listed = lambda v: v if isinstance(v, str) else ([v] if isinstance(v, int) else list(v))
    write(name, {
        "op": f"conv{rank}d", "input_shape": list(x.shape), "input": flat(x),
        "weight_shape": list(w.shape), "weight": flat(w), "bias": flat(b) if bias else None,
        "stride": listed(stride), "padding": listed(padding), "dilation": listed(dilation),
        "groups": groups, "output_shape": list(y.shape), "output": flat(y),
    })


def pool_case(name, op, input_shape, **options):
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    x = torch.randn(input_shape, generator=gen)
    y = getattr(F, op)(x, **options)
    record = {"op": op, "input_shape": list(x.shape), "input": flat(x)}
    for key, value in options.items():
        record[key] = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    record["output_shape"] = list(y.shape)
    record["output"] = flat(y)
    write(name, record)


def main():
    torch.manual_seed(0)
    # Convolutions: stride, padding (ints and "same"), dilation, groups, depthwise, 1×1, patches.
    conv_case("conv1d_groups_dilation", 1, [2, 4, 17], [6, 2, 3], stride=2, padding=1, dilation=2,
              groups=2)
    conv_case("conv1d_same_even_kernel", 1, [1, 3, 10], [5, 3, 4], padding="same")
    conv_case("conv2d_stride_padding", 2, [2, 3, 9, 11], [4, 3, 3, 3], stride=(2, 1),
              padding=(1, 2))
    conv_case("conv2d_depthwise", 2, [1, 6, 8, 7], [6, 1, 3, 3], stride=2, padding=1, groups=6)
    conv_case("conv2d_depthwise_multiplier_same", 2, [1, 4, 7, 7], [8, 1, 3, 3], padding="same",
              dilation=2, groups=4, bias=False)
    conv_case("conv2d_groups3_dilation", 2, [1, 6, 12, 10], [9, 2, 3, 2], padding=(2, 1),
              dilation=(2, 3), groups=3)
    conv_case("conv2d_pointwise", 2, [2, 8, 5, 6], [7, 8, 1, 1])
    conv_case("conv2d_patches", 2, [1, 3, 16, 20], [8, 3, 4, 4], stride=4)
    conv_case("conv2d_stride3_nobias", 2, [1, 2, 13, 11], [3, 2, 5, 4], stride=3, padding=2,
              bias=False)
    conv_case("conv3d_groups_stride", 3, [1, 4, 5, 7, 6], [6, 2, 3, 2, 3], stride=(1, 2, 2),
              padding=(1, 0, 1), dilation=(2, 1, 1), groups=2)
    conv_case("conv3d_patch_embed", 3, [1, 3, 2, 28, 28], [16, 3, 2, 7, 7], stride=(2, 7, 7),
              bias=False)

    # Pooling.
    pool_case("max_pool2d_floor", "max_pool2d", [2, 3, 10, 11], kernel_size=3, stride=2, padding=1)
    pool_case("max_pool2d_ceil", "max_pool2d", [2, 3, 10, 11], kernel_size=3, stride=2, padding=1,
              ceil_mode=True)
    pool_case("max_pool2d_dilation_ceil", "max_pool2d", [1, 2, 9, 8], kernel_size=(3, 2),
              stride=(2, 2), padding=(1, 0), dilation=(2, 1), ceil_mode=True)
    pool_case("max_pool1d", "max_pool1d", [2, 3, 13], kernel_size=4, stride=3, padding=2,
              ceil_mode=True)
    pool_case("max_pool3d", "max_pool3d", [1, 2, 5, 6, 7], kernel_size=(2, 3, 3), stride=2,
              padding=(1, 1, 0))
    pool_case("avg_pool2d_ceil_include_pad", "avg_pool2d", [2, 3, 10, 11], kernel_size=3,
              stride=2, padding=1, ceil_mode=True, count_include_pad=True)
    pool_case("avg_pool2d_ceil_exclude_pad", "avg_pool2d", [2, 3, 10, 11], kernel_size=3,
              stride=2, padding=1, ceil_mode=True, count_include_pad=False)
    pool_case("avg_pool2d_rect_exclude_pad", "avg_pool2d", [1, 2, 9, 10], kernel_size=(2, 3),
              stride=(3, 2), padding=(1, 1), count_include_pad=False)
    pool_case("avg_pool1d", "avg_pool1d", [2, 3, 14], kernel_size=3, stride=2, padding=1,
              count_include_pad=True)
    pool_case("avg_pool3d", "avg_pool3d", [1, 2, 5, 6, 7], kernel_size=(2, 3, 2), stride=(1, 2, 2),
              padding=(1, 1, 0), ceil_mode=True, count_include_pad=False)
    pool_case("adaptive_avg_pool2d_down", "adaptive_avg_pool2d", [2, 3, 10, 11],
              output_size=(3, 4))
    pool_case("adaptive_avg_pool2d_up", "adaptive_avg_pool2d", [1, 2, 5, 6], output_size=(7, 7))
    pool_case("adaptive_avg_pool1d", "adaptive_avg_pool1d", [2, 3, 17], output_size=5)


if __name__ == "__main__":
    main()
