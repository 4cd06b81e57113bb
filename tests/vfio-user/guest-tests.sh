# The vfio-user stage's guest checks, sourced by /init (guest-init.sh) in a guest whose 0000:00:02.0 is QEMU's
# unmodified vfio-user-pci client talking to `vfio-policy serve` (a simulated edu from policies/dumps/qemu-edu under
# tests/vfio-user/edu-stage.vfiopolicy). Expected values come from the policy text and edu's specification
# (QEMU docs/specs/edu.rst), not from the project's code. vfiou.round=1 is the first client, 2 the one after it.
dev=/sys/bus/pci/devices/$VFIOU_DEV
round=1
for word in $(cat /proc/cmdline); do case $word in vfiou.round=*) round=${word#vfiou.round=} ;; esac; done

cfg() { # cfg OFFSET WIDTH: the config bytes as the guest kernel reads them, little-endian, as 0x%0*x
    dd if=$dev/config bs=1 skip=$(($1)) count=$2 2>/dev/null | od -An -tx1 | awk '{ for (i = NF; i >= 1; i--) s = s $i } END { print "0x" s }'
}
setcfg() { # setcfg OFFSET BYTE: one byte written through sysfs, as a driver's pci_write_config_byte
    printf "\\$(printf %o $(($2)))" | dd of=$dev/config bs=1 seek=$(($1)) count=1 conv=notrunc 2>/dev/null
}
check() { # check NAME ACTUAL EXPECTED
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "read $2, expected $3"; fi
}

perf() { # perf NAME ADDRESS COUNT: "PERF NAME NS" with the nanoseconds per 32-bit read (mmio-loop, no process per access)
    out=$(/bin/mmio-loop $(printf %x $2) $3 2>&1)
    ns=$(echo "$out" | awk '/reads in/ { printf "%.0f", $5 / $2 }')
    if [ -n "$ns" ]; then echo "PERF $1 $ns"; else fail "perf-$1" "$out"; fi
}

if [ "$(cat $dev/vendor 2>/dev/null):$(cat $dev/device 2>/dev/null)" != 0x1234:0x11e8 ]; then
    fail device-present "no edu at $VFIOU_DEV"
    exit 1
fi
pass device-present

# Round 4: the same guest with QEMU's own edu in the slot and no server: the baseline of the BAR loop.
if [ "$round" = 4 ]; then
    echo uio_pci_generic > $dev/driver_override
    echo $VFIOU_DEV > /sys/bus/pci/drivers_probe
    bar0=$(( $(head -1 $dev/resource | cut -d' ' -f1) ))
    check bar0-identification "$(devmem $bar0 32)" 0x010000ED
    perf bar0-direct $bar0 20000
    exit 0
fi

# The policy's view of config space. MSI is hidden: the chain is empty (0x34 reads 0, Status.CAP_LIST clear) and the
# hidden body reads as the policy's constant.
check cap-list-pointer-empty "$(cfg 0x34 1)" 0x00
check status-cap-list-clear "$(( $(cfg 0x06 2) & 0x10 ))" 0
check hidden-msi-body-reads-0 "$(cfg 0x40 4)" 0x00000000
check revision-passthrough "$(cfg 0x08 1)" 0x10

# Denied bytes read their constant, and the guest's writes change nothing it can see (the host checks the device and
# the audit): BIST (header-type0.vfiopolicy "register BIST deny 0") and a byte of the gap after the header.
setcfg 0x0f 0x40
check bist-denied-reads-0 "$(cfg 0x0f 1)" 0x00
setcfg 0x80 0x5a
check gap-denied-reads-0 "$(cfg 0x80 1)" 0x00

# Virtualized registers keep the guest's value (the host checks that it did not reach the device).
setcfg 0x0c 0x10
check cache-line-size-virtualized "$(cfg 0x0c 1)" 0x10
setcfg 0x3c 0x5c
check interrupt-line-virtualized "$(cfg 0x3c 1)" 0x5c

# BAR 0 through the firewall's trapped path: bind uio_pci_generic (it enables the device and INTx).
echo uio_pci_generic > $dev/driver_override
echo $VFIOU_DEV > /sys/bus/pci/drivers_probe
driver=none; [ -e $dev/driver ] && driver=$(basename "$(readlink $dev/driver)")
if [ "$driver" = uio_pci_generic ] && [ -c /dev/uio0 ]; then pass uio-bound; else fail uio-bound "driver=$driver"; exit 1; fi
bar0=$(( $(head -1 $dev/resource | cut -d' ' -f1) ))
check bar0-identification "$(devmem $bar0 32)" 0x010000ED
devmem $((bar0 + 4)) 32 0x12345678
check bar0-liveness-inverts "$(devmem $((bar0 + 4)) 32)" 0xEDCBA987

# Round 3 (serve --mmap-bars --bar 2=64K): BAR 2 is plain memory the client maps itself (QEMU mmaps the descriptor
# the server handed over); a pattern written by the guest reads back, and the host checks the server handed it out.
# Before the INTx checks: QEMU traps every BAR while an INTx is in flight and maps them again only later.
if [ "$round" = 3 ]; then
    bar2=$(( $(sed -n 3p $dev/resource | cut -d' ' -f1) ))
    check bar2-sized "$(( $(sed -n 3p $dev/resource | cut -d' ' -f2) - bar2 + 1 ))" 65536
    devmem $((bar2 + 0x10)) 32 0x12345678
    devmem $((bar2 + 0xfffc)) 32 0xcafef00d
    check bar2-mapped-reads-back "$(devmem $((bar2 + 0x10)) 32):$(devmem $((bar2 + 0xfffc)) 32)" 0x12345678:0xCAFEF00D
    perf bar2-mapped $((bar2 + 0x10)) 200000
fi

# INTx raised by the device model reaches the guest's uio_pci_generic, twice: the handler masks INTx (Command.
# INTX_DISABLE) and the guest re-enables it with a config write (uio-howto), which must reach the runtime, as must the
# client's unmask after the EOI. /dev/uio0 is opened before the raise: a read waits for an interrupt after its open.
for i in 1 2; do
    exec 3< /dev/uio0
    devmem $((bar0 + 0x60)) 32 0x1        # edu: raise interrupt status bit 0
    count=$(timeout 5 dd bs=4 count=1 <&3 2>/dev/null | od -An -tu4 | tr -d ' ')
    exec 3<&-
    status=$(devmem $((bar0 + 0x24)) 32)
    pending=$(( $(cfg 0x06 2) & 0x08 ))      # Status.INTERRUPT: the line as the device drives it
    devmem $((bar0 + 0x64)) 32 0x1        # acknowledge: the line drops
    setcfg 0x05 $(( $(cfg 0x05 1) & ~0x04 ))  # re-enable: clear Command.INTX_DISABLE (uio-howto: through config)
    if [ -z "$count" ]; then fail intx-$i "no interrupt within 5 s (edu status $status)"; else check intx-$i "$count" $i; fi
    check intx-$i-status-pending "$pending" 8
    check intx-$i-status-clear-after-ack "$(( $(cfg 0x06 2) & 0x08 ))" 0
    check intx-$i-reenabled "$(( $(cfg 0x04 2) & 0x400 ))" 0
done
check intx-counted "$(awk '/uio_pci_generic/ { print $2 }' /proc/interrupts)" 2
perf bar0-trapped $bar0 2000
if [ "$round" = 1 ]; then
    check interrupt-status-acknowledged "$(devmem $((bar0 + 0x24)) 32)" 0x00000000
fi

