#!/usr/bin/env bash
# The vfio-user stage: Debian's QEMU 11.x, unmodified, as a vfio-user client (-device vfio-user-pci, guest RAM in a
# shared memfd) against `vfio-policy serve`, which serves a simulated edu built from the corpus dump
# policies/dumps/qemu-edu.lspci-xxx.txt (with edu's register model behind BAR 0) through tests/vfio-user/
# edu-stage.vfiopolicy. A Linux guest checks the policy's view of config space, BAR 0 and INTx (guest-tests.sh);
# the host checks the server's audit, the device's own config space after the guest's writes, a second client after
# the first one left, and a clean SIGTERM. Prints one closing line "N passed, N failed"; exits non-zero on any failure
# and when the stage outlives its hard timeout.
#
# Needs root (prepare.sh: apt-get, mmdebstrap; boot-client.sh: unshare, chroot). The cache (lib.sh) makes a warm run
# two boots of about 5 s each plus the build.
#
# Environment:
#   VFIOPOLICY_ARTIFACTS  dotnet --artifacts-path for building the CLI (as in .ci/run); unset: in-tree bin/
#   VFIOU_CACHE           the cache (lib.sh)
#   VFIOU_TIMEOUT         hard limit in seconds for the whole stage (default 290)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
source "$HERE/lib.sh"
TOTAL_TIMEOUT="${VFIOU_TIMEOUT:-290}"

if [[ -z "${VFIOU_INNER:-}" ]]; then
  set +e
  VFIOU_INNER=1 timeout --kill-after=15 "$TOTAL_TIMEOUT" bash "${BASH_SOURCE[0]}" "$@"
  rc=$?
  set -e
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    echo "vfio-user: the stage exceeded its hard timeout of ${TOTAL_TIMEOUT}s and was stopped" >&2
    echo "0 passed, 1 failed"
  fi
  exit "$rc"
fi

started=$(now)
log() { echo "[vfio-user +$(since "$started")s] $*"; }
passed=0
failed=0
check() { # check NAME OK(0|1) [WHY]
  if [[ $2 -eq 0 ]]; then echo "PASS $1"; passed=$((passed + 1)); else echo "FAIL $1: ${3:-}"; failed=$((failed + 1)); fi
}
ok() { if "$@" 2>/dev/null; then echo 0; else echo 1; fi; } # ok COMMAND...: 0 when it succeeds, for check
finish() {
  log "stage took $(since "$started") s; logs in ${WORK:-nowhere}"
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 && $passed -gt 0 ]]
  exit
}
abort() { echo "vfio-user: $*" >&2; failed=$((failed + 1)); finish; }
[[ $(id -u) -eq 0 ]] || abort "must run as root (apt-get, mmdebstrap, unshare, chroot)"

mkdir -p "$CACHE/runs"
find "$CACHE/runs" -mindepth 1 -maxdepth 1 -type d -mmin +120 -exec rm -rf {} + 2>/dev/null || true
WORK="$(mktemp -d "$CACHE/runs/$(date +%Y%m%d-%H%M%S)-XXXXXX")"
ln -sfn "$WORK" "$CACHE/last"

log "prepare.sh"
"$HERE/prepare.sh" > "$WORK/prepare.log" 2>&1 || { cat "$WORK/prepare.log" >&2; abort "prepare.sh failed"; }
grep -E 'ready|took' "$WORK/prepare.log" || true

log "building the CLI"
artifacts=()
[[ -n "${VFIOPOLICY_ARTIFACTS:-}" ]] && artifacts=(--artifacts-path "$VFIOPOLICY_ARTIFACTS")
project="$REPO/cli/VfioPolicy.Cli/VfioPolicy.Cli.csproj"
timeout 300 dotnet build "$project" -c Release "${artifacts[@]}" > "$WORK/build.log" 2>&1 \
  || { tail -20 "$WORK/build.log" >&2; abort "building the CLI failed"; }
