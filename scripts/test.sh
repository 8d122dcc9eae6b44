#!/usr/bin/env bash
# The test command: sets up a fresh machine (scripts/setup.sh), fetches the test assets (the model
# and llama.cpp's vocab-only GGUFs with their golden tokenizations, all git-ignored), then runs
# every test. Unit tests build tiny synthetic GGUF models in code; integration tests use the model.
# PostgreSQL's server binaries are installed from Debian's packages when missing (scripts/setup-postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/setup-postgres.sh   # the store tests also run against a PostgreSQL cluster they start
scripts/fetch-test-assets.sh
# The report test renders its page in headless Chromium (Debian's chromium).
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  SUDO=; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi
swift build --build-tests
swift test --skip-build "$@"
