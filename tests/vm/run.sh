#!/usr/bin/env bash
# Runs the siamedge binary against real kernel drivers in a VM: Debian's amd64
# kernel under qemu-system-x86_64 (TCG, no KVM) with a busybox initramfs whose
# /init (tests/vm/init) loads v4l2loopback, vivid and our gpio_rec chip and
# runs the checks. Exits 0 only if every check passed.
#   tests/vm/run.sh [PATH_TO_SIAMEDGE_BINARY]     # default target/debug/siamedge
# Installs what it lacks with apt-get (run as root) and caches its builds in
# target/vm/. See tests/vm/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/debug/siamedge}
src=tests/vm
cache=target/vm
[ -x "$bin" ] || { echo "vm: no siamedge binary at $bin" >&2; exit 1; }

# --- Packages, only those missing.
packages=(qemu-system-x86 linux-image-amd64 linux-headers-amd64 v4l2loopback-dkms
  busybox-static cpio gcc libc6-dev make kmod xz-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "vm: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- The kernel: the newest one that has both an image and headers.
kver=$(for build in /lib/modules/*/build; do
  v=${build%/build}; v=${v#/lib/modules/}
  [ -f "/boot/vmlinuz-$v" ] && echo "$v"
done | sort -V | tail -n 1)
[ -n "$kver" ] || { echo "vm: no kernel with headers under /lib/modules" >&2; exit 1; }
# dkms builds v4l2loopback when the package or the headers are installed;
# build it here if that did not happen for this kernel.
modinfo -k "$kver" v4l2loopback >/dev/null 2>&1 || dkms autoinstall -k "$kver"

# --- Our builds, cached in target/vm/ and redone when a source is newer.
mkdir -p "$cache/bin"
for tool in v4l2-writer v4l2-mjpeg-writer v4l2-ctl-disconnect; do
  if [ ! -x "$cache/bin/$tool" ] || [ "$src/$tool.c" -nt "$cache/bin/$tool" ]; then
    gcc -static -O2 -Wall -Wextra -o "$cache/bin/$tool" "$src/$tool.c"
  fi
done
# The kernel build writes next to its sources, so build a copy.
gpio_build=$cache/gpio-rec-$kver
if [ ! -f "$gpio_build/gpio_rec.ko" ] || [ -n "$(find "$src/gpio-rec" -newer "$gpio_build/gpio_rec.ko")" ]; then
  rm -rf "$gpio_build"
  cp -r "$src/gpio-rec" "$gpio_build"
  make -C "/lib/modules/$kver/build" M="$PWD/$gpio_build" modules >"$gpio_build.log" 2>&1 ||
    { cat "$gpio_build.log"; exit 1; }
fi

# --- The initramfs, rebuilt on every run (it holds the binary under test).
root=$cache/root
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,mods}
cp /bin/busybox "$root/bin/busybox"
cp "$src/init" "$root/init"
cp "$cache"/bin/* "$root/bin/"
# siamedge without its debug info, with the libraries and loader it links to.
strip --strip-debug -o "$root/bin/siamedge" "$bin"
for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
  cp -L --parents "$lib" "$root"
done
# Kernel modules: each one's dependency chain, in load order, as mods/NAME.list.
for mod in v4l2loopback vivid; do
  for ko in $(modprobe -S "$kver" --show-depends "$mod" | awk '$1 == "insmod" { print $2 }'); do
    name=$(basename "$ko"); name=${name%.xz}
    case $ko in
      *.xz) xz -dc "$ko" >"$root/mods/$name" ;;
      *) cp "$ko" "$root/mods/$name" ;;
    esac
    echo "$name" >>"$root/mods/$mod.list"
  done
done
cp "$gpio_build/gpio_rec.ko" "$root/mods/"
# The face-unlock check: the detector and embedder, a photo for the camera,
# and galleries enrolled here (native speed; the same model files, so the
# VM's daemon accepts them): obama from two photos, biden from one.
models=models/build/onnx
if [ -f "$models/MobileFaceNet.onnx" ] && [ -f models/build/samples/obama2.jpg ]; then
  mkdir -p "$root/models" "$root/samples"
  for m in pnet rnet onet MobileFaceNet; do cp "$models/$m.onnx" "$models/$m.toml" "$root/models/"; done
  cp models/build/samples/obama2.jpg "$root/samples/"
  enrol_config=$cache/enrol.toml
  printf '%s\n' 'variant = "fp32"' 'threads = 1' "models = \"$PWD/$models\"" '[camera]' 'device = "/dev/null"' \
    'format = "MJPG"' 'width = 640' 'height = 480' '[gpio]' 'chip = "/dev/null"' 'relay-line = 5' 'led-line = 6' \
    '[unlock]' 'liveness = "off"' >"$enrol_config"
  s=models/build/samples
  "$bin" enrol obama --config "$enrol_config" --gallery "$root/faces" --frames 2 --source "$s/obama.jpg" "$s/obama3.jpg" 2>/dev/null
  "$bin" enrol biden --config "$enrol_config" --gallery "$root/faces" --frames 1 --source "$s/biden.jpg" 2>/dev/null
else
  echo "vm: no models in $models (run models/zoo/fetch.sh and fetch-samples.sh): the unlock check will fail"
fi
# The tracking check: NanoTrack's two files, the first frame of OTB Crossing
# (the target) and of Freeman1 (the same size, without it), and Crossing's
# first ground-truth box.
otb=../shared/data/otb
if [ -f "$models/nanotrack/nanotrack_v3_head.onnx" ] && [ -f "$otb/Crossing/img/0001.jpg" ]; then
  mkdir -p "$root/models/nanotrack" "$root/otb"
  for m in nanotrack_v3_backbone nanotrack_v3_head; do
    cp "$models/nanotrack/$m.onnx" "$models/nanotrack/$m.toml" "$root/models/nanotrack/"
  done
  cp "$otb/Crossing/img/0001.jpg" "$root/otb/target.jpg"
  cp "$otb/Freeman1/img/0001.jpg" "$root/otb/other.jpg"
  head -n 1 "$otb/Crossing/groundtruth_rect.txt" | tr -d '\r' | tr -s ' \t' ',' >"$root/otb/init"
else
  echo "vm: no tracker models in $models/nanotrack or no $otb: the tracking check is skipped"
fi
(cd "$root" && find . | cpio -o -H newc --quiet) >"$cache/initramfs.cpio"

# --- Boot. The console goes to the terminal and to target/vm/console.log.
echo "vm: booting $kver with $bin"
log=$cache/console.log
start=$SECONDS
timeout 420 qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot \
  -kernel "/boot/vmlinuz-$kver" -initrd "$cache/initramfs.cpio" \
  -append "console=ttyS0 quiet panic=-1 printk.time=1" </dev/null | sed -u 's/\r$//' | tee "$log" || true
echo "vm: qemu ran $((SECONDS - start)) s"

# --- Verdict: the VM's summary again (after qemu's shutdown noise); its
# closing line must count no failure.
grep '^vm: ' "$log" | grep -v '^vm: booted' || true
if ! grep -qE '^vm: [0-9]+ passed, 0 failed$' "$log"; then
  grep -qE '^vm: [0-9]+ passed, [0-9]+ failed$' "$log" ||
    echo "vm: 0 passed, 1 failed (the VM did not finish: see $log)"
  exit 1
fi
