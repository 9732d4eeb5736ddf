"""Fixtures and goldens for the image decoders and preprocessing (Tests/MMMediaIOTests/Image*.swift).

Fixtures (Tests/Fixtures/image): small PNGs of every colour type and bit depth (some written by
PIL, the rest by the minimal writer below, which also makes Adam7-interlaced files, 16-bit
colour, tRNS and every row filter type, none of which PIL's encoder writes), JPEGs written by PIL
(baseline 4:2:0/4:2:2/4:4:4, grey, progressive, CMYK, an EXIF orientation 6) and PNGs carrying an
eXIf chunk with each orientation 1-8.

Goldens (Tests/Goldens/image, .npy):
- <fixture>_decoded: the samples the decoder must produce (from the data the fixture was made
  from: palettes expanded, tRNS as alpha, 16-bit kept), PNGs only;
- <fixture>_rgb: np.asarray(Image.open(f).convert("RGB")), PIL's own decode;
- <fixture>_upright_rgb: ImageOps.exif_transpose(Image.open(f)).convert("RGB");
- resize_*: Image.resize((w, h), filter) of decoded fixtures (PIL; reducing_gap None), some
  shrinking the height much more than the width, where Pillow 13 runs the vertical pass first;
- crop_*: torchvision.transforms.functional.center_crop of the PIL image;
- tvresize_*: torchvision.transforms.Resize of the PIL image; tv_sizes: its size rule;
- pipeline_*: Resize(28, BICUBIC) -> CenterCrop(24) -> ToTensor -> Normalize(CLIP mean/std);
- <photo>_decoded_{sample,digest}, <photo>_imagebind_{sample,digest}, <photo>_crop_digest for
  the shared photos: the full arrays are too large to commit, so the digest holds the CRC-32
  of the array's bytes (uint8 HWC, or float32 CHW little-endian), the element count and the
  sum, and the sample is every 16th (decoded) or 8th (ImageBind tensor) row and column.
  The ImageBind transform is ImageBind's data.load_and_transform_vision_data.

Run from anywhere: /work/venv/bin/python Scripts/goldens/image.py
"""
import io, os, struct, zlib
import numpy as np
import PIL
from PIL import Image, ImageOps
import torch, torchvision
from torchvision import transforms
import torchvision.transforms.functional as TF
from torchvision.transforms.functional import _compute_resized_output_size

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(ROOT, "..", "shared", "testdata")
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "image")
OUT = os.path.join(ROOT, "Tests", "Goldens", "image")
os.makedirs(FIXTURES, exist_ok=True)
os.makedirs(OUT, exist_ok=True)
print("pillow", PIL.__version__, "torch", torch.__version__, "torchvision", torchvision.__version__)

rng = np.random.default_rng(20240613)


def golden(name, array):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(array))


def fixture(name):
    return os.path.join(FIXTURES, name)


# MARK: - A minimal PNG writer (all filter types, Adam7, sub-byte depths, 16-bit, PLTE, tRNS)

def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_row(values, depth):
    values = np.asarray(values).reshape(-1)
    if depth == 16:
        return values.astype(">u2").tobytes()
    if depth == 8:
        return values.astype(np.uint8).tobytes()
    per = 8 // depth
    padded = np.zeros(-(-len(values) // per) * per, np.uint16)
    padded[: len(values)] = values
    padded = padded.reshape(-1, per)
    out = np.zeros(len(padded), np.uint16)
    for i in range(per):
        out |= padded[:, i] << (8 - depth * (i + 1))
    return out.astype(np.uint8).tobytes()


def filter_row(kind, raw, previous, bpp):
    x = np.frombuffer(raw, np.uint8).astype(np.int32)
    b = np.frombuffer(previous, np.uint8).astype(np.int32)
    a = np.concatenate([np.zeros(bpp, np.int32), x[:-bpp]])
    c = np.concatenate([np.zeros(bpp, np.int32), b[:-bpp]])
    if kind == 0:
        pred = np.zeros_like(x)
    elif kind == 1:
        pred = a
    elif kind == 2:
        pred = b
    elif kind == 3:
        pred = (a + b) // 2
    else:
        p = a + b - c
        pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
        pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    return bytes([kind]) + ((x - pred) % 256).astype(np.uint8).tobytes()


def image_data(samples, depth, channels):
    """Filtered scanlines of one (sub)image; filter type cycles 0..4 by row."""
    h = samples.shape[0]
    bpp = max(1, channels * depth // 8)
    out, previous = b"", None
    for y in range(h):
        raw = pack_row(samples[y], depth)
        previous = previous if previous is not None else bytes(len(raw))
        out += filter_row(y % 5, raw, previous, bpp)
        previous = raw
    return out


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def write_png(name, samples, color_type, depth, palette=None, trns=None, interlace=False, level=9):
    """samples: [h, w] or [h, w, c] integers (palette indices for colour type 3)."""
    samples = np.asarray(samples)
    if samples.ndim == 2:
        samples = samples[:, :, None]
    h, w, c = samples.shape
    assert c == CHANNELS[color_type]
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlace)))
    if palette is not None:
        png += chunk(b"PLTE", np.asarray(palette, np.uint8).tobytes())
    if trns is not None:
        png += chunk(b"tRNS", trns)
    if interlace:
        data = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                data += image_data(sub, depth, c)
    else:
        data = image_data(samples, depth, c)
    png += chunk(b"IDAT", zlib.compress(data, level)) + chunk(b"IEND", b"")
    with open(fixture(name), "wb") as f:
        f.write(png)


