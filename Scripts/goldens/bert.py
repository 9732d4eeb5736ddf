#!/usr/bin/env python3
"""Fixtures and goldens for the BERT encoder and sentence embeddings (Sources/MMModels/BERT,
Plugins/Sentence, Plugins/Space, Graphs/semantic-search.json).

Run with /work/venv/bin/python Scripts/goldens/bert.py from the package root
(torch, transformers, tokenizers, safetensors, sentence-transformers: Scripts/goldens/requirements.txt).

Writes:
  Tests/Fixtures/bert/tiny/    a tiny random Hugging Face BertModel (config built here, seeded) with
                               a small WordPiece vocabulary made from this script's texts; its
                               tokenizer.json carries truncation (128) and fixed padding (128) like
                               all-MiniLM-L6-v2's, which mmgraph must not apply; sentence_bert_config.json
                               sets max_seq_length 24 so that one sentence is cut.
  Tests/Goldens/bert/tiny.json         sentences, their token ids (tokenizers, truncated at 24 as
                                       sentence-transformers does), search queries and rankings over
                                       Samples/docs, a zero-shot classification over Samples/topics.txt
  Tests/Goldens/bert/tiny.safetensors  transformers BertModel on the padded batch with its attention
                                       mask: hidden_states (embeddings, every layer), last_hidden_state;
                                       sentence-transformers (Transformer + mean Pooling + Normalize)
                                       embeddings of the sentences and of Samples/docs
  Tests/Goldens/bert/minilm.json         when ~/.cache/mmgraph/models/minilm exists (Scripts/fetch-models.sh
                                          minilm): sentences, ids, cosines, the semantic-search ranking
  Tests/Goldens/bert/minilm.safetensors  sentence-transformers embeddings of those sentences [8, 384]
"""
import json
import os
import shutil
import sys

# One thread: the WordPiece trainer breaks ties by thread timing otherwise.
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"
# Scripts/goldens/tokenizers.py would shadow the tokenizers library: keep this folder off the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import safetensors.torch  # noqa: E402
import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "Tests", "Fixtures", "bert", "tiny")
GOLDENS = os.path.join(ROOT, "Tests", "Goldens", "bert")
DOCS = os.path.join(ROOT, "Samples", "docs")
MODELS = os.environ.get("MMGRAPH_MODELS", os.path.expanduser("~/.cache/mmgraph/models"))
MINILM = os.path.join(MODELS, "minilm")
GENERATOR = (
    f"Scripts/goldens/bert.py torch {torch.__version__} transformers {transformers.__version__} "
    f"tokenizers {tokenizers.__version__} sentence-transformers {sentence_transformers.__version__}"
)

SENTENCES = [
    "A man is playing a guitar.",
    "Someone plays an instrument.",
    "The stock market fell sharply today.",
    "Hi!",
    "Tomatoes need full sun, regular watering at the roots and a stake or cage for support in the garden.",
    "A compiler parses the program, checks the types and reports errors with the line and column.",
    "Thunderstorms bring lightning, heavy rain and hail.",
    "Bread rises.",
]
TINY_MAX_SEQ = 24
# Zero-shot classification (Graphs/zero-shot-text.json): Samples/topics.txt in this template.
CLASSIFY_TEXT = "The loaf rose overnight and came out of the oven with a crisp crust."
TEMPLATE = "This text is about {}."
SCALE = 20.0
QUERIES = [
    "How do I grow vegetables?",
    "Which planet is the biggest?",
    "Why did share prices drop?",
]


def docs():
    """Samples/docs as mmgraph's text.folder reads them: sorted names, trailing newlines removed."""
    out = []
    for name in sorted(os.listdir(DOCS)):
        if name.endswith((".txt", ".md")):
            with open(os.path.join(DOCS, name), encoding="utf-8") as f:
                out.append((name, f.read().rstrip("\r\n")))
    return out


