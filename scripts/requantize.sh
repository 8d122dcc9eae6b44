#!/usr/bin/env bash
# Makes data/models/SmolLM2-135M-Instruct.Q8_0.gguf and ...Q4_K_M.gguf from the Q4_1 file with the
# peer's llama-quantize (--allow-requantize: the source is already quantized, so these are
# re-quantizations of the Q4_1 weights, not of the original bf16 checkpoint). Idempotent: an
# existing non-empty output is kept. Prints the paths it produced or found.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=data/models/SmolLM2-135M-Instruct.Q4_1.gguf
[[ -s $SRC ]] || scripts/fetch-model.sh >/dev/null
BIN=${LLAMA_BIN:-$(/work/shared/tools/build-llama-cpp.sh)}
for q in Q8_0 Q4_K_M; do
  out=data/models/SmolLM2-135M-Instruct.$q.gguf
  if [[ ! -s $out ]]; then
    "$BIN/llama-quantize" --allow-requantize "$SRC" "$out.part" "$q" 2 >&2
    mv "$out.part" "$out"
  fi
  echo "$out"
done
