#!/usr/bin/env bash
# boot-client.sh LOG [SOCKET]: boots the trixie root's QEMU (11.x, unmodified) as a vfio-user client under TCG, with
# the cached trixie kernel and an initramfs (build-initramfs.sh), and waits until it exits. The serial console and
# QEMU's own messages go to LOG. With SOCKET (a UNIX socket path on the host, where the vfio-user server listens)
# the guest gets the device
#   -device '{"driver":"vfio-user-pci","socket":{"type":"unix","path":"SOCKET"},"id":"vu0","addr":"02.0"}'
# at 0000:00:02.0 (vfiou.dev=0000:00:02.0 on the kernel command line); without it, no vfio-user device.
#
# The shape the lab found to work (shared/vfio-user-lab/REPORT.md): machine pc; guest RAM in a shared memfd
# (memory-backend-memfd,share=on) so every DMA_MAP carries the memfd and a server can reach guest memory (without it
# DMA_MAP comes without a file descriptor); -no-reboot, so the guest's poweroff or a panic ends QEMU.
# QEMU runs chrooted into the trixie root (it needs glibc >= 2.38) in its own mount namespace (lib.sh's in_root). The
# socket's folder is bound in at the same path, so SOCKET means the same file inside and outside: a server on the
# host just listens on SOCKET. The folder must exist; the socket need not exist yet when nothing should connect, but
# QEMU connects once at start-up and fails at once when nobody listens.
#
# The client gives up on any reply that takes longer than 5 s (vfio-user-pci's x-msg-timeout=5000, in ms; also after
# the server hung up it waits those 5 s before it exits: "failed to read header: EOF", "timed out waiting for reply").
# LOG.cmdline gets QEMU's command line (as run inside the root).
#
# Exit status 0 when the guest printed "VFIOU: done" (its tests may still have failed: count PASS/FAIL in LOG);
# 1 otherwise, with a "vfio-user: ..." message and QEMU's error lines on stderr. Needs root (unshare, chroot).
# Everything it starts runs in one new session and is killed with it when the script ends or is stopped.
#
# Environment (LOG and SOCKET may also come from here):
#   VFIOU_LOG, VFIOU_SOCKET  as the arguments; SOCKET "" or "none": no vfio-user device
#   VFIOU_CACHE              the prepared cache (prepare.sh)
#   VFIOU_INITRD             the initramfs (default: the cache's initramfs.cpio.gz, which has no tests)
#   VFIOU_APPEND             more kernel command line (e.g. vfiou.tests=/other.sh, pci=nomsi)
#   VFIOU_BOOT_TIMEOUT       seconds before QEMU is stopped (default 120; a boot without the device takes under 4 s,
#                            the lab's boots against a server with real drivers about 10)
#   VFIOU_MEM                guest RAM in MiB (default 512), all of it in the shared memfd
#   VFIOU_MACHINE            QEMU machine (default pc: the lab's; q35 starts too but is not tried against a server)
#   VFIOU_TRACE              QEMU trace patterns, comma-separated (e.g. 'vfio_user*,vfio_region*'): to LOG.trace
#   VFIOU_QEMU_EXTRA         more QEMU arguments, split at blanks (e.g. '-device edu,addr=03.0')
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
fail() { echo "vfio-user: $*" >&2; exit 1; }

log="${1:-${VFIOU_LOG:-}}"
socket="${2:-${VFIOU_SOCKET:-}}"
[[ $socket == none ]] && socket=
initrd="${VFIOU_INITRD:-$CACHE/initramfs.cpio.gz}"
boot_timeout="${VFIOU_BOOT_TIMEOUT:-120}"
mem="${VFIOU_MEM:-512}"
machine="${VFIOU_MACHINE:-pc}"

