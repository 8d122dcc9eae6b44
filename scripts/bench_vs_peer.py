#!/usr/bin/env python3
"""Our `pipeline bench` and llama.cpp's `llama-bench` side by side, in the same run, on the same
model and threads: each round runs every test once with each tool (ours with one timed
repetition after its warm-up; llama-bench with -r 1 and its own warm-up), alternating, and the
table reports the median over rounds with every sample. Depth tests run the peer with flash
attention on and off and quote the faster (as ../shared/tools/peer-bench.sh does).

  scripts/bench_vs_peer.py [--model M] [--threads 2] [--rounds 3] [--tests pp512,pp4096,tg128,tg64@d4096]
                           [--kv f16] [--strategy dense] [--peer-kv f16] [--json OUT]
--kv takes a comma-separated list (f16,int8,int4): ours then runs all of them in one process per
test and round (`pipeline bench --kv f16,int8,int4` interleaves the formats' repetitions), and the
table has one row per (test, format), each with its ratio to the same llama.cpp samples.
--strategy also takes a list (dense,topk,da-topk,lsh): each strategy is its own `pipeline bench`
process per test and round, all of them between the same llama.cpp runs. Strategy parameters
(--k, --lsh-l, ...) go after `--` and apply to every strategy.
Tests: ppN (prefill N tokens), tgN (N decode steps at depth 0), tgN@dD (N steps after D tokens)."""
import argparse, json, os, re, statistics, subprocess, sys, time

def peer_bin():
    out = subprocess.run([os.path.join(os.path.dirname(__file__), "../../shared/tools/build-llama-cpp.sh")],
                         capture_output=True, text=True)
    path = out.stdout.strip().splitlines()[-1] if out.returncode == 0 else ""
    if not path:  # fall back to the default prefix of the shared build script
        path = os.path.expanduser("~/.cache/llama-cpp-peer/llama.cpp/build/bin")
    return os.path.join(path, "llama-bench")

def parse(test):
    m = re.fullmatch(r"pp(\d+)|tg(\d+)(?:@d(\d+))?", test)
    if not m: sys.exit(f"bad test {test}")
    if m.group(1): return ("pp", int(m.group(1)), 0)
    return ("tg", int(m.group(2)), int(m.group(3) or 0))

def ours(args, kind, n, depth, strategy):
    cmd = [args.pipeline, "bench", "--model", args.model, "--threads", str(args.threads), "--repetitions", "1",
           "--kv", args.kv, "--strategy", strategy, "--json"] + args.extra
    if kind == "pp": cmd += ["--prompt-tokens", str(n), "--depths", "0", "--gen-tokens", "0"]
    else: cmd += ["--prompt-tokens", "0", "--depths", str(depth), "--gen-tokens", str(n), "--depth-gen-tokens", str(n)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    formats = args.kv.split(",")
    if len(formats) == 1: return {formats[0]: rows[0]["tokens_per_second"]}
    return {f: next(r["tokens_per_second"] for r in rows if r.get("kv") == f) for f in formats}

def peer(args, kind, n, depth):
    best, best_fa = 0.0, None
    for fa in ([0, 1] if depth > 0 else [0]):
        cmd = [args.peer, "-m", args.model, "-t", str(args.threads), "-r", "1", "-o", "json", "-fa", str(fa),
               "-ctk", args.peer_kv, "-ctv", args.peer_kv]
        cmd += ["-p", str(n), "-n", "0"] if kind == "pp" else ["-p", "0", "-n", str(n), "-d", str(depth)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        ts = json.loads(out)[0]["avg_ts"]
        if ts > best: best, best_fa = ts, fa
    return best, best_fa

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="data/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--pipeline", default=".build/release/pipeline")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tests", default="pp512,pp4096,tg128,tg64@d4096")
    ap.add_argument("--kv", default="f16")
    ap.add_argument("--strategy", default="dense")
    ap.add_argument("--peer-kv", default="f16")
    ap.add_argument("--json")
    ap.add_argument("extra", nargs="*", help="extra arguments for pipeline bench (after --)")
    args = ap.parse_args()
    args.peer = peer_bin()
    tests = args.tests.split(",")
    strategies = args.strategy.split(",")
    formats = [(s, f) for s in strategies for f in args.kv.split(",")]
    samples = {t: {"ours": {sf: [] for sf in formats}, "peer": [], "peer_fa": []} for t in tests}
    load = [os.getloadavg()[0]]
    for r in range(args.rounds):
        for t in tests:
            kind, n, depth = parse(t)
            for s in strategies:
                for f, v in ours(args, kind, n, depth, s).items(): samples[t]["ours"][(s, f)].append(v)
            ts, fa = peer(args, kind, n, depth)
            samples[t]["peer"].append(ts); samples[t]["peer_fa"].append(fa)
            load.append(os.getloadavg()[0])
    label = f"{args.strategy}, {args.kv} KV" + (" " + " ".join(args.extra) if args.extra else "")
    print(f"model {os.path.basename(args.model)}, {args.threads} threads, {args.rounds} rounds; ours: {label}; "
          f"llama.cpp: {args.peer_kv} KV; load average during the run {min(load):.2f}–{max(load):.2f}")
    print("| test | ours (tok/s) | llama.cpp (tok/s) | ratio | ours, samples | llama.cpp, samples |")
    print("|---|---:|---:|---:|---|---|")
    result = {}
    for t in tests:
        p = statistics.median(samples[t]["peer"])
        fa = max(set(samples[t]["peer_fa"]), key=samples[t]["peer_fa"].count)
        for f in formats:
            o = statistics.median(samples[t]["ours"][f])
            name = t if len(formats) == 1 else f"{t} ({f[0]}, {f[1]} KV)"
            print(f"| {name} | {o:.1f} | {p:.1f}{' (fa)' if fa else ''} | {o / p:.2f}× | "
                  f"{', '.join(f'{x:.1f}' for x in samples[t]['ours'][f])} | {', '.join(f'{x:.1f}' for x in samples[t]['peer'])} |")
            result[name] = {"ours": o, "peer": p, "ratio": o / p, "ours_samples": samples[t]["ours"][f],
                            "peer_samples": samples[t]["peer"], "peer_fa": samples[t]["peer_fa"]}
    if args.json:
        json.dump({"args": vars(args), "load": load, "tests": result, "time": time.strftime("%Y-%m-%dT%H:%M:%S")},
                  open(args.json, "w"), indent=1)

if __name__ == "__main__":
    main()
