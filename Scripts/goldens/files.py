"""Goldens for MMWeights' file formats, written by the reference libraries.

Run:  .venv-goldens/bin/python Scripts/goldens/files.py
Writes under Tests/Goldens/files/:
  all_dtypes.safetensors        every safetensors dtype, written by `safetensors.torch`
  sharded/                      two shards + model.safetensors.index.json (as transformers writes it)
  npy/*.npy                     NumPy files: each dtype, big-endian, Fortran order, 0-d, empty,
                                version 2.0 and 3.0 headers
  expected.json                 what a reader must find: dtype, shape and the row-major element
                                bytes (little-endian hex) of every tensor, plus float values as
                                f32 bit patterns where the reference can convert them

Check files that the Swift writers produced (MMGRAPH_EXPORT_DIR=DIR swift test --filter
RoundTrip writes them):  files.py --verify-swift-output DIR
"""

import json
import os
import struct
import sys

import numpy as np
import torch
from safetensors.numpy import save_file as np_save_file
from safetensors.numpy import load_file as np_load_file
from safetensors import safe_open
from safetensors.torch import save_file as torch_save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Goldens", "files")

SAFETENSORS_NAMES = {
    torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.float8_e4m3fn: "F8_E4M3",
    torch.float8_e5m2: "F8_E5M2", torch.int16: "I16", torch.uint16: "U16", torch.float16: "F16",
    torch.bfloat16: "BF16", torch.int32: "I32", torch.uint32: "U32", torch.float32: "F32",
    torch.float64: "F64", torch.int64: "I64", torch.uint64: "U64",
}
NPY_NAMES = {"f2": "F16", "f4": "F32", "f8": "F64", "i1": "I8", "i2": "I16", "i4": "I32",
             "i8": "I64", "u1": "U8", "u2": "U16", "u4": "U32", "u8": "U64", "b1": "BOOL"}


def f32_bits(values):
    return [int(x) for x in np.asarray(values, dtype=np.float32).reshape(-1).view(np.uint32)]


def torch_entry(t):
    """Expected content of a torch tensor: raw bytes, and f32 bits for float dtypes."""
    t = t.contiguous()
    raw = t.reshape(-1).view(torch.uint8).numpy().tobytes()
    entry = {"dtype": SAFETENSORS_NAMES[t.dtype], "shape": list(t.shape), "hex": raw.hex()}
    if t.dtype.is_floating_point:
        entry["f32_bits"] = f32_bits(t.to(torch.float32).reshape(-1).numpy())
    return entry


def all_dtype_tensors():
    special = [0.0, -0.0, 1.0, -2.5, 0.1, 1e-3, 65504.0, float("inf"), float("-inf"), float("nan")]
    f8_values = [0.0, -0.0, 0.5, -1.5, 448.0, -448.0, 2.0 ** -9, 0.1, 3.3, float("nan")]
    f8e5_values = [0.0, 1.0, -2.5, 57344.0, 2.0 ** -16, 0.1, float("inf"), float("-inf"), float("nan")]
    return {
        "bool.flags": torch.tensor([[True, False, True], [False, False, True]]),
        "u8.bytes": torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8),
        "i8.values": torch.tensor([-128, -1, 0, 1, 127], dtype=torch.int8),
        "f8e4m3.values": torch.tensor(f8_values, dtype=torch.float32).to(torch.float8_e4m3fn),
        "f8e5m2.values": torch.tensor(f8e5_values, dtype=torch.float32).to(torch.float8_e5m2),
        "i16.values": torch.tensor([[-32768, -1], [0, 32767]], dtype=torch.int16),
        "u16.values": torch.tensor([0, 1, 65535], dtype=torch.int32).to(torch.uint16),
        "f16.values": torch.tensor(special + [6e-8], dtype=torch.float32).to(torch.float16),
        "bf16.values": torch.tensor(special + [3.0e38, 1e-40], dtype=torch.float32).to(torch.bfloat16),
        "i32.values": torch.tensor([-(2 ** 31), -7, 0, 2 ** 31 - 1], dtype=torch.int32),
        "u32.values": torch.tensor([0, 7, 2 ** 32 - 1], dtype=torch.int64).to(torch.uint32),
        "f32.matrix": torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 7 - 1,
        "f32.scalar": torch.tensor(3.25, dtype=torch.float32),
        "f32.empty": torch.zeros((0, 3), dtype=torch.float32),
        "f64.values": torch.tensor([1.0 / 3.0, -1e300, 5e-324, float("nan")], dtype=torch.float64),
        "i64.values": torch.tensor([-(2 ** 63), -1, 0, 2 ** 63 - 1], dtype=torch.int64),
        "u64.values": torch.tensor([0, 1, 2 ** 63], dtype=torch.uint64),
    }


def write_safetensors(expected):
    tensors = all_dtype_tensors()
    path = os.path.join(OUT, "all_dtypes.safetensors")
    torch_save_file(tensors, path, metadata={"format": "pt"})
    expected["all_dtypes.safetensors"] = {
        "metadata": {"format": "pt"},
        "tensors": {name: torch_entry(t) for name, t in tensors.items()},
    }


