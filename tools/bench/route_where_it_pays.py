#!/usr/bin/env python3
"""Route where it pays (issue 13, item 6): does the router pick, per document, a mix whose measured
time is within 15% of the best eligible mix's?

  tools/bench/route_where_it_pays.py --base-db STORE [--job FILE] [--fidelity high] [--threads 2]
        [--tolerance 0.15] [--json OUT]

1. A fresh store from --base-db (its machine profile and calibration rows), the job submitted with
   `strategy: auto` at --fidelity, and `pipeline plan --json`: per document the chosen mix, its
   predicted seconds, and every eligible mix.
2. Every mix eligible for some document is then run once on all of the job's documents, pinned, on
   a fresh store and KV folder, one unit at a time (`--batch-units 1`, so a unit's time is its own).
   A unit's measured time is its prefill (document and prompts) plus its decode, from the store.
3. Per document: the chosen mix's measured time against the best measured time of the mixes
   eligible for it. The router passes on a document when the chosen mix is within --tolerance of
   the best; the goal is 80% of the documents.
Measure on a quiet machine only (the load average is printed before and after)."""
import argparse, json, os, sqlite3, statistics, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_jobs

ROOT = bench_jobs.ROOT
PIPELINE = os.path.join(ROOT, ".build/release/pipeline")


def unit_seconds(db):
    """Measured prefill + decode seconds per document path of the store's done units."""
    with sqlite3.connect(db) as c:
        rows = c.execute("""SELECT d.path, m.prefill_seconds + m.decode_seconds, m.strategy_mix FROM metrics m
                            JOIN unit u ON u.id = m.unit_id JOIN document d ON d.id = u.document_id""").fetchall()
    return {os.path.realpath(p): (s, mix) for p, s, mix in rows}


def plan(args, spec, workdir):
    job = dict(spec, strategy="auto", fidelity=args.fidelity, name="route-plan", documents=args.docs)
    path, db = os.path.join(workdir, "route-plan.json"), os.path.join(workdir, "route-plan.sqlite")
    json.dump(job, open(path, "w"))
    with sqlite3.connect(args.base_db) as src, sqlite3.connect(db) as dst: src.backup(dst)
    env = dict(os.environ, PIPELINE_DB=db, PIPELINE_KV_DIR=os.path.join(workdir, "kv-plan"),
               PIPELINE_DOCUMENT_ROOTS=os.path.join(ROOT, "data/docs"))  # the job file sits in a temp folder
    subprocess.run([PIPELINE, "submit", path], env=env, check=True, capture_output=True)
    out = subprocess.run([PIPELINE, "plan", "route-plan", "--json", "--threads", str(args.threads)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["documents"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--job", default=os.path.join(ROOT, "tools/bench/route-where-it-pays.json"))
    ap.add_argument("--model", default=os.path.join(ROOT, "data/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--base-db", required=True)
    ap.add_argument("--fidelity", default="high")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=0.15)
    ap.add_argument("--json")
    args = ap.parse_args()
    args.pipeline_args = ""
    spec = json.load(open(args.job))
    spec.setdefault("max_new_tokens", 256)
    args.docs = [os.path.realpath(p) for p in bench_jobs.documents(args.job, spec)]
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as workdir:
        plans = plan(args, spec, workdir)
        eligible = {}
        for p in plans:
            if p.get("error"): sys.exit(f"{p['document']}: {p['error']}")
            route = p["route"]
            eligible[os.path.realpath(p["document"])] = {
                "chosen": route["chosen"], "predicted": (route.get("prediction") or {}).get("seconds"),
                "mixes": [a["mix"] for a in route["alternatives"] if a["eligible"]],
                "mix_values": {a["mix"]: a["mixValue"] for a in route["alternatives"] if a["eligible"]}}
        mixes = sorted({m for e in eligible.values() for m in e["mixes"]})
        measured = {}
        for mix in mixes:
            value = next(e["mix_values"][mix] for e in eligible.values() if mix in e["mix_values"])
            variant = f"{value['attention']}-{value['kv']}@b1"
            result = bench_jobs.run_ours(args, spec, variant, workdir)
            if result["failed"]: sys.exit(f"{mix}: {result['failed']} units failed")
            measured[mix] = unit_seconds(os.path.join(workdir, f"bench-{variant}.sqlite"))
            print(f"{mix}: {result['seconds']:.1f} s for {result['done']} documents", file=sys.stderr)
        load.append(os.getloadavg()[0])
    rows, passed = [], 0
    for doc, e in eligible.items():
        times = {m: measured[m][doc][0] for m in e["mixes"]}
        best = min(times, key=times.get)
        ratio = times[e["chosen"]] / times[best]
        ok = ratio <= 1 + args.tolerance
        passed += ok
        rows.append({"document": os.path.relpath(doc, ROOT), "chosen": e["chosen"], "predicted": e["predicted"],
                     "measured": times, "best": best, "ratio": ratio, "within": ok})
    print(f"{len(rows)} documents, fidelity {args.fidelity}, {spec['max_new_tokens']} new tokens × {len(spec['prompts'])} prompts, "
          f"{args.threads} threads; load average before {load[0]:.2f}, after {load[-1]:.2f}")
    print("| document | chosen | predicted s | " + " | ".join(f"{m} s" for m in mixes) + " | best | chosen ÷ best |")
    print("|---|---|---:|" + "---:|" * len(mixes) + "---|---:|")
    for r in rows:
        cells = " | ".join(f"{r['measured'][m]:.1f}" if m in r["measured"] else "—" for m in mixes)
        pred = f"{r['predicted']:.1f}" if r["predicted"] is not None else "—"
        print(f"| {r['document']} | {r['chosen']} | {pred} | {cells} | {r['best']} | {r['ratio']:.3f}{'' if r['within'] else ' ✗'} |")
    share = passed / max(1, len(rows))
    print(f"chosen within {args.tolerance:.0%} of the best measured mix: {passed}/{len(rows)} ({share:.0%}); goal 80%: "
          f"{'pass' if share >= 0.8 else 'FAIL'}; median chosen ÷ best {statistics.median(r['ratio'] for r in rows):.3f}")
    if args.json: json.dump({"fidelity": args.fidelity, "rows": rows, "load": load}, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
