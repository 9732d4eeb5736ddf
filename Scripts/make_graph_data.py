"""Writes the small .npy files used by Graphs/*.json and the CLI tests (Tests/Fixtures).

Values are small integers and halves so every graph result is exact in f32 and the tests can
compare outputs bit for bit. Run: /work/venv/bin/python Scripts/make_graph_data.py
"""
import pathlib

import numpy as np

root = pathlib.Path(__file__).resolve().parent.parent
data = root / "Graphs" / "data"
fixtures = root / "Tests" / "Fixtures"
data.mkdir(parents=True, exist_ok=True)
fixtures.mkdir(parents=True, exist_ok=True)


def grid(shape, scale=0.5, offset=0.0):
    n = int(np.prod(shape))
    return (((np.arange(n) * 7) % 11 - 5) * scale + offset).astype(np.float32).reshape(shape)


# tensor-arithmetic: a, b [2, 3]; w [3, 2]
np.save(data / "w.npy", grid((3, 2), 1.0))
np.save(fixtures / "a.npy", grid((2, 3), 0.5))
np.save(fixtures / "b.npy", grid((2, 3), 1.0, 1.0))
# two-branches and mlp: x [3, 4]; w1 [4, 5]; w2 [4, 3]; biases
np.save(fixtures / "x.npy", grid((3, 4), 0.5))
np.save(data / "w1.npy", grid((4, 5), 0.5))
np.save(data / "w2.npy", grid((4, 3), 0.25))
np.save(data / "b1.npy", grid((5,), 0.5))
np.save(data / "b2.npy", grid((3,), 1.0))
# a big-endian f64 input and an integer input (type mismatch tests)
np.save(fixtures / "a-f64be.npy", grid((2, 3), 0.5).astype(">f8"))
np.save(fixtures / "ints.npy", np.arange(6, dtype=np.int32).reshape(2, 3))
# a wrong shape for tensor-arithmetic
np.save(fixtures / "wrong-shape.npy", grid((4, 4), 1.0))
(fixtures / "hello.txt").write_text("hello graph\n")
# mlp second layer: w3 [5, 3]
np.save(data / "w3.npy", grid((5, 3), 0.5))
