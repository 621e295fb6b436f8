#!/usr/bin/env bash
# Fetches the demo photos (obama.jpg, obama2.jpg, obama3.jpg, biden.jpg, ...)
# from the PyPI source distribution face_recognition==1.3.0 (MIT licence) into
# models/build/samples/. Checks the sdist's sha256.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../build/samples"
sdist="face_recognition-1.3.0.tar.gz"
if [ -f "$out/.verified" ]; then
  echo "models/build/samples: already fetched"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetching pypi:face_recognition==1.3.0 (sdist, for its test photos) ..."
python3 -m pip download --quiet --no-deps --no-binary :all: -d "$work" face_recognition==1.3.0
(cd "$work" && sha256sum --quiet -c "$here/samples.sha256") || {
  echo "fetch-samples.sh: $sdist does not match models/zoo/samples.sha256; refusing to use it" >&2
  exit 1
}
tar -xzf "$work/$sdist" -C "$work" face_recognition-1.3.0/tests/test_images
mkdir -p "$out"
cp "$work"/face_recognition-1.3.0/tests/test_images/*.jpg "$out/"
touch "$out/.verified"
echo "models/build/samples: $(ls "$out"/*.jpg | wc -l) photos"
