#!/usr/bin/env python3
"""Goldens for MMTokenizers.CLIPTokenizer: the ids of ImageBind's `SimpleTokenizer` (the OpenAI CLIP
tokenizer: ftfy + html.unescape cleanup, Python `lower`) and of Hugging Face's `CLIPTokenizer`
(tokenizers backend: NFC, \\s+ -> " ", char-wise lowercase) on a corpus of tricky strings.

Vocabularies:
  - the committed fixture `Tests/Fixtures/clip/tokenizer/bpe_10k.txt.gz` (the first 10,000 merges of
    ImageBind's `bpe_simple_vocab_16e6.txt.gz`) and its Hugging Face form (`vocab.json`,
    `merges.txt`), written here;
  - the full vocabulary (49,408 ids), when $IMAGEBIND_SRC (default /work/ref/ImageBind) has it: its
    goldens are committed too and the Swift test checks them when the full `.gz` is on the machine.

Usage: /work/venv/bin/python Scripts/goldens/clip_tokenizer.py
Needs ftfy==6.3.1 and regex (Scripts/goldens/requirements.txt).
"""

import sys
from pathlib import Path

# This folder holds a tokenizers.py of its own: keep it from shadowing the `tokenizers` package.
sys.path = [p for p in sys.path if Path(p or '.').resolve() != Path(__file__).resolve().parent]

import gzip
import html
import io
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import List, Tuple

import ftfy
import regex
import torch

ROOT = Path(__file__).resolve().parents[2]
IMAGEBIND = Path(os.environ.get("IMAGEBIND_SRC", "/work/ref/ImageBind"))
FULL_GZ = IMAGEBIND / "imagebind/bpe/bpe_simple_vocab_16e6.txt.gz"
FIXTURE = ROOT / "Tests/Fixtures/clip/tokenizer"
GOLDEN = ROOT / "Tests/Goldens/clip/tokenizer.json"
SMALL_MERGES = 10_000


class FtfyToggle:
    """`ftfy` as SimpleTokenizer sees it: `fix_text` with or without the mojibake repair
    (`fix_encoding`), which CLIPTokenizer does not reproduce."""

    fix_encoding = True

    def fix_text(self, text):
        return ftfy.fix_text(text, fix_encoding=self.fix_encoding)


FTFY = FtfyToggle()


def load_simple_tokenizer_class():
    """ImageBind's `SimpleTokenizer`, executed verbatim from its source (importing the package pulls
    in timm/pkg_resources, which the tokenizer does not need)."""
    source = (IMAGEBIND / "imagebind/models/multimodal_preprocessors.py").read_text()
    start = source.index("# Modified from github.com/openai/CLIP")
    end = source.index("class IMUPreprocessor")

    class PathManager:
        @staticmethod
        def open(path, mode):
            return open(path, mode)

    namespace = {
        "gzip": gzip, "html": html, "io": io, "ftfy": FTFY, "re": regex, "torch": torch,
        "lru_cache": lru_cache, "List": List, "Tuple": Tuple, "g_pathmgr": PathManager,
    }
    exec(compile(source[start:end], str(IMAGEBIND / "multimodal_preprocessors.py"), "exec"), namespace)
    return namespace["SimpleTokenizer"], namespace["bytes_to_unicode"]


SimpleTokenizer, bytes_to_unicode = load_simple_tokenizer_class()

CORPUS = [
    "a photo of a dog",
    "A PHOTO OF A DOG.",
    "  leading, trailing   and   inner   spaces  ",
    "tabs\tand\nnew\r\nlines\u000bvt\u000cff",
    "",
    "   ",
    "don't stop, it's 'S fine; we'll've'd they're I'M",
    "numbers 1234567 3.14 -42 1,000,000 3rd 21st",
    "x\u00b2\u00b3 \u00bd \u216b \u0663\u0664",
    "emoji \U0001F436\U0001F431 \U0001F468\u200d\U0001F469\u200d\U0001F467 \u2764\ufe0f",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \ud55c\uad6d\uc5b4 \u0645\u0631\u062d\u0628\u0627",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
    "caf\u00e9 na\u00efve",
    "cafe\u0301 decomposed",
    "\u0130stanbul \u0130I\u0131i",
    "\u039f\u0394\u039f\u03a3 \u03a3\u039f\u03a6\u039f\u03a3. \u03a3",
    "STRASSE stra\u00dfe \u1e9e",
    "\u01c5 \u01c4 \u01c6 \u0132sselmeer",
    "&amp; &lt;b&gt; &quot;hi&quot; &#39;q&#39; &#x27;x&#x27; &copy &eacute; &EACUTE; &nTILDE;",
    "&amp;amp;lt; nested",
    "a < b &amp; c",
    "first &amp; line\nsecond <b> &amp;\nthird &amp; again",
    "&#0; &#128; &#x93;quoted&#x94; &#xD800; &#1114112; &#65;&#x42;",
    "&notit; &not &ampx &amp &lt3 &hellip; &HilbertSpace; &Jscr;ohn",
    "\u201csmart\u201d \u2018quotes\u2019 \u201bhigh\u201f \u02bcmodifier",
    "\ufb01ne \ufb02ow \ufb00 \ufb03 \ufb05",
    "\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33 \uff61\uff62\uff63 \uff71\uff72",
    "\u0000\u0007bell \u001b[31mred\u001b[0m plain",
    "\ufeffbom \u206aarabic\u206f \ufff9ann\ufffb \ufffcobj",
    "line\u2028sep\u2029para\u0085nel",
    "c1 \u0080euro \u0093quoted\u0094 \u0081undefined",
    "\u00e2\u0153\u201d No problems",
    "s\u00c3\u00b3 mojibake",
    "<|endoftext|>",
    "<|startoftext|>hello<|endoftext|>world",
    "<|ENDOFTEXT|> upper",
    "a\u00a0b nbsp a\u200bb zwsp a\u2003b emsp",
    "....!!!??? ...hello,world!!",
    "e-mail@example.com #hashtag @user C++ & C# 100% $5",
    "under_score snake_case CamelCaseWord",
    "x" * 300,
    " ".join(["word"] * 100),
    "the quick brown fox jumps over the lazy dog " * 8,
    "\u1100\u1161\u11a8 jamo",
    "\U0001d400\U0001d401 math bold",
    "\u00c5ngstr\u00f6m \u212b \u2126",
    "tab\u001c\u001dseparators\u001e\u001f",
]