def smooth(h, w, c, scale, noise):
    """Gradients with some noise: compresses well, still exercises every filter."""
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for k in range(c):
        v = (np.sin(x / (3.0 + k) + k) + np.cos(y / (4.0 + 2 * k))) * 0.25 + 0.5
        v = v * scale + rng.integers(0, noise + 1, size=(h, w))
        planes.append(np.clip(v, 0, scale))
    return np.stack(planes, axis=-1).astype(np.int64)


def save_decoded(stem, decoded):
    golden(stem + "_decoded", decoded)


def pil_rgb(stem, path):
    golden(stem + "_rgb", np.asarray(Image.open(path).convert("RGB")))


# MARK: - PNG fixtures

W, H = 29, 19
# Low-bit grey: expansion scales by bit replication (x255, x85, x17).
for depth in (1, 2, 4):
    levels = (1 << depth) - 1
    v = rng.integers(0, levels + 1, size=(H, W))
    write_png(f"grey{depth}.png", v, 0, depth)
    save_decoded(f"grey{depth}", (v * (255 // levels)).astype(np.uint8))
    pil_rgb(f"grey{depth}", fixture(f"grey{depth}.png"))
v = rng.integers(0, 4, size=(H, W))
write_png("grey2_interlaced.png", v, 0, 2, interlace=True)
save_decoded("grey2_interlaced", (v * 85).astype(np.uint8))
pil_rgb("grey2_interlaced", fixture("grey2_interlaced.png"))

# 8-bit grey and grey+alpha, RGB, RGBA written by PIL (48x36: the resize sources).
grey8 = smooth(36, 48, 1, 255, 40)[:, :, 0].astype(np.uint8)
Image.fromarray(grey8, "L").save(fixture("grey8.png"))
save_decoded("grey8", grey8)
la8 = np.stack([grey8, smooth(36, 48, 1, 255, 0)[:, :, 0].astype(np.uint8)], -1)
Image.fromarray(la8, "LA").save(fixture("greyalpha8.png"))
save_decoded("greyalpha8", la8)
rgb8 = smooth(36, 48, 3, 255, 40).astype(np.uint8)
Image.fromarray(rgb8, "RGB").save(fixture("rgb8.png"))
save_decoded("rgb8", rgb8)
rgba8 = np.concatenate([rgb8, smooth(36, 48, 1, 255, 30).astype(np.uint8)], -1)
rgba8[0:6, 0:6, 3] = 0  # fully transparent corner
rgba8[6:12, 0:6, 3] = 255
Image.fromarray(rgba8, "RGBA").save(fixture("rgba8.png"))
save_decoded("rgba8", rgba8)
for stem in ("grey8", "greyalpha8", "rgb8", "rgba8"):
    pil_rgb(stem, fixture(stem + ".png"))
    assert np.array_equal(np.asarray(Image.open(fixture(stem + ".png"))), np.load(os.path.join(OUT, stem + "_decoded.npy")))

# 16-bit: kept at 16 bits by the decoder; PIL reduces (I;16 -> RGB clamps at 255, RGB;16B etc.
# keep the high byte).
g16 = smooth(H, W, 1, 65535, 3000)[:, :, 0]
g16[0, :8] = [0, 1, 128, 255, 256, 1000, 65534, 65535]
write_png("grey16.png", g16, 0, 16)
save_decoded("grey16", g16.astype(np.uint16))
assert np.array_equal(np.asarray(Image.open(fixture("grey16.png"))).astype(np.int64), g16)
ga16 = smooth(H, W, 2, 65535, 3000)
write_png("greyalpha16.png", ga16, 4, 16)
save_decoded("greyalpha16", ga16.astype(np.uint16))
rgb16 = smooth(H, W, 3, 65535, 3000)
write_png("rgb16.png", rgb16, 2, 16)
save_decoded("rgb16", rgb16.astype(np.uint16))
rgba16 = smooth(H, W, 4, 65535, 3000)
write_png("rgba16.png", rgba16, 6, 16)
save_decoded("rgba16", rgba16.astype(np.uint16))
rgb16i = smooth(H, W, 3, 65535, 3000)
write_png("rgb16_interlaced.png", rgb16i, 2, 16, interlace=True)
save_decoded("rgb16_interlaced", rgb16i.astype(np.uint16))
for stem in ("grey16", "greyalpha16", "rgb16", "rgba16", "rgb16_interlaced"):
    pil_rgb(stem, fixture(stem + ".png"))
# PIL's grey+alpha 16 -> RGBA uses the high bytes; check that is what it did.
assert np.array_equal(np.load(os.path.join(OUT, "greyalpha16_rgb.npy"))[:, :, 0], (ga16[:, :, 0] >> 8).astype(np.uint8))
assert np.array_equal(np.load(os.path.join(OUT, "grey16_rgb.npy"))[:, :, 0], np.minimum(g16, 255).astype(np.uint8))

# Palettes: 4-bit plain, 2-bit with tRNS, 8-bit with tRNS by PIL, 1-bit interlaced.
pal = rng.integers(0, 256, size=(11, 3))
idx = rng.integers(0, 11, size=(H, W))
write_png("palette4.png", idx, 3, 4, palette=pal)
save_decoded("palette4", pal[idx].astype(np.uint8))
pal2 = rng.integers(0, 256, size=(4, 3))
alpha2 = np.array([0, 128, 255], np.uint8)  # shorter than the palette: index 3 is opaque
idx2 = rng.integers(0, 4, size=(H, W))
write_png("palette2_trns.png", idx2, 3, 2, palette=pal2, trns=alpha2.tobytes())
full_alpha2 = np.concatenate([alpha2, [255]])
save_decoded("palette2_trns", np.concatenate([pal2[idx2], full_alpha2[idx2][:, :, None]], -1).astype(np.uint8))
pal1 = np.array([[10, 200, 30], [250, 240, 5]])
idx1 = rng.integers(0, 2, size=(H, W))
write_png("palette1_interlaced.png", idx1, 3, 1, palette=pal1, interlace=True)
save_decoded("palette1_interlaced", pal1[idx1].astype(np.uint8))
p8 = Image.fromarray(rng.integers(0, 40, size=(H, W)).astype(np.uint8), "P")
pal8 = rng.integers(0, 256, size=(256, 3)).astype(np.uint8)
p8.putpalette(pal8.reshape(-1).tolist())
p8.info["transparency"] = bytes([255, 0, 64] + [255] * 37)
p8.save(fixture("palette8_trns.png"), transparency=bytes([255, 0, 64] + [255] * 37))
alpha8 = np.array([255, 0, 64] + [255] * 253, np.uint8)
i8 = np.asarray(p8)
save_decoded("palette8_trns", np.concatenate([pal8[i8], alpha8[i8][:, :, None]], -1))
assert np.array_equal(np.asarray(Image.open(fixture("palette8_trns.png")).convert("RGBA")), np.load(os.path.join(OUT, "palette8_trns_decoded.npy")))
for stem in ("palette4", "palette2_trns", "palette1_interlaced", "palette8_trns"):
    pil_rgb(stem, fixture(stem + ".png"))
    assert np.array_equal(np.load(os.path.join(OUT, stem + "_rgb.npy")), np.load(os.path.join(OUT, stem + "_decoded.npy"))[:, :, :3])

# tRNS on grey and RGB: one colour becomes transparent.
gt = rng.integers(0, 256, size=(H, W))
gt[::3, ::4] = 77
write_png("grey8_trns.png", gt, 0, 8, trns=struct.pack(">H", 77))
save_decoded("grey8_trns", np.stack([gt, np.where(gt == 77, 0, 255)], -1).astype(np.uint8))
rt = rng.integers(0, 4, size=(H, W, 3)) * 60
write_png("rgb8_trns.png", rt, 2, 8, trns=struct.pack(">HHH", 60, 0, 120))
mask = np.all(rt == [60, 0, 120], axis=-1)
save_decoded("rgb8_trns", np.concatenate([rt, np.where(mask, 0, 255)[:, :, None]], -1).astype(np.uint8))
rgba_i = smooth(H, W, 4, 255, 60)
write_png("rgba8_interlaced.png", rgba_i, 6, 8, interlace=True)
save_decoded("rgba8_interlaced", rgba_i.astype(np.uint8))
for stem in ("grey8_trns", "rgb8_trns", "rgba8_interlaced"):
    pil_rgb(stem, fixture(stem + ".png"))

# EXIF orientation in PNG eXIf chunks: a 7x5 image, not symmetric.
tiny = rng.integers(0, 256, size=(5, 7, 3)).astype(np.uint8)
for orientation in range(1, 9):
    exif = Image.Exif()
    exif[0x0112] = orientation
    name = f"orient{orientation}.png"
    Image.fromarray(tiny, "RGB").save(fixture(name), exif=exif.tobytes())
    im = Image.open(fixture(name))
    assert im.getexif().get(0x0112) == orientation
    pil_rgb(f"orient{orientation}", fixture(name))
    golden(f"orient{orientation}_upright_rgb", np.asarray(ImageOps.exif_transpose(im).convert("RGB")))

# MARK: - JPEG fixtures (PIL's encoder; decoded by PIL's libjpeg-turbo for the goldens)

photo = smooth(33, 45, 3, 255, 25).astype(np.uint8)
Image.fromarray(photo).save(fixture("baseline420.jpg"), quality=90)
Image.fromarray(photo).save(fixture("baseline422.jpg"), quality=90, subsampling=1)
Image.fromarray(photo).save(fixture("baseline444.jpg"), quality=90, subsampling=0)
Image.fromarray(photo).save(fixture("progressive.jpg"), quality=85, progressive=True)
Image.fromarray(photo[:, :, 1]).save(fixture("grey.jpg"), quality=90)
cmyk = np.concatenate([photo, smooth(33, 45, 1, 200, 20).astype(np.uint8)], -1)
Image.fromarray(cmyk, "CMYK").save(fixture("cmyk.jpg"), quality=90)
exif = Image.Exif()
exif[0x0112] = 6
Image.fromarray(photo[:20, :32]).save(fixture("exif6.jpg"), quality=90, exif=exif.tobytes())
for stem in ("baseline420", "baseline422", "baseline444", "progressive", "grey", "cmyk", "exif6"):
    pil_rgb(stem, fixture(stem + ".jpg"))
assert Image.open(fixture("cmyk.jpg")).mode == "CMYK"
golden("exif6_upright_rgb", np.asarray(ImageOps.exif_transpose(Image.open(fixture("exif6.jpg"))).convert("RGB")))

# MARK: - PIL resize (Image.resize, reducing_gap None) of the 8-bit fixtures

F = Image.Resampling
RESIZES = [
    ("rgb8", "bicubic", 33, 21), ("rgb8", "bilinear", 37, 29), ("rgb8", "bicubic", 71, 53),
    ("rgb8", "bilinear", 70, 52), ("rgb8", "box", 20, 15), ("rgb8", "hamming", 50, 40),
    ("rgb8", "lanczos", 45, 31), ("rgb8", "nearest", 29, 61), ("rgb8", "nearest", 75, 20),
    ("rgb8", "bicubic", 48, 30), ("rgb8", "bicubic", 17, 36), ("rgb8", "bicubic", 3, 2),
    ("rgb8", "bilinear", 1, 1), ("rgb8", "lanczos", 100, 20), ("rgb8", "bicubic", 45, 12),
    ("grey8", "bicubic", 33, 21), ("grey8", "bilinear", 70, 52),
    ("rgba8", "bicubic", 33, 21), ("rgba8", "bilinear", 55, 41), ("rgba8", "nearest", 33, 21),
    ("greyalpha8", "bicubic", 45, 31),
    ("grey16", "bicubic", 20, 13), ("grey16", "bilinear", 50, 40), ("grey16", "bicubic", 26, 10),
]
for stem, filt, w, h in RESIZES:
    im = Image.open(fixture(stem + ".png"))
    golden(f"resize_{stem}_{filt}_{w}x{h}", np.asarray(im.resize((w, h), getattr(F, filt.upper()))))
# Mode "F" (float32) resampling: the float path.
for filt, w, h in [("bicubic", 33, 21), ("bilinear", 55, 41), ("bicubic", 40, 8)]:
    im = Image.open(fixture("grey8.png")).convert("F")
    golden(f"resize_greyF_{filt}_{w}x{h}", np.asarray(im.resize((w, h), getattr(F, filt.upper()))))

# MARK: - torchvision

rgb_im = Image.open(fixture("rgb8.png")).convert("RGB")
for h, w in [(21, 33), (31, 30), (40, 56), (30, 51), (36, 48)]:
    golden(f"crop_rgb8_{h}x{w}", np.asarray(TF.center_crop(rgb_im, [h, w])))
golden("tvresize_rgb8_30", np.asarray(transforms.Resize(30)(rgb_im)))
golden("tvresize_rgb8_30_max35", np.asarray(transforms.Resize(30, max_size=35)(rgb_im)))
golden("tvresize_rgb8_25x39_bicubic", np.asarray(transforms.Resize((25, 39), interpolation=transforms.InterpolationMode.BICUBIC)(rgb_im)))
sizes = []
for h, w, size, max_size in [
    (360, 640, 224, None), (848, 640, 224, None), (640, 640, 224, None), (333, 500, 224, None),
    (500, 333, 224, None), (48, 64, 40, 50), (480, 640, 100, 120), (101, 7, 3, None), (7, 101, 5, 30),
    (1000, 10, 224, 300),
]:
    oh, ow = _compute_resized_output_size((h, w), [size], max_size)
    sizes.append([h, w, size, -1 if max_size is None else max_size, oh, ow])
golden("tv_sizes", np.array(sizes, np.int64))

MEAN, STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
small = transforms.Compose([
    transforms.Resize(28, interpolation=transforms.InterpolationMode.BICUBIC),
    transforms.CenterCrop(24),
    transforms.ToTensor(),
    transforms.Normalize(mean=MEAN, std=STD),
])
for stem in ("rgb8", "baseline420"):
    path = fixture(stem + (".jpg" if stem.startswith("baseline") else ".png"))
    golden(f"pipeline_{stem}", small(Image.open(path).convert("RGB")).numpy())

# MARK: - The shared photos: PIL decode and ImageBind's vision transform

imagebind = transforms.Compose([
    transforms.Resize(224, interpolation=transforms.InterpolationMode.BICUBIC),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(mean=MEAN, std=STD),
])
resize_crop = transforms.Compose([
    transforms.Resize(224, interpolation=transforms.InterpolationMode.BICUBIC),
    transforms.CenterCrop(224),
])


def digest(array):
    a = np.ascontiguousarray(array)
    return np.array([zlib.crc32(a.tobytes()) & 0xFFFFFFFF, a.size, int(np.round(a.astype(np.float64).sum() * 1000))], np.int64)


for name in ("car", "dog"):
    path = os.path.join(SHARED, f"{name}_image.jpg")
    with open(path, "rb") as f:
        image = Image.open(f).convert("RGB")
    decoded = np.asarray(image)
    golden(f"{name}_decoded_sample", decoded[::16, ::16])
    golden(f"{name}_decoded_digest", digest(decoded))
    golden(f"{name}_crop_digest", digest(np.asarray(resize_crop(image))))
    tensor = imagebind(image).numpy().astype("<f4")
    assert tensor.shape == (3, 224, 224)
    golden(f"{name}_imagebind_sample", tensor[:, ::8, ::8])
    golden(f"{name}_imagebind_digest", digest(tensor))

total = sum(os.path.getsize(os.path.join(d, n)) for d in (FIXTURES, OUT) for n in os.listdir(d))
print(f"{len(os.listdir(FIXTURES))} fixtures, {len(os.listdir(OUT))} goldens, {total / 1024:.0f} KiB")
