#!/usr/bin/env bash
# Prepares a fresh machine: the system C libraries the package links (liblz4, libsqlite3), Python
# packages the fixture scripts use, and the model (data/models/, git-ignored). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
pkg-config --exists liblz4 2>/dev/null || need+=(liblz4-dev)
[[ -f /usr/include/sqlite3.h ]] || need+=(libsqlite3-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
if ((${#need[@]})); then
  SUDO=; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -q && $SUDO apt-get install -y -q "${need[@]}"
fi
# Structured-output tests validate answers with jsonschema and parse batch output with openai's types.
python3 -c "import jsonschema, openai" 2>/dev/null || python3 -m pip install -q jsonschema openai 2>/dev/null \
  || python3 -m pip install -q --break-system-packages jsonschema openai
scripts/fetch-model.sh >/dev/null
echo "setup done: model at data/models/SmolLM2-135M-Instruct.Q4_1.gguf"
