#!/usr/bin/env python3
"""Helper of tools/reference/make-reference-fixtures.sh: the llama.cpp side (tokenization, greedy
completions, llama-perplexity) and the assembly of Tests/Fixtures/reference/*.json from the
float64 results that the shell script computes with ref_forward.py / f64_greedy.py /
ref_forward_blocked.py.

  reference_fixtures.py llama QUANT        tokenize, llama-completion, llama-perplexity -> WORK
  reference_fixtures.py check-tokens       llama-perplexity's own tokens == llama-tokenize's (Q4_1)
  reference_fixtures.py compare A.json B.json   two `score` outputs agree (nll to 1e-9)
  reference_fixtures.py assemble QUANT     WORK -> Tests/Fixtures/reference/*-QUANT.json
  reference_fixtures.py summary            markdown summary table of the fixtures

Environment: LLAMA_BIN (folder of llama-tokenize etc.), REF_WORK (default .build-reference),
LLAMA_THREADS (default 2), SHARED_GREEDY (default /work/shared/reference/greedy.json)."""
import json, os, re, struct, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / 'Tests/Fixtures/reference'
WORK = Path(os.environ.get('REF_WORK', ROOT / '.build-reference'))
BIN = Path(os.environ.get('LLAMA_BIN', '/root/.cache/llama-cpp-peer/llama.cpp/build/bin'))
THREADS = os.environ.get('LLAMA_THREADS', '2')
SHARED_GREEDY = Path(os.environ.get('SHARED_GREEDY', '/work/shared/reference/greedy.json'))
LICENCES = Path('/usr/share/common-licenses')
CONCAT_FILES = ['GPL-3', 'LGPL-2.1', 'GFDL-1.3', 'MPL-2.0']
QUANTS = {'q4_1': 'Q4_1', 'q8_0': 'Q8_0', 'q4_k_m': 'Q4_K_M'}
N_GEN = 32
SAFE_MARGIN = 0.02
CTX_LONG, CTX_TEACHER, CTX_SHORT, N_SHORT = 8192, 4096, 512, 1024
COMPLETION_FLAGS = ['-n', str(N_GEN), '--temp', '0', '-c', '2048', '-no-cnv', '--no-display-prompt', '--ignore-eos', '-t', THREADS]


def model_path(q):
    return ROOT / f'data/models/SmolLM2-135M-Instruct.{QUANTS[q]}.gguf'


def rel(p):
    return os.path.relpath(p, ROOT)


def licence_lines(name, n):
    """The first n lines of a licence, without the newline that ends line n."""
    return '\n'.join((LICENCES / name).read_text().split('\n')[:n])


# Own prompts (the four of the shared greedy.json come first, read from that file). No backslashes:
# llama-tokenize and llama-completion process escape sequences in -p (their default --escape).
OWN_PROMPTS = [
    ('prose_garden', 'After the rain stopped, the children ran out into the garden, where'),
    ('list_tea', 'How to make a cup of tea:\n1. Boil the water.\n2.'),
    ('list_fruits', 'Fruits that are rich in vitamin C:\n- Oranges\n- Kiwis\n-'),
    ('code_python', 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n'),
    ('code_c', '#include <stdio.h>\n\nint main(void) {\n    int total = 0;\n    for (int i = 1; i <= 10; i++) {\n'),
    ('code_js', '// Sum the numbers in an array\nfunction sum(values) {\n'),
    ('json_record', '{"name": "Alice", "age": 30, "city": '),
    ('chat_capital', '<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n'),
    ('chat_system_poem', '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n'
                         'Write a short poem about autumn leaves.<|im_end|>\n<|im_start|>assistant\n'),
    ('passage_question', 'Read the passage and answer the question.\n\nPassage: The Nile is a major north-flowing river '
                         'in northeastern Africa. It flows into the Mediterranean Sea and is about 6,650 kilometres long. '
                         'For centuries, the annual floods of the river made the surrounding land fertile.\n\n'
                         'Question: Into which sea does the Nile flow?\nAnswer:'),
    ('numbers_dates', 'The museum opened on 14 July 1889 and closed on 3 September 1939, so it was open for'),
    ('arithmetic', '12 + 7 = 19\n25 + 16 = 41\n38 + 45 ='),
    ('french', 'Il était une fois, dans un petit village au bord de la mer, une vieille femme qui'),
    ('chinese', '北京是中国的首都，也是'),
    ('german', 'Die Katze sitzt auf dem Dach und'),
    ('trailing_space', 'The answer to the question is '),
    ('single_token', 'Hello'),
]
LONG_PROMPTS = [  # (name, licence, lines): ~300 and ~1,000 tokens, ending mid-sentence
    ('licence_artistic_300', 'Artistic', 39),
    ('licence_apache_1000', 'Apache-2.0', 93),
]


def all_prompts():
    ps = [dict(name=c['name'], prompt=c['prompt'], source=f'{SHARED_GREEDY}') for c in json.load(open(SHARED_GREEDY))]
    ps += [dict(name=n, prompt=t, source='own') for n, t in OWN_PROMPTS]
    ps += [dict(name=n, prompt=licence_lines(f, k), source=f'own: the first {k} lines of {LICENCES / f}, '
                'without the final newline') for n, f, k in LONG_PROMPTS]
    return ps


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, **kw)
    if r.returncode != 0:
        sys.exit(f'failed ({r.returncode}): {cmd}\n{r.stderr.decode(errors="replace")[-3000:]}')
    return r


