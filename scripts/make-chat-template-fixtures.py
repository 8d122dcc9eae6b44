#!/usr/bin/env python3
"""Regenerates Tests/TokenizerTests/Fixtures/chat-templates.json: chat templates rendered by jinja2
(the engine transformers uses for apply_chat_template) as the reference for ChatTemplate.render.

    scripts/make-chat-template-fixtures.py      (needs: pip install jinja2 gguf; scripts/fetch-test-assets.sh)

Templates: SmolLM2's and Qwen2's from their GGUFs (tokenizer.chat_template), and Meta's Llama 3
Instruct template, below. bos_token renders empty: ChatTemplate never writes BOS, the tokenizer
adds it (add_bos_token).
"""
import json, os
import gguf, jinja2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLAMA3 = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
          "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
          "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
CONVERSATIONS = [
    [{"role": "user", "content": "Hello"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}],
    [{"role": "user", "content": "  spaced content \n"}],
    [{"role": "assistant", "content": "starts with the assistant"}],
    [],
    [{"role": "user", "content": "multi\nline\ncontent with <|im_end|> inside"}],
    [{"role": "system", "content": "Only a system message"}],
]


def gguf_template(path):
    field = gguf.GGUFReader(os.path.join(ROOT, path)).fields["tokenizer.chat_template"]
    return bytes(field.parts[-1]).decode()


def main():
    templates = {
        "smollm2": gguf_template("data/models/SmolLM2-135M-Instruct.Q4_1.gguf"),
        "qwen2": gguf_template("data/vocab/ggml-vocab-qwen2.gguf"),
        "llama3": LLAMA3,
    }
    env = jinja2.Environment()
    out = {"generator": "scripts/make-chat-template-fixtures.py", "templates": []}
    for name, source in templates.items():
        template = env.from_string(source)
        renders = []
        for messages in CONVERSATIONS:
            for generation in (True, False):
                text = template.render(messages=messages, add_generation_prompt=generation, bos_token="")
                renders.append({"messages": messages, "add_generation_prompt": generation, "text": text})
        out["templates"].append({"name": name, "source": source, "renders": renders})
    path = os.path.join(ROOT, "Tests", "TokenizerTests", "Fixtures", "chat-templates.json")
    with open(path, "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
