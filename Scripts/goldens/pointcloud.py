#!/usr/bin/env python3
"""Point cloud fixtures and goldens for Tests/MMMediaIOTests/PointCloud*.swift.

Writes one seeded cloud (x y z nx ny nz red green blue) as PLY (ascii, binary little and big
endian, with extra elements and list properties to skip), PCD (ascii and binary, packed rgb),
XYZ (comma separated, comments) and NPY into Tests/Fixtures/pointcloud/, and into
Tests/Goldens/pointcloud/ the source values plus ULIP's pc_normalize, farthest point sampling and
kNN grouping computed by a numpy float32 transcription (squared distances (dx*dx+dy*dy)+dz*dz,
FPS from index 0 with argmax ties to the lowest index, kNN by stable argsort).

Run: /work/venv/bin/python Scripts/goldens/pointcloud.py
"""
import json
import pathlib
import struct

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "Tests/Fixtures/pointcloud"
GOLD = ROOT / "Tests/Goldens/pointcloud"
FIX.mkdir(parents=True, exist_ok=True)
GOLD.mkdir(parents=True, exist_ok=True)

rng = np.random.default_rng(20261129)
N = 203
xyz = (rng.standard_normal((N, 3)) * np.array([1.5, 0.7, 0.3]) + np.array([2.0, -1.0, 0.5])).astype(np.float32)
normals = rng.standard_normal((N, 3)).astype(np.float32)
normals /= np.linalg.norm(normals, axis=1, keepdims=True).astype(np.float32)
normals = normals.astype(np.float32)
colours = rng.integers(0, 256, size=(N, 3), dtype=np.uint8)
faces = [rng.integers(0, N, size=rng.integers(3, 5)) for _ in range(7)]
COLUMNS = ["x", "y", "z", "nx", "ny", "nz", "red", "green", "blue"]
values = np.concatenate([xyz, normals, colours.astype(np.float32)], axis=1)


def g(v):
    return "%.9g" % float(v)


def ply_header(fmt):
    return (
        "ply\nformat %s 1.0\ncomment seeded test cloud\n"
        "element camera 2\nproperty float view_x\nproperty list uchar int tags\n"
        "element vertex %d\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property list uchar int vertex_extra\n"
        "property float nx\nproperty float ny\nproperty float nz\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        "element face %d\nproperty list uchar int vertex_indices\nend_header\n" % (fmt, N, len(faces))
    ).encode()


cameras = [(0.5, [1, 2, 3]), (-2.25, [])]


def write_ply_ascii():
    out = [ply_header("ascii").decode()]
    for v, tags in cameras:
        out.append(" ".join([g(v), str(len(tags))] + [str(t) for t in tags]) + "\n")
    for i in range(N):
        extra = [str(i % 3)] + [str(i + j) for j in range(i % 3)]
        out.append(" ".join([g(c) for c in xyz[i]] + extra + [g(c) for c in normals[i]] + [str(c) for c in colours[i]]) + "\n")
    for f in faces:
        out.append(" ".join([str(len(f))] + [str(int(x)) for x in f]) + "\n")
    (FIX / "cloud_ascii.ply").write_bytes("".join(out).encode())


def write_ply_binary(big):
    e = ">" if big else "<"
    out = bytearray(ply_header("binary_big_endian" if big else "binary_little_endian"))
    for v, tags in cameras:
        out += struct.pack(e + "fB", v, len(tags)) + struct.pack(e + "%di" % len(tags), *tags)
    for i in range(N):
        out += struct.pack(e + "3f", *xyz[i])
        out += struct.pack(e + "B", i % 3) + struct.pack(e + "%di" % (i % 3), *[i + j for j in range(i % 3)])
        out += struct.pack(e + "3f", *normals[i]) + struct.pack(e + "3B", *colours[i])
    for f in faces:
        out += struct.pack(e + "B", len(f)) + struct.pack(e + "%di" % len(f), *[int(x) for x in f])
    (FIX / ("cloud_be.ply" if big else "cloud_le.ply")).write_bytes(bytes(out))


def packed_rgb(c):
    bits = (int(c[0]) << 16) | (int(c[1]) << 8) | int(c[2])
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


