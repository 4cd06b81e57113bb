#!/usr/bin/env bash
# prepare.sh: fills the vfio-user stage's cache, once. A Debian trixie root (mmdebstrap, minbase) holding QEMU 11.x
# from trixie-backports (the vfio-user client `vfio-user-pci`; it needs trixie's glibc, bookworm cannot run it),
# busybox-static and kmod; the trixie guest kernel (the package trixie's linux-image-amd64 depends on, downloaded in
# the root, never installed) with its module tree; the guest's module closure decompressed for busybox insmod; and a
# default initramfs. The apt mirror is the one the host's own apt uses; no host name is written here.
#
# Needs root (apt-get, mmdebstrap, chroot). Idempotent: every step leaves a marker and is skipped when it is there, so
# a warm run is a few dpkg-query calls and a du; host packages are installed only when missing. Cold: about a minute.
# Prints each step's time; exits non-zero with a "vfio-user: ..." message on stderr when a step fails.
#
# Environment:
#   VFIOU_CACHE            cache folder (default /var/cache/vfiopolicy-vfio-user; layout in lib.sh)
#   VFIOU_MODULES          the guest modules whose closure goes into the initramfs (default "uio uio_pci_generic");
#                          a changed list is resolved again on the next run from the cached module tree (seconds)
#   VFIOU_PREPARE_TIMEOUT  hard limit in seconds for the whole script (default 600)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
TOTAL_TIMEOUT="${VFIOU_PREPARE_TIMEOUT:-600}"
MODULES="${VFIOU_MODULES:-uio uio_pci_generic}"

# The hard timeout, as in tests/vfio-qemu/run.sh: the work runs as a child under timeout(1).
if [[ -z "${VFIOU_PREPARE_INNER:-}" ]]; then
  set +e
  VFIOU_PREPARE_INNER=1 timeout --kill-after=15 "$TOTAL_TIMEOUT" bash "${BASH_SOURCE[0]}" "$@"
  rc=$?
  set -e
  [[ $rc -eq 124 || $rc -eq 137 ]] && echo "vfio-user: prepare.sh exceeded its hard timeout of ${TOTAL_TIMEOUT}s" >&2
  exit "$rc"
fi

started=$(now)
log() { echo "[vfio-user prepare +$(since "$started")s] $*"; }
fail() { echo "vfio-user: $*" >&2; exit 1; }
step() { step_started=$(now); }
done_step() { log "$1 ($(since "$step_started") s)"; }

[[ $(id -u) -eq 0 ]] || fail "prepare.sh must run as root (apt-get, mmdebstrap, chroot)"
mkdir -p "$CACHE"
exec 9> "$CACHE/.lock"
flock -w 300 9 || fail "another run held $CACHE/.lock for 5 minutes"
LOGS="$CACHE/logs"
mkdir -p "$LOGS"