def tokenize_text(model, text):
    assert '\\' not in text, 'llama-tokenize -p would process escapes'
    return json.loads(run([BIN / 'llama-tokenize', '-m', model, '-p', text, '--ids', '--log-disable']).stdout)


def tokenize_file(model, path):
    # -f in llama-tokenize reads the file verbatim (keeps a trailing newline), then applies escapes.
    assert b'\\' not in Path(path).read_bytes()
    return json.loads(run([BIN / 'llama-tokenize', '-m', model, '-f', path, '--ids', '--log-disable']).stdout)


class Vocab:
    """Token id -> bytes as llama.cpp prints them (GPT-2 byte-level BPE; control tokens print as
    nothing with llama-completion's default --special off)."""
    def __init__(self, model):
        from gguf import GGUFReader
        r = GGUFReader(str(model))
        self.tokens = r.fields['tokenizer.ggml.tokens'].contents()
        self.types = r.fields['tokenizer.ggml.token_type'].contents()
        bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
        cs = bs[:]; n = 0
        for b in range(256):
            if b not in bs: bs.append(b); cs.append(256 + n); n += 1
        self.byte_of = {chr(c): b for b, c in zip(bs, cs)}

    def piece(self, t):
        if self.types[t] == 3: return b''
        return bytes(self.byte_of[ch] for ch in self.tokens[t])

    def decode(self, ids):
        return b''.join(self.piece(t) for t in ids)


def text(b):
    return b.decode('utf-8', errors='replace')


def shim():
    """tools/reference/sampled_ids_shim.cpp built into WORK (an LD_PRELOAD library that records the ids
    llama-completion samples, without changing anything)."""
    lib = WORK / 'libsampled_ids.so'; src = ROOT / 'tools/reference/sampled_ids_shim.cpp'
    if not lib.exists() or lib.stat().st_mtime < src.stat().st_mtime:
        run(['g++', '-shared', '-fPIC', '-O2', '-o', lib, src, '-ldl'])
    return lib


def llama_greedy(q):
    model = model_path(q); vocab = Vocab(model); cases = []
    ids_file = WORK / f'sampled-ids-{q}.txt'
    env = dict(os.environ, LD_PRELOAD=str(shim()), SAMPLED_IDS_FILE=str(ids_file))
    for p in all_prompts():
        ids = tokenize_text(model, p['prompt'])
        if ids_file.exists(): ids_file.unlink()
        t0 = time.time()
        out = run([BIN / 'llama-completion', '-m', model, '-p', p['prompt'], *COMPLETION_FLAGS], env=env).stdout
        t_run = time.time() - t0
        assert out.endswith(b'\n\n'), out[-20:]
        gen_bytes = out[:-2]
        gen = [int(x) for x in ids_file.read_text().split()]; ids_file.unlink()
        if len(gen) == N_GEN and vocab.decode(gen) == gen_bytes:
            src = ('exact: recorded from this llama-completion run by tools/reference/sampled_ids_shim.cpp (LD_PRELOAD); '
                   'they decode to llama_cpp_text byte for byte')
        else:
            gen = tokenize_text(model, text(gen_bytes)); src = 'llama-tokenize of llama_cpp_text (not exact)'
            print(f'  {p["name"]}: recorded ids do not reproduce the text, tokenized the text instead', file=sys.stderr)
        cases.append(dict(p, prompt_ids=ids, llama_cpp_bytes_hex=gen_bytes.hex(), llama_cpp_ids=gen,
                          llama_cpp_ids_source=src, llama_cpp_seconds=round(t_run, 2)))
        print(f'  {q} {p["name"]}: {len(ids)} prompt tokens, {t_run:.1f}s: {text(gen_bytes)[:60]!r}', file=sys.stderr, flush=True)
    json.dump(cases, open(WORK / f'llama-greedy-{q}.json', 'w'), ensure_ascii=False, indent=1)
    json.dump([dict(name=c['name'], ids=c['prompt_ids']) for c in cases], open(WORK / f'prompts-{q}.json', 'w'))


