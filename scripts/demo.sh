#!/usr/bin/env bash
# The main job on a fresh machine: set up (system libraries, the model), build, measure the machine
# for the router (once), submit the sample jobs in jobs/, show the router's plan, run them all, then
# show status and every job's results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release
pipeline=.build/release/pipeline
# The machine profile, then the router's fidelity rows: imported when rows ship for this model file
# (data/calibration/<SHA-256>.json: they do for the default model); measuring them takes about 45
# minutes on 2 cores, so the demo skips them for another model file, and strategy auto then runs
# dense attention over f16 KV.
model_sha=$(sha256sum data/models/SmolLM2-135M-Instruct.Q4_1.gguf | cut -d' ' -f1)
fidelity=auto
if [[ ! -f data/calibration/$model_sha.json ]]; then
  fidelity=skip
  echo "no fidelity rows ship for this model file: strategy auto runs dense f16 (pipeline calibrate --fidelity measure measures them)"
fi
$pipeline calibrate --fidelity $fidelity 2>/dev/null | tail -n 20
$pipeline submit --documents-root data/docs jobs/
# sed reads all of plan's output; head would stop plan with SIGPIPE (exit 141 under pipefail)
$pipeline plan licence-and-manual-questions | sed -n 1,8p
$pipeline plan tight-memory-questions | sed -n 1,8p  # a 64 MiB budget: int8 KV pays (f16 would spill)
$pipeline run
$pipeline status
for job in $(ls jobs/*.json | xargs -n1 basename | sed 's/\.json$//'); do
  name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "jobs/$job.json")
  echo; echo "== results: $name"
  $pipeline results "$name"
done
