#!/usr/bin/env python3
"""Our `pipeline bench` and llama.cpp's `llama-bench` side by side, in the same run, on the same
model and threads: each round runs every test once with each tool (ours with one timed
repetition after its warm-up; llama-bench with -r 1 and its own warm-up), alternating, and the
table reports the median over rounds with every sample. Depth tests run the peer with flash
attention on and off and quote the faster (as ../shared/tools/peer-bench.sh does).

  tools/bench/bench_vs_peer.py [--model M] [--threads 2] [--rounds 3] [--tests pp512,pp4096,tg128,tg64@d4096]
                           [--kv f16] [--strategy dense] [--peer-kv f16] [--json OUT]
--kv takes a comma-separated list (f16,int8,int4): ours then runs all of them in one process per
test and round (`pipeline bench --kv f16,int8,int4` interleaves the formats' repetitions), and the
table has one row per (test, format), each with its ratio to the same llama.cpp samples.
--strategy also takes a list (dense,topk,da-topk,lsh): each strategy is its own `pipeline bench`
process per test and round, all of them between the same llama.cpp runs. Strategy parameters
(--k, --lsh-l, ...) go after `--` and apply to every strategy.
Tests: ppN (prefill N tokens), tgN (N decode steps at depth 0), tgN@dD (N steps after D tokens).
--activations f32,q8 and --lm-head full,certified (issue 14): ours runs every activation format
(pp tests) and every format × head (tg tests) in one process per test and round, interleaved by
`pipeline bench`; rows are named "pp512 (q8)", "tg128 (f32+certified)". --peer-fa both runs
llama-bench with flash attention on and off for every test (not only at depth) and quotes the
faster. Each row also states achieved GOP/s (2 × matmul weights × tok/s; attention not counted)
for pp and GB/s (weight bytes read per step × tok/s) for tg, against this machine's peaks per
instruction (--ghz, default the current clock of /proc/cpuinfo; 2 FMA × 8 fp32 lanes per cycle
per core; vpmaddubsw 32 int8 MACs per cycle per core on Zen 2)."""
import argparse, json, os, re, statistics, subprocess, sys, time
from peer_tools import peer_binary

def peer_bin():
    return peer_binary("llama-bench")

def parse(test):
    m = re.fullmatch(r"pp(\d+)|tg(\d+)(?:@d(\d+))?", test)
    if not m: sys.exit(f"bad test {test}")
    if m.group(1): return ("pp", int(m.group(1)), 0)
    return ("tg", int(m.group(2)), int(m.group(3) or 0))

def weight_stats(path):
    """(matmul weights, bytes read per decode step by the matmuls, output head bytes) from the GGUF header."""
    import struct
    f = open(path, "rb")
    def r(fmt): return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))
    def rs(): n, = r("Q"); return f.read(n).decode()
    def rv(t):
        if t == 8: return rs()
        if t == 9:
            at, n = r("IQ"); return [rv(at) for _ in range(n)]
        return r({0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}[t])[0]
    _, _, nt, nkv = r("IIQQ")
    for _ in range(nkv): rs(); t, = r("I"); rv(t)
    block = {0: (1, 4), 1: (1, 2), 30: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
             12: (256, 144), 13: (256, 176), 14: (256, 210)}
    params = step_bytes = head = 0
    tensors = {}
    for _ in range(nt):
        name = rs(); nd, = r("I"); dims = r("Q" * nd); t, = r("I"); r("Q")
        tensors[name] = (dims, t)
    for name, (dims, t) in tensors.items():
        if len(dims) != 2: continue
        n = dims[0] * dims[1]; bs, bb = block[t]; size = n // bs * bb
        is_head = name == "output.weight" or (name == "token_embd.weight" and "output.weight" not in tensors)
        if name == "token_embd.weight" and not is_head: continue  # a lookup, not a matmul
        params += n; step_bytes += size
        if is_head: head = size
    return params, step_bytes, head

