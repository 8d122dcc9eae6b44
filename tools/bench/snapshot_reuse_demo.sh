#!/usr/bin/env bash
# Issue 4, item 4: a document's prefilled KV is saved as a snapshot and reused by a later job on
# the same document (no second prefill). Two jobs with the same documents and model, one KV folder:
# prints every unit's KV source and document-prefill seconds from the store's metrics.
#
#   tools/bench/snapshot_reuse_demo.sh [THREADS] [DOCUMENT...]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-2}; shift || true
docs=("$@")
[ ${#docs[@]} -gt 0 ] || docs=(data/docs/licences/GPL-3.txt data/docs/manuals/zlib-FAQ.txt data/docs/licences/MPL-2.0.txt)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PIPELINE_DB="$work/store.sqlite" PIPELINE_KV_DIR="$work/kv"
pipeline=.build/release/pipeline
for name in first-job later-job; do
  python3 - "$work/$name.json" "$name" "${docs[@]}" <<'PY'
import json, os, sys
json.dump({"name": sys.argv[2], "documents": [os.path.abspath(d) for d in sys.argv[3:]],
           "prompts": ["Summarize the document in one sentence.", "Who wrote it?"], "max_new_tokens": 32,
           "strategy": {"attention": "dense", "kv": "int8"}}, open(sys.argv[1], "w"))
PY
  $pipeline submit --documents-root / "$work/$name.json" >/dev/null  # documents named by the caller, anywhere
  $pipeline run --threads "$threads" --batch-units 1 | grep -E "runner stopped"
done
python3 - "$PIPELINE_DB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print("| job | document | tokens | KV | document prefill (s) |")
print("|---|---|---:|---|---:|")
for row in db.execute("""SELECT j.name, d.path, m.kept_token_count, m.kv_snapshot, m.document_prefill_seconds
                         FROM metrics m JOIN unit u ON u.id = m.unit_id JOIN job j ON j.id = u.job_id
                         JOIN document d ON d.id = u.document_id ORDER BY j.sequence, d.path"""):
    print(f"| {row[0]} | {row[1].split('/')[-1]} | {row[2]} | {row[3]} | {row[4]:.3f} |")
PY
du -sh "$PIPELINE_KV_DIR/snapshots"
