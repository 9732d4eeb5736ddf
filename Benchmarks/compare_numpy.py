#!/usr/bin/env python3
"""Side-by-side speed of mmgraph's kernels and numpy (OpenBLAS), in one run, alternating.

For every shape and thread count, each round times mmgraph (`mmgraph bench … --json`, a child
process) and numpy (`a @ b` in this process, under threadpoolctl's thread limit) one after the
other, in alternating order, with the same method: a warm-up call, then calls for --min-time
seconds, keeping the best. The reported figure per side is the median over rounds of those bests,
and the ratio is mmgraph / numpy (> 1.0: mmgraph is faster).

    python3 -m pip install numpy threadpoolctl
    python3 Benchmarks/compare_numpy.py --mmgraph .build/release/mmgraph [--rounds 5] [--json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# Some machines set these for old OpenBLAS builds; they slow a current one. Drop them for numpy
# only (they must be gone before numpy loads OpenBLAS); mmgraph does not read them.
for variable in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(variable, None)

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

GEMM_SHAPES = [(1024, 1024, 1024), (197, 768, 768), (197, 768, 3072)]
GEMV_SHAPES = [(1, 4096, 4096)]


def numpy_best(m, k, n, threads, min_time):
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
    with threadpool_limits(limits=threads, user_api="blas"):
        a @ b
        times = []
        start = time.perf_counter()
        while len(times) < 3 or time.perf_counter() - start < min_time:
            t0 = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - t0)
    return min(times)


def mmgraph_best(binary, kernel, m, k, n, threads, min_time):
    command = [binary, "bench", kernel, "--k", str(k), "--n", str(n), "--threads", str(threads),
               "--min-time", str(min_time), "--json"]
    if kernel == "gemm":
        command += ["--m", str(m)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["seconds_best"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mmgraph", default=".build/release/mmgraph")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--min-time", type=float, default=0.5)
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    args = parser.parse_args()

    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    blas_text = ", ".join(f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')})" for p in blas)
    if not args.json:
        print(f"numpy {np.__version__} with {blas_text}; {args.rounds} rounds, alternating order")
        print(f"{'kernel':6} {'shape (m×k×n)':>18} {'threads':>7} {'mmgraph GFLOP/s':>16} {'numpy GFLOP/s':>14} {'ratio':>6}")
    cases = [("gemm", s) for s in GEMM_SHAPES] + [("gemv", s) for s in GEMV_SHAPES]
    for kernel, (m, k, n) in cases:
        for threads in args.threads:
            ours, theirs = [], []
            for round_index in range(args.rounds):
                pair = [
                    lambda: ours.append(mmgraph_best(args.mmgraph, kernel, m, k, n, threads, args.min_time)),
                    lambda: theirs.append(numpy_best(m, k, n, threads, args.min_time)),
                ]
                for run in (pair if round_index % 2 == 0 else pair[::-1]):
                    run()
            flops = 2.0 * m * k * n
            ours_gflops = flops / statistics.median(ours) / 1e9
            numpy_gflops = flops / statistics.median(theirs) / 1e9
            ratio = ours_gflops / numpy_gflops
            if args.json:
                print(json.dumps({"kernel": kernel, "m": m, "k": k, "n": n, "threads": threads,
                                  "mmgraph_gflops": round(ours_gflops, 2),
                                  "numpy_gflops": round(numpy_gflops, 2), "ratio": round(ratio, 3)}))
            else:
                print(f"{kernel:6} {f'{m}×{k}×{n}':>18} {threads:>7} {ours_gflops:>16.1f} {numpy_gflops:>14.1f} {ratio:>6.2f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
