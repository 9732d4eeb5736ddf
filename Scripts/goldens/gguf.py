"""GGUF fixture and quantization goldens, written by the reference `gguf` package (llama.cpp's
gguf-py; the version is pinned in requirements.txt).

Run:  .venv-goldens/bin/python Scripts/goldens/gguf.py
Writes:
  Tests/Fixtures/gguf/tiny.gguf     GGUF v3, alignment 64 (general.alignment): metadata of every
                                    value type (scalars, strings, arrays of each type, nested
                                    arrays) and [4, 512] tensors in F32, F16, BF16, Q4_0, Q4_1,
                                    Q8_0, Q4_K, Q5_K, Q6_K, plus a 1-d F32, a 3-d F16 and an I32
  Tests/Goldens/gguf/<tensor>.npy   gguf.quants.dequantize of each tensor (float32, row-major)
  Tests/Goldens/gguf/expected.json  what a reader must find: version, alignment, the metadata
                                    (type-tagged, floats as bit patterns, 64-bit integers as
                                    decimal strings) and each tensor's type, row-major shape,
                                    absolute data offset and byte count as gguf.GGUFReader reads
                                    them back

Q4_0, Q4_1, Q8_0 and BF16 blocks come from gguf.quants.quantize (bit-exact with ggml's
reference quantizers) over seeded data that includes an all-zero block, a constant block and a
wide-range block. The gguf package has no K-quant quantizer, so the Q4_K, Q5_K and Q6_K blocks
are seeded random bytes with finite f16 super-block scales: every bit of the scale and quant
fields is exercised and the dequantization (the part under test) is defined for all of them.
"""

import importlib.metadata
import json
import os
import sys

# This script is itself called gguf.py: keep its folder off the import path so that `import gguf`
# finds the package, not this file.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402
import gguf  # noqa: E402
from gguf import GGMLQuantizationType as T  # noqa: E402
from gguf import GGUFValueType as V  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "Tests", "Fixtures", "gguf", "tiny.gguf")
GOLDENS = os.path.join(ROOT, "Tests", "Goldens", "gguf")
ROWS, COLS = 4, 512


def source_rows(rng):
    """[4, 512] f32: gaussian rows with an all-zero block, a constant block and a wide block."""
    x = rng.standard_normal((ROWS, COLS)).astype(np.float32)
    x[1, 0:32] = 0
    x[1, 32:64] = 0.75
    x[2, 64:96] *= 1000
    x[3, :] *= np.float32(1e-3)
    return x


def random_k_blocks(rng, qtype):
    """Random bytes for [4, 512] of a K-quant type, with finite f16 d (and dmin)."""
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    n_blocks = ROWS * COLS // block_size
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)

    def f16(values):
        return np.asarray(values, dtype=np.float16).view(np.uint8).reshape(n_blocks, 2)

    d = rng.uniform(-0.05, 0.05, n_blocks)
    d[0] = 0.0  # a zero scale
    if qtype in (T.Q4_K, T.Q5_K):  # d, dmin first
        blocks[:, 0:2] = f16(d)
        dmin = rng.uniform(0.0, 0.05, n_blocks)
        dmin[1] = -0.01  # a negative min: unusual but representable
        blocks[:, 2:4] = f16(dmin)
    elif qtype == T.Q6_K:  # d last
        blocks[:, -2:] = f16(d)
    return blocks.reshape(ROWS, -1)


def tensors():
    rng = np.random.default_rng(20240601)
    x = source_rows(rng)
    out = {
        "f32": (x, None),
        "f16": (x.astype(np.float16), None),
        "bf16": (gguf.quants.quantize(x, T.BF16), T.BF16),
        "q4_0": (gguf.quants.quantize(x, T.Q4_0), T.Q4_0),
        "q4_1": (gguf.quants.quantize(x, T.Q4_1), T.Q4_1),
        "q8_0": (gguf.quants.quantize(x, T.Q8_0), T.Q8_0),
        "q4_k": (random_k_blocks(rng, T.Q4_K), T.Q4_K),
        "q5_k": (random_k_blocks(rng, T.Q5_K), T.Q5_K),
        "q6_k": (random_k_blocks(rng, T.Q6_K), T.Q6_K),
        "norm.weight": (rng.standard_normal(256).astype(np.float32), None),
        "f16_3d": (rng.standard_normal((2, 3, 64)).astype(np.float16), None),
        "i32": (np.arange(-6, 9, dtype=np.int32).reshape(3, 5), None),
    }
    return out


