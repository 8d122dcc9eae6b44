#!/usr/bin/env bash
# The main job on a fresh machine: set up (system libraries, the model), build, measure the machine
# for the router (once), submit the sample jobs in jobs/, show the router's plan, run them all, then
# show status and every job's results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release
pipeline=.build/release/pipeline
$pipeline calibrate 2>/dev/null | tail -n 20   # the machine profile, then the fidelity rows (shipped for the default model)
$pipeline submit --documents-root data/docs jobs/
$pipeline plan licence-and-manual-questions | sed -n 1,20p # sed reads it all; head would stop plan with SIGPIPE (exit 141 under pipefail)
$pipeline run
$pipeline status
for job in $(ls jobs/*.json | xargs -n1 basename | sed 's/\.json$//'); do
  name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "jobs/$job.json")
  echo; echo "== results: $name"
  $pipeline results "$name"
done
