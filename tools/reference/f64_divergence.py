#!/usr/bin/env python3
"""Where llama.cpp's greedy generation leaves the float64 one, how far apart the two choices are in
the float64 logits (ref_forward.Model, vendored next to this file, unchanged).

  f64_divergence.py MODEL CASES_JSON  ->  [{"name", "step", "f64_token", "llama_cpp_token",
                                            "f64_logit_gap", "llama_cpp_token_rank"}]

CASES_JSON: [{"name", "prompt_ids", "f64_ids", "llama_cpp_ids"}]; cases where the two agree on all
tokens are skipped. At the first differing step s the float64 logits after prompt_ids + f64_ids[:s]
(the shared prefix) are computed; f64_logit_gap = logit[f64 token] - logit[llama.cpp token] (>= the
top1/top2 margin), llama_cpp_token_rank = 1 + number of tokens with a larger float64 logit."""
import json, os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ref_forward import Model  # noqa: E402


def main():
    m = Model(sys.argv[1]); out = []
    for c in json.load(open(sys.argv[2])):
        f, l = c['f64_ids'], c['llama_cpp_ids']
        s = next((i for i in range(min(len(f), len(l))) if f[i] != l[i]), None)
        if s is None: continue
        m.reset(); logits = m.forward(c['prompt_ids'] + f[:s])[-1]
        out.append(dict(name=c['name'], step=s, f64_token=f[s], llama_cpp_token=l[s],
                        f64_logit_gap=float(logits[f[s]] - logits[l[s]]),
                        llama_cpp_token_rank=int(1 + np.sum(logits > logits[l[s]]))))
        print(out[-1], file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
