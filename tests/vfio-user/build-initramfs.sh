#!/usr/bin/env bash
# build-initramfs.sh OUT [SRC:DEST]...: a gzip'd cpio for the vfio-user client's guest: the trixie root's static
# busybox, the guest module closure prepare.sh decompressed (GMODS/*.ko in the load order of GMODS/modules.load),
# guest-init.sh as /init, and each SRC (a file or a folder on the host) at DEST (an absolute path in the initramfs;
# the last ':' separates the two). The test hook: a file given as SRC:/tests.sh is what /init runs (see guest-init.sh).
#
# Needs a prepared cache (prepare.sh; VFIOU_CACHE as there). Does not need root. Takes well under a second.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
fail() { echo "vfio-user: $*" >&2; exit 1; }

[[ $# -ge 1 ]] || fail "usage: build-initramfs.sh OUT [SRC:DEST]..."
out="$(realpath -m "$1")"
shift
busybox="$ROOT/usr/bin/busybox"
[[ -x $busybox && -f $GMODS/modules.load && -f $GMODS/kver ]] || fail "no prepared cache in $CACHE (run prepare.sh)"
# The initramfs has no libc: prepare.sh put busybox-static (not busybox) into the root.

staging="$(mktemp -d "${TMPDIR:-/tmp}/vfiou-initrd.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging"/{bin,dev,proc,sys,tmp,etc,lib/modules}
cp "$busybox" "$staging/bin/busybox"
ln -s busybox "$staging/bin/sh"
while read -r module; do
  cp "$GMODS/$module" "$staging/lib/modules/$module"
done < "$GMODS/modules.load"
cp "$GMODS/modules.load" "$staging/etc/modules.load"
cp "$GMODS/kver" "$staging/etc/kver"
cp "$HERE/guest-init.sh" "$staging/init"
chmod 0755 "$staging/init"

extras=()
for arg in "$@"; do
  [[ $arg == *:/* ]] || fail "extra file '$arg' is not SRC:DEST with an absolute DEST"
  src="${arg%:*}"
  dest="${arg##*:}"
  [[ -e $src ]] || fail "extra file $src does not exist"
  mkdir -p "$staging$(dirname "$dest")"
  if [[ -d $src ]]; then
    mkdir -p "$staging$dest"
    cp -a "$src/." "$staging$dest/"
  else
    cp -a "$src" "$staging$dest"
  fi
  extras+=("$dest")
done

mkdir -p "$(dirname "$out")"
(cd "$staging" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1 > "$out.tmp")
mv "$out.tmp" "$out"
echo "initramfs $out: $(du -h "$out" | cut -f1); kernel $(cat "$GMODS/kver"); modules $(tr '\n' ' ' < "$GMODS/modules.load");" \
  "extra ${extras[*]:-none}"