# key -> (value type, value, array element type or None)
METADATA = [
    ("general.name", V.STRING, "tiny ✓ fixture", None),
    ("general.empty_string", V.STRING, "", None),
    ("test.uint8", V.UINT8, 200, None),
    ("test.int8", V.INT8, -100, None),
    ("test.uint16", V.UINT16, 60000, None),
    ("test.int16", V.INT16, -30000, None),
    ("test.uint32", V.UINT32, 4000000000, None),
    ("test.int32", V.INT32, -2000000000, None),
    ("test.uint64", V.UINT64, 2**63 + 5, None),
    ("test.int64", V.INT64, -(2**62) - 7, None),
    ("test.float32", V.FLOAT32, 3.14159, None),
    ("test.float64", V.FLOAT64, 2.718281828459045, None),
    ("test.bool_true", V.BOOL, True, None),
    ("test.bool_false", V.BOOL, False, None),
    ("test.array.uint8", V.ARRAY, [0, 1, 255], V.UINT8),
    ("test.array.int8", V.ARRAY, [-128, 0, 127], V.INT8),
    ("test.array.uint16", V.ARRAY, [0, 65535], V.UINT16),
    ("test.array.int16", V.ARRAY, [-32768, 32767], V.INT16),
    ("test.array.uint32", V.ARRAY, [0, 4294967295], V.UINT32),
    ("test.array.int32", V.ARRAY, [1, -2, 3], V.INT32),
    ("test.array.uint64", V.ARRAY, [0, 2**64 - 1], V.UINT64),
    ("test.array.int64", V.ARRAY, [-(2**63), 2**63 - 1], V.INT64),
    ("test.array.float32", V.ARRAY, [0.5, -1.25, 1e-8], V.FLOAT32),
    ("test.array.float64", V.ARRAY, [0.1, -1e300], V.FLOAT64),
    ("test.array.bool", V.ARRAY, [True, False, True], V.BOOL),
    ("test.array.string", V.ARRAY, ["a", "bé", "", "<0x0A>"], V.STRING),
    ("test.array.nested", V.ARRAY, [[1, 2], [3]], V.ARRAY),
    ("test.array.nested_strings", V.ARRAY, [["x"], ["y", "z"]], V.ARRAY),
    ("tokenizer.ggml.scores", V.ARRAY, [0.0, -1.5, -2.25], V.FLOAT32),
]


def tagged(vtype, value, sub_type=None):
    """The JSON form of a typed value: floats as bit patterns, 64-bit integers as strings."""
    if vtype == V.ARRAY:
        if sub_type is None:  # inferred from the first element, as GGUFWriter does
            sub_type = V.get_type(value[0])
        return {
            "type": "ARRAY",
            "element_type": sub_type.name,
            "values": [tagged(sub_type, v, None) for v in value],
        }
    if vtype == V.FLOAT32:
        return {"type": vtype.name, "bits": int(np.array(value, np.float32).view(np.uint32))}
    if vtype == V.FLOAT64:
        return {"type": vtype.name, "bits": str(int(np.array(value, np.float64).view(np.uint64)))}
    if vtype in (V.UINT64, V.INT64):
        return {"type": vtype.name, "value": str(value)}
    return {"type": vtype.name, "value": value}


def main():
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    os.makedirs(GOLDENS, exist_ok=True)
    writer = gguf.GGUFWriter(FIXTURE, arch="llama")
    writer.add_custom_alignment(64)
    expected_metadata = {
        "general.architecture": tagged(V.STRING, "llama"),
        "general.alignment": tagged(V.UINT32, 64),
    }
    for key, vtype, value, sub_type in METADATA:
        # add_key_value, not add_string: the latter silently drops empty strings.
        writer.add_key_value(key, value, vtype, sub_type=sub_type)
        expected_metadata[key] = tagged(vtype, value, sub_type)
    all_tensors = tensors()
    for name, (data, raw_dtype) in all_tensors.items():
        writer.add_tensor(name, data, raw_dtype=raw_dtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    reader = gguf.GGUFReader(FIXTURE)
    expected_tensors = {}
    for t in reader.tensors:
        qtype = T(t.tensor_type)
        # The reader reports ggml's dimensions (fastest first); rows are reversed.
        shape = [int(d) for d in reversed(t.shape.tolist())]
        expected_tensors[t.name] = {
            "type": qtype.name,
            "type_id": int(qtype),
            "shape": shape,
            "data_offset": int(t.data_offset),
            "n_bytes": int(t.n_bytes),
        }
        if qtype not in (T.I8, T.I16, T.I32, T.I64):
            values = gguf.quants.dequantize(np.asarray(t.data), qtype)
            values = np.asarray(values, dtype=np.float32).reshape(shape)
            np.save(os.path.join(GOLDENS, t.name + ".npy"), values)
    read_back = {f.name: f for f in reader.fields.values()}
    assert set(read_back) >= set(expected_metadata), "reader lost keys"
    with open(os.path.join(GOLDENS, "expected.json"), "w") as f:
        json.dump(
            {
                "gguf_package": importlib.metadata.version("gguf"),
                "version": 3,
                "alignment": 64,
                "metadata": expected_metadata,
                "metadata_order": list(expected_metadata),
                "tensors": expected_tensors,
                "tensor_order": [t.name for t in reader.tensors],
            },
            f,
            indent=1,
            ensure_ascii=False,
        )
    print(f"wrote {FIXTURE} ({os.path.getsize(FIXTURE)} bytes) and goldens in {GOLDENS}")


if __name__ == "__main__":
    main()
