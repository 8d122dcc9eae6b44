#!/usr/bin/env python3
"""Cases for `pipeline bench --speculate ... --spec-cases FILE`: rendered prompts as a JSON list of
{name, prompt} (the needle files' format).

  tools/bench/speculation_cases.py jobs/*.json > /tmp/job-cases.json     # every (document, prompt) of the jobs
  tools/bench/speculation_cases.py --needles data/eval/*.json ../shared/reference/needles.json > /tmp/needle-cases.json

Job cases use SmolLM2's chat template (its default system message, as tools/bench/bench_jobs.py) around "<document>\\n\\n<prompt>", as the executor renders
it (`PromptParts`); documents longer than --max-chars keep their head (the bench checks the
context). Needle cases are taken as they are."""
import argparse, glob, json, os, sys

ap = argparse.ArgumentParser()
ap.add_argument("files", nargs="+")
ap.add_argument("--needles", action="store_true", help="the files are needle lists already")
ap.add_argument("--max-chars", type=int, default=24000, help="keep the head of longer documents (~6K tokens)")
args = ap.parse_args()

cases = []
for path in args.files:
    data = json.load(open(path))
    if args.needles:
        cases += [{"name": c["name"], "prompt": c["prompt"]} for c in data]
        continue
    base = os.path.dirname(os.path.abspath(path))
    for pattern in data["documents"]:
        for doc in sorted(glob.glob(os.path.join(base, pattern))):
            text = open(doc, encoding="utf-8").read()[: args.max_chars]
            for i, prompt in enumerate(data["prompts"]):
                rendered = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                            f"<|im_start|>user\n{text}\n\n{prompt}<|im_end|>\n<|im_start|>assistant\n")
                cases.append({"name": f"{data['name']}/{os.path.basename(doc)}#{i}", "prompt": rendered})
json.dump(cases, sys.stdout, ensure_ascii=False)