# 1. Host packages: mmdebstrap only while there is no root yet; the rest are used by build-initramfs.sh, in_root and
#    run.sh (gcc and libc6-dev build the guest's static mmio-loop).
step
packages=(cpio xz-utils gzip util-linux mount coreutils debian-archive-keyring gcc libc6-dev)
[[ -f $CACHE/root.done ]] || packages+=(mmdebstrap)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
apt_updated=
if [[ ${#missing[@]} -gt 0 ]]; then
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 180 apt-get update -qq > "$LOGS/host-apt.log" 2>&1 || fail "apt-get update failed (see $LOGS/host-apt.log)"
  apt_updated=1
  timeout 300 apt-get install -y -qq --no-install-recommends "${missing[@]}" >> "$LOGS/host-apt.log" 2>&1 \
    || fail "apt-get install ${missing[*]} failed (see $LOGS/host-apt.log)"
fi
done_step "host packages: ${#missing[@]} installed"

# 2. The trixie root. Built in root.new and renamed when complete, so an interrupted run leaves no half root behind.
if [[ ! -f $CACHE/root.done || ! -x $ROOT/usr/bin/qemu-system-x86_64 ]]; then
  step
  mirror="$(host_debian_mirror)"
  if [[ -z $mirror && -z $apt_updated ]]; then
    timeout 180 apt-get update -qq > "$LOGS/host-apt.log" 2>&1 || fail "apt-get update failed (see $LOGS/host-apt.log)"
    mirror="$(host_debian_mirror)"
  fi
  [[ -n $mirror ]] || fail "the host's apt knows no Debian mirror (apt-get indextargets lists no Origin/Label Debian)"
  log "building the trixie root from $mirror"
  rm -rf "$ROOT.new" "$ROOT" "$CACHE/root.done"
  # qemu-system-x86 comes from trixie-backports, with -t so that its dependencies do too (an --include of
  # qemu-system-x86/trixie-backports leaves them at trixie's versions and apt gives up). No recommends (GUI,
  # qemu-utils, OVMF...): qemu-utils is not needed, the guest boots from -kernel/-initrd with no disk. Documentation
  # and translations are not unpacked.
  timeout 400 mmdebstrap --variant=minbase --mode=root --components=main \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --include='busybox-static,kmod' \
    --customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t trixie-backports qemu-system-x86' \
    trixie "$ROOT.new" "deb $mirror trixie main" "deb $mirror trixie-backports main" \
    > "$LOGS/mmdebstrap.log" 2>&1 || fail "mmdebstrap failed (see $LOGS/mmdebstrap.log)"
  mv "$ROOT.new" "$ROOT"
  version="$(in_root qemu-system-x86_64 --version | head -1)" || fail "QEMU does not run in the root"
  in_root qemu-system-x86_64 -device help 2>/dev/null | grep -q '"vfio-user-pci"' \
    || fail "the root's QEMU ($version) has no vfio-user-pci device"
  echo "$version" > "$CACHE/root.done"
  done_step "trixie root: $version"
fi

# 3. The guest kernel. apt-get update runs in the root's throwaway overlay (the cached root keeps no package lists);
#    the .deb lands in the bound kernel.new folder, is unpacked there (vmlinuz and the whole module tree) and deleted.
if [[ ! -f $KDIR/.complete ]]; then
  step
  rm -rf "$KDIR.new" "$KDIR" "$GMODS"
  mkdir -p "$KDIR.new"
  in_root --bind "$KDIR.new" -- sh -ec '
      cd "$1"
      apt-get update -qq
      package=$(apt-cache depends linux-image-amd64 | awk "/Depends: linux-image-[0-9]/ { print \$2; exit }")
      [ -n "$package" ] || { echo "no package behind linux-image-amd64" >&2; exit 1; }
      apt-get download -qq -o APT::Sandbox::User=root "$package"
      echo "$package" > package' sh "$KDIR.new" > "$LOGS/kernel-download.log" 2>&1 \
    || fail "downloading the trixie kernel failed (see $LOGS/kernel-download.log)"
  package="$(cat "$KDIR.new/package")"
  deb="$(ls "$KDIR.new"/*.deb)"
  log "unpacking $package ($(du -h "$deb" | cut -f1))"
  dpkg-deb --fsys-tarfile "$deb" | tar -C "$KDIR.new" -x --wildcards './boot/vmlinuz-*' './usr/lib/modules/*' \
    || fail "unpacking $deb failed"
  rm -f "$deb"
  # trixie ships modules under /usr/lib/modules and no modules.dep; kmod's -b/-d expect BASE/lib/modules.
  ln -sfn usr/lib "$KDIR.new/lib"
  kver="$(ls "$KDIR.new/lib/modules")"
  in_root --bind "$KDIR.new" -- depmod -b "$KDIR.new" "$kver" > "$LOGS/depmod.log" 2>&1 \
    || fail "depmod failed (see $LOGS/depmod.log)"
  # No PVH ELF as in tests/vfio-qemu: trixie's bzImage is zstd-compressed, and booting its extracted ELF through PVH
  # saved only 0.6 s of a 3 s boot here, for 55 MB of cache.
  touch "$KDIR.new/.complete"
  mv "$KDIR.new" "$KDIR"
  done_step "guest kernel $package"
fi
package="$(cat "$KDIR/package")"
kver="$(ls "$KDIR/lib/modules")"

# 4. The module closure of $MODULES, in load order (modprobe --show-depends of the root's kmod against the cached
#    tree), decompressed: busybox insmod loads plain .ko files only.
key="$package: $MODULES"
if [[ ! -f $GMODS/.key || "$(cat "$GMODS/.key")" != "$key" ]]; then
  step
  rm -rf "$GMODS.new"
  mkdir -p "$GMODS.new"
  # shellcheck disable=SC2086
  in_root --bind "$KDIR" -- modprobe -d "$KDIR" -S "$kver" --show-depends -a $MODULES > "$GMODS.new/show-depends" \
    2> "$LOGS/modprobe.log" || fail "resolving the modules $MODULES failed (see $LOGS/modprobe.log)"
  : > "$GMODS.new/modules.load"
  while read -r kind path _; do
    [[ $kind == insmod ]] || continue   # "builtin NAME": nothing to load
    name="$(basename "$path")"
    name="${name%.xz}"; name="${name%.zst}"; name="${name%.gz}"
    grep -qxF "$name" "$GMODS.new/modules.load" && continue
    case $path in
      *.ko.xz) xz -dc "$path" > "$GMODS.new/$name" ;;
      *.ko.zst) zstd -qdc "$path" > "$GMODS.new/$name" ;;
      *.ko.gz) gzip -dc "$path" > "$GMODS.new/$name" ;;
      *) cp "$path" "$GMODS.new/$name" ;;
    esac || fail "decompressing $path failed"
    echo "$name" >> "$GMODS.new/modules.load"
  done < "$GMODS.new/show-depends"
  echo "$kver" > "$GMODS.new/kver"
  echo "$key" > "$GMODS.new/.key"
  rm -rf "$GMODS"
  mv "$GMODS.new" "$GMODS"
  done_step "guest modules: $(tr '\n' ' ' < "$GMODS/modules.load")"
fi

# 5. The default initramfs (no tests): rebuilt when the init, the builder or the module closure is newer.
initrd="$CACHE/initramfs.cpio.gz"
if [[ ! -f $initrd || $HERE/guest-init.sh -nt $initrd || $HERE/build-initramfs.sh -nt $initrd
      || $GMODS/modules.load -nt $initrd ]]; then
  step
  VFIOU_CACHE="$CACHE" "$HERE/build-initramfs.sh" "$initrd" > "$LOGS/initramfs.log" 2>&1 \
    || { cat "$LOGS/initramfs.log" >&2; fail "building the default initramfs failed"; }
  done_step "default initramfs $initrd"
fi

log "ready: $(cat "$CACHE/root.done"); kernel $package; modules $(tr '\n' ' ' < "$GMODS/modules.load")"
log "cache $CACHE: $(du -sh "$CACHE" 2>/dev/null | cut -f1); took $(since "$started") s"
