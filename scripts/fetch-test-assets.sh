#!/usr/bin/env bash
# Fetches what the tests compare against but the repository must not carry: the model (see
# fetch-model.sh) and llama.cpp's vocab-only GGUFs with their golden tokenizations
# (models/ggml-vocab-*.gguf{,.inp,.out}), taken from the llama-cpp-python source package on PyPI.
# Everything lands under data/ (git-ignored). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-model.sh >/dev/null
VERSION=0.3.36
DEST=data/vocab
if [[ ! -s $DEST/ggml-vocab-llama-spm.gguf.out ]]; then
  mkdir -p "$DEST"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  # The sdist straight from PyPI's simple index (pip download would build its build dependencies).
  python3 - "$VERSION" "$tmp" <<'PY'
import re, sys, urllib.request
version, dest = sys.argv[1], sys.argv[2]
index = urllib.request.urlopen("https://pypi.org/simple/llama-cpp-python/").read().decode()
url = re.search(r'href="([^"#]*/llama_cpp_python-%s\.tar\.gz)' % re.escape(version), index).group(1)
urllib.request.urlretrieve(url, f"{dest}/llama_cpp_python-{version}.tar.gz")
PY
  tar -xzf "$tmp/llama_cpp_python-$VERSION.tar.gz" -C "$tmp" --wildcards "*/vendor/llama.cpp/models/ggml-vocab-*"
  cp "$tmp"/llama_cpp_python-$VERSION/vendor/llama.cpp/models/ggml-vocab-* "$DEST"/
fi
echo "data/models data/vocab ready"
