#!/bin/busybox sh
# /init of the integration guest (busybox). Loads the VFIO and 9p modules, binds QEMU's edu, e1000e and nvme
# models to vfio-pci, mounts the host root (read-only 9p, a tmpfs overlay on top), chroots into it and runs the
# guest test assembly named by vfioq.tests= on the kernel command line with the host's dotnet. The host reads the
# verdict from the markers below; "VFIOQ: done" comes last, so its absence means a crash or a hang.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
uptime_s() { cut -d' ' -f1 /proc/uptime; }
finish() {
    echo "VFIOQ: done uptime=$(uptime_s)"
    poweroff -f
}
echo "VFIOQ: init uptime=$(uptime_s)"

tests=
rom=
for word in $(cat /proc/cmdline); do
    case $word in
        vfioq.tests=*) tests=${word#vfioq.tests=} ;;
        vfioq.rom=*) rom=${word#vfioq.rom=} ;;
    esac
done

kver=$(cat /etc/kver)
for module in $(cat /etc/modules.load); do
    insmod "/lib/modules/$kver/$module" || echo "VFIOQ: insmod $module failed"
done

# The SR-IOV NVMe controller (the one offering virtual functions) stays with the nvme driver, which can enable
# them; its virtual functions are then given to vfio-pci like the other models.
sriov_pf=
for dev in /sys/bus/pci/devices/*; do
    if [ -e $dev/sriov_totalvfs ] && [ "$(cat $dev/sriov_totalvfs)" -gt 0 ]; then
        sriov_pf=$dev
        # nvme probes asynchronously: wait (up to 10 s) until it has bound the controller.
        tries=0
        while [ ! -e $dev/driver ] && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
        echo 2 > $dev/sriov_numvfs || echo "VFIOQ: enabling the virtual functions of ${dev##*/} failed"
        echo "VFIOQ: ${dev##*/} sriov_numvfs=$(cat $dev/sriov_numvfs)"
    fi
done

# vfio-pci takes a device whose driver_override names it at the next probe; the unbind releases a device another
# driver (nvme, loaded for the SR-IOV controller) claimed first.
for dev in /sys/bus/pci/devices/*; do
    [ "$dev" = "$sriov_pf" ] && continue
    case "$(cat $dev/vendor):$(cat $dev/device)" in
        0x1234:0x11e8|0x8086:0x10d3|0x1b36:0x0010) ;;
        *) continue ;;
    esac
    bdf=${dev##*/}
    echo vfio-pci > $dev/driver_override
    [ -e $dev/driver ] && echo $bdf > $dev/driver/unbind
    echo $bdf > /sys/bus/pci/drivers_probe
    driver=none; [ -e $dev/driver ] && driver=$(basename $(readlink $dev/driver))
    group=none; [ -e $dev/iommu_group ] && group=$(basename $(readlink $dev/iommu_group))
    echo "VFIOQ: $bdf $(cat $dev/vendor):$(cat $dev/device) driver=$driver iommu_group=$group"
done
echo "VFIOQ: bound uptime=$(uptime_s)"

if [ -z "$tests" ]; then
    echo "VFIOQ: no vfioq.tests= on the kernel command line"
    finish
fi
mkdir -p /lower /upper /guest
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /lower; then
    echo "VFIOQ: mounting the host root over 9p failed"
    finish
fi
# dotnet writes to HOME and /tmp; a tmpfs overlay gives it writable space without touching the host.
mount -t tmpfs -o size=512m tmpfs /upper
mkdir -p /upper/data /upper/work
if ! mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work /guest; then
    echo "VFIOQ: overlay failed; running on the read-only share"
    mount --bind /lower /guest
fi
mount -t proc proc /guest/proc
mount -t sysfs sysfs /guest/sys
mount --bind /dev /guest/dev

echo "VFIOQ: running $tests uptime=$(uptime_s)"
chroot /guest /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_EnableDiagnostics=0 DOTNET_TieredPGO=0 \
    VFIOPOLICY_GUEST=1 VFIOPOLICY_GUEST_ROM="$rom" /usr/bin/dotnet "$tests"
echo "VFIOQ: tests rc=$? uptime=$(uptime_s)"
finish
