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
for target in ${TARGETS:-aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf}; do
  echo "== siamedge tests on $target (qemu)"
  cargo test -p siamedge --target "$target" "$@"
  if [ "$target" = aarch64-unknown-linux-gnu ]; then
    echo "== int8 engine on aarch64 with the dot-product extension (qemu cortex-a76)"
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu cortex-a76" \
      cargo test -p siamedge --target "$target" --test int8_engine "$@"
  fi
done
