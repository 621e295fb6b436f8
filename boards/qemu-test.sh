#!/usr/bin/env bash
# Cross-builds the runtime's test suite for 64-bit and 32-bit ARM and runs it
# under qemu-user (needs the models and demo photos that .ci/run fetches).
#   boards/qemu-test.sh                 # aarch64 and armv7
#   boards/qemu-test.sh --no-run        # build only
#   TARGETS=aarch64-unknown-linux-gnu boards/qemu-test.sh
# Packages: gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf
# libc6-dev-armhf-cross qemu-user (installed by .ci/setup), and
# `rustup target add aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu cortex-a72"
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER="qemu-arm -L /usr/arm-linux-gnueabihf -cpu cortex-a15"
# Only the tests whose result depends on the architecture: the unit tests,
# the integer kernels (the face encoder's and the tracker backbone's), the embeddings against the x86_64 reference, frame
# conversions, the MJPEG decoder and model parsing. The end-to-end CLI tests
# run their binary directly and are left to the x86_64 run.
tests=(--lib --test int8_engine --test int8_tracker --test arch_parity --test zero_alloc_frames
  --test mjpeg --test mjpeg_no_alloc --test model_errors)
for target in ${TARGETS:-aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf}; do
  echo "== siamedge tests on $target (qemu)"
  SIAMEDGE_EXPECT_INT8_KERNEL=portable cargo test -p siamedge --target "$target" "${tests[@]}" "$@"
  if [ "$target" = aarch64-unknown-linux-gnu ]; then
    echo "== int8 engine and embeddings on aarch64 with the dot-product extension (qemu cortex-a76)"
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu cortex-a76" \
      SIAMEDGE_EXPECT_INT8_KERNEL=sdot cargo test -p siamedge --target "$target" --test int8_engine --test int8_tracker --test arch_parity "$@"
  fi
done
