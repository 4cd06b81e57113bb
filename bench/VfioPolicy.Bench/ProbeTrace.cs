using System;
using System.Collections.Generic;
using VfioPolicy.AccessModel.Devices;

namespace VfioPolicy.Bench
{
    /// <summary>One consumer config access of a trace.</summary>
    /// <param name="Offset">The first byte.</param>
    /// <param name="Length">1, 2 or 4 bytes.</param>
    /// <param name="IsWrite">A write (else a read).</param>
    /// <param name="Value">The written value (ignored for reads).</param>
    public readonly record struct TraceAccess(int Offset, int Length, bool IsWrite, uint Value);

    /// <summary>
    /// The config accesses a Linux PCI driver's probe makes, in order, derived from the device itself: what
    /// <c>pci_setup_device</c> and <c>lspci -vvv</c> read (identity, class, header type, subsystem, interrupt
    /// pin/line), BAR sizing (<c>__pci_read_base</c>: read, write all-ones, read, restore, with decoding off around
    /// it), the capability walk (<c>pci_find_capability</c>: the pointer, then each ID/next word), and what the
    /// driver's <c>pci_enable_device</c>/<c>pci_set_master</c>/<c>pci_enable_msi</c> and the PCIe setup write
    /// (COMMAND, MSI address/data/control, Device Control).
    /// </summary>
    public static class ProbeTrace
    {
        /// <summary>The probe trace of <paramref name="image"/> (header type 0).</summary>
        public static TraceAccess[] Of(ConfigSpaceImage image)
        {
            byte[] bytes = image.Bytes;
            var trace = new List<TraceAccess>();
            void Read(int offset, int length) => trace.Add(new TraceAccess(offset, length, false, 0));
            void Write(int offset, int length, uint value) => trace.Add(new TraceAccess(offset, length, true, value));
            uint Dword(int offset) => BitConverter.ToUInt32(bytes, offset);

            // pci_setup_device / lspci: identity, class, header type, subsystem, interrupt.
            Read(0x00, 4);
            Read(0x08, 4);
            Read(0x0e, 1);
            Read(0x06, 2);
            Read(0x2c, 2);
            Read(0x2e, 2);
            Read(0x3d, 1);
            Read(0x3c, 1);

            // __pci_read_base for the six BARs and the ROM, decoding off around the sizing.
            Read(0x04, 2);
            Write(0x04, 2, 0x0000);
            for (int bar = 0x10; bar <= 0x24; bar += 4)
            {
                Read(bar, 4);
                Write(bar, 4, 0xffff_ffffu);
                Read(bar, 4);
                Write(bar, 4, Dword(bar));
            }

            Read(0x30, 4);
            Write(0x30, 4, 0xffff_f800u);
            Read(0x30, 4);
            Write(0x30, 4, Dword(0x30));
            Write(0x04, 2, 0x0006);

            // pci_find_capability: the pointer, then ID and next of every capability (bounded as Linux bounds it).
            Read(0x34, 1);
            int msi = -1;
            int express = -1;
            int pointer = bytes[0x34] & 0xfc;
            for (int hops = 0; pointer >= 0x40 && hops < 48; hops++)
            {
                Read(pointer, 2);
                if (bytes[pointer] == 0x05)
                {
                    msi = pointer;
                }

                if (bytes[pointer] == 0x10)
                {
                    express = pointer;
                }

                pointer = bytes[pointer + 1] & 0xfc;
            }

            // pci_enable_msi: control, address, upper address, data, enable.
            if (msi >= 0)
            {
                Read(msi + 2, 2);
                Write(msi + 4, 4, 0xfee0_0000u);
                Write(msi + 8, 4, 0);
                Write(msi + 0xc, 2, 0x4021);
                Write(msi + 2, 2, 0x0081);
                Read(msi + 2, 2);
            }

            // PCIe: capabilities, Device Control (max payload / read request), Link Control and Status.
            if (express >= 0)
            {
                Read(express + 2, 2);
                Read(express + 4, 4);
                Read(express + 8, 2);
                Write(express + 8, 2, 0x2810);
                Read(express + 0x10, 2);
                Read(express + 0x12, 2);
            }

            // pci_set_master, then the driver's status checks.
            Read(0x04, 2);
            Write(0x04, 2, 0x0406);
            Read(0x06, 2);
            return trace.ToArray();
        }
    }
}
