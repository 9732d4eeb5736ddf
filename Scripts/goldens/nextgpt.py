"""Goldens for NExT-GPT's input projection (`llama_proj`, an nn.Linear from ImageBind's space
into the LLM's width: one embedding -> one soft token) feeding a LLaMA decoder, as NExT-GPT's
`prompt_wrap` does: the projected token spliced between the text pieces of its prompt
("### Human: <Img>" + token + "</Img> question\\n### Assistant:"), through transformers'
LlamaForCausalLM on `inputs_embeds`.

Inputs: the tiny ImageBind audio embedding of Tests/Fixtures/audio/speech_espeak_22050.wav
(`e2e.audio` of Tests/Goldens/imagebind/end_to_end.safetensors, from ImageBind's own code; the
graph `Graphs/nextgpt-audio-chat.json` recomputes it), a seeded random projection 16 -> 64
(Tests/Fixtures/nextgpt/tiny/projection.safetensors, NExT-GPT's key names), and the tiny random
LlamaForCausalLM of Tests/Fixtures/llama/tiny with its 256-byte tokenizer.

Writes the projection and Tests/Goldens/nextgpt/nextgpt.safetensors (`projected` [1, 64],
`logits` [vocab] at the last prompt position, `tokens` the greedy continuation) + prompt.json."""
import json
import pathlib

import torch
from safetensors.torch import load_file, save_file
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

ROOT = pathlib.Path(__file__).resolve().parents[2]
LLAMA = ROOT / "Tests/Fixtures/llama/tiny"
OUT = ROOT / "Tests/Fixtures/nextgpt/tiny"
GOLD = ROOT / "Tests/Goldens/nextgpt"
OUT.mkdir(parents=True, exist_ok=True)
GOLD.mkdir(parents=True, exist_ok=True)

torch.manual_seed(7)
embedding = load_file(str(ROOT / "Tests/Goldens/imagebind/end_to_end.safetensors"))["e2e.audio"].float()
llama = LlamaForCausalLM.from_pretrained(LLAMA, torch_dtype=torch.float32).eval()
proj = torch.nn.Linear(embedding.shape[1], llama.config.hidden_size)
with torch.no_grad():
    # ImageBind's unit vectors are small next to token embeddings; scale as a trained projection would.
    proj.weight.mul_(8.0)
save_file({"llama_proj.weight": proj.weight.detach().contiguous(),
           "llama_proj.bias": proj.bias.detach().contiguous()}, str(OUT / "projection.safetensors"))

tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(LLAMA / "tokenizer.json"))
before, after = "### Human: <Img>", "</Img> What do you hear?\n### Assistant:"
ids_before = tokenizer(before, add_special_tokens=False)["input_ids"]
ids_after = tokenizer(after, add_special_tokens=False)["input_ids"]
with torch.no_grad():
    projected = proj(embedding)  # [1, hidden]: one soft token
    table = llama.get_input_embeddings()
    embeds = torch.cat([table(torch.tensor(ids_before)), projected, table(torch.tensor(ids_after))])[None]
    logits = llama(inputs_embeds=embeds).logits[0, -1]
    out = llama.generate(inputs_embeds=embeds, max_new_tokens=10, do_sample=False, eos_token_id=None, pad_token_id=0)
tokens = out[0].tolist()
save_file({"projected": projected.contiguous(), "logits": logits.contiguous(),
           "tokens": torch.tensor(tokens, dtype=torch.int32)}, str(GOLD / "nextgpt.safetensors"))
(GOLD / "prompt.json").write_text(json.dumps(
    {"before": before, "after": after, "ids_before": ids_before, "ids_after": ids_after, "tokens": tokens,
     "text": tokenizer.decode(tokens)}, ensure_ascii=False, indent=1) + "\n")
print(tokens, repr(tokenizer.decode(tokens)), float(embedding.norm()))