cli="$(dotnet build "$project" -c Release "${artifacts[@]}" -getProperty:TargetPath 2>> "$WORK/build.log")"
[[ -f $cli ]] || abort "the build named no CLI assembly ($cli)"

# The guest's BAR timing loop (guest-tests.sh's perf), static: the initramfs has no libc.
gcc -O2 -static -o "$WORK/mmio-loop" "$HERE/mmio-loop.c" > "$WORK/mmio-loop.log" 2>&1 \
  || { cat "$WORK/mmio-loop.log" >&2; abort "building mmio-loop failed (gcc and libc6-dev: prepare.sh installs them)"; }
"$HERE/build-initramfs.sh" "$WORK/initrd.cpio.gz" "$HERE/guest-tests.sh:/tests.sh" "$WORK/mmio-loop:/bin/mmio-loop" > "$WORK/initramfs.log" 2>&1 \
  || { cat "$WORK/initramfs.log" >&2; abort "building the initramfs failed"; }

dump="$REPO/policies/dumps/qemu-edu.lspci-xxx.txt"
mkdir -p "$WORK/sock"
socket="$WORK/sock/edu.sock"
log "serve --device $(basename "$dump") --policy edu-stage.vfiopolicy --socket $socket"
setsid dotnet "$cli" serve --device "$dump" --policy "$HERE/edu-stage.vfiopolicy" --socket "$socket" \
  --audit "$WORK/audit.jsonl" --save-config "$WORK/device-config.bin" > "$WORK/serve.log" 2>&1 < /dev/null &
server=$!
trap 'kill -KILL -- -"$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
  [[ -S $socket ]] && break
  kill -0 "$server" 2>/dev/null || { cat "$WORK/serve.log" >&2; abort "serve exited before it listened"; }
  sleep 0.1
done
[[ -S $socket ]] || abort "serve did not listen on $socket within 20 s"
check socket-owner-only "$(ok [ "$(stat -c %a "$socket")" = 600 ])" "mode $(stat -c %a "$socket")"

# A guest run: boots the client, counts the guest's PASS/FAIL lines, and checks that it finished.
guest() { # guest NAME ROUND [SOCKET|none]
  local name=$1 round=$2 rc target=${3:-$socket}
  log "guest $name (client $round)"
  set +e
  VFIOU_INITRD="$WORK/initrd.cpio.gz" VFIOU_APPEND="vfiou.round=$round${VFIOU_APPEND:+ $VFIOU_APPEND}" VFIOU_BOOT_TIMEOUT=90 \
    "$HERE/boot-client.sh" "$WORK/$name.log" "$target" > "$WORK/$name.out" 2>&1
  rc=$?
  set -e
  cat "$WORK/$name.out"
  grep -a '^VFIOU: ' "$WORK/$name.log" || true
  grep -aE '^(PASS|FAIL) ' "$WORK/$name.log" | sed "s/^\(PASS\|FAIL\) /\1 $name: /" || true
  grep -a '^PERF ' "$WORK/$name.log" >> "$WORK/perf" || true
  passed=$((passed + $(grep -ac '^PASS ' "$WORK/$name.log" || true)))
  failed=$((failed + $(grep -ac '^FAIL ' "$WORK/$name.log" || true)))
  check "$name-finished" "$rc" "the guest did not finish (see $WORK/$name.log)"
}

guest first 1
# The first client left (the guest powered off): the server resets the device and waits for the next one.
for _ in $(seq 1 50); do grep -q 'the device is clean for the next client' "$WORK/serve.log" && break; sleep 0.1; done
check first-client-cleaned-up "$(ok grep -q 'the device is clean for the next client' "$WORK/serve.log")" \
  "no clean-up line in $WORK/serve.log"
check server-survives-the-first-client "$(ok kill -0 "$server")" "serve exited: $(tail -3 "$WORK/serve.log")"

guest second 2

