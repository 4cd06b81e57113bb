#!/usr/bin/env bash
# build-initramfs.sh KERNEL_TREE KVER INIT OUT: a gzip'd cpio with busybox (static), the kernel modules VFIO and the
# 9p/overlay route need (with their dependencies, in load order) and INIT as /init.
#   KERNEL_TREE  a folder holding lib/modules/KVER (as unpacked from the kernel package, depmod run)
set -euo pipefail
tree=$1
kver=$2
init=$3
out=$(realpath -m "$4")
wanted="vfio vfio_iommu_type1 vfio-pci 9p 9pnet_virtio virtio_pci overlay nvme"
moddir="$tree/lib/modules/$kver"
[[ -x /bin/busybox ]] || { echo "/bin/busybox is missing (package busybox-static)" >&2; exit 1; }
# The initramfs has no libc: a dynamically linked busybox (package busybox, not busybox-static) cannot run there.
if ldd /bin/busybox > /dev/null 2>&1; then echo "/bin/busybox is dynamically linked; install busybox-static" >&2; exit 1; fi

staging=$(mktemp -d "${TMPDIR:-/tmp}/vfioq-initrd.XXXXXX")
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging"/{bin,dev,proc,sys,tmp,etc,lower,upper,guest}
cp /bin/busybox "$staging/bin/busybox"

# Post-order over modinfo's dependency lists is a valid load order for busybox insmod.
declare -A visited
order=()
visit() {
  local module=$1 dependency
  [[ -n ${visited[$module]:-} ]] && return
  visited[$module]=1
  for dependency in $(modinfo -b "$tree" -k "$kver" -F depends "$module" | tr ',' ' '); do
    visit "$dependency"
  done
  order+=("$module")
}
for module in $wanted; do visit "$module"; done

: > "$staging/etc/modules.load"
for module in "${order[@]}"; do
  path=$(modinfo -b "$tree" -k "$kver" -n "$module")
  [[ $path == "(builtin)" ]] && continue
  relative=${path#"$moddir"/}
  mkdir -p "$staging/lib/modules/$kver/$(dirname "$relative")"
  case $path in
    # busybox insmod loads only plain .ko files.
    *.ko.xz) relative=${relative%.xz}; xz -dc "$path" > "$staging/lib/modules/$kver/$relative" ;;
    *.ko.zst) relative=${relative%.zst}; zstd -qdc "$path" > "$staging/lib/modules/$kver/$relative" ;;
    *.ko.gz) relative=${relative%.gz}; gzip -dc "$path" > "$staging/lib/modules/$kver/$relative" ;;
    *) cp "$path" "$staging/lib/modules/$kver/$relative" ;;
  esac
  echo "$relative" >> "$staging/etc/modules.load"
done
echo "$kver" > "$staging/etc/kver"
cp "$init" "$staging/init"
chmod +x "$staging/init"
(cd "$staging" && find . | cpio -o -H newc --quiet | gzip -1 > "$out")
echo "initramfs $out: $(du -h "$out" | cut -f1); modules in load order: ${order[*]}"
