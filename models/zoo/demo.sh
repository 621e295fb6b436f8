#!/usr/bin/env bash
# The main job on its embedded default: fetch and import the face models, fetch
# the demo photos, then compare faces (same person, then different people).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
models/zoo/fetch.sh
models/zoo/fetch-samples.sh
echo "== building siamedge (the first build compiles tract: about 10 minutes on 2 cores)"
cargo build -p siamedge
s=models/build/samples
for pair in "obama.jpg obama2.jpg" "obama.jpg obama3.jpg" "obama.jpg biden.jpg"; do
  set -- $pair
  echo "== $1 vs $2"
  target/debug/siamedge compare "$s/$1" "$s/$2"
done