def ours(args, kind, n, depth, strategy):
    cmd = [args.pipeline, "bench", "--model", args.model, "--threads", str(args.threads), "--repetitions", "1",
           "--kv", args.kv, "--strategy", strategy, "--json"] + args.extra
    if args.variants:
        cmd += ["--activations", args.activations, "--lm-head", args.lm_head]
    if kind == "pp": cmd += ["--prompt-tokens", str(n), "--depths", "0", "--gen-tokens", "0"]
    else: cmd += ["--prompt-tokens", "0", "--depths", str(depth), "--gen-tokens", str(n), "--depth-gen-tokens", str(n)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    if args.variants:  # rows named "pp512/q8", "tg128/f32+certified"
        return {r["test"].split("/", 1)[1]: r["tokens_per_second"] for r in rows if "/" in r.get("test", "")}
    formats = args.kv.split(",")
    rows = [r for r in rows if "tokens_per_second" in r]
    if len(formats) == 1: found = {formats[0]: rows[0]}
    else: found = {f: next(r for r in rows if r.get("kv") == f) for f in formats}
    # tg rows carry the first step (a sparse strategy's index build) and the rate with it amortized
    for f, r in found.items():
        if "first_step_seconds" in r:
            args.first_steps.setdefault((strategy, f, kind, n, depth), []).append((r["first_step_seconds"], r["amortized_tokens_per_second"]))
    return {f: r["tokens_per_second"] for f, r in found.items()}

def peer(args, kind, n, depth):
    best, best_fa = 0.0, None
    for fa in ([0, 1] if depth > 0 or args.peer_fa == "both" else [0]):
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
    ap.add_argument("--activations", default="f32", help="ours: activation formats (f32,q8)")
    ap.add_argument("--lm-head", default="full", help="ours: LM heads for the tg tests (full,certified)")
    ap.add_argument("--peer-fa", default="depth", choices=["depth", "both"], help="llama-bench -fa 0 and 1: at depth only, or always")
    ap.add_argument("--ghz", type=float, help="clock for the peak figures (default: /proc/cpuinfo)")
    ap.add_argument("extra", nargs="*", help="extra arguments for pipeline bench (after --)")
    args = ap.parse_args()
    args.peer = peer_bin()
    args.first_steps = {}
    tests = args.tests.split(",")
    strategies = args.strategy.split(",")
    args.variants = args.activations != "f32" or args.lm_head != "full"
    if args.variants:
        if len(strategies) > 1 or "," in args.kv: sys.exit("--activations/--lm-head lists take one --strategy and one --kv")
        acts, heads = args.activations.split(","), args.lm_head.split(",")
        def variants(t):
            kind = parse(t)[0]
            return [a for a in acts] if kind == "pp" else [a + ("" if h == "full" else "+" + h) for a in acts for h in heads]
        formats = sorted({v for t in tests for v in variants(t)})
    else:
        formats = [(s, f) for s in strategies for f in args.kv.split(",")]
    samples = {t: {"ours": {sf: [] for sf in formats}, "peer": [], "peer_fa": []} for t in tests}
    load = [os.getloadavg()[0]]
    for r in range(args.rounds):
        for t in tests:
            kind, n, depth = parse(t)
            for s in strategies:
                for f, v in ours(args, kind, n, depth, s).items():
                    samples[t]["ours"][f if args.variants else (s, f)].append(v)
            ts, fa = peer(args, kind, n, depth)
            samples[t]["peer"].append(ts); samples[t]["peer_fa"].append(fa)
            load.append(os.getloadavg()[0])
    label = f"{args.strategy}, {args.kv} KV" + (" " + " ".join(args.extra) if args.extra else "")
    print(f"model {os.path.basename(args.model)}, {args.threads} threads, {args.rounds} rounds; ours: {label}; "
          f"llama.cpp: {args.peer_kv} KV; load average during the run {min(load):.2f}–{max(load):.2f}")
    params, step_bytes, head_bytes = weight_stats(args.model)
    ghz = args.ghz or next((float(l.split(":")[1]) / 1000 for l in open("/proc/cpuinfo") if l.startswith("cpu MHz")), 0)
    cores = args.threads
    print(f"matmul weights {params / 1e6:.1f} M, {step_bytes / 1e6:.1f} MB per decode step ({head_bytes / 1e6:.1f} MB output head); "
          f"peaks at {ghz:.2f} GHz × {cores} cores: fp32 FMA {32 * ghz * cores:.0f} GFLOP/s, int8 vpmaddubsw {64 * ghz * cores:.0f} GOP/s")
    print("| test | ours (tok/s) | llama.cpp (tok/s) | ratio | ours GOP/s or GB/s | llama.cpp | ours, samples | llama.cpp, samples |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    result = {}
    for t in tests:
        p = statistics.median(samples[t]["peer"])
        fa = max(set(samples[t]["peer_fa"]), key=samples[t]["peer_fa"].count)
        for f in formats:
            if not samples[t]["ours"][f]: continue
            o = statistics.median(samples[t]["ours"][f])
            name = t if len(formats) == 1 else (f"{t} ({f})" if args.variants else f"{t} ({f[0]}, {f[1]} KV)")
            kind = parse(t)[0]
            # pp: 2 ops per weight per token; tg: the matmul weights read once per step (the head read
            # by the certified head is the compressed copy plus a few rows: not counted here)
            rate = (lambda ts: f"{2 * params * ts / 1e9:.0f} GOP/s") if kind == "pp" else (lambda ts: f"{step_bytes * ts / 1e9:.1f} GB/s")
            print(f"| {name} | {o:.1f} | {p:.1f}{' (fa)' if fa else ''} | {o / p:.2f}× | {rate(o)} | {rate(p)} | "
                  f"{', '.join(f'{x:.1f}' for x in samples[t]['ours'][f])} | {', '.join(f'{x:.1f}' for x in samples[t]['peer'])} |")
            result[name] = {"ours": o, "peer": p, "ratio": o / p, "ours_samples": samples[t]["ours"][f],
                            "peer_samples": samples[t]["peer"], "peer_fa": samples[t]["peer_fa"]}
    if args.first_steps and not args.variants:
        # the index build: the first step's excess over a steady step, dense's excess (cold pages, no
        # index) shown beside it; "amortized" adds the whole excess to the N timed steps
        print()
        print("| test | first step (ms) | steady step (ms) | ours, index build amortized (tok/s) | llama.cpp (tok/s) | ratio |")
        print("|---|---:|---:|---:|---:|---:|")
        for t in tests:
            kind, n, depth = parse(t)
            if kind != "tg": continue
            p = statistics.median(samples[t]["peer"])
            for (s, f) in formats:
                got = args.first_steps.get((s, f, kind, n, depth))
                if not got: continue
                first = statistics.median(x for x, _ in got); amort = statistics.median(a for _, a in got)
                steady = 1000 / statistics.median(samples[t]["ours"][(s, f)])
                print(f"| {t} ({s}, {f} KV) | {first * 1e3:.1f} | {steady:.1f} | {amort:.1f} | {p:.1f} | {amort / p:.2f}× |")
                result.setdefault(f"{t} ({s}, {f} KV)", {}).update({"first_step_seconds": [x for x, _ in got],
                                                                    "amortized": [a for _, a in got]})
    args.first_steps = {str(k): v for k, v in args.first_steps.items()}
    if args.json:
        json.dump({"args": vars(args), "load": load, "tests": result, "time": time.strftime("%Y-%m-%dT%H:%M:%S")},
                  open(args.json, "w"), indent=1)

if __name__ == "__main__":
    main()
