"""Golden for the `llm.chat` node: the whole path (chat template → tokenizer → decoder → greedy
generation → decode) on the tiny random LlamaForCausalLM of Tests/Fixtures/llama/tiny, with a
byte-level tokenizer of 256 single-byte tokens (no merges, so it fits the model's vocabulary) and
a ChatML template, as transformers runs it (apply_chat_template, generate greedy).

Writes Tests/Fixtures/llama/tiny/{tokenizer.json,tokenizer_config.json} and
Tests/Goldens/llm/chat.json."""
import json
import pathlib

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "Tests/Fixtures/llama/tiny"
GOLD = ROOT / "Tests/Goldens/llm"
GOLD.mkdir(parents=True, exist_ok=True)

alphabet = pre_tokenizers.ByteLevel.alphabet()
byte_to_char = {}
# GPT-2's bytes_to_unicode order: the id of a token is its byte value.
bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
cs = bs[:]
n = 0
for b in range(256):
    if b not in bs:
        bs.append(b)
        cs.append(256 + n)
        n += 1
for b, c in zip(bs, cs):
    byte_to_char[b] = chr(c)
vocab = {byte_to_char[b]: b for b in range(256)}
assert set(vocab) == set(alphabet)
tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
tok.save(str(MODEL / "tokenizer.json"))
template = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
(MODEL / "tokenizer_config.json").write_text(json.dumps({"chat_template": template}, indent=2) + "\n")

fast = PreTrainedTokenizerFast(tokenizer_file=str(MODEL / "tokenizer.json"))
fast.chat_template = template
model = LlamaForCausalLM.from_pretrained(MODEL, torch_dtype=torch.float32).eval()
cases = []
for system, prompt in [("", "What is the capital of France?"), ("Be brief.", "héllo 👋")]:
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    rendered = fast.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = fast(rendered, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), max_new_tokens=12, do_sample=False, eos_token_id=None, pad_token_id=0)
    new = out[0, len(ids):].tolist()
    cases.append({"system": system, "prompt": prompt, "prompt_ids": ids, "tokens": new,
                  "text": fast.decode(new, skip_special_tokens=True)})
(GOLD / "chat.json").write_text(json.dumps({"max_tokens": 12, "cases": cases}, ensure_ascii=False, indent=1) + "\n")
print(json.dumps(cases, ensure_ascii=False)[:600])