def write_small_vocabulary():
    """The committed fixture: the header and first SMALL_MERGES merges of the full file, gzipped
    deterministically, plus the same vocabulary as Hugging Face `vocab.json` + `merges.txt`."""
    lines = gzip.open(FULL_GZ).read().decode("utf-8").split("\n")
    text = "\n".join(lines[: 1 + SMALL_MERGES])  # no final newline: it would read as an empty merge
    FIXTURE.mkdir(parents=True, exist_ok=True)
    with open(FIXTURE / "bpe_10k.txt.gz", "wb") as raw:
        with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(text.encode("utf-8"))
    write_hf_files(FIXTURE / "bpe_10k.txt.gz", FIXTURE)


def write_hf_files(gz_path: Path, folder: Path):
    """vocab.json + merges.txt in the id order SimpleTokenizer gives (the order of openai/clip-vit-*)."""
    simple = SimpleTokenizer(str(gz_path))
    vocab = dict(sorted(simple.encoder.items(), key=lambda item: item[1]))
    merges = sorted(simple.bpe_ranks.items(), key=lambda item: item[1])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    with open(folder / "merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for (left, right), _ in merges:
            f.write(f"{left} {right}\n")


def hf_tokenizer(folder: Path):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(folder))


def goldens_for(gz_path: Path, hf_folder: Path):
    simple = SimpleTokenizer(str(gz_path))
    hf = hf_tokenizer(hf_folder)
    openai_ids = [[int(i) for i in simple.encode(text)] for text in CORPUS]
    padded = [[int(i) for i in simple(text)] for text in CORPUS]
    FTFY.fix_encoding = False
    without_mojibake_repair = [[int(i) for i in simple.encode(text)] for text in CORPUS]
    FTFY.fix_encoding = True
    hf_ids = [list(hf(text)["input_ids"]) for text in CORPUS]
    hf_padded = [
        list(hf(text, padding="max_length", max_length=77, truncation=True)["input_ids"]) for text in CORPUS
    ]
    # The cleaned text ImageBind's tokenizer feeds to its regex, for diagnosing differences.
    cleaned = [_whitespace_clean_basic(text) for text in CORPUS]
    return {
        "vocab_size": len(simple.encoder),
        "imagebind": openai_ids,
        "imagebind_padded": padded,
        # ftfy's fix_encoding off: what CLIPTokenizer reproduces where the two differ.
        "imagebind_without_fix_encoding": without_mojibake_repair,
        "hf": hf_ids,
        "hf_padded": hf_padded,
        "imagebind_cleaned": cleaned,
    }


def _whitespace_clean_basic(text):
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return regex.sub(r"\s+", " ", text).strip().lower()


def main():
    write_small_vocabulary()
    out = {"corpus": CORPUS, "small": goldens_for(FIXTURE / "bpe_10k.txt.gz", FIXTURE)}
    with tempfile.TemporaryDirectory() as tmp:
        write_hf_files(FULL_GZ, Path(tmp))
        out["full"] = goldens_for(FULL_GZ, Path(tmp))
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(out, ensure_ascii=False, indent=None) + "\n")
    for name in ("small", "full"):
        g = out[name]
        differ = [i for i in range(len(CORPUS)) if g["imagebind"][i] != g["hf"][i][1:-1]]
        print(f"{name}: vocab {g['vocab_size']}, ImageBind vs HF differ on corpus entries {differ}")
        mojibake = [i for i in range(len(CORPUS)) if g["imagebind"][i] != g["imagebind_without_fix_encoding"][i]]
        print(f"{name}: ftfy's fix_encoding changes entries {mojibake}")


if __name__ == "__main__":
    main()