def pcd_header(data):
    return (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
        "FIELDS x y z nx ny nz rgb\nSIZE 4 4 4 4 4 4 4\nTYPE F F F F F F F\nCOUNT 1 1 1 1 1 1 1\n"
        "WIDTH %d\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS %d\nDATA %s\n" % (N, N, data)
    ).encode()


def write_pcd():
    lines = [pcd_header("ascii").decode()]
    for i in range(N):
        lines.append(" ".join([g(c) for c in xyz[i]] + [g(c) for c in normals[i]] + [g(packed_rgb(colours[i]))]) + "\n")
    (FIX / "cloud_ascii.pcd").write_bytes("".join(lines).encode())
    out = bytearray(pcd_header("binary"))
    for i in range(N):
        out += struct.pack("<6f", *xyz[i], *normals[i]) + struct.pack("<I", (int(colours[i][0]) << 16) | (int(colours[i][1]) << 8) | int(colours[i][2]))
    (FIX / "cloud_binary.pcd").write_bytes(bytes(out))


def write_xyz():
    lines = ["# seeded test cloud: x, y, z, nx, ny, nz, red, green, blue\n"]
    for i in range(N):
        lines.append(", ".join("%.6f" % c for c in values[i]) + ("  # point %d\n" % i if i % 50 == 0 else "\n"))
    (FIX / "cloud.xyz").write_bytes("".join(lines).encode())
    np.save(FIX / "cloud.npy", values)


def sqdist(points, c):
    d = points - c
    return (d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]) + d[:, 2] * d[:, 2]


def pc_normalize(pc):  # ULIP, data/dataset_3d.py
    centroid = np.mean(pc, axis=0)
    pc = pc - centroid
    m = np.max(np.sqrt(np.sum(pc ** 2, axis=1)))
    pc = pc / m
    return pc


def fps(points, m):
    n = points.shape[0]
    distance = np.full(n, np.inf, dtype=np.float32)
    farthest = 0
    picked = []
    for _ in range(m):
        picked.append(farthest)
        distance = np.minimum(distance, sqdist(points, points[farthest]))
        farthest = int(np.argmax(distance))
    return picked


def knn(points, centres, k):
    idx = [np.argsort(sqdist(points, points[c]), kind="stable")[:k] for c in centres]
    idx = np.array(idx, dtype=np.int64)
    neigh = points[idx] - points[np.array(centres)][:, None, :]
    return idx, neigh


def golden(name, points, groups, k, extra):
    pts = points.astype(np.float32)
    centres = fps(pts, groups)
    idx, neigh = knn(pts, centres, k)
    try:  # second opinion on the kNN sets (not the order of exact ties) from torch
        import torch

        t = torch.from_numpy(pts)
        d = ((t[None, :, :] - t[centres][:, None, :]) ** 2).sum(-1)
        top = torch.topk(d, k, largest=False, sorted=True).indices.numpy()
        assert all(np.allclose(np.sort(d.numpy()[i][top[i]]), np.sort(d.numpy()[i][idx[i]])) for i in range(groups))
    except ImportError:
        pass
    out = dict(extra, groups=groups, k=k, points=pts.reshape(-1).tolist(), count=int(pts.shape[0]),
               fps=centres, knn_indices=idx.reshape(-1).tolist(), neighbourhoods=neigh.astype(np.float32).reshape(-1).tolist())
    (GOLD / name).write_text(json.dumps(out))


write_ply_ascii()
write_ply_binary(False)
write_ply_binary(True)
write_pcd()
write_xyz()
(GOLD / "cloud.json").write_text(json.dumps({"columns": COLUMNS, "values": values.reshape(-1).tolist()}))
normalized = pc_normalize(xyz)
golden("sampling_normalized.json", normalized, 32, 16, {"source": xyz.reshape(-1).tolist()})
# Integer grid: many exact distance ties, so the tie rules (lowest index) decide the answer.
grid = np.array([[x, y, z] for z in range(3) for y in range(4) for x in range(5)], dtype=np.float32)
grid = grid[np.random.default_rng(7).permutation(len(grid))]
golden("sampling_grid_ties.json", grid, 12, 7, {})
print("wrote", sorted(p.name for p in FIX.iterdir()), sorted(p.name for p in GOLD.iterdir()))
