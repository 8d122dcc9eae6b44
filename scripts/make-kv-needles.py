#!/usr/bin/env python3
"""Writes data/eval/kv-needles.json: needle-retrieval cases of 2K-7K SmolLM2 tokens for the KV
format fidelity check (FIDELITY.md), in the format of ../shared/reference/needles.json:
[{name, prompt, answer, tokens}]. A sentence "The secret code for X is N." is placed at a line
boundary at a given depth of real text from data/docs (haystacks chained from several files), and
the chat-formatted question asks for it. Token counts come from `pipeline tokenize` (build first).

usage: scripts/make-kv-needles.py [path/to/pipeline]
"""
import json, os, subprocess, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
PIPELINE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build-kv/debug/pipeline")
SOURCES = ["licences/GPL-3.txt", "manuals/valgrind-FAQ.txt", "licences/LGPL-2.1.txt", "manuals/libffi-README.md",
           "licences/GFDL-1.3.txt", "manuals/systemd-README.txt", "licences/GPL-2.txt", "manuals/zlib-FAQ.txt"]
# (haystack characters, needle depth, key, code, first source)
CASES = [(9500, 0.15, "the blue gate", 4812, 0), (11000, 0.5, "the copper bell", 90317, 1),
         (14000, 0.85, "vault seven", 2286, 2), (17000, 0.3, "the north bridge", 57104, 3),
         (20000, 0.65, "the glass tower", 3391, 4), (23000, 0.1, "locker twelve", 71826, 5),
         (26000, 0.45, "the old mill", 6043, 6), (28000, 0.75, "the silver key", 18529, 7),
         (31000, 0.95, "gate eleven", 7770, 0), (12500, 0.05, "the east wing", 41953, 2)]


def haystack(first, chars):
    text, i = "", first
    while len(text) < chars:
        with open(os.path.join(ROOT, "data/docs", SOURCES[i % len(SOURCES)]), encoding="utf-8") as f:
            text += f.read() + "\n"
        i += 1
    return text[:chars]


def tokens(text):
    out = subprocess.run([PIPELINE, "tokenize", "--text", text, "--json"], capture_output=True, text=True, check=True)
    return len(json.loads(out.stdout)["ids"])


cases = []
for chars, depth, key, code, first in CASES:
    hay = haystack(first, chars)
    cut = hay.rfind("\n", 0, int(len(hay) * depth)) + 1
    doc = hay[:cut] + f"The secret code for {key} is {code}.\n" + hay[cut:]
    prompt = ("<|im_start|>user\nRead the document and answer the question.\n\n" + doc +
              f"\n\nQuestion: What is the secret code for {key}?<|im_end|>\n<|im_start|>assistant\nThe secret code for {key} is")
    cases.append({"name": f"kv_{chars}_{depth}", "prompt": prompt, "answer": str(code), "tokens": tokens(prompt)})
    print(cases[-1]["name"], cases[-1]["tokens"], file=sys.stderr)

with open(os.path.join(ROOT, "data/eval/kv-needles.json"), "w", encoding="utf-8") as f:
    json.dump(cases, f, indent=1, ensure_ascii=False)
    f.write("\n")