# A third client with BAR mapping on (a server of its own: after handing out mappings it serves no one else).
mkdir -p "$WORK/sock3"
socket3="$WORK/sock3/edu.sock"
setsid dotnet "$cli" serve --device "$dump" --policy "$HERE/edu-stage.vfiopolicy" --socket "$socket3" --bar 2=64K \
  --mmap-bars > "$WORK/serve-mapped.log" 2>&1 < /dev/null &
mapped_server=$!
for _ in $(seq 1 200); do [[ -S $socket3 ]] && break; sleep 0.1; done
guest mapped 3 "$socket3"
for _ in $(seq 1 100); do kill -0 "$mapped_server" 2>/dev/null || break; sleep 0.1; done
check mapped-server-stops-after-its-client "$(ok grep -q 'was given BAR mappings that outlive it; stopping' "$WORK/serve-mapped.log")" \
  "$(tail -3 "$WORK/serve-mapped.log")"
check mapped-server-exited "$(ok sh -c "! kill -0 $mapped_server 2>/dev/null")" "serve --mmap-bars still runs"
kill -KILL "$mapped_server" 2>/dev/null || true

# The baseline of the BAR loop: the same guest with QEMU's own edu in the slot, no server (guest-tests.sh round 4).
VFIOU_QEMU_EXTRA='-device edu,addr=02.0' VFIOU_APPEND="vfiou.dev=0000:00:02.0" guest direct 4 none

log "SIGTERM to serve"
kill -TERM "$server"
rc=0
for _ in $(seq 1 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server" 2>/dev/null; then
  check sigterm-stops-serve 1 "serve still runs 10 s after SIGTERM"
else
  wait "$server" || rc=$?
  check sigterm-stops-serve "$rc" "serve exited with $rc: $(tail -3 "$WORK/serve.log")"
fi
check socket-removed "$(ok [ ! -e "$socket" ])" "$socket is still there"
sed 's/^/serve: /' "$WORK/serve.log" | grep -v 'refused with' | tail -12

# The guest's writes as the device saw them: the denied and virtualized ones must not have reached it (the dump's
# bytes are the device's own from the start).
saved_byte() { od -An -tx1 -j $(($1)) -N 1 "$WORK/device-config.bin" | tr -d ' \n'; }
dump_byte() { # the byte at OFFSET of the dump's "xx: 16 hex bytes" lines
  awk -v o=$(($1)) 'BEGIN { p = sprintf("%02x:", o - o % 16) } $1 == p { print $(o % 16 + 2); exit }' "$dump"
}
if [[ -f $WORK/device-config.bin ]]; then
  for offset in 0x0c 0x0f 0x3c 0x80; do
    have="$(saved_byte $offset)"
    want="$(dump_byte $offset)"
    check "device-config-$offset-untouched" "$(ok [ "$have" = "$want" ])" "the device holds 0x$have, its dump 0x$want"
  done
else
  check device-config-saved 1 "serve wrote no $WORK/device-config.bin"
fi

# Every denied write the guests made is in the audit with its rule (two clients: twice each).
audited() { grep -c "\"rule\":\"$1:[0-9]*:[0-9]*\".*\"offset\":$2,\"width\":1,\"value\":\"$3\"" "$WORK/audit.jsonl" || true; }
n="$(audited '[^"]*policies/standard/header-type0.vfiopolicy' 15 0x40)"

check audit-bist-write "$(ok [ "$n" -eq 2 ])" "$n BIST writes of 0x40 audited, expected 2"
n="$(audited '[^"]*policies/strict.vfiopolicy' 128 0x5a)"
check audit-gap-write "$(ok [ "$n" -eq 2 ])" "$n gap writes of 0x5a audited, expected 2"
log "audit: $(wc -l < "$WORK/audit.jsonl") lines"

# Guest-visible cost of a BAR read (ns, TCG guest): through serve trapped and mapped, and QEMU's own edu directly.
if [[ -f $WORK/perf ]]; then
  log "BAR read in the guest, ns each: $(awk '{ printf "%s %s; ", $2, $3 }' "$WORK/perf")"
fi
rm -f "$WORK/initrd.cpio.gz"
finish
