#!/usr/bin/env bash
# Issue 6, item 5: the cost model's prediction error on a first run of a job, and on a second run
# of the same work after the profile was refit from the first run's recorded units.
#
#   tools/bench/router_refit_demo.sh [JOB_FILE] [THREADS]
#
# A fresh store: `pipeline calibrate`, then the job (run 1), then the same job under another name
# (the same documents and prompts are a new job) with a fresh KV folder, so nothing is loaded
# from run 1's snapshots (run 2). Prints each run's mean |predicted − measured| / measured.
set -euo pipefail
cd "$(dirname "$0")/../.."
job=${1:-jobs/licence-and-manual-questions.json}
threads=${2:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PIPELINE_DB="$work/store.sqlite"
pipeline=.build/release/pipeline
$pipeline calibrate --threads "$threads" | tail -3
for run in 1 2; do
  name="refit-demo-$run"
  python3 - "$job" "$work/$name.json" "$name" <<'PY'
import json, os, sys
spec = json.load(open(sys.argv[1]))
spec["name"] = sys.argv[3]
base = os.path.dirname(os.path.abspath(sys.argv[1]))
spec["documents"] = [os.path.join(base, d) for d in spec["documents"]]
json.dump(spec, open(sys.argv[2], "w"))
PY
  $pipeline submit --documents-root / "$work/$name.json" >/dev/null  # documents named by the caller, anywhere
  PIPELINE_KV_DIR="$work/kv-$run" $pipeline run --threads "$threads" | grep -E "batch of|profile refit|runner stopped"
  $pipeline status "$name" --json | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
print("run %s: %d units done, prediction error %.1f%% over %d units, strategies %s"
      % (sys.argv[1], j["done"], 100 * j["prediction_error"], j["predicted_units"], j["strategies"]))
' "$run"
done
