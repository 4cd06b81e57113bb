# Sourced by the vfio-user stage's scripts (prepare.sh, build-initramfs.sh, boot-client.sh, run.sh): the cache
# layout, messages, the host's Debian mirror and running a command inside the cached trixie root.
#
# Cache layout ($VFIOU_CACHE, default /var/cache/vfiopolicy-vfio-user):
#   root/               Debian trixie (mmdebstrap minbase) with qemu-system-x86 11.x from trixie-backports, busybox-static
#                       and kmod; never changed after prepare.sh made it (in_root works on a throwaway overlay of it)
#   root.done           marker of a finished root: QEMU's version line
#   kernel/             the trixie guest kernel: boot/vmlinuz-KVER, usr/lib/modules/KVER (the package's whole module
#                       tree, still compressed, depmod run; lib -> usr/lib), package (the package name)
#   guest-modules/      the guest's module closure, decompressed for busybox insmod, and modules.load (load order)
#   logs/               prepare.sh's logs (apt, mmdebstrap, kernel download, depmod, modprobe)
#   initramfs.cpio.gz   the default initramfs (no tests in it): what boot-client.sh boots when given none
#   runs/               one folder per run.sh run (logs, audit, the device's saved config), kept two hours; last -> the latest
#   .lock               one flock for everything that fills the cache
#   .mnt/               mount point of in_root's overlay (private to each mount namespace, so shared by all runs)

VFIOU_CACHE="${VFIOU_CACHE:-/var/cache/vfiopolicy-vfio-user}"
CACHE="$VFIOU_CACHE"
ROOT="$CACHE/root"
KDIR="$CACHE/kernel"
GMODS="$CACHE/guest-modules"

# Seconds since the epoch with milliseconds, and "the time since $1" with one decimal.
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$EPOCHREALTIME" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }

# The Debian mirror the host's own apt uses for its release suite (not -security, not -updates, not a third-party
# repository): apt itself reports it, with the Origin and Label of the Release file it fetched. Prints nothing when
# apt has no Release files yet (then apt-get update first).
host_debian_mirror() {
  local codename
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  apt-get indextargets --format '$(REPO_URI) $(ORIGIN) $(LABEL) $(CODENAME) $(TARGET_OF)' 2>/dev/null \
    | awk -v c="$codename" '$2 == "Debian" && $3 == "Debian" && $5 == "deb" && (c == "" || $4 == c) { print $1; exit }' \
    | sed 's:/*$::'
}

# in_root [--bind SRC[:DEST]]... [--] COMMAND...
# Runs COMMAND (looked up in the root's PATH, with a clean environment) chrooted into the trixie root, inside a
# private mount namespace: the root is mounted as an overlay whose upper layer is a tmpfs, so anything the command
# writes and every mount point made for a bind disappears with the namespace and the cached root never changes; two
# calls at once (the stage's client, a server, prepare's apt) never see each other's mounts. /proc, /sys and /dev are
# the host's. Each --bind SRC (a file or folder on the host) appears at DEST inside the root, by default at the same
# path as outside, so paths (the vfio-user socket above all) mean the same on both sides.
# Without overlayfs the root itself is used and the mount points are created in it (empty, harmless).
# in_root_argv sets the array IN_ROOT_ARGV to the command line instead of running it (to start it under setsid).
in_root_argv() {
  local binds=()
  mkdir -p "$CACHE/.mnt"
  while [[ $# -gt 0 ]]; do
    case $1 in
      --bind) binds+=("$2"); shift 2 ;;
      --) shift; break ;;
      *) break ;;
    esac
  done
  IN_ROOT_ARGV=(unshare --mount --propagation private /bin/sh -ec '
    root=$1; mnt=$2; nbinds=$3; shift 3
    r=$root
    if mount -t tmpfs -o mode=0755 vfiou-overlay "$mnt" && mkdir "$mnt/upper" "$mnt/work" "$mnt/root" \
       && mount -t overlay vfiou-root -o "lowerdir=$root,upperdir=$mnt/upper,workdir=$mnt/work" "$mnt/root"; then
      r=$mnt/root
    else
      echo "in_root: no overlay over $root; mount points are created in the root itself" >&2
    fi
    for m in proc sys dev; do mount --rbind "/$m" "$r/$m"; done
    rm -f "$r/etc/resolv.conf"; cp -L /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
    while [ "$nbinds" -gt 0 ]; do
      src=${1%%:*}; dest=${1#*:}; shift; nbinds=$((nbinds - 1))
      if [ -d "$src" ]; then mkdir -p "$r$dest"; else mkdir -p "$(dirname "$r$dest")"; [ -e "$r$dest" ] || : > "$r$dest"; fi
      mount --bind "$src" "$r$dest"
    done
    exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      DEBIAN_FRONTEND=noninteractive "$@"' in-root "$ROOT" "$CACHE/.mnt" "${#binds[@]}")
  local bind
  for bind in ${binds[@]+"${binds[@]}"}; do
    [[ $bind == *:* ]] || bind="$bind:$bind"
    IN_ROOT_ARGV+=("$bind")
  done
  IN_ROOT_ARGV+=("$@")
}
in_root() {
  in_root_argv "$@"
  "${IN_ROOT_ARGV[@]}"
}
