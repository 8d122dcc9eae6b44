#!/usr/bin/env python3
"""End to end on a job file against the fair peer: llama-server with its prompt cache, each
document's prompts asked in order on one slot (../shared/tools/peer-e2e.py), best of 1 and 2
slots. Ours: `pipeline submit` + `pipeline run` on a fresh store that starts from --base-db (its
machine profile and calibration rows, so `strategy: auto` routes) and a fresh KV folder.
Rounds are interleaved (ours, peer -np 1, peer -np 2, ours, ...); medians are reported with the
load average before and after. Measure on a quiet machine only.

  tools/bench/e2e_vs_server.py [--job jobs/licence-and-manual-questions.json] [--rounds 2]
        [--variants auto] [--base-db STORE] [--threads 2] [--slots 1,2] [--json OUT]
Variants as in tools/bench/bench_jobs.py: auto, or ATTENTION-KV (pinned), optionally @bN."""
import argparse, json, os, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_jobs  # run_ours, documents
from peer_tools import SHARED, peer_binary



def peer(args, slots):
    out = subprocess.run([sys.executable, os.path.join(SHARED, "peer-e2e.py"), peer_binary("llama-server"), args.model,
                          args.job, str(slots), str(args.threads)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--job", default=os.path.join(ROOT, "jobs/licence-and-manual-questions.json"))
    ap.add_argument("--model", default=os.path.join(ROOT, "data/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--variants", default="auto")
    ap.add_argument("--slots", default="1,2")
    ap.add_argument("--base-db")
    ap.add_argument("--pipeline-args", default="")
    ap.add_argument("--json")
    args = ap.parse_args()
    spec = json.load(open(args.job))
    spec.setdefault("max_new_tokens", 256)
    args.docs = bench_jobs.documents(args.job, spec)
    runs = {}
    load = [os.getloadavg()[0]]
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as workdir:
            for v in args.variants.split(","):
                res = bench_jobs.run_ours(args, spec, v, workdir)
                runs.setdefault(f"ours {v}", []).append(res)
                print(f"round {r + 1}: ours {v}: {res['seconds']:.1f} s, {res['tokens_out']} tokens out, {res['strategies']}", file=sys.stderr)
        for n in map(int, args.slots.split(",")):
            res = peer(args, n)
            runs.setdefault(f"llama-server -np {n}", []).append(res)
            print(f"round {r + 1}: llama-server -np {n}: {res['seconds']:.1f} s, {res['tokens_out']} tokens out", file=sys.stderr)
        load.append(os.getloadavg()[0])
    docs = len(args.docs)
    medians = {k: statistics.median(x["seconds"] for x in v) for k, v in runs.items()}
    best_peer = min((k for k in medians if k.startswith("llama-server")), key=medians.get)
    print(f"{docs} documents × {len(spec['prompts'])} prompts, up to {spec['max_new_tokens']} new tokens, {args.threads} threads, "
          f"{args.rounds} interleaved rounds; load average {min(load):.2f}–{max(load):.2f} (before {load[0]:.2f}, after {load[-1]:.2f})")
    print("| run | median seconds | documents/hour | tokens out | vs best peer |")
    print("|---|---:|---:|---:|---:|")
    for k, v in runs.items():
        print(f"| {k} | {medians[k]:.1f} | {docs / medians[k] * 3600:.1f} | {v[-1]['tokens_out']} | {medians[best_peer] / medians[k]:.2f}× |")
    if args.json:
        json.dump({"runs": runs, "medians": medians, "best_peer": best_peer, "load": load}, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
