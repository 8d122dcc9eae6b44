#!/usr/bin/env python3
"""A bad-input campaign against the `pipeline` binary, as a hostile or careless user would run it.

  tools/campaign/bad_inputs.py [--pipeline .build/release/pipeline] [--model data/models/…gguf]
                               [--json OUT] [--quick]

Three kinds of input, each with the outcome the README documents:
- job files (≥ 300, generated from one valid job by mutating every field: wrong types, values
  at and past every range end, unknown and duplicate fields, strategy parameters of other
  strategies, fidelity exact with a pinned approximation, documents outside the allowed roots
  through absolute paths, `..` and symbolic links, prompts of ~8,000 tokens, max_new_tokens near
  the context). `submit` must exit 0 or 65 (66 for a missing job file) and never crash; every
  accepted job is then run (tiny documents, 2 new tokens) and each unit must end `done` or
  `failed` with a recorded error — never a crash, a hang, or a `done` unit with no output.
- store files: missing, empty, a folder, another application's SQLite database, truncated,
  overwritten pages, random bytes. status/results/submit must exit 65 or 66 (never 70 or a
  signal), and another application's database must be left byte for byte as it was.
- GGUF files: the model truncated at many offsets, bytes flipped in its header and metadata,
  RoPE and special-token values outside what the math allows. `generate` must exit 65 (or 66)
  with a message, never crash or produce an empty "success".
Prints one line per class and the totals; exits 1 if any case broke its rule."""
import argparse, json, os, random, shutil, sqlite3, struct, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIGNALS = lambda rc: rc < 0 or rc > 128


def run(cmd, env=None, timeout=300, cwd=None):
    t0 = time.time()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)
        return p.returncode, p.stdout, p.stderr, time.time() - t0
    except subprocess.TimeoutExpired:
        return "timeout", "", "", time.time() - t0