def classify(st):
    """Graphs/zero-shot-text.json's result: labels ranked by softmax(scale · cosine)."""
    with open(os.path.join(ROOT, "Samples", "topics.txt"), encoding="utf-8") as f:
        labels = [line.strip() for line in f if line.strip()]
    with torch.no_grad():
        label_vectors = st.encode([TEMPLATE.format(label) for label in labels], convert_to_tensor=True)
        text_vector = st.encode([CLASSIFY_TEXT], convert_to_tensor=True)[0]
    scores = label_vectors @ text_vector
    probabilities = torch.softmax(SCALE * scores.double(), dim=0).tolist()
    ranked = sorted(range(len(labels)), key=lambda i: -scores[i].item())
    return {"text": CLASSIFY_TEXT, "template": TEMPLATE, "scale": SCALE,
            "ranking": [{"label": labels[i], "probability": probabilities[i], "score": scores[i].item()} for i in ranked]}


def sentence_model(folder, max_seq_length):
    """sentence-transformers' all-MiniLM-L6-v2 stack over a plain Hugging Face folder."""
    transformer = Transformer(folder, max_seq_length=max_seq_length)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    return SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu")


def make_tiny_tokenizer(path):
    """A WordPiece vocabulary built from this script's texts (deterministically: the special
    tokens, every character alone and as a ##continuation, then the words seen at least twice,
    most frequent first), with the BERT pipeline of MiniLM."""
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    corpus = SENTENCES + QUERIES + [CLASSIFY_TEXT] + [text for _, text in docs()]
    words = Counter(w for text in corpus for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + ["##" + c for c in chars]
    vocab += [w for w, n in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 2 and len(w) > 1]
    # A few pieces so that WordPiece splits words into more than characters.
    vocab += ["##ing", "##s", "##ed", "##er", "##ly"]
    vocab = list(dict.fromkeys(vocab))
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.enable_truncation(max_length=128)
    tok.enable_padding(length=128, pad_id=0, pad_token="[PAD]")
    tok.save(path)
    with open(os.path.join(os.path.dirname(path), "vocab.txt"), "w") as f:
        f.write("".join(token + "\n" for token in vocab))
    return len(vocab)


def make_tiny_model():
    if os.path.isdir(FIXTURE):
        shutil.rmtree(FIXTURE)
    os.makedirs(FIXTURE)
    vocab = make_tiny_tokenizer(os.path.join(FIXTURE, "tokenizer.json"))
    with open(os.path.join(FIXTURE, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                   "cls_token": "[CLS]", "mask_token": "[MASK]", "tokenizer_class": "BertTokenizer",
                   "model_max_length": 64}, f, indent=2)
    with open(os.path.join(FIXTURE, "sentence_bert_config.json"), "w") as f:
        json.dump({"max_seq_length": TINY_MAX_SEQ, "do_lower_case": False}, f, indent=2)
    config = transformers.BertConfig(
        vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        hidden_act="gelu", max_position_embeddings=64, type_vocab_size=2, layer_norm_eps=1e-12)
    torch.manual_seed(0)
    model = transformers.BertModel(config, add_pooling_layer=False).eval()
    gen = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, p in model.named_parameters():
            # Larger than BERT's 0.02 init so attention patterns and the GELU are exercised.
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
    model.save_pretrained(FIXTURE, safe_serialization=True)
    return model


def tiny_goldens(model):
    st = sentence_model(FIXTURE, TINY_MAX_SEQ)
    hf_tok = transformers.AutoTokenizer.from_pretrained(FIXTURE)
    ids = [hf_tok(s, truncation=True, max_length=TINY_MAX_SEQ)["input_ids"] for s in SENTENCES]
    # sentence-transformers' own features must be the same ids.
    features = st.tokenize(SENTENCES)
    for row, expected in zip(features["input_ids"].tolist(), ids):
        assert row[: len(expected)] == expected, (row, expected)
    assert max(len(i) for i in ids) == TINY_MAX_SEQ, "one sentence must be cut"
    longest = max(len(i) for i in ids)
    input_ids = torch.tensor([i + [0] * (longest - len(i)) for i in ids])
    mask = torch.tensor([[1] * len(i) + [0] * (longest - len(i)) for i in ids])
    with torch.no_grad():
        out = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
        embeddings = st.encode(SENTENCES, convert_to_tensor=True, batch_size=3)
        doc_list = docs()
        doc_vectors = st.encode([t for _, t in doc_list], convert_to_tensor=True)
        query_vectors = st.encode(QUERIES, convert_to_tensor=True)
    tensors = {
        "last_hidden_state": out.last_hidden_state,
        "embeddings": out.hidden_states[0],
        "sentence_embeddings": embeddings,
        "doc_embeddings": doc_vectors,
        "query_embeddings": query_vectors,
    }
    for i, h in enumerate(out.hidden_states[1:]):
        tensors[f"encoder.layer.{i}"] = h
    # Padding rows are not meaningful (mmgraph and transformers differ there): zero them.
    m = mask[:, :, None].float()
    tensors = {k: (v * m if v.dim() == 3 else v).contiguous().float() for k, v in tensors.items()}
    os.makedirs(GOLDENS, exist_ok=True)
    safetensors.torch.save_file(tensors, os.path.join(GOLDENS, "tiny.safetensors"), metadata={"generator": GENERATOR})
    search = []
    for q, vector in zip(QUERIES, query_vectors):
        scores = (doc_vectors @ vector).tolist()
        ranked = sorted(range(len(doc_list)), key=lambda i: -scores[i])
        search.append({"query": q, "ranking": [{"name": doc_list[i][0], "score": scores[i]} for i in ranked]})
    with open(os.path.join(GOLDENS, "tiny.json"), "w") as f:
        json.dump({"generator": GENERATOR, "sentences": SENTENCES, "ids": ids, "max_seq_length": TINY_MAX_SEQ,
                   "layers": model.config.num_hidden_layers, "search": search, "classify": classify(st)}, f, indent=1)
    print("tiny: ids", [len(i) for i in ids])


def minilm_goldens():
    if not os.path.isdir(MINILM):
        print(f"{MINILM} missing (bash Scripts/fetch-models.sh minilm): real-model goldens not written")
        return
    st = sentence_model(MINILM, 256)
    hf_tok = transformers.AutoTokenizer.from_pretrained(MINILM)
    ids = [hf_tok(s, truncation=True, max_length=256)["input_ids"] for s in SENTENCES]
    assert ids[0] == [101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102], ids[0]
    with torch.no_grad():
        vectors = st.encode(SENTENCES, convert_to_tensor=True)
        doc_list = docs()
        doc_vectors = st.encode([t for _, t in doc_list], convert_to_tensor=True)
        query_vectors = st.encode(QUERIES, convert_to_tensor=True)
    cos = (vectors @ vectors.T).tolist()
    print("minilm: cos(guitar, instrument) = %.4f, cos(guitar, stock) = %.4f" % (cos[0][1], cos[0][2]))
    safetensors.torch.save_file({"sentence_embeddings": vectors.contiguous()}, os.path.join(GOLDENS, "minilm.safetensors"),
                                metadata={"generator": GENERATOR})
    search = []
    for q, vector in zip(QUERIES, query_vectors):
        scores = (doc_vectors @ vector).tolist()
        ranked = sorted(range(len(doc_list)), key=lambda i: -scores[i])
        search.append({"query": q, "ranking": [{"name": doc_list[i][0], "score": scores[i]} for i in ranked]})
        print(f"minilm: {q!r} → {doc_list[ranked[0]][0]} ({scores[ranked[0]]:.4f})")
    with open(os.path.join(GOLDENS, "minilm.json"), "w") as f:
        json.dump({"generator": GENERATOR, "sentences": SENTENCES, "ids": ids, "cosines": cos, "search": search,
                   "classify": classify(st)}, f, indent=1)


if __name__ == "__main__":
    tiny_goldens(make_tiny_model())
    minilm_goldens()
