#!/usr/bin/env bash
# The QEMU integration stage: boots a stock Debian kernel under QEMU (TCG; KVM is unusable on CI's machines) with
# an emulated Intel IOMMU and QEMU's edu, e1000e and nvme models, binds them to vfio-pci inside the guest, runs the
# project's guest test assembly (tests/VfioPolicy.GuestTests) with the host's own dotnet over a read-only 9p share
# of the host root, and prints one closing line "N passed, N failed". Exits non-zero on any failure, on a guest
# that never finished, and when the whole stage outlives its hard timeout.
#
# Needs root (apt-get, and QEMU reads the whole host root for the 9p share). Idempotent: packages already
# installed are not reinstalled, and the unpacked kernel is cached by package name, so a warm rerun is one boot.
#
# Environment:
#   VFIOPOLICY_ARTIFACTS  dotnet --artifacts-path for building the guest tests (as in .ci/run); unset: in-tree bin/
#   VFIOQ_CACHE           cache folder (default /var/cache/vfiopolicy-qemu): kernel-PKG/ (the unpacked kernel),
#                         runs/*/ (one per run, kept two hours: guest.log, build.log...), last -> the latest run
#   VFIOQ_TIMEOUT         hard limit in seconds for the whole stage (default 290)
#   VFIOQ_BOOT_TIMEOUT    hard limit in seconds for the QEMU run alone (default 200)
#   VFIOQ_MEM, VFIOQ_SMP  guest memory in MiB (default 2048) and CPUs (default 1: under TCG 2 is no faster here)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${VFIOQ_CACHE:-/var/cache/vfiopolicy-qemu}"
TOTAL_TIMEOUT="${VFIOQ_TIMEOUT:-290}"

# The hard timeout: the stage runs as a child under timeout(1), so a hang anywhere (apt, the build, QEMU) cannot
# eat CI's budget; the parent still prints the closing line when the child was killed.
if [[ -z "${VFIOQ_INNER:-}" ]]; then
  set +e
  VFIOQ_INNER=1 timeout --kill-after=15 "$TOTAL_TIMEOUT" bash "${BASH_SOURCE[0]}" "$@"
  rc=$?
  set -e
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "vfio-qemu: the stage exceeded its hard timeout of ${TOTAL_TIMEOUT}s and was stopped" >&2
    echo "0 passed, 1 failed"
  fi
  exit "$rc"
fi