def write_sharded(expected):
    directory = os.path.join(OUT, "sharded")
    os.makedirs(directory, exist_ok=True)
    shards = {
        "model-00001-of-00002.safetensors": {
            "embed.weight": np.arange(12, dtype=np.float32).reshape(4, 3),
            "layers.0.bias": np.array([1, -2], dtype=np.int32),
        },
        "model-00002-of-00002.safetensors": {
            "layers.0.weight": np.arange(6, dtype=np.float16).reshape(2, 3) / 4,
            "head.weight": np.array([[0.5, -0.25]], dtype=np.float64),
        },
    }
    weight_map, entries, total = {}, {}, 0
    for shard, tensors in shards.items():
        np_save_file(tensors, os.path.join(directory, shard), metadata={"format": "np"})
        for name, a in tensors.items():
            weight_map[name] = shard
            total += a.nbytes
            entries[name] = numpy_entry(a)
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
    expected["sharded"] = {"weight_map": weight_map, "total_size": total, "tensors": entries}


def numpy_entry(a):
    """Expected content: dtype, shape and the row-major little-endian bytes."""
    native = a.astype(a.dtype.newbyteorder("<"))
    entry = {"dtype": NPY_NAMES[a.dtype.str[1:]], "shape": list(a.shape),
             "hex": np.ascontiguousarray(native).tobytes().hex()}
    if a.dtype.kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            entry["f32_bits"] = f32_bits(native.astype(np.float32))
    return entry


def npy_arrays():
    rng = np.random.default_rng(7)
    arrays = {}
    for code in ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]:
        dtype = np.dtype("<" + code) if code[1] != "1" else np.dtype(code)
        if code[0] == "f":
            a = (rng.standard_normal((2, 3)) * 10).astype(dtype)
        else:
            info = np.iinfo(dtype)
            a = np.array([[info.min, -1 if info.min < 0 else 1, 0], [7, info.max - 1, info.max]], dtype=dtype)
        arrays[f"{code}.npy"] = (a, None)
        if code[1] != "1":
            arrays[f"{code}_big.npy"] = (a.astype(dtype.newbyteorder(">")), None)
    arrays["b1.npy"] = (np.array([True, False, False, True, True]), None)
    arrays["fortran_2d.npy"] = (np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)), None)
    arrays["fortran_3d_big.npy"] = (
        np.asfortranarray(np.arange(24, dtype=">i4").reshape(2, 3, 4)), None)
    arrays["scalar.npy"] = (np.array(2.5, dtype=np.float64), None)
    arrays["empty.npy"] = (np.zeros((0, 3), dtype=np.float32), None)
    arrays["vector.npy"] = (np.arange(5, dtype=np.int64), None)
    arrays["v2.npy"] = (np.arange(6, dtype=np.float32).reshape(2, 3), (2, 0))
    arrays["v3.npy"] = (np.arange(4, dtype=np.uint16), (3, 0))
    return arrays


def write_npy(expected):
    directory = os.path.join(OUT, "npy")
    os.makedirs(directory, exist_ok=True)
    table = {}
    for name, (a, version) in npy_arrays().items():
        path = os.path.join(directory, name)
        if version is None:
            np.save(path, a)
        else:
            with open(path, "wb") as f:
                np.lib.format.write_array(f, a, version=version)
        entry = numpy_entry(a)
        # Files np.save writes for little-endian C-order arrays are what NPY.write must match.
        entry["byte_identical"] = (version is None and not a.dtype.str.startswith(">")
                                   and not (a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous))
        table[name] = entry
    expected["npy"] = table


def verify_swift_output(directory):
    """Reads files that MMWeights wrote and checks them against what the test put in them."""
    manifest = json.load(open(os.path.join(directory, "manifest.json")))
    checked = 0
    for name, entry in manifest["safetensors"].items():
        with safe_open(os.path.join(directory, name), framework="pt") as f:
            assert sorted(f.keys()) == sorted(entry["tensors"]), (name, f.keys())
            assert (f.metadata() or {}) == entry["metadata"], f.metadata()
            for key, want in entry["tensors"].items():
                got = torch_entry(f.get_tensor(key))
                assert got["dtype"] == want["dtype"] and got["shape"] == want["shape"], (key, got, want)
                assert got["hex"] == want["hex"], (name, key)
                checked += 1
    for name, want in manifest["npy"].items():
        a = np.load(os.path.join(directory, name))
        got = numpy_entry(a)
        assert got["dtype"] == want["dtype"] and got["shape"] == want["shape"], (name, got, want)
        assert got["hex"] == want["hex"], name
        checked += 1
    print(f"verified {checked} tensors written by Swift")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--verify-swift-output":
        verify_swift_output(sys.argv[2])
        return
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    write_safetensors(expected)
    write_sharded(expected)
    write_npy(expected)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    # Sanity: the reference readers agree with what we wrote.
    assert np_load_file(os.path.join(OUT, "sharded", "model-00001-of-00002.safetensors"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
