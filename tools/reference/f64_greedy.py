#!/usr/bin/env python3
"""`generate` of ref_forward.py (vendored next to this file, unchanged) for many prompts with one
model load: the loop below is ref_forward.main's `generate` branch verbatim, run on
ref_forward.Model after a reset() per prompt.

  f64_greedy.py MODEL PROMPTS_JSON N  ->  [{"name", "greedy_ids", "margins"}] (full precision)

PROMPTS_JSON: [{"name": ..., "ids": [...]}]. Progress goes to stderr."""
import json, os, sys, time
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_forward import Model  # noqa: E402


def main():
    path, prompts_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    prompts = json.load(open(prompts_path))
    t0 = time.time(); m = Model(path); print(f'loaded {path} in {time.time() - t0:.0f}s', file=sys.stderr, flush=True)
    out = []
    for p in prompts:
        t0 = time.time(); m.reset(); ids = p['ids']
        # --- ref_forward.py main(), mode == 'generate' ---
        logits = m.forward(ids)[-1]; gen, margins = [], []
        for _ in range(n):
            srt = np.sort(logits); margins.append(float(srt[-1] - srt[-2]))
            t = int(np.argmax(logits)); gen.append(t); logits = m.forward([t])[-1]
        # ---
        out.append({"name": p['name'], "greedy_ids": gen, "margins": margins})
        print(f'{p["name"]}: {len(ids)} prompt tokens, {time.time() - t0:.0f}s', file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
