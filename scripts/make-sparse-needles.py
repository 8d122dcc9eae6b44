#!/usr/bin/env python3
"""Needle cases for the sparse-attention fidelity harness (pipeline eval --needles): a sentence
"The secret code for X is N." inserted at a line boundary at a relative depth of a text made of
the manuals and licences in data/docs/, then asked about, in SmolLM2's chat template, in the
format of ../shared/reference/needles.json. Deterministic (seeded); writes data/eval/sparse-needles.json.

  scripts/make-sparse-needles.py"""
import json, os, random

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SOURCES = ["manuals/zlib-FAQ.txt", "manuals/valgrind-FAQ.txt", "manuals/systemd-README.txt", "manuals/libffi-README.md",
           "manuals/libjpeg-turbo-README.md", "licences/Apache-2.0.txt", "licences/GPL-2.txt", "long/nodejs-cluster-api.md"]
THINGS = ["the amber lamp", "the iron gate", "drawer four", "the green barn", "the night train", "the oak desk", "locker thirty",
          "the south pier", "the paper kite", "the stone well", "the clock tower", "room eleven"]
# (characters of text, relative depth of the needle): about 2K to 7K tokens.
CASES = [(9000, 0.15), (10500, 0.7), (12000, 0.4), (14000, 0.9), (16500, 0.25), (18000, 0.55),
         (21000, 0.8), (23500, 0.05), (26000, 0.35), (28500, 0.6), (30000, 0.95), (19500, 0.5)]

def main():
    rng = random.Random(20261123)
    texts = [open(os.path.join(ROOT, "data/docs", s), encoding="utf-8").read() for s in SOURCES]
    cases = []
    for i, (chars, depth) in enumerate(CASES):
        order = texts[i % len(texts):] + texts[:i % len(texts)]
        body = "\n\n".join(order)[:chars]
        thing, code = THINGS[i], str(rng.randrange(1000, 99999))
        cut = body.rfind("\n", 0, int(len(body) * depth)) + 1
        body = body[:cut] + f"The secret code for {thing} is {code}.\n" + body[cut:]
        prompt = ("<|im_start|>user\nRead the document and answer the question.\n\n" + body +
                  f"\n\nQuestion: What is the secret code for {thing}?<|im_end|>\n<|im_start|>assistant\n"
                  f"The secret code for {thing} is")
        cases.append({"name": f"sparse_{chars}_{depth}", "prompt": prompt, "answer": code})
    with open(os.path.join(ROOT, "data/eval/sparse-needles.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")

if __name__ == "__main__":
    main()
