#!/usr/bin/env python3
"""End-to-end throughput of the whole pipeline against llama.cpp on the same work, same machine,
same run: every (document, prompt) of a job file answered with up to max_new_tokens greedy tokens.

  tools/bench/bench_jobs.py [--job jobs/licence-and-manual-questions.json] [--threads 2]
                        [--variants auto,dense-f16] [--pipeline-args "--batch-units 4"] [--json OUT]
                        [--base-db data/pipeline.sqlite] [--skip-peer]
Variants: auto (the router) or ATTENTION-KV (pinned, e.g. dense-f16, topk-int8), each optionally
with +SOURCE (the job's speculate field: off, lookup, self, hier; e.g. dense-f16+lookup) and
@bN (run with --batch-units N, e.g. dense-f16@b1).

- ours, per variant: a fresh store (a copy of --base-db: its profile and calibration rows, no
  jobs of this name) and a fresh KV folder, `pipeline submit` of the job (the variant pins its strategy,
  `auto` leaves the router to choose), `pipeline run`; wall time of the run.
- llama.cpp: `llama-completion` once per document and prompt (the document is prefilled again for
  every prompt, as a user of llama.cpp would run it), with the exact prompt text our executor
  builds (the model's chat template around "<document>\\n\\n<prompt>"), greedy, -n max_new_tokens,
  -c 8192, stopping at the end-of-generation token like ours.
Reports documents per hour for each, and the ratios."""
import argparse, glob, json, os, sqlite3, subprocess, sys, tempfile, time
from peer_tools import peer_binary

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

def peer_bin():
    return peer_binary("llama-completion")

def documents(job_path, spec):
    base = os.path.dirname(os.path.abspath(job_path))
    docs = []
    for pattern in spec["documents"]:
        for p in sorted(glob.glob(os.path.join(base, pattern))):
            if p not in docs: docs.append(p)
    return docs

def chatml(content):
    # SmolLM2's template (tokenizer.chat_template): a default system message, then the user turn.
    return ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            f"<|im_start|>user\n{content}<|im_end|>\n<|im_start|>assistant\n")

def run_ours(args, spec, variant, workdir):
    job = dict(spec)
    mix, _, batch = variant.partition("@b")  # dense-f16@b1: that mix with --batch-units 1
    mix, _, speculate = mix.partition("+")   # dense-f16+lookup: the job's speculate field (off, lookup, self, hier)
    if speculate: job["speculate"] = speculate
    if mix != "auto":
        attention, kv = mix.rsplit("-", 1)
        job["strategy"] = {"attention": attention, "kv": kv}
    job["name"] = "bench-" + variant.replace("@", "-").replace("+", "-")
    job["documents"] = [os.path.abspath(p) for p in args.docs]
    path = os.path.join(workdir, f"bench-{variant}.json")
    json.dump(job, open(path, "w"))
    db = os.path.join(workdir, f"bench-{variant}.sqlite")
    if args.base_db:  # the machine profile and calibration rows the router needs
        with sqlite3.connect(args.base_db) as src, sqlite3.connect(db) as dst: src.backup(dst)
    # a fresh KV folder: no variant loads another's document snapshots
    env = dict(os.environ, PIPELINE_DB=db, PIPELINE_KV_DIR=os.path.join(workdir, f"kv-{variant}"),
               PIPELINE_DOCUMENT_ROOTS=os.path.join(ROOT, "data/docs"))  # the job file sits in a temp folder
    pipeline = os.path.join(ROOT, ".build/release/pipeline")
    subprocess.run([pipeline, "submit", path], env=env, check=True, capture_output=True)
    t0 = time.time()
    extra = ["--batch-units", batch] if batch else []
    r = subprocess.run([pipeline, "run", "--threads", str(args.threads)] + args.pipeline_args.split() + extra, env=env,
                       capture_output=True, text=True)
    seconds = time.time() - t0
    if r.returncode != 0: sys.exit(f"pipeline run failed: {r.stderr[-2000:]}")
    status = json.loads(subprocess.run([pipeline, "status", job["name"], "--json"], env=env, check=True,
                                       capture_output=True, text=True).stdout)["jobs"][0]
    return {"seconds": seconds, "done": status["done"], "failed": status["failed"], "tokens_out": status["tokens_out"],
            "strategies": status.get("strategies"), "prefill_seconds": status.get("prefill_seconds"),
            "per_prompt_prefill_seconds": status.get("per_prompt_prefill_seconds"),
            "prediction_error": status.get("prediction_error"), "speculation": status.get("speculation")}

def run_peer(args, spec):
    peer = peer_bin()
    t0, out_tokens = time.time(), 0
    for doc in args.docs:
        text = open(doc, encoding="utf-8").read()
        for prompt in spec["prompts"]:
            r = subprocess.run([peer, "-m", args.model, "-p", chatml(text + "\n\n" + prompt), "-n", str(spec["max_new_tokens"]),
                                "-c", "8192", "-t", str(args.threads), "--temp", "0", "-no-cnv", "--no-display-prompt",
                                "--log-verbosity", "3"], capture_output=True, text=True)
            if r.returncode != 0: sys.exit(f"llama-completion failed on {doc}: {r.stderr[-2000:]}")
    return {"seconds": time.time() - t0, "done": len(args.docs)}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--job", default=os.path.join(ROOT, "jobs/licence-and-manual-questions.json"))
    ap.add_argument("--model", default=os.path.join(ROOT, "data/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", default="auto,dense-f16")
    ap.add_argument("--pipeline-args", default="")
    ap.add_argument("--json")
    ap.add_argument("--skip-peer", action="store_true", help="ours only (e.g. comparing --pipeline-args)")
    ap.add_argument("--base-db", help="a store whose machine profile and calibration rows each variant's fresh store starts from")
    args = ap.parse_args()
    spec = json.load(open(args.job))
    spec.setdefault("max_new_tokens", 256)
    args.docs = documents(args.job, spec)
    results, load = {}, [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as workdir:
        for v in args.variants.split(","):
            results[v] = run_ours(args, spec, v, workdir); load.append(os.getloadavg()[0])
        if not args.skip_peer:
            results["llama.cpp"] = run_peer(args, spec); load.append(os.getloadavg()[0])
    peer = results.get("llama.cpp")
    print(f"{len(args.docs)} documents × {len(spec['prompts'])} prompts, up to {spec['max_new_tokens']} new tokens, "
          f"{args.threads} threads; load average {min(load):.2f}–{max(load):.2f}")
    print("| run | seconds | documents/hour | vs llama.cpp | strategies |")
    print("|---|---:|---:|---:|---|")
    for name, r in results.items():
        dph = r["done"] / r["seconds"] * 3600
        ratio = "%.2f×" % (peer["seconds"] / r["seconds"] * r["done"] / peer["done"]) if peer else "—"
        print(f"| {name} | {r['seconds']:.1f} | {dph:.1f} | {ratio} | "
              f"{r.get('strategies', '')} |")
    for name, r in results.items():
        if r.get("per_prompt_prefill_seconds"):
            print(f"{name}: prefill {r['prefill_seconds']:.1f} s with the document's KV reused by every prompt, "
                  f"{r['per_prompt_prefill_seconds']:.1f} s estimated without (document re-prefilled per prompt); "
                  f"prediction error {100 * (r.get('prediction_error') or 0):.1f}%")
    if args.json: json.dump({"results": results, "load": load, "documents": args.docs}, open(args.json, "w"), indent=1)

if __name__ == "__main__":
    main()