def llama_perplexity(q, ctx, chunks, extra=()):
    cmd = [BIN / 'llama-perplexity', '-m', rel(model_path(q)), '-f', rel(WORK / 'licences-concat.txt'), '-c', str(ctx), '-t', THREADS]
    if chunks is not None: cmd += ['--chunks', str(chunks)]
    cmd += list(extra)
    t0 = time.time(); r = run(cmd, cwd=ROOT); dt = time.time() - t0
    log = r.stdout.decode() + r.stderr.decode()
    (WORK / f'llama-perplexity-{q}-c{ctx}.log').write_text(log)
    m = re.search(r'Final estimate: PPL = ([\d.]+) \+/- ([\d.]+)', log)
    running = [float(x) for x in re.findall(r'\[\d+\]([\d.]+),', log)]
    cmd_s = ' '.join(str(c) if i else 'llama-perplexity' for i, c in enumerate(cmd))
    return dict(command=cmd_s, perplexity=float(m.group(1)), stderr=float(m.group(2)), running=running, seconds=round(dt, 1))


def llama(q):
    WORK.mkdir(parents=True, exist_ok=True)
    model = model_path(q)
    concat = WORK / 'licences-concat.txt'
    data = b''.join((LICENCES / f).read_bytes() for f in CONCAT_FILES)  # as `cat` does
    if not concat.exists() or concat.read_bytes() != data: concat.write_bytes(data)
    gpl = tokenize_file(model, LICENCES / 'GPL-3'); ids = tokenize_file(model, concat)
    assert ids[:CTX_TEACHER] == gpl[:CTX_TEACHER]
    n_chunks = len(ids) // CTX_LONG
    tok = dict(gpl3_count=len(gpl), concat_count=len(ids), n_chunks=n_chunks)
    json.dump(gpl[:CTX_TEACHER], open(WORK / f'teacher-ids-{q}.json', 'w'))
    json.dump(ids, open(WORK / f'concat-ids-{q}.json', 'w'))
    json.dump(ids[:n_chunks * CTX_LONG], open(WORK / f'concat-scored-ids-{q}.json', 'w'))
    json.dump(ids[:N_SHORT], open(WORK / f'short-ids-{q}.json', 'w'))
    print(f'{q}: GPL-3 {len(gpl)} tokens, concatenation {len(ids)} tokens', file=sys.stderr, flush=True)
    llama_greedy(q)
    if os.environ.get('SKIP_LLAMA_PERPLEXITY'): return
    ppl = dict(tokens=tok,
               long=llama_perplexity(q, CTX_LONG, None),
               teacher=llama_perplexity(q, CTX_TEACHER, 1),
               short=llama_perplexity(q, CTX_SHORT, N_SHORT // CTX_SHORT))
    json.dump(ppl, open(WORK / f'llama-perplexity-{q}.json', 'w'), indent=1)
    print(f'{q}: llama-perplexity {ppl["long"]["perplexity"]} ({ppl["long"]["seconds"]}s)', file=sys.stderr)


def check_tokens():
    """llama-perplexity tokenizes the file itself (-f strips one trailing newline, no special-token
    parsing); read its tokens back from --kl-divergence-base files and compare with llama-tokenize's."""
    q = 'q4_1'; ids = json.load(open(WORK / f'concat-ids-{q}.json')); res = {}
    for ctx, chunks in ((CTX_LONG, len(ids) // CTX_LONG), (CTX_TEACHER, 1), (CTX_SHORT, 2)):
        base = WORK / f'kl-base-c{ctx}.bin'
        llama_perplexity(q, ctx, chunks, ['--kl-divergence-base', rel(base)])
        with open(base, 'rb') as f:
            assert f.read(8) == b'_logits_'
            n_ctx, n_vocab, n_chunk = struct.unpack('<iii', f.read(12))
            toks = list(struct.unpack(f'<{n_ctx * n_chunk}i', f.read(4 * n_ctx * n_chunk)))
        base.unlink()
        res[f'c{ctx}'] = dict(n_tokens=len(toks), equal=toks == ids[:len(toks)])
        print(f'check-tokens c{ctx}: {res[f"c{ctx}"]}', file=sys.stderr)
    json.dump(res, open(WORK / 'check-tokens.json', 'w'))
    assert all(v['equal'] for v in res.values())


def compare(a, b):
    import numpy as np
    A, B = json.load(open(a)), json.load(open(b))
    d = dict(n=len(A['nll']), max_nll_diff=float(np.max(np.abs(np.subtract(A['nll'], B['nll'])))),
             max_margin_diff=float(np.max(np.abs(np.subtract(A['margin'], B['margin'])))),
             top1_equal=A['top1'] == B['top1'], perplexity_diff=A['perplexity'] - B['perplexity'])
    print(json.dumps(d))
    assert d['max_nll_diff'] < 1e-9 and d['top1_equal'], d


def divergence_input(q):
    lg = json.load(open(WORK / f'llama-greedy-{q}.json')); fg = {c['name']: c for c in json.load(open(WORK / f'f64-greedy-{q}.json'))}
    json.dump([dict(name=c['name'], prompt_ids=c['prompt_ids'], f64_ids=fg[c['name']]['greedy_ids'], llama_cpp_ids=c['llama_cpp_ids'])
               for c in lg], open(WORK / f'divergence-cases-{q}.json', 'w'))


def r5(xs, k=5):
    return [round(x, k) for x in xs]


def common_prefix(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]: n += 1
    return n


def safe_len(margins):
    n = 0
    while n < len(margins) and margins[n] >= SAFE_MARGIN: n += 1
    return n


def write(name, obj):
    OUT.mkdir(parents=True, exist_ok=True)
    s = json.dumps(obj, ensure_ascii=False, indent=1)
    (OUT / name).write_text(s + '\n')
    print(f'wrote {rel(OUT / name)} ({len(s) // 1024} KiB)', file=sys.stderr)


def assemble(q):
    model = model_path(q); vocab = Vocab(model); mname = model.name
    lg = json.load(open(WORK / f'llama-greedy-{q}.json')); fg = {c['name']: c for c in json.load(open(WORK / f'f64-greedy-{q}.json'))}
    shared = {c['name']: c for c in json.load(open(SHARED_GREEDY))}
    dv = WORK / f'f64-divergence-{q}.json'
    div = {d['name']: d for d in json.load(open(dv))} if dv.exists() else {}
    cases = []
    for c in lg:
        f = fg[c['name']]; ids, margins = f['greedy_ids'], f['margins']
        sl = safe_len(margins); agree = common_prefix(c['llama_cpp_ids'], ids)
        case = dict(name=c['name'], source=c['source'], prompt=c['prompt'], prompt_ids=c['prompt_ids'],
                    f64_ids=ids, f64_text=text(vocab.decode(ids)), f64_margins=r5(margins, 4), f64_safe_len=sl,
                    llama_cpp_text=text(bytes.fromhex(c['llama_cpp_bytes_hex'])), llama_cpp_ids=c['llama_cpp_ids'],
                    llama_cpp_ids_source=c['llama_cpp_ids_source'], llama_cpp_agrees_len=agree,
                    llama_cpp_agrees_on_safe_prefix=agree >= sl)
        if c['name'] in div:
            d = dict(div[c['name']]); del d['name']; d['f64_logit_gap'] = round(d['f64_logit_gap'], 4)
            case['llama_cpp_divergence'] = d
        if set(ids) & {0, 1, 2}: case['note'] = 'f64_ids contain a control token (0/1/2); llama.cpp runs with --ignore-eos'
        if q == 'q4_1' and c['name'] in shared:
            s = shared[c['name']]
            case['shared_reference_match'] = dict(prompt_ids=s['prompt_ids'] == c['prompt_ids'], f64_ids=s['f64_ids'] == ids,
                                                  llama_cpp_text=s['greedy_32'] == case['llama_cpp_text'])
        cases.append(case)
    write(f'greedy-{q}.json', dict(
        model=mname, quant=QUANTS[q], n_generated=N_GEN, safe_margin=SAFE_MARGIN,
        f64_command=f'python3 tools/reference/f64_greedy.py data/models/{mname} PROMPTS_JSON {N_GEN}  '
                    '(= tools/reference/ref_forward.py generate MODEL IDS_JSON 32 for each prompt, one model load)',
        llama_cpp_command=f'llama-completion -m data/models/{mname} -p PROMPT ' + ' '.join(COMPLETION_FLAGS) +
                          '  (stdout; the two newlines printed after the generation removed)',
        tokenize_command=f'llama-tokenize -m data/models/{mname} -p PROMPT --ids --log-disable',
        cases=cases))

    lp = json.load(open(WORK / f'llama-perplexity-{q}.json'))
    t = json.load(open(WORK / f'f64-teacher-{q}.json')); tids = json.load(open(WORK / f'teacher-ids-{q}.json'))
    write(f'teacher-forced-{q}.json', dict(
        source=f'{LICENCES / "GPL-3"}: its first {CTX_TEACHER} tokens (llama-tokenize -f, file read verbatim)',
        model=mname, quant=QUANTS[q], ctx=CTX_TEACHER,
        f64_command=f'python3 tools/reference/ref_forward.py score data/models/{mname} IDS_JSON {CTX_TEACHER}',
        ids=tids, top1=t['top1'], margin=r5(t['margin']), nll=r5(t['nll']), perplexity=t['perplexity'],
        perplexity_convention=f'exp(mean nll) over positions i >= {CTX_TEACHER // 2} (nll[i] predicts ids[i+1])',
        llama_cpp_perplexity=lp['teacher']['perplexity'], llama_cpp_command=lp['teacher']['command'] +
        '  (its first chunk is the same 4,096 tokens: the concatenation starts with GPL-3)'))

    s = json.load(open(WORK / f'f64-short-{q}.json')); sids = json.load(open(WORK / f'short-ids-{q}.json'))
    half = CTX_SHORT // 2
    scored = [s['nll'][k * (CTX_SHORT - 1) + i] for k in range(N_SHORT // CTX_SHORT) for i in range(half, CTX_SHORT - 1)]
    write(f'perplexity-short-{q}.json', dict(
        files=[str(LICENCES / f) for f in CONCAT_FILES], model=mname, quant=QUANTS[q],
        token_count=N_SHORT, ctx=CTX_SHORT, chunks=N_SHORT // CTX_SHORT, ids=sids,
        scored='for each chunk k of 512 ids, positions i = 256..510 predict ids[512k+i+1]; nll lists them chunk by chunk',
        nll=r5(scored), f64_perplexity=s['perplexity'],
        f64_command=f'python3 tools/reference/ref_forward.py score data/models/{mname} IDS_JSON {CTX_SHORT}',
        llama_cpp_perplexity=lp['short']['perplexity'], llama_cpp_command=lp['short']['command']))

    L = json.load(open(WORK / f'f64-long-{q}.json')); tok = lp['tokens']; nch = tok['n_chunks']
    per = CTX_LONG - 1 - CTX_LONG // 2; import math
    halves = [L['nll'][k * (CTX_LONG - 1) + CTX_LONG // 2: (k + 1) * (CTX_LONG - 1)] for k in range(nch)]
    assert all(len(h) == per for h in halves)
    running = [math.exp(sum(sum(h) for h in halves[:k + 1]) / (per * (k + 1))) for k in range(nch)]
    assert abs(running[-1] - L['perplexity']) < 1e-9
    write(f'perplexity-{q}.json', dict(
        files=[str(LICENCES / f) for f in CONCAT_FILES], concatenation='cat GPL-3 LGPL-2.1 GFDL-1.3 MPL-2.0 (bytes as cat joins them)',
        model=mname, quant=QUANTS[q], token_count=tok['concat_count'], ctx=CTX_LONG, chunks=nch,
        scored_tokens=per * nch, f64_perplexity=L['perplexity'], f64_running_perplexity=running,
        f64_command=f'python3 tools/reference/ref_forward_blocked.py score data/models/{mname} FIRST_{nch * CTX_LONG}_IDS_JSON {CTX_LONG}',
        llama_cpp_perplexity=lp['long']['perplexity'], llama_cpp_perplexity_stderr=lp['long']['stderr'],
        llama_cpp_running_perplexity=lp['long']['running'], llama_cpp_command=lp['long']['command'],
        llama_cpp_seconds=lp['long']['seconds'],
        llama_cpp_over_f64_percent=round(100 * (lp['long']['perplexity'] / L['perplexity'] - 1), 3)))


def summary():
    print('| quant | prompts | llama.cpp reproduces the f64 safe prefix | of the rest: f64 picks a control token llama.cpp bans (--ignore-eos) | '
          'other divergences inside the safe prefix: largest f64 logit gap | safe tokens (sum) | of them reproduced by llama.cpp |')
    print('|---|---|---|---|---|---|---|')
    for q in QUANTS:
        g = json.load(open(OUT / f'greedy-{q}.json'))['cases']
        ok = [c for c in g if c['llama_cpp_agrees_on_safe_prefix']]; bad = [c for c in g if not c['llama_cpp_agrees_on_safe_prefix']]
        ctrl = [c for c in bad if c['llama_cpp_divergence']['f64_token'] in (0, 1, 2)]
        other = [c['llama_cpp_divergence']['f64_logit_gap'] for c in bad if c['llama_cpp_divergence']['f64_token'] not in (0, 1, 2)]
        safe = sum(c['f64_safe_len'] for c in g); agreed = sum(min(c['llama_cpp_agrees_len'], c['f64_safe_len']) for c in g)
        print(f'| {QUANTS[q]} | {len(g)} | {len(ok)} | {len(ctrl)} | {len(other)}: {max(other, default=0):.4f} | {safe} | {agreed} |')
    print()
    print('| quant | f64 ppl, ctx 8192 (2 chunks) | llama.cpp | llama.cpp vs f64 | f64 ppl, GPL-3 first 4096 | llama.cpp | f64 ppl, first 1024 at ctx 512 | llama.cpp |')
    print('|---|---|---|---|---|---|---|---|')
    for q in QUANTS:
        p = json.load(open(OUT / f'perplexity-{q}.json')); t = json.load(open(OUT / f'teacher-forced-{q}.json'))
        s = json.load(open(OUT / f'perplexity-short-{q}.json'))
        pc = lambda a, b: f'{100 * (a / b - 1):+.2f}%'
        print(f'| {QUANTS[q]} | {p["f64_perplexity"]:.4f} | {p["llama_cpp_perplexity"]:.4f} | {pc(p["llama_cpp_perplexity"], p["f64_perplexity"])} | '
              f'{t["perplexity"]:.4f} | {t["llama_cpp_perplexity"]:.4f} ({pc(t["llama_cpp_perplexity"], t["perplexity"])}) | '
              f'{s["f64_perplexity"]:.4f} | {s["llama_cpp_perplexity"]:.4f} ({pc(s["llama_cpp_perplexity"], s["f64_perplexity"])}) |')
    print()
    print('| prompt | ' + ' | '.join(f'{QUANTS[q]}: safe / agree / step 0 margin / divergence (f64 gap, rank)' for q in QUANTS) + ' |')
    print('|---|' + '---|' * len(QUANTS))
    G = {q: json.load(open(OUT / f'greedy-{q}.json'))['cases'] for q in QUANTS}
    for i, c0 in enumerate(G['q4_1']):
        cells = []
        for q in QUANTS:
            c = G[q][i]; d = c.get('llama_cpp_divergence')
            dv = f'step {d["step"]} ({d["f64_logit_gap"]}, {d["llama_cpp_token_rank"]}){" ctrl" if d["f64_token"] in (0, 1, 2) else ""}' if d else '—'
            cells.append(f'{c["f64_safe_len"]} / {c["llama_cpp_agrees_len"]} / {c["f64_margins"][0]} / {dv}')
        print(f'| {c0["name"]} | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    dict(llama=llama, assemble=assemble, summary=summary, compare=compare, **{'check-tokens': check_tokens, 'divergence-input': divergence_input})[cmd](*args)