class Campaign:
    def __init__(self, pipeline, model, work):
        self.pipeline, self.model, self.work = pipeline, model, work
        self.results = {}  # class -> {"cases": n, "ok": n, "broken": [..], "outcomes": {...}}

    def record(self, klass, ok, outcome, detail=""):
        r = self.results.setdefault(klass, {"cases": 0, "ok": 0, "broken": [], "outcomes": {}})
        r["cases"] += 1
        r["outcomes"][outcome] = r["outcomes"].get(outcome, 0) + 1
        if ok:
            r["ok"] += 1
        else:
            r["broken"].append(f"{outcome}: {detail}"[:300])

    def env(self, db, **extra):
        return dict(os.environ, PIPELINE_DB=db, PIPELINE_MODEL=self.model,
                    PIPELINE_KV_DIR=os.path.join(self.work, "kv"), **extra)

    # ---- job files -------------------------------------------------------------------------
    def job_cases(self):
        docs = os.path.join(self.work, "jobs", "docs")
        os.makedirs(docs, exist_ok=True)
        for i in range(3):
            open(os.path.join(docs, f"d{i}.txt"), "w").write(f"Document {i}. The secret code for tower {i} is {1000 + i}.\n" * 20)
        outside = os.path.join(self.work, "outside")
        os.makedirs(outside, exist_ok=True)
        open(os.path.join(outside, "secret.txt"), "w").write("not yours\n")
        link = os.path.join(docs, "link.txt")
        if not os.path.lexists(link):
            os.symlink(os.path.join(outside, "secret.txt"), link)
        base = {"name": "c", "documents": ["docs/d0.txt"], "prompts": ["What is the code?"], "max_new_tokens": 2}
        values = [None, True, False, 0, -1, 1, 2, 0.5, 1e300, -1e300, 2**31, 2**53 + 1, 2**63, 2**64, "", " ", "x", "auto",
                  [], [""], ["docs/d0.txt"], {}, {"attention": "dense"}]
        fields = ["name", "documents", "prompts", "max_new_tokens", "temperature", "seed", "fidelity", "strategy",
                  "memory_budget_mb", "model", "overflow", "unknown_field"]
        cases = []
        for f in fields:
            for v in values:
                j = dict(base)
                if v is None:
                    j.pop(f, None)
                else:
                    j[f] = v
                cases.append((f"{f}={json.dumps(v)[:30]}", json.dumps(j)))
        # Every strategy parameter at, inside and past its range, on every strategy.
        ranges = {"top_k": (1, 4096), "k_prime": (1, 16384), "bucket_keep": (1, 2), "shards": (1, 64), "lsh_k": (1, 16),
                  "lsh_l": (2, 256), "sinks": (0, 64), "window": (1, 8192), "dense_layers": (0, 1024)}
        for attention in ["dense", "topk", "da-topk", "lsh", "flash", 3]:
            for kv in ["f16", "int8", "int4", "f32", "int2", None]:
                s = {"attention": attention}
                if kv is not None:
                    s["kv"] = kv
                cases.append((f"strategy {attention}+{kv}", json.dumps(dict(base, fidelity="fast", strategy=s))))
            for name, (lo, hi) in ranges.items():
                for v in [lo - 1, lo, hi, hi + 1, 20, 40, 64, 1024]:
                    s = {"attention": attention, name: v}
                    cases.append((f"strategy {attention} {name}={v}", json.dumps(dict(base, fidelity="fast", strategy=s))))
        for attention in ["topk", "da-topk", "lsh", "dense"]:
            for kv in ["f16", "int8", "int4"]:
                cases.append((f"exact+{attention}+{kv}", json.dumps(dict(base, fidelity="exact", strategy={"attention": attention, "kv": kv}))))
        # Documents: outside the roots, through links, missing, folders, patterns.
        for d in [os.path.join(outside, "secret.txt"), "/etc/shadow", "/etc/hostname", "../outside/secret.txt", "docs/link.txt",
                  "docs/../../outside/secret.txt", "docs/*.txt", "docs/missing.txt", "docs", "docs/[", "/etc/*",
                  "docs/d0.txt\u0000x", "docs/" + "a" * 5000]:
            cases.append((f"document {d[:40]}", json.dumps(dict(base, documents=[d]))))
        # Prompts and lengths near the context.
        long_prompt = "word " * 8000
        for overflow in ["fail", "truncate-middle"]:
            cases.append((f"8000-token prompt {overflow}", json.dumps(dict(base, prompts=[long_prompt], overflow=overflow))))
            for n in [8100, 8180, 8190, 8192]:
                cases.append((f"max_new_tokens {n} {overflow}", json.dumps(dict(base, max_new_tokens=n, overflow=overflow))))
        # Raw text: duplicate keys, not JSON, not an object, BOMs, deep nesting.
        raw = ['{"name": "c", "name": "d", "documents": ["docs/d0.txt"], "prompts": ["q"]}',
               '{"name": "c", "documents": ["docs/d0.txt"], "prompts": ["q"], "strategy": {"attention": "lsh", "lsh_k": 8, "lsh_k": 9}}',
               '', 'null', '[]', '"job"', '{', '{"name": "c",}', '\ufeff' + json.dumps(base), '[' * 10000 + ']' * 10000,
               json.dumps(base).replace('"c"', '"c\\ud800"'), json.dumps(base) + " trailing"]
        cases += [(f"raw #{i}", text) for i, text in enumerate(raw)]
        return cases

    def jobs(self):
        folder = os.path.join(self.work, "jobs")
        db = os.path.join(self.work, "jobs.sqlite")
        accepted = []
        for i, (name, text) in enumerate(self.job_cases()):
            path = os.path.join(folder, f"case-{i:04d}.json")
            open(path, "w", encoding="utf-8", errors="surrogatepass").write(text)
            rc, out, err, _ = run([self.pipeline, "submit", path], env=self.env(db))
            ok = rc in (0, 65, 66) and (rc == 0 or err.startswith("error:"))
            self.record("job files: submit", ok, f"exit {rc}", f"{name}: {err.strip()[:200]}")
            if rc == 0:
                accepted.append(name)
        # Run everything accepted; every unit must end done (with outputs) or failed (with an error).
        rc, out, err, secs = run([self.pipeline, "run", "--threads", "2"], env=self.env(db), timeout=3600)
        self.record("job files: run", rc == 0, f"exit {rc}", err[-500:])
        with sqlite3.connect(db) as c:
            rows = c.execute("""SELECT unit.id, unit.state, unit.last_error, (SELECT count(*) FROM output WHERE output.unit_id = unit.id),
                                       job.prompt_count FROM unit JOIN job ON job.id = unit.job_id""").fetchall()
        for uid, state, error, outputs, prompts in rows:
            ok = (state == "done" and outputs == prompts) or (state == "failed" and error)
            self.record("job files: units", ok, state, f"unit {uid}: {outputs}/{prompts} outputs, {error}")
        return accepted

    # ---- store files -------------------------------------------------------------------------
    def stores(self):
        folder = os.path.join(self.work, "stores")
        os.makedirs(folder, exist_ok=True)
        good = os.path.join(folder, "good.sqlite")
        job = os.path.join(self.work, "jobs", "store-job.json")
        json.dump({"name": "s", "documents": ["docs/d1.txt"], "prompts": ["q"], "max_new_tokens": 2}, open(job, "w"))
        run([self.pipeline, "submit", job], env=self.env(good))
        run([self.pipeline, "run", "--threads", "2"], env=self.env(good))
        run(["python3", "-c", "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('PRAGMA wal_checkpoint(TRUNCATE)')", good])
        data = open(good, "rb").read()
        rng = random.Random(12)
        variants = {"missing": None, "empty": b"", "random bytes": bytes(rng.getrandbits(8) for _ in range(8192)),
                    "text": b"hello\n" * 100}
        for cut in [1, 50, 99, 100, 512, 4096, 4097, len(data) // 2, len(data) - 1]:
            variants[f"truncated at {cut}"] = data[:cut]
        for k in range(12):
            b = bytearray(data)
            for _ in range(64):
                p = rng.randrange(100, len(b))
                b[p] ^= 1 << rng.randrange(8)
            variants[f"bit flips #{k}"] = bytes(b)
        for k in range(6):
            b = bytearray(data)
            page = rng.randrange(1, len(b) // 4096)
            b[page * 4096:(page + 1) * 4096] = bytes(rng.getrandbits(8) for _ in range(4096))
            variants[f"page {page} overwritten"] = bytes(b)
        for name, content in variants.items():
            path = os.path.join(folder, "case.sqlite")
            for suffix in ["", "-wal", "-shm"]:
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            if content is not None:
                open(path, "wb").write(content)
            for command in [["status"], ["results", "s"], ["status", "s", "--json"], ["submit", job]]:
                rc, out, err, _ = run([self.pipeline] + command, env=self.env(path), timeout=60)
                ok = rc == 0 or rc in (65, 66) and not SIGNALS(rc)
                self.record("store files", ok, f"exit {rc}", f"{name}, {command[0]}: {err.strip()[:200]}")
        # Another application's database: refused by every command and left untouched.
        other = os.path.join(folder, "other-app.sqlite")
        with sqlite3.connect(other) as c:
            c.execute("CREATE TABLE contacts (name TEXT)")
            c.execute("INSERT INTO contacts VALUES ('Ada')")
        before = open(other, "rb").read()
        for command in [["status"], ["results", "s"], ["submit", job], ["run", "--once"], ["plan", "s"]]:
            rc, out, err, _ = run([self.pipeline] + command, env=self.env(other), timeout=60)
            ok = rc == 65 and open(other, "rb").read() == before and not os.path.exists(other + "-wal")
            self.record("store files: another application's database", ok, f"exit {rc}", f"{command[0]}: {err.strip()[:200]}")
        # A folder as the store.
        rc, out, err, _ = run([self.pipeline, "status"], env=self.env(folder))
        self.record("store files", rc in (65, 66), f"exit {rc}", f"folder: {err.strip()[:200]}")

    # ---- GGUF files -------------------------------------------------------------------------
    def ggufs(self, quick):
        folder = os.path.join(self.work, "ggufs")
        os.makedirs(folder, exist_ok=True)
        data = open(self.model, "rb").read()
        header_end = self.metadata_end(data)
        rng = random.Random(7)
        variants = {}
        cuts = sorted({0, 1, 4, 8, 16, 24, 100, 1000, header_end - 1, header_end, header_end + 10, len(data) // 2, len(data) - 1}
                      | {rng.randrange(1, header_end) for _ in range(40 if not quick else 5)})
        for cut in cuts:
            variants[f"truncated at {cut}"] = data[:cut]
        for k in range(120 if not quick else 10):
            b = bytearray(data[:header_end + 4096])
            p = rng.randrange(0, header_end)
            b[p] ^= 1 << rng.randrange(8)
            variants[f"header bit flip at {p}"] = bytes(b) + data[header_end + 4096:]
        for key, fmt, values in [("llama.rope.freq_base", "<f", [0.0, -10000.0, float("nan"), float("inf"), 1.0]),
                                 ("llama.rope.dimension_count", "<I", [0, 3, 1 << 30]),
                                 ("tokenizer.ggml.bos_token_id", "<I", [49152, 1 << 31]),
                                 ("tokenizer.ggml.eos_token_id", "<I", [49152, 4000000000]),
                                 ("llama.attention.head_count", "<I", [0, 7, 1 << 31]),
                                 ("llama.context_length", "<I", [0, 1 << 31]),
                                 ("llama.block_count", "<I", [0, 1000])]:
            offset = self.value_offset(data, key)
            if offset is None:
                continue
            for v in values:
                b = bytearray(data)
                b[offset:offset + 4] = struct.pack(fmt, v)
                variants[f"{key}={v}"] = bytes(b)
        path = os.path.join(folder, "case.gguf")
        for name, content in variants.items():
            open(path, "wb").write(content)
            rc, out, err, _ = run([self.pipeline, "generate", "--model", path, "--prompt", "Hello", "--max-tokens", "2", "--json"],
                                  env=dict(os.environ), timeout=120)
            if rc == 0:
                # A flip the format cannot see (a weight byte, a name) may load: then it must generate.
                try:
                    result = json.loads(out)
                    ok = isinstance(result.get("text"), str) and result.get("generated_tokens", 0) + result.get("prompt_tokens", 0) > 0
                except Exception:
                    ok = False
            else:
                ok = rc in (65, 66) and err.startswith("error:")
            self.record("GGUF files", ok, f"exit {rc}", f"{name}: {err.strip()[:200]}")

    @staticmethod
    def metadata_end(data):
        """Offset just past the metadata key/values (a rough parse of GGUF v3)."""
        n_kv = struct.unpack_from("<Q", data, 16)[0]
        p = 24
        def skip_value(t, p):
            sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
            if t in sizes:
                return p + sizes[t]
            if t == 8:
                n = struct.unpack_from("<Q", data, p)[0]
                return p + 8 + n
            if t == 9:
                at, n = struct.unpack_from("<IQ", data, p)
                p += 12
                for _ in range(n):
                    p = skip_value(at, p)
                return p
            raise ValueError(t)
        for _ in range(n_kv):
            n = struct.unpack_from("<Q", data, p)[0]
            p += 8 + n
            t = struct.unpack_from("<I", data, p)[0]
            p = skip_value(t, p + 4)
        return p

    @staticmethod
    def value_offset(data, key):
        k = key.encode()
        i = data.find(struct.pack("<Q", len(k)) + k)
        return None if i < 0 else i + 8 + len(k) + 4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pipeline", default=os.path.join(ROOT, ".build/release/pipeline"))
    ap.add_argument("--model", default=os.path.join(ROOT, "data/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true", help="fewer GGUF cases")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pipeline-campaign-")
    c = Campaign(os.path.abspath(args.pipeline), os.path.abspath(args.model), work)
    t0 = time.time()
    c.jobs()
    c.stores()
    c.ggufs(args.quick)
    broken = 0
    for klass, r in c.results.items():
        outcomes = ", ".join(f"{k} ×{v}" for k, v in sorted(r["outcomes"].items()))
        print(f"{klass}: {r['cases']} cases, {r['ok']} as documented ({outcomes})")
        for b in r["broken"][:20]:
            print(f"    BROKEN {b}")
        broken += len(r["broken"])
    print(f"total: {sum(r['cases'] for r in c.results.values())} cases, {broken} broken, {time.time() - t0:.0f} s")
    if args.json:
        json.dump(c.results, open(args.json, "w"), indent=1)
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
