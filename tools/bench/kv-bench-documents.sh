#!/bin/sh
# Lists the 16 documents of ≥ 4,000 SmolLM2 tokens used for the KV memory-budget run
# (BENCHMARKS.md, "KV formats"): the nine sample documents above 4,000 tokens, the Node.js API
# document (cut to the context), three licence texts and three git release notes of a Debian 12
# system. Prints their paths, one per line; fails if one is missing.
set -eu
cd "$(dirname "$0")/../.."
for f in \
    data/docs/licences/GPL-2.txt data/docs/licences/GPL-3.txt data/docs/licences/LGPL-2.1.txt \
    data/docs/licences/GFDL-1.3.txt data/docs/manuals/zlib-FAQ.txt data/docs/manuals/valgrind-FAQ.txt \
    data/docs/manuals/systemd-README.txt data/docs/manuals/libffi-README.md data/docs/manuals/libjpeg-turbo-README.md \
    data/docs/long/nodejs-cluster-api.md \
    /usr/share/common-licenses/GFDL-1.2 /usr/share/common-licenses/LGPL-2 /usr/share/common-licenses/MPL-1.1 \
    /usr/share/doc/git/RelNotes/2.14.0.txt /usr/share/doc/git/RelNotes/2.21.0.txt /usr/share/doc/git/RelNotes/2.36.0.txt
do
    [ -f "$f" ] || { echo "missing $f" >&2; exit 66; }
    echo "$f"
done
