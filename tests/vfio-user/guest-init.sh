#!/bin/busybox sh
# /init of the vfio-user client's guest (busybox; build-initramfs.sh puts it there). Mounts, loads the modules of
# /etc/modules.load, lists the PCI functions, runs the test script, prints the closing marker and powers off. The host
# reads everything from the serial console; all of /init's own lines start with "VFIOU: ".
#
# Kernel command line (boot-client.sh writes it; add more with VFIOU_APPEND):
#   vfiou.dev=BDF     the PCI address the host gave the vfio-user-pci device (boot-client.sh: 0000:00:02.0)
#   vfiou.tests=PATH  the test script inside the initramfs (default /tests.sh; add it with build-initramfs.sh
#                     my-tests.sh:/tests.sh)
#
# The test hook. The script is sourced by a subshell of /init (so its "exit" ends only the script), with:
#   VFIOU_DEV         the vfio-user device's address (empty when the host gave none), /sys/bus/pci/devices/$VFIOU_DEV
#   pass NAME         prints "PASS NAME"
#   fail NAME WHY     prints "FAIL NAME: WHY"
#   busybox's applets (sh, dd, hexdump, devmem, grep, awk...), /dev/uioN once a function is bound to uio_pci_generic
# and prints one line per check, "PASS name" or "FAIL name: why", at the start of a line (its own prints do too). /init
# then prints "VFIOU: tests rc=N passed=P failed=F" (rc: the script's exit status) and last "VFIOU: done"; a log
# without "VFIOU: done" means the guest crashed or hung. No script: "VFIOU: no tests (PATH not in the initramfs)".
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
uptime_s() { cut -d' ' -f1 /proc/uptime; }
echo "VFIOU: init uptime=$(uptime_s) kernel=$(uname -r)"

tests=/tests.sh
VFIOU_DEV=
for word in $(cat /proc/cmdline); do
    case $word in
        vfiou.tests=*) tests=${word#vfiou.tests=} ;;
        vfiou.dev=*) VFIOU_DEV=${word#vfiou.dev=} ;;
    esac
done
export VFIOU_DEV

# Loaded in order, synchronously: none of the default modules (uio, uio_pci_generic) binds a device by itself. A driver
# added later that probes the vfio-user device at insmod time blocks here until its probe ends.
for module in $(cat /etc/modules.load); do
    insmod "/lib/modules/$module" || echo "VFIOU: insmod $module failed"
done
echo "VFIOU: modules loaded uptime=$(uptime_s)"

# One line per PCI function: "VFIOU: pci BDF VENDOR:DEVICE class=0xCCSSPP driver=NAME|none".
for dev in /sys/bus/pci/devices/*; do
    [ -e "$dev" ] || continue
    driver=none
    [ -e "$dev/driver" ] && driver=$(basename "$(readlink "$dev/driver")")
    vendor=$(cat "$dev/vendor")
    device=$(cat "$dev/device")
    echo "VFIOU: pci ${dev##*/} ${vendor#0x}:${device#0x} class=$(cat "$dev/class") driver=$driver"
done
if [ -n "$VFIOU_DEV" ] && [ ! -e "/sys/bus/pci/devices/$VFIOU_DEV" ]; then
    echo "VFIOU: the vfio-user device $VFIOU_DEV is not on the guest's PCI bus"
fi

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
if [ -f "$tests" ]; then
    echo "VFIOU: running $tests uptime=$(uptime_s)"
    ( (. "$tests"); echo $? > /tmp/tests.rc ) 2>&1 | tee /tmp/tests.out
    rc=$(cat /tmp/tests.rc 2>/dev/null || echo none)
    echo "VFIOU: tests rc=$rc passed=$(grep -c '^PASS ' /tmp/tests.out) failed=$(grep -c '^FAIL ' /tmp/tests.out) uptime=$(uptime_s)"
else
    echo "VFIOU: no tests ($tests not in the initramfs)"
fi
echo "VFIOU: done uptime=$(uptime_s)"
poweroff -f
