using System;
using System.Collections.Generic;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime.Simulation
{
    /// <summary>
    /// One simulated PCI function behind vfio-pci: config space with device semantics (writable masks, RW1C, BAR
    /// sizing), BARs, interrupts as the kernel would deliver them, reset and power states.
    /// </summary>
    /// <remarks>A reset (VFIO or D3hot→D0 without No_Soft_Reset) clears the hardware BARs and Command, as an FLR does.</remarks>
    public sealed class SimulatedPciDevice
    {
        private readonly byte[] _initial;
        private readonly byte[] _config;
        private SimulatedVfioKernel? _kernel;
        private bool _intxAsserted;

        /// <summary>Creates the device at <paramref name="address"/> from a config image (256 or 4096 bytes).</summary>
        public SimulatedPciDevice(string address, ReadOnlySpan<byte> config)
        {
            if (!ConfigDumpReader.TryNormalizeSlot(address, out string normalized))
            {
                throw new ArgumentException("'" + address + "' is not a PCI address.", nameof(address));
            }

            if (config.Length != 256 && config.Length != 4096)
            {
                throw new ArgumentException("A simulated config space is 256 or 4096 bytes.", nameof(config));
            }

            Address = normalized;
            _initial = config.ToArray();
            _config = config.ToArray();
            WritableMask = DefaultWritableMask(config.Length);
            WriteOneToClearMask = new byte[config.Length];
            WriteOneToClearMask[0x07] = 0xF9; // Status: parity, aborts, SERR, detected parity
            Chain = CapabilityWalker.Walk(config);
            IntxCount = config[0x3d] != 0 ? 1 : 0;
            MsiCount = Capability(0x05) is { } msi ? 1 << ((config[msi + 2] >> 1) & 7) : 0;
            MsixCount = Capability(0x11) is { } msix ? ((config[msix + 2] | (config[msix + 3] << 8)) & 0x7FF) + 1 : 0;
            HasErrorNotification = Capability(0x10) is not null;
        }

        /// <summary>The PCI address (<c>dddd:bb:dd.f</c>).</summary>
        public string Address { get; }

        /// <summary>The IOMMU group; null: the device has none.</summary>
        public int? IommuGroup { get; set; } = 5;

        /// <summary>The driver bound to it (null: none).</summary>
        public string? Driver { get; set; } = "vfio-pci";

        /// <summary>Whether VFIO_DEVICE_RESET works (false: as a device on the root bus, EINVAL).</summary>
        public bool CanReset { get; set; } = true;

        /// <summary>The BARs 0 to 5 and the ROM (6); null where none. Set them before opening.</summary>
        public SimulatedBar?[] Bars { get; } = new SimulatedBar?[7];

        /// <summary>Per byte, the config bits a write changes (BAR registers follow BAR sizing instead).</summary>
        public byte[] WritableMask { get; }

        /// <summary>Per byte, the config bits that are write-1-to-clear.</summary>
        public byte[] WriteOneToClearMask { get; }

        /// <summary>How many INTx vectors VFIO reports (1 when the interrupt pin is set).</summary>
        public int IntxCount { get; set; }

        /// <summary>How many MSI vectors VFIO reports (from Multiple Message Capable).</summary>
        public int MsiCount { get; set; }

        /// <summary>How many MSI-X vectors VFIO reports (from the table size).</summary>
        public int MsixCount { get; set; }

        /// <summary>True when VFIO reports the ERR index (PCIe devices).</summary>
        public bool HasErrorNotification { get; set; }

        /// <summary>The chain walk of the initial image.</summary>
        public ChainWalk Chain { get; }

        /// <summary>The hardware config space now.</summary>
        public ReadOnlySpan<byte> Config => _config;

        /// <summary>How many resets the device went through.</summary>
        public int ResetCount { get; private set; }

        /// <summary>The hardware power state (0 = D0, 3 = D3hot).</summary>
        public int PowerState { get; private set; }

        /// <summary>True while VFIO has masked INTx (after an interrupt, until unmasked).</summary>
        public bool IntxMasked { get; internal set; }

        /// <summary>The interrupt index VFIO has enabled (INTx, MSI or MSI-X), or null.</summary>
        public int? EnabledIrqIndex { get; internal set; }

        /// <summary>The eventfds VFIO signals for the enabled index, per vector (-1: detached).</summary>
        public int[] VectorEventFds { get; internal set; } = Array.Empty<int>();

        /// <summary>The eventfd that unmasks INTx when signalled (a VMM's resample fd), or -1.</summary>
        public int IntxUnmaskFd { get; internal set; } = -1;

        /// <summary>The device's character device number under /dev/vfio/devices (vfioN), where the kernel offers cdevs.</summary>
        public int CdevNumber { get; private set; }

        /// <summary>Device-specific regions (index 9 and up, with a <see cref="VfioRegionType"/>) and the VGA region (index 8), by index.</summary>
        public Dictionary<int, SimulatedRegion> ExtraRegions { get; } = new Dictionary<int, SimulatedRegion>();

        /// <summary>DMA the device made that reached memory, in bytes (faults and blocked transfers excluded).</summary>
        public long DmaBytes { get; internal set; }

        internal int ErrEventFd { get; set; } = -1;

        internal int ReqEventFd { get; set; } = -1;

        /// <summary>Every SET_IRQS request the device received, in order.</summary>
        public List<VfioIrqSet> IrqRequests { get; } = new List<VfioIrqSet>();

        /// <summary>The offset of standard capability <paramref name="id"/>, or null.</summary>
        public int? Capability(int id)
        {
            foreach (CapabilityInfo info in Chain.Capabilities)
            {
                if (!info.Extended && info.Id == id)
                {
                    return info.Offset;
                }
            }

            return null;
        }

        /// <summary>Reads <paramref name="width"/> hardware config bytes (little-endian), bypassing everything: what sysfs would show.</summary>
        public uint PeekConfig(int offset, int width)
        {
            uint value = 0;
            for (int b = width - 1; b >= 0; b--)
            {
                value = (value << 8) | _config[offset + b];
            }

            return value;
        }

        /// <summary>Sets hardware config bytes directly (as the device itself would, e.g. a status bit).</summary>
        public void PokeConfig(int offset, int width, uint value)
        {
            for (int b = 0; b < width; b++)
            {
                _config[offset + b] = (byte)(value >> (8 * b));
            }
        }

        /// <summary>The device signals interrupt <paramref name="vector"/> (INTx is level: it stays asserted until <see cref="DeassertIntx"/>).</summary>
        public void RaiseInterrupt(int vector) => Kernel.Raise(this, vector);

        /// <summary>The device drops its INTx line (its interrupt status was acknowledged).</summary>
        public void DeassertIntx() => IntxAsserted = false;

        /// <summary>The kernel reports an AER error on the device (signals the ERR eventfd).</summary>
        public void ReportError() => Kernel.SignalNotification(ErrEventFd);

        /// <summary>The host asks for the device back (signals the REQ eventfd).</summary>
        public void RequestRelease() => Kernel.SignalNotification(ReqEventFd);

        /// <summary>The INTx line's level, shown in Status bit 3 (Interrupt Status, PCI 2.3) as real functions show it.</summary>
        internal bool IntxAsserted
        {
            get => _intxAsserted;
            set
            {
                _intxAsserted = value;
                _config[0x06] = (byte)(value ? _config[0x06] | 0x08 : _config[0x06] & ~0x08);
            }
        }

        private SimulatedVfioKernel Kernel => _kernel ?? throw new InvalidOperationException("The device is not attached to a SimulatedVfioKernel.");

        internal void Attach(SimulatedVfioKernel kernel, int cdevNumber)
        {
            _kernel = kernel;
            CdevNumber = cdevNumber;
        }

        /// <summary>
        /// The device reads host memory at <paramref name="iova"/> as a bus master, through the IOMMU of the address
        /// space it is attached to. False when Bus Master is off (nothing happens, as on real hardware) or the IOMMU
        /// faults (recorded in <see cref="SimulatedVfioKernel.IommuFaults"/>; <paramref name="into"/> is left alone).
        /// </summary>
        public bool DmaRead(ulong iova, Span<byte> into) => BusMaster && Kernel.Dma(this, iova, into, default, write: false);

        /// <summary>The device writes host memory at <paramref name="iova"/> as a bus master; false as for <see cref="DmaRead"/>.</summary>
        public bool DmaWrite(ulong iova, ReadOnlySpan<byte> from) => BusMaster && Kernel.Dma(this, iova, default, from, write: true);

        private bool BusMaster => (_config[0x04] & 0x4) != 0;

        internal void WriteConfig(int offset, byte value)
        {
            int barIndex = offset >= 0x10 && offset < 0x28 ? (offset - 0x10) / 4 : offset >= 0x30 && offset < 0x34 ? 6 : -1;
            if (barIndex >= 0)
            {
                int register = barIndex == 6 ? 0x30 : 0x10 + (barIndex * 4);
                uint current = PeekConfig(register, 4);
                int shift = (offset - register) * 8;
                uint merged = (current & ~(0xFFu << shift)) | ((uint)value << shift);
                PokeConfig(register, 4, HardwareBarValue(barIndex, merged));
                return;
            }

            byte old = _config[offset];
            byte writable = WritableMask[offset];
            byte clear = WriteOneToClearMask[offset];
            byte next = (byte)((old & ~writable) | (value & writable));
            next = (byte)((next & ~clear) | (old & clear & ~value));
            _config[offset] = next;
            TrackPowerState(offset);
        }

        internal void Reset()
        {
            // An FLR: BARs and Command cleared, everything else back to the power-on image.
            Array.Copy(_initial, _config, _config.Length);
            for (int offset = 0x10; offset < 0x28; offset += 4)
            {
                uint type = PeekConfig(offset, 4) & ((PeekConfig(offset, 4) & 1) != 0 ? 0x3u : 0xFu);
                PokeConfig(offset, 4, type);
            }

            PokeConfig(0x30, 4, 0);
            PokeConfig(0x04, 2, 0);
            IntxAsserted = false;
            PowerState = 0;
            ResetCount++;
            foreach (SimulatedBar? bar in Bars)
            {
                bar?.Model?.OnReset();
            }
        }

        private void TrackPowerState(int offset)
        {
            if (Capability(0x01) is not { } pm || offset != pm + 4)
            {
                return;
            }

            int previous = PowerState;
            PowerState = _config[offset] & 3;
            if (previous == 3 && PowerState == 0 && (_config[offset] & 0x8) == 0)
            {
                Reset();
            }
        }

        private uint HardwareBarValue(int index, uint written)
        {
            if (index == 6)
            {
                return Bars[6] is { } rom ? (written & (uint)~(rom.Size - 1) & 0xFFFFF800u) | (written & 1) : 0;
            }

            uint original = (uint)(_initial[0x10 + (index * 4)] | (_initial[0x11 + (index * 4)] << 8) | (_initial[0x12 + (index * 4)] << 16) | (_initial[0x13 + (index * 4)] << 24));
            if (index > 0 && Bars[index - 1] is { } lower && (InitialBar(index - 1) & 0x7) == 0x4)
            {
                return written & (uint)(~(ulong)(lower.Size - 1) >> 32);
            }

            if (Bars[index] is not { } bar)
            {
                return 0;
            }

            bool io = (original & 1) != 0;
            uint type = original & (io ? 0x3u : 0xFu);
            return (written & (uint)~(ulong)(bar.Size - 1) & (io ? 0xFFFFFFFCu : 0xFFFFFFF0u)) | type;
        }

        private uint InitialBar(int index) => (uint)(_initial[0x10 + (index * 4)] | (_initial[0x11 + (index * 4)] << 8) | (_initial[0x12 + (index * 4)] << 16) | (_initial[0x13 + (index * 4)] << 24));

        private static byte[] DefaultWritableMask(int size)
        {
            var mask = new byte[size];
            mask[0x04] = 0x47; // IO, Memory, Bus Master, Parity
            mask[0x05] = 0x05; // SERR, INTx Disable
            mask[0x0c] = 0xFF; // cache line size
            mask[0x0d] = 0xFF; // latency timer
            mask[0x3c] = 0xFF; // interrupt line
            for (int offset = 0x40; offset < size; offset++)
            {
                mask[offset] = 0xFF; // capability registers: the policy decides what reaches them
            }

            return mask;
        }
    }
}
