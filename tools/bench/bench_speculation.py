#!/usr/bin/env python3
"""Speculative decoding, ours against llama.cpp's best on the same work, same machine, same run
(issue 15). Cases are rendered prompts ({name, prompt}; tools/bench/speculation_cases.py makes them
from job files or needle lists).

  tools/bench/bench_speculation.py --cases /tmp/job-cases.json [--sources lookup,self,hier] [--gen-tokens 128]
                               [--rounds 3] [--threads 2] [--peer-types none,ngram-simple,ngram-map-k,ngram-map-k4v,ngram-mod,ngram-cache]
                               [--peer-fa auto|on|off]
                               [--skip-peer] [--json OUT]

Each round, interleaved:
- ours: `pipeline bench --speculate SOURCES --spec-cases FILE --gen-tokens N --repetitions 1 --json`
  (plain dense decode and every source from the same prefilled prefix; every speculative answer is
  checked token-identical to the plain one, the bench exits 70 otherwise);
- llama.cpp: one `llama-server` per --spec-type (prompt cache on, -c 8192, greedy), each case sent
  once untimed (prefill into its prompt cache) then once timed, with n_predict = the number of
  tokens our plain decode generated and ignore_eos, so both decode the same lengths; decode tok/s
  from the server's own timings (predicted_per_second).
Reports per case: our plain and speculative decode tok/s, the speed-up, acceptance; the peer's
tok/s per spec type; ratios ours/plain and ours/peer-best (and peer-best/peer-none). Medians over
rounds; load average before and after."""
import argparse, json, os, socket, statistics, subprocess, sys, time, urllib.request
from peer_tools import peer_binary

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

def peer_bin():
    return peer_binary("llama-server")

def ours(args):
    cmd = [os.path.join(ROOT, ".build/release/pipeline"), "bench", "--model", args.model, "--threads", str(args.threads),
           "--speculate", args.sources, "--spec-cases", args.cases, "--gen-tokens", str(args.gen_tokens),
           "--draft-tokens", str(args.draft_tokens), "--repetitions", "1", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0: sys.exit(f"pipeline bench failed ({r.returncode}): {r.stderr[-2000:]}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def post(port, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/completion", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=3600).read())

def peer(args, spec_type, cases, lengths):
    port = free_port()
    cmd = [peer_bin(), "-m", args.model, "-c", "8192", "-t", str(args.threads), "--port", str(port), "--log-disable", "-np", "1"]
    if spec_type != "none": cmd += ["--spec-type", spec_type]
    cmd += ["--flash-attn", args.peer_fa]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1); break
            except Exception: time.sleep(0.2)
        else: sys.exit(f"llama-server --spec-type {spec_type} did not start")
        out = {}
        for c in cases:
            n = lengths.get(c["name"])
            if not n: continue
            body = {"prompt": c["prompt"], "n_predict": n, "temperature": 0, "cache_prompt": True, "ignore_eos": True}
            post(port, dict(body, n_predict=1))  # prefill into the prompt cache, untimed
            r = post(port, body)
            out[c["name"]] = {"tps": r["timings"]["predicted_per_second"], "n": r["timings"]["predicted_n"],
                              "draft_n": r["timings"].get("draft_n"), "draft_n_accepted": r["timings"].get("draft_n_accepted")}
        return out
    finally:
        server.terminate(); server.wait()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    ap.add_argument("--model", default=os.path.join(ROOT, "data/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--sources", default="lookup,self,hier")
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--draft-tokens", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peer-types", default="none,ngram-simple,ngram-map-k,ngram-map-k4v,ngram-mod,ngram-cache")
    ap.add_argument("--peer-fa", default="auto", choices=["auto", "on", "off"],
                    help="llama-server's --flash-attn (its default is auto; at depth, on is faster on CPU)")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    cases = json.load(open(args.cases))
    load_before = os.getloadavg()
    ours_rows, peer_rows = {}, {}
    for rnd in range(args.rounds):
        rows = ours(args)
        for r in rows: ours_rows.setdefault((r["test"], r["source"]), []).append(r)
        lengths = {r["test"]: r["generated_tokens"] for r in rows if r["source"] == "off"}
        if not args.skip_peer:
            for t in args.peer_types.split(","):
                for name, v in peer(args, t, cases, lengths).items(): peer_rows.setdefault((name, t), []).append(v)
        print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    load_after = os.getloadavg()
    med = lambda xs: statistics.median(xs) if xs else 0.0
    report = {"load_before": load_before, "load_after": load_after, "cases": []}
    sources = args.sources.split(",")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; medians over {args.rounds} rounds")
    print(f"{'case':44} {'source':7} {'ours tok/s':>10} {'x plain':>8} {'accept':>7} " + " ".join(f"{t[:12]:>12}" for t in args.peer_types.split(",")) + "  ours/peer-best  peer-best/none")
    for c in cases:
        name = c["name"]
        plain = med([r["tokens_per_second"] for r in ours_rows.get((name, "off"), [])])
        peers = {t: med([v["tps"] for v in peer_rows.get((name, t), [])]) for t in args.peer_types.split(",")}
        best = max((v for t, v in peers.items() if t != "none"), default=0.0)
        for s in ["off"] + sources:
            rs = ours_rows.get((name, s), [])
            tps = med([r["tokens_per_second"] for r in rs])
            acc = med([r["acceptance_rate"] for r in rs])
            identical = all(r["identical"] for r in rs)
            line = {"case": name, "source": s, "tokens_per_second": tps, "speedup": tps / plain if plain else 0,
                    "acceptance_rate": acc, "identical": identical, "peer": peers,
                    "ours_over_peer_best": tps / best if best else None,
                    "peer_best_over_none": best / peers.get("none", 0) if peers.get("none") else None}
            report["cases"].append(line)
            print(f"{name[:44]:44} {s:7} {tps:10.2f} {line['speedup']:8.2f} {100 * acc:6.1f}% " +
                  " ".join(f"{peers[t]:12.2f}" for t in args.peer_types.split(",")) +
                  (f"  {line['ours_over_peer_best']:14.2f}" if best else "  " + " " * 14) +
                  (f"  {line['peer_best_over_none']:14.2f}" if line["peer_best_over_none"] else ""))
    if args.json: json.dump(report, open(args.json, "w"), indent=1)

if __name__ == "__main__":
    main()
