#!/usr/bin/env python3
"""Regenerates the tokenizer fixtures in Tests/TokenizerTests/Fixtures/ from the peer, llama.cpp.

    scripts/make-tokenizer-fixtures.py [LLAMA_CPP_DIR]   (default: ~/.cache/llama-cpp-peer/llama.cpp)

Needs the assets of scripts/fetch-test-assets.sh and a llama.cpp build (build/bin/llama-tokenize,
libllama.so). Writes:

- smollm2-cases.json: our own cases on SmolLM2. `ids` come from
  `llama-tokenize -m MODEL --stdin --ids --no-escape` (special tokens parsed; the model adds no BOS),
  `ids_no_special` the same with `--no-parse-special`; `decoded` / `decoded_skip_special` are
  llama_detokenize of `ids` with special tokens rendered / hidden (scripts/llama-vocab-probe.c),
  given as text, or as hex in `*_hex` when not valid UTF-8. `eog` lists the ids llama_vocab_is_eog
  accepts.
- llama-cpp-vocabs.json: for llama.cpp's vocab files, the same cases (`--no-bos`) on the vocab files
  that have no golden .inp/.out of their own (gpt-neox and aquila: default pre-tokenizer; baichuan:
  SentencePiece) and on a few that do (OWN_CASES_TOO); the eog ids of every vocab; and for the
  golden files, llama_detokenize of each expected output (`golden_decoded`).
"""
import json, os, re, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLAMA = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/llama-cpp-peer/llama.cpp")
BIN = os.path.join(LLAMA, "build", "bin")
FIXTURES = os.path.join(ROOT, "Tests", "TokenizerTests", "Fixtures")
SMOL = "data/models/SmolLM2-135M-Instruct.Q4_1.gguf"
GOLDEN = ["llama-spm", "phi-3", "llama-bpe", "qwen2", "qwen35", "gpt-2", "mpt", "starcoder", "refact",
          "command-r", "falcon", "deepseek-coder", "deepseek-llm"]
EXTRA_VOCABS = ["gpt-neox", "aquila", "baichuan"]
OWN_CASES_TOO = ["llama-bpe", "qwen2", "qwen35", "llama-spm", "deepseek-coder"]

CASES = [
    "",
    "Hello world",
    " Hello world",
    "Hello, world! How's it going?",
    "I'm sure they've said you'll be fine, he'd say it's John's and we're done; don't",
    "I'M SURE THEY'VE SAID YOU'LL BE FINE, HE'D SAY IT'S JOHN'S AND WE'RE DONE; DON'T",
    "'s 't 're 'S 'T 'Ll 'VE ''quoted'' rock'n'roll '",
    "e\u0301te\u0301 cafe\u0301 na\u0308ive \u0915\u094d\u0937 (combining marks)",
    "été café naïve Ünïcödé Øresund",
    "中文分词测试，日本語のテキスト、한국어 문장입니다。",
    "👨‍👩‍👧‍👦 family 🏳️‍🌈 flag 👍🏽 thumbs 🙂🙂🙂",
    "I ❤️ Swift 🦅 and 🇫🇷 flags",
    "func add(_ a: Int, _ b: Int) -> Int {\n    return a + b\n}\n",
    "def f(x):\n\tif x:\n\t\treturn x ** 2\n\treturn None\n",
    "a  b   c    d     e",
    "col1\tcol2\t\tcol3\t",
    "trailing spaces   ",
    "   leading spaces",
    "     ",
    "\t",
    "1234567890123456789012345678901234567890",
    "Call 555-0123 or +1 (800) 555-0199 before 12:30, pi is 3.14159 and 1,000,000 > 999.",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "abc<|endoftext|>def<|im_end|><|im_start|>",
    "<|im_start <im_end|> <|endoftext <|im_start|",
    "<reponame>repo<file_sep>main.py<filename> <jupyter_code>x",
    "line1\nline2\n\nline4\n\n\n",
    "line1\r\nline2\r\n\r\nend\r",
    "  \n \t\n x \n",
    "“Quoted” — ‘single’ … «guillemets» ¿Qué? ¡Sí!",
    "مرحبا بالعالم שלום עולם नमस्ते दुनिया",
    "x² + y³ = z⁴; ½ ¼ ∑∫√∞ ≠ ≤ ≥ ٣٤٥",
    "a\u00a0b\u2003c\u3000d\u200be\u2028f",
    "bell\u0007 null\u0000 esc\u001b[0m del\u007f",
    "https://example.com/path?q=1&r=two#frag user@example.org",
    '{"key": [1, 2.5, null, true], "nested": {"a": "b"}}',
    "!!!??? ... ,,,;;; ---- ____ **** $$$ ~~~ ||| <<<>>> ^^^ ```",
    "Pneumonoultramicroscopicsilicovolcanoconiosis supercalifragilisticexpialidocious",
    # assigned after Unicode 15.1 (llama.cpp's table): Cyrillic TJE, Garay letters and digits, new emoji
    "new: \u1c89\u1c8aa \U00010d50\U00010d51 \U00010d40\U00010d41 \U0001fae9\U0001fac6 x\u0897y",
    "\n \U00010d41\U00010d50 \U00010d43 \U00010d42,a b\u1c8a'b 1  \u1c89",
    "Привет мир! Γειά σου Κόσμε! Hello мир 123абв",
    "# Title\n\n- item **bold** _it_ `code`\n1. one\n> quote\n",
    "The licensor grants you a worldwide, royalty-free, non-exclusive licence (the \"Licence\") to use, "
    "reproduce, modify and distribute the Work, provided that: (a) you retain all copyright notices; "
    "(b) you state changes — in writing — within 30 days; and (c) §4.2(iii) applies.",
]


