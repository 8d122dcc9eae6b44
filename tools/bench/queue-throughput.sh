#!/usr/bin/env bash
# Queue throughput (issue 16): leases per second with 1, 4 and 8 runner processes on tiny units
# (`pipeline store bench`: lease → complete with one short output, no model), SQLite file against
# PostgreSQL, interleaved rounds, medians, load average before and after.
#
#   tools/bench/queue-throughput.sh [ROUNDS=5] [UNITS=2000]
#
# PIPELINE_BIN: the binary (default .build/release/pipeline; build it with swift build -c release).
# PostgreSQL: a throw-away cluster from Debian's packages (PG_BIN, default /usr/lib/postgresql/15/bin)
# in a temp folder on 127.0.0.1, run as `nobody` when started as root, fsync on (as in use), removed
# at the end. Prints one line per (store, processes) and a Markdown table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}
UNITS=${2:-2000}
BIN=${PIPELINE_BIN:-.build/release/pipeline}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$BIN" ] || { echo "no $BIN: swift build -c release (or set PIPELINE_BIN)" >&2; exit 66; }
[ -x "$PG_BIN/initdb" ] || { echo "no PostgreSQL in $PG_BIN: apt-get install -y postgresql" >&2; exit 66; }

WORK=$(mktemp -d /tmp/queue-bench.XXXXXX); chmod 755 "$WORK"
PGDIR="$WORK/pg"
mkdir -p "$PGDIR"
AS=()
if [ "$(id -u)" = 0 ]; then chown nobody:nogroup "$PGDIR"; chmod 700 "$PGDIR"; AS=(runuser -u nobody --); fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
(cd /tmp && "${AS[@]}" "$PG_BIN/initdb" -D "$PGDIR/data" -U pipeline --auth=trust -E UTF8 --no-instructions >/dev/null)
(cd /tmp && "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGDIR -c max_connections=100" start >/dev/null)
psql() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PORT" -U pipeline "$@"; }

RESULTS="$WORK/results.tsv"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
  for procs in 1 4 8; do
    for store in sqlite postgres; do
      if [ "$store" = sqlite ]; then
        rm -f "$WORK"/q.sqlite*; DB="$WORK/q.sqlite"
      else
        psql -d postgres -c "DROP DATABASE IF EXISTS q" -c "CREATE DATABASE q"; DB="postgres://pipeline@127.0.0.1:$PORT/q"
      fi
      rate=$("$BIN" store bench --db "$DB" --units "$UNITS" --processes "$procs" --json \
             | python3 -c 'import json,sys; print(json.load(sys.stdin)["leases_per_second"])')
      printf '%s\t%s\t%s\t%s\n' "$store" "$procs" "$round" "$rate" >> "$RESULTS"
      echo "round $round: $store, $procs processes: $rate leases/s"
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RESULTS" "$UNITS" "$ROUNDS" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    store, procs, _, rate = line.split("\t")
    rows[(store, int(procs))].append(float(rate))
print(f"\n| runner processes | SQLite file (leases/s) | PostgreSQL (leases/s) |  ({sys.argv[2]} units, median of {sys.argv[3]} rounds)")
print("|---:|---:|---:|")
for procs in (1, 4, 8):
    s, p = statistics.median(rows[("sqlite", procs)]), statistics.median(rows[("postgres", procs)])
    print(f"| {procs} | {s:.0f} | {p:.0f} |")
PY
