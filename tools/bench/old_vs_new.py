#!/usr/bin/env python3
"""Two builds of `pipeline` against each other (issue 12, item 7: a redesign shows no slowdown):
the engine and strategy figures of BENCHMARKS.md measured with an old and a new binary in one
run, same model and threads. Each round runs every test once with each binary, the order of the
two alternating from round to round; the table gives the medians, every sample and new/old.

  tools/bench/old_vs_new.py --old /path/old/pipeline --new .build/release/pipeline [--rounds 3]
      [--tests pp512,pp4096,tg128,tg64@d4096] [--depth-tests tg64@d8000]
      [--mixes dense/f16,dense/int8,dense/int4,topk/f16,da-topk/f16,lsh/f16]

--tests run with dense attention over f16 KV; --depth-tests run once per mix (strategy/KV format)
at their defaults. Tests: ppN (prefill N tokens), tgN (N decode steps at depth 0), tgN@dD.
Benchmark on a quiet machine: the load average before and after is printed."""
import argparse, json, os, re, statistics, subprocess, sys

def parse(test):
    m = re.fullmatch(r"pp(\d+)|tg(\d+)(?:@d(\d+))?", test)
    if not m: sys.exit(f"bad test {test}")
    return ("pp", int(m.group(1)), 0) if m.group(1) else ("tg", int(m.group(2)), int(m.group(3) or 0))

def run(binary, model, threads, test, strategy, kv):
    kind, n, depth = parse(test)
    cmd = [binary, "bench", "--model", model, "--threads", str(threads), "--repetitions", "1",
           "--kv", kv, "--strategy", strategy, "--json"]
    if kind == "pp": cmd += ["--prompt-tokens", str(n), "--depths", "0", "--gen-tokens", "0"]
    else: cmd += ["--prompt-tokens", "0", "--depths", str(depth), "--gen-tokens", str(n), "--depth-gen-tokens", str(n)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    return rows[0]["tokens_per_second"]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", default=".build/release/pipeline")
    ap.add_argument("--model", default="data/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tests", default="pp512,pp4096,tg128,tg64@d4096")
    ap.add_argument("--depth-tests", default="tg64@d8000")
    ap.add_argument("--mixes", default="dense/f16,dense/int8,dense/int4,topk/f16,da-topk/f16,lsh/f16")
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = [(t, "dense", "f16") for t in args.tests.split(",") if t]
    rows += [(t, *m.split("/")) for t in args.depth_tests.split(",") if t for m in args.mixes.split(",")]
    samples = {r: {"old": [], "new": []} for r in rows}
    load = [os.getloadavg()[0]]
    for rnd in range(args.rounds):
        order = ["old", "new"] if rnd % 2 == 0 else ["new", "old"]
        for r in rows:
            for which in order:
                samples[r][which].append(run(getattr(args, which), args.model, args.threads, *r))
            load.append(os.getloadavg()[0])
    print(f"old {args.old}, new {args.new}; model {os.path.basename(args.model)}, {args.threads} threads, "
          f"{args.rounds} rounds; load average {load[0]:.2f} before, {min(load):.2f}–{max(load):.2f} during, {load[-1]:.2f} after")
    print("| test | mix | old (tok/s) | new (tok/s) | new/old | old, samples | new, samples |")
    print("|---|---|---:|---:|---:|---|---|")
    result = []
    for r in rows:
        o, n = statistics.median(samples[r]["old"]), statistics.median(samples[r]["new"])
        print(f"| {r[0]} | {r[1]}, {r[2]} KV | {o:.1f} | {n:.1f} | {n / o:.3f} | "
              f"{', '.join(f'{x:.1f}' for x in samples[r]['old'])} | {', '.join(f'{x:.1f}' for x in samples[r]['new'])} |")
        result.append({"test": r[0], "strategy": r[1], "kv": r[2], "old": samples[r]["old"], "new": samples[r]["new"]})
    if args.json:
        json.dump({"load": load, "rows": result}, open(args.json, "w"), indent=1)

if __name__ == "__main__":
    main()