def run(args, stdin=b""):
    return subprocess.run(args, input=stdin, capture_output=True, check=True).stdout.decode()


def tokenize(model, text, extra):
    out = run([os.path.join(BIN, "llama-tokenize"), "-m", model, "--stdin", "--ids", "--no-escape", "--log-disable"]
              + extra, text.encode())
    line = [l for l in out.splitlines() if l.startswith("[")][-1]
    return json.loads(line)


def build_probe(tmp):
    exe = os.path.join(tmp, "llama-vocab-probe")
    subprocess.run(["gcc", "-O1", "-o", exe, os.path.join(ROOT, "scripts", "llama-vocab-probe.c"),
                    "-I" + os.path.join(LLAMA, "include"), "-I" + os.path.join(LLAMA, "ggml", "include"),
                    "-L" + BIN, "-lllama", "-Wl,-rpath," + BIN], check=True)
    return exe


def eog(probe, model):
    return [int(x) for x in run([probe, model, "eog"]).split()]


def detokenize(probe, model, id_lists):
    """[(rendered, skip_special)] as bytes for each list of ids."""
    stdin = "".join(" ".join(map(str, ids)) + "\n" for ids in id_lists).encode()
    lines = run([probe, model, "detok"], stdin).split("\n")[: len(id_lists)]
    return [tuple(bytes.fromhex(part) for part in line.split("\t")) for line in lines]


def text_field(entry, name, data):
    try:
        entry[name] = data.decode("utf-8")
    except UnicodeDecodeError:
        entry[name + "_hex"] = data.hex()


def cases_for(probe, model, extra):
    out = []
    for text in CASES:
        out.append({"text": text, "ids": tokenize(model, text, extra),
                    "ids_no_special": tokenize(model, text, extra + ["--no-parse-special"])})
    for entry, (rendered, skipped) in zip(out, detokenize(probe, model, [c["ids"] for c in out])):
        text_field(entry, "decoded", rendered)
        text_field(entry, "decoded_skip_special", skipped)
    return out


def golden_outputs(name):
    with open(os.path.join(ROOT, "data", "vocab", f"ggml-vocab-{name}.gguf.out")) as f:
        return [[int(x) for x in line.split()] for line in f.read().splitlines()]


def main():
    os.chdir(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        probe = build_probe(tmp)
        smol = {"generator": "scripts/make-tokenizer-fixtures.py", "model": SMOL, "eog": eog(probe, SMOL),
                "cases": cases_for(probe, SMOL, [])}
        vocabs = {"generator": "scripts/make-tokenizer-fixtures.py", "eog": {}, "cases": {}, "golden_decoded": {}}
        for name in GOLDEN + EXTRA_VOCABS:
            path = f"data/vocab/ggml-vocab-{name}.gguf"
            vocabs["eog"][name] = eog(probe, path)
            if name in EXTRA_VOCABS + OWN_CASES_TOO:
                vocabs["cases"][name] = cases_for(probe, path, ["--no-bos"])
            if name not in EXTRA_VOCABS:
                decoded = []
                for rendered, _ in detokenize(probe, path, golden_outputs(name)):
                    entry = {}
                    text_field(entry, "decoded", rendered)
                    decoded.append(entry)
                vocabs["golden_decoded"][name] = decoded
    for name, data in [("smollm2-cases.json", smol), ("llama-cpp-vocabs.json", vocabs)]:
        text = json.dumps(data, ensure_ascii=False, indent=1)
        # one line per list of ids
        text = re.sub(r"\[\n\s*(-?\d+(?:,\n\s*-?\d+)*)\n\s*\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
        with open(os.path.join(FIXTURES, name), "w") as f:
            f.write(text + "\n")
        print("wrote", os.path.join(FIXTURES, name))


if __name__ == "__main__":
    main()
