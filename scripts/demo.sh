#!/usr/bin/env bash
# The main job on a fresh machine: set up (system libraries, the model), build, submit the sample
# jobs in jobs/, run them all, then show status and every job's results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release
pipeline=.build/release/pipeline
$pipeline submit jobs/
$pipeline run
$pipeline status
for job in $(ls jobs/*.json | xargs -n1 basename | sed 's/\.json$//'); do
  name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "jobs/$job.json")
  echo; echo "== results: $name"
  $pipeline results "$name"
done