started=$(date +%s)
log() { echo "[vfio-qemu +$(( $(date +%s) - started ))s] $*"; }
fail() {
  echo "vfio-qemu: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

[[ $(id -u) -eq 0 ]] || fail "must run as root (apt-get, and QEMU shares the host root with the guest)"
mkdir -p "$CACHE/runs"
# Several checkouts (or engineers) may run the stage at once on one machine: each run gets its own folder (log,
# initramfs, nvme image), and installing packages or filling the kernel cache happens under one lock.
find "$CACHE/runs" -mindepth 1 -maxdepth 1 -type d -mmin +120 -exec rm -rf {} + 2>/dev/null || true
WORK="$(mktemp -d "$CACHE/runs/$(date +%Y%m%d-%H%M%S)-XXXXXX")"
ln -sfn "$WORK" "$CACHE/last"
exec 9> "$CACHE/.lock"
flock -w 300 9 || fail "another run held $CACHE/.lock for 5 minutes"

# 1. Host packages. Only missing ones are installed, so reruns cost one dpkg-query each.
packages=(qemu-system-x86 busybox-static cpio xz-utils kmod)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 180 apt-get update -qq > "$WORK/apt.log" 2>&1 || fail "apt-get update failed (see $WORK/apt.log)"
  timeout 240 apt-get install -y -qq --no-install-recommends "${missing[@]}" >> "$WORK/apt.log" 2>&1 \
    || fail "apt-get install ${missing[*]} failed (see $WORK/apt.log)"
fi

# 2. The guest kernel: the package linux-image-amd64 currently depends on, downloaded and unpacked into the cache,
#    never installed (installing runs update-initramfs twice and writes /boot: about a minute).
kernel_package="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')"
if [[ -z "$kernel_package" ]]; then
  timeout 180 apt-get update -qq > "$WORK/apt.log" 2>&1 || fail "apt-get update failed (see $WORK/apt.log)"
  kernel_package="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }')"
fi
[[ -n "$kernel_package" ]] || fail "apt-cache knows no linux-image-amd64 (no Debian apt sources?)"
KDIR="$CACHE/kernel-$kernel_package"
# .complete-2: the unpacked set includes drivers/nvme (the SR-IOV physical function's driver); older caches lack it.
if [[ ! -f "$KDIR/.complete-2" ]]; then
  log "fetching $kernel_package"
  rm -rf "$KDIR"
  mkdir -p "$KDIR"
  (cd "$KDIR" && timeout 240 apt-get download "$kernel_package" > "$WORK/kernel-download.log" 2>&1) \
    || fail "apt-get download $kernel_package failed (see $WORK/kernel-download.log)"
  deb="$(ls "$KDIR"/*.deb)"
  # Debian 13 moved the modules to /usr/lib/modules; a lib -> usr/lib link keeps the rest of the script the same.
  prefix=lib
  dpkg-deb -c "$deb" | grep -q ' \./usr/lib/modules/' && prefix=usr/lib
  patterns=('./boot/vmlinuz-*' "./$prefix/modules/*/modules.order" "./$prefix/modules/*/modules.builtin*")
  for dir in drivers/vfio virt fs/9p net/9p fs/netfs fs/fscache drivers/virtio fs/overlayfs drivers/nvme/host block lib crypto; do
    patterns+=("./$prefix/modules/*/kernel/$dir/*")
  done
  dpkg-deb --fsys-tarfile "$deb" | tar -C "$KDIR" -x --wildcards "${patterns[@]}" \
    || fail "unpacking $deb failed"
  [[ $prefix == usr/lib ]] && ln -sfn usr/lib "$KDIR/lib"
  kver="$(ls "$KDIR/lib/modules")"
  depmod -b "$KDIR" "$kver"
  # Debian 12's bzImage is XZ-compressed: booting the ELF inside it through PVH skips ~5 s of decompression
  # under TCG. Kernels whose payload is not XZ simply boot as bzImage.
  "$HERE/extract-vmlinux.sh" "$KDIR"/boot/vmlinuz-* "$KDIR/vmlinux" > /dev/null 2>&1 || rm -f "$KDIR/vmlinux"
  rm -f "$deb"
  touch "$KDIR/.complete-2"
fi
kver="$(ls "$KDIR/lib/modules")"
kernel="$KDIR/vmlinux"
[[ -f $kernel ]] || kernel="$(ls "$KDIR"/boot/vmlinuz-*)"

# 3. The guest test assembly, built on the host; the guest runs this very file over 9p.
log "building the guest tests"
build_args=(-c Release)
[[ -n "${VFIOPOLICY_ARTIFACTS:-}" ]] && build_args+=(--artifacts-path "$VFIOPOLICY_ARTIFACTS")
timeout 600 dotnet build "$ROOT/tests/VfioPolicy.GuestTests/VfioPolicy.GuestTests.csproj" "${build_args[@]}" \
  -nologo -v quiet > "$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; fail "building the guest tests failed"; }
if [[ -n "${VFIOPOLICY_ARTIFACTS:-}" ]]; then
  guest_dll="$VFIOPOLICY_ARTIFACTS/bin/VfioPolicy.GuestTests/release/VfioPolicy.GuestTests.dll"
else
  guest_dll="$ROOT/tests/VfioPolicy.GuestTests/bin/Release/net10.0/VfioPolicy.GuestTests.dll"
fi
guest_dll="$(realpath "$guest_dll")"
[[ -f $guest_dll ]] || fail "the build produced no $guest_dll"
# The path travels on the kernel command line, which splits on blanks.
[[ $guest_dll != *[[:space:]]* ]] || fail "the guest test path contains blanks: $guest_dll"

# 4. The initramfs: busybox, the module closure for VFIO and the 9p/overlay route, and the guest /init.
log "building the initramfs ($kver)"
"$HERE/build-initramfs.sh" "$KDIR" "$kver" "$HERE/guest-init.sh" "$WORK/initrd.cpio.gz" > "$WORK/initramfs.log" 2>&1 \
  || { cat "$WORK/initramfs.log" >&2; fail "building the initramfs failed"; }

# Two builds into one output folder would trip over each other; from here on runs are independent.
flock -u 9
exec 9>&-

# 5. Boot. Each device sits behind its own PCIe root port (own IOMMU group, bus reset possible); a second edu on the
#    root bus has no reset method, which the tests use for the "cannot reset" error, and an option ROM; two more edus
#    sit behind a PCIe-to-PCI bridge: one IOMMU group, no reset but a bus reset of both together. A second NVMe
#    controller offers SR-IOV: /init binds it to the nvme driver, enables two virtual functions and gives those to
#    vfio-pci.
truncate -s 16M "$WORK/nvme.img"
# The ROM: a valid PCI expansion ROM header (0xAA55, a "PCIR" structure: Linux's pci_map_rom refuses anything else,
# and vfio-pci then reports no ROM region), 16 x 512 bytes, code type 3 (EFI) and a vendor that matches no device so
# SeaBIOS runs none of it, then a recognisable pattern. The guest test compares the ROM region with this file.
make_rom() {
  {
    printf '\x55\xaa\x10'
    head -c 21 /dev/zero
    printf '\x1c\x00'                      # 0x18: offset of the PCI data structure
    head -c 2 /dev/zero
    printf 'PCIR\xff\xff\xff\xff'            # 0x1c: signature, vendor and device 0xffff
    printf '\x00\x00\x18\x00\x00\xff\x00\x00' # VPD pointer, structure length 0x18, revision, class code
    printf '\x10\x00\x00\x00\x03\x80\x00\x00' # image length 16 x 512, code revision, code type 3, last image
    printf 'VFIOPOLICY-ROM'
    (yes 'vfio-policy option rom pattern 0123456789abcdef' || true) | head -c $((8192 - 66))
  } > "$1"
}
make_rom "$WORK/edu-rom.bin"
[[ $(stat -c %s "$WORK/edu-rom.bin") -eq 8192 ]] || fail "the ROM image is not 8192 bytes"
qemu=(qemu-system-x86_64 -machine q35,accel=tcg -cpu max -smp "${VFIOQ_SMP:-1}" -m "${VFIOQ_MEM:-2048}"
  -nodefaults -no-user-config -display none -serial stdio -monitor none -no-reboot
  -device intel-iommu,intremap=on
  -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1 -device edu,bus=rp1
  -device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2 -device e1000e,bus=rp2,romfile=
  -device pcie-root-port,id=rp3,bus=pcie.0,chassis=3,slot=3
  -drive "file=$WORK/nvme.img,if=none,id=nvm,format=raw" -device nvme,serial=vfioq0001,drive=nvm,bus=rp3
  -device edu,bus=pcie.0,addr=0x10,romfile="$WORK/edu-rom.bin"
  -device pcie-root-port,id=rp4,bus=pcie.0,chassis=4,slot=4 -device pcie-pci-bridge,id=br1,bus=rp4
  -device edu,bus=br1,addr=0x1 -device edu,bus=br1,addr=0x2
  -device pcie-root-port,id=rp5,bus=pcie.0,chassis=5,slot=5 -device nvme-subsys,id=sriovsubsys
  -device nvme,serial=vfioqsriov,subsys=sriovsubsys,bus=rp5,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2,max_ioqpairs=6,msix_qsize=4
  -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
  -kernel "$kernel" -initrd "$WORK/initrd.cpio.gz"
  -append "console=ttyS0 panic=-1 loglevel=4 intel_iommu=on vfioq.tests=$guest_dll vfioq.rom=$WORK/edu-rom.bin")
log "booting $kver under TCG"
set +e
timeout --kill-after=5 "${VFIOQ_BOOT_TIMEOUT:-200}" "${qemu[@]}" < /dev/null 2>&1 | tee "$WORK/guest.log"
qemu_rc=${PIPESTATUS[0]}
set -e
log "QEMU exited with $qemu_rc"

# 6. The verdict, from the serial log: the guest test harness's own summary line, its exit status, and the
#    marker /init prints last (its absence means a crash or a timeout).
summary="$(grep -aoE 'GUEST-TESTS: [0-9]+ passed, [0-9]+ failed' "$WORK/guest.log" | tail -1 || true)"
guest_rc="$(grep -aoE 'VFIOQ: tests rc=[0-9]+' "$WORK/guest.log" | tail -1 | grep -oE '[0-9]+$' || true)"
passed=0
failed=0
if [[ -n $summary ]]; then
  passed="$(echo "$summary" | awk '{ print $2 }')"
  failed="$(echo "$summary" | awk '{ print $4 }')"
else
  echo "vfio-qemu: the guest tests printed no summary" >&2
  failed=$((failed + 1))
fi
if [[ -z $guest_rc ]]; then
  echo "vfio-qemu: the guest tests did not finish" >&2
  [[ -n $summary ]] && failed=$((failed + 1))
elif [[ $guest_rc -ne 0 && $failed -eq 0 ]]; then
  echo "vfio-qemu: the guest tests exited with $guest_rc but reported no failure" >&2
  failed=$((failed + 1))
fi
if ! grep -aq 'VFIOQ: done' "$WORK/guest.log"; then
  echo "vfio-qemu: the guest did not finish (QEMU exit status $qemu_rc; timeout or crash)" >&2
  [[ $failed -eq 0 ]] && failed=1
fi
rm -f "$WORK/initrd.cpio.gz" "$WORK/nvme.img" "$WORK/edu-rom.bin"
log "stage took $(( $(date +%s) - started ))s; serial log: $WORK/guest.log"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
