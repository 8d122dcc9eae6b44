#!/usr/bin/env bash
# PostgreSQL's server binaries for the store tests (initdb, pg_ctl, postgres, psql), from Debian's
# packages when missing. The tests start their own throw-away cluster on 127.0.0.1 (as `nobody`
# when run as root) and stop it; the cluster the package may start is stopped here. Idempotent.
# PIPELINE_TEST_NO_POSTGRES=1 says this run has no PostgreSQL (its tests are then not run).
set -euo pipefail
[[ "${PIPELINE_TEST_NO_POSTGRES:-}" == 1 ]] && { echo "PIPELINE_TEST_NO_POSTGRES=1: PostgreSQL tests not run"; exit 0; }
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  SUDO=; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -q && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
  if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters -h 2>/dev/null | while read -r version cluster _; do $SUDO pg_ctlcluster "$version" "$cluster" stop 2>/dev/null || true; done
  fi
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
[[ -x "$bin/initdb" ]] || { echo "PostgreSQL is not installed and could not be installed" >&2; exit 1; }
echo "PostgreSQL for the tests: $bin"
