#!/usr/bin/env bash
# Regenerates Tests/Fixtures/reference/*.json (see the README there): greedy generations,
# teacher-forced scores and perplexities of SmolLM2-135M-Instruct in Q4_1, Q8_0 and Q4_K_M, from the
# float64 reference (tools/reference/ref_forward.py and two reorganisations of it) and from llama.cpp.
#
#   tools/reference/make-reference-fixtures.sh [--fresh]
#
# Intermediate results go to $REF_WORK (default .build-reference/, git-ignored); a step whose output
# is already there is skipped, so an interrupted run resumes. --fresh deletes $REF_WORK first.
# The float64 jobs run one at a time under `nice -n 10` (2 shared cores); the ctx-8192 scoring of
# three models takes about an hour. Needs python3 with gguf and numpy, g++, and the peer llama.cpp.
set -euo pipefail
cd "$(dirname "$0")/../.."
export REF_WORK=${REF_WORK:-$PWD/.build-reference}
[[ ${1:-} == --fresh ]] && rm -rf "$REF_WORK"
mkdir -p "$REF_WORK"
tools/fixtures/requantize.sh >/dev/null
export LLAMA_BIN=${LLAMA_BIN:-$(/work/shared/tools/build-llama-cpp.sh)}
QUANTS="q4_1 q8_0 q4_k_m"
declare -A FILE=([q4_1]=Q4_1 [q8_0]=Q8_0 [q4_k_m]=Q4_K_M)
model() { echo "data/models/SmolLM2-135M-Instruct.${FILE[$1]}.gguf"; }
W=$REF_WORK

# step NAME OUT CMD...: runs CMD with stdout to OUT and stderr to OUT.log, unless OUT exists.
step() {
  local name=$1 out=$2; shift 2
  if [[ -e $out ]]; then echo "skip $name (have $out)"; return; fi
  echo "run  $name: $*"
  local t0=$SECONDS
  "$@" > "$out.part" 2> "$out.log"
  mv "$out.part" "$out"
  echo "$name $((SECONDS - t0)) s" | tee -a "$W/timings.txt"
}

# 1. llama.cpp: tokenization, greedy completions (with their exact ids), llama-perplexity.
#    Runs first, on its own: llama.cpp's threads spin-wait and slow down badly on a busy core.
for q in $QUANTS; do step "llama-$q" "$W/llama-$q.done" python3 tools/reference/reference_fixtures.py llama "$q"; done
step check-tokens "$W/check-tokens.done" python3 tools/reference/reference_fixtures.py check-tokens

# 2. float64 (heavy, nice'd, one at a time).
NICE="nice -n 10"
for q in $QUANTS; do
  step "f64-greedy-$q" "$W/f64-greedy-$q.json" $NICE python3 tools/reference/f64_greedy.py "$(model $q)" "$W/prompts-$q.json" 32
done
# where llama.cpp's generation leaves the float64 one: the float64 logit gap between the two choices
for q in $QUANTS; do
  python3 tools/reference/reference_fixtures.py divergence-input "$q"
  step "f64-divergence-$q" "$W/f64-divergence-$q.json" $NICE python3 tools/reference/f64_divergence.py "$(model $q)" "$W/divergence-cases-$q.json"
done
for q in $QUANTS; do
  step "f64-teacher-$q" "$W/f64-teacher-$q.json" $NICE python3 tools/reference/ref_forward.py score "$(model $q)" "$W/teacher-ids-$q.json" 4096
  step "f64-short-$q" "$W/f64-short-$q.json" $NICE python3 tools/reference/ref_forward.py score "$(model $q)" "$W/short-ids-$q.json" 512
done
# ref_forward_blocked.py must reproduce ref_forward.py before it is trusted with ctx 8192.
# (the first 300 tokens of GPL-3 in chunks of 128, query blocks of 48, row blocks of 50)
python3 -c "import json; json.dump(json.load(open('$W/teacher-ids-q4_1.json'))[:300], open('$W/check-small-ids.json', 'w'))"
step ref-small "$W/f64-check-small-ref.json" $NICE python3 tools/reference/ref_forward.py score "$(model q4_1)" "$W/check-small-ids.json" 128
step blocked-small "$W/f64-check-small-blocked.json" env REF_QBLOCK=48 REF_RBLOCK=50 $NICE python3 tools/reference/ref_forward_blocked.py score "$(model q4_1)" "$W/check-small-ids.json" 128
step blocked-teacher-q4_1 "$W/f64-teacher-blocked-q4_1.json" $NICE python3 tools/reference/ref_forward_blocked.py score "$(model q4_1)" "$W/teacher-ids-q4_1.json" 4096
python3 tools/reference/reference_fixtures.py compare "$W/f64-check-small-ref.json" "$W/f64-check-small-blocked.json" | tee "$W/blocked-check-small.json"
python3 tools/reference/reference_fixtures.py compare "$W/f64-teacher-q4_1.json" "$W/f64-teacher-blocked-q4_1.json" | tee "$W/blocked-check-teacher.json"
for q in $QUANTS; do
  step "f64-long-$q" "$W/f64-long-$q.json" $NICE python3 tools/reference/ref_forward_blocked.py score "$(model $q)" "$W/concat-scored-ids-$q.json" 8192
done

# 3. Fixtures.
for q in $QUANTS; do python3 tools/reference/reference_fixtures.py assemble "$q"; done
python3 tools/reference/reference_fixtures.py summary | tee "$W/summary.md"