[[ -n $log ]] || fail "usage: boot-client.sh LOG [SOCKET] (or VFIOU_LOG, VFIOU_SOCKET)"
[[ $(id -u) -eq 0 ]] || fail "boot-client.sh must run as root (unshare, chroot)"
[[ -f $CACHE/root.done && -f $KDIR/.complete ]] || fail "no prepared cache in $CACHE (run prepare.sh)"
log="$(realpath -m "$log")"
mkdir -p "$(dirname "$log")"
initrd="$(realpath -m "$initrd")"
[[ -f $initrd ]] || fail "no initramfs $initrd (build-initramfs.sh)"
kernel="$(ls "$KDIR"/boot/vmlinuz-*)"

binds=(--bind "$kernel:/run/vfiou/kernel" --bind "$initrd:/run/vfiou/initrd")
append="console=ttyS0 panic=-1 loglevel=4"
qemu=(qemu-system-x86_64 -machine "$machine,accel=tcg,memory-backend=mem0" -cpu max -smp 1 -m "${mem}M"
  -object "memory-backend-memfd,id=mem0,size=${mem}M,share=on"
  -nodefaults -no-user-config -display none -serial stdio -monitor none -no-reboot
  -kernel /run/vfiou/kernel -initrd /run/vfiou/initrd)
if [[ -n $socket ]]; then
  [[ $socket == /* ]] || socket="$(realpath -m "$socket")"
  # sun_path holds 108 bytes including the terminating NUL.
  [[ ${#socket} -le 107 ]] || fail "the socket path is longer than 107 bytes: $socket"
  [[ $socket != *[[:space:]:]* ]] || fail "the socket path contains a blank or a colon: $socket"
  [[ -d $(dirname "$socket") ]] || fail "the socket's folder $(dirname "$socket") does not exist"
  binds+=(--bind "$(dirname "$socket")")
  qemu+=(-device "{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"$socket\"},\"id\":\"vu0\",\"addr\":\"02.0\"}")
  append+=" vfiou.dev=0000:00:02.0"
fi
if [[ -n ${VFIOU_TRACE:-} ]]; then
  [[ "$(dirname "$log")" == "$(dirname "${socket:-/nonexistent/x}")" ]] || binds+=(--bind "$(dirname "$log")")
  IFS=, read -ra patterns <<< "$VFIOU_TRACE"
  for pattern in "${patterns[@]}"; do qemu+=(-trace "$pattern"); done
  qemu+=(-D "$log.trace")
fi
if [[ -n ${VFIOU_QEMU_EXTRA:-} ]]; then
  read -ra extra <<< "$VFIOU_QEMU_EXTRA"
  qemu+=("${extra[@]}")
fi
qemu+=(-append "$append${VFIOU_APPEND:+ $VFIOU_APPEND}")

# QEMU's timeout runs inside the root (--foreground: it stays in the session, which the traps below kill as a whole).
in_root_argv "${binds[@]}" -- timeout --foreground --kill-after=5 "$boot_timeout" "${qemu[@]}"
echo "boot-client: $(printf '%q ' "${qemu[@]}")" > "$log.cmdline"
started=$(now)
setsid "${IN_ROOT_ARGV[@]}" > "$log" 2>&1 < /dev/null &
session=$!
trap 'kill -KILL -- -"$session" 2>/dev/null || true' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
set +e
wait "$session"
rc=$?
set -e
elapsed="$(since "$started")"

done_line="$(grep -a -m1 -o 'VFIOU: done uptime=[0-9.]*' "$log" || true)"
if [[ -n $done_line ]]; then
  echo "boot-client: guest finished ($done_line); QEMU exited with $rc after $elapsed s; log $log"
  exit 0
fi
if [[ $rc -eq 124 || $rc -eq 137 ]]; then
  echo "vfio-user: the guest did not finish within ${boot_timeout}s; QEMU was stopped (log $log)" >&2
else
  echo "vfio-user: QEMU exited with $rc after $elapsed s before the guest finished (log $log)" >&2
fi
grep -a '^qemu-system-x86_64:' "$log" | head -5 >&2 || true
exit 1
