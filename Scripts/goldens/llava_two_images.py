"""Golden for two images interleaved with text in one LLaVA prompt (Graphs/llava-compare.json):
the tiny random checkpoint of Scripts/goldens/llava.py (Tests/Fixtures/llava/tiny), the dog photo
(../shared/testdata/dog_image.jpg) and the car photo (Tests/Fixtures/blip2/car.jpg), the user
message "The first picture: <image>\\nThe second picture: <image>\\nWhich one is a dog?" through the
checkpoint's chat template; transformers 5.24's LlavaProcessor expands each <image> to 16 image
tokens and the model scatters the two images' features over them, in order. Writes
Tests/Goldens/llava/two_images.json (input ids, the greedy tokens of `generate`).

Run: /work/venv/bin/python -P Scripts/goldens/llava_two_images.py"""
import json
import pathlib

import torch
from PIL import Image
from transformers import LlavaForConditionalGeneration, LlavaProcessor

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = ROOT / "Tests/Fixtures/llava/tiny"
model = LlavaForConditionalGeneration.from_pretrained(MODEL, dtype=torch.float32).eval()
processor = LlavaProcessor.from_pretrained(MODEL)
photos = [Image.open(ROOT / "../shared/testdata/dog_image.jpg"), Image.open(ROOT / "Tests/Fixtures/blip2/car.jpg")]
prompt = "The first picture: <image>\nThe second picture: <image>\nWhich one is a dog?"
rendered = processor.tokenizer.apply_chat_template(
    [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
inputs = processor(images=photos, text=rendered, return_tensors="pt", add_special_tokens=False)
ids = inputs["input_ids"][0].tolist()
assert ids.count(model.config.image_token_index) == 32
with torch.no_grad():
    gen = model.generate(**inputs, max_new_tokens=10, do_sample=False, eos_token_id=None, pad_token_id=0)
tokens = gen[0, len(ids):].tolist()
golden = {"prompt": prompt, "rendered": rendered, "images": ["../shared/testdata/dog_image.jpg",
          "Tests/Fixtures/blip2/car.jpg"], "input_ids": ids, "tokens": tokens}
(ROOT / "Tests/Goldens/llava/two_images.json").write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n")
print(tokens, len(ids))
