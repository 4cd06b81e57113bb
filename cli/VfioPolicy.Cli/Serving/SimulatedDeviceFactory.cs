using System;
using System.Collections.Generic;
using System.Globalization;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;

namespace VfioPolicy.Cli.Serving
{
    /// <summary>
    /// A simulated function from a config dump, for <c>serve --device</c>: the dump's config space, and BARs whose
    /// sizes come from <c>--bar N=SIZE</c> or, where not given, from the dump's BAR addresses (a BAR is aligned to its
    /// size, so the address's lowest set bit bounds it). QEMU's edu gets its real 1 MiB BAR 0 with the edu register
    /// model (identification, factorial, interrupts, DMA); other BARs are plain memory.
    /// </summary>
    public static class SimulatedDeviceFactory
    {
        /// <summary>The address the simulated function gets (behind a bridge, so it has a bus to reset).</summary>
        public const string Address = "0000:01:00.0";

        /// <summary>The largest BAR the simulation holds in memory.</summary>
        public const long MaxBarSize = 1L << 24;

        /// <summary>Parses <c>N=SIZE</c> (N 0 to 6, 6 the ROM; SIZE a power of two, with an optional K or M).</summary>
        /// <exception cref="FormatException">Malformed, out of range, or not a power of two.</exception>
        public static (int Index, long Size) ParseBar(string text)
        {
            string[] parts = (text ?? string.Empty).Split('=');
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index > 6)
            {
                throw new FormatException("--bar takes N=SIZE with N from 0 to 6 (6 is the ROM), for example 0=1M; got '" + text + "'");
            }

            string size = parts[1].Trim();
            long unit = size.EndsWith("K", StringComparison.OrdinalIgnoreCase) ? 1024 : size.EndsWith("M", StringComparison.OrdinalIgnoreCase) ? 1024 * 1024 : 1;
            string digits = unit == 1 ? size : size.Substring(0, size.Length - 1);
            bool hex = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
            if (!long.TryParse(hex ? digits.Substring(2) : digits, hex ? NumberStyles.HexNumber : NumberStyles.None, CultureInfo.InvariantCulture, out long value)
                || value <= 0 || value > MaxBarSize / unit || ((value * unit) & ((value * unit) - 1)) != 0)
            {
                throw new FormatException("--bar " + text + ": the size must be a power of two from 1 byte to 16M");
            }

            return (index, value * unit);
        }

        /// <summary>
        /// Builds the function from <paramref name="config"/> (256 or 4096 bytes). With <paramref name="allocate"/>,
        /// plain-memory BARs live in the shareable memory it returns (the caller owns it), so a client can map them.
        /// </summary>
        public static SimulatedPciDevice Create(byte[] config, IReadOnlyDictionary<int, long> barSizes, Func<long, IHostMemory>? allocate = null)
        {
            var device = new SimulatedPciDevice(Address, config);
            bool edu = Word(config, 0) == 0x1234 && Word(config, 2) == 0x11e8;
            for (int index = 0; index < 6; index++)
            {
                uint register = Dword(config, 0x10 + (4 * index));
                bool io = (register & 1) != 0;
                bool wide = !io && (register & 0x6) == 0x4;
                ulong address = io ? register & ~3u : (register & ~0xFu) | (wide && index < 5 ? (ulong)Dword(config, 0x14 + (4 * index)) << 32 : 0);
                if (register != 0 || barSizes.ContainsKey(index))
                {
                    long size = barSizes.TryGetValue(index, out long given) ? given : edu && index == 0 ? 0x100000 : Estimate(address, io ? 4 : 4096);
                    bool modelled = edu && index == 0;
                    device.Bars[index] = new SimulatedBar(size, mappable: !io, model: modelled ? new SimulatedEduModel() : null, backing: io || modelled ? null : allocate?.Invoke(size));
                }

                if (wide)
                {
                    index++; // the next register is this BAR's upper half
                }
            }

            uint rom = Dword(config, 0x30);
            if (rom != 0 || barSizes.ContainsKey(6))
            {
                device.Bars[6] = new SimulatedBar(barSizes.TryGetValue(6, out long romSize) ? romSize : Estimate(rom & 0xFFFFF800u, 2048), mappable: false);
            }

            return device;
        }

        /// <summary>The size a BAR at <paramref name="address"/> can have at most (its alignment), within sane bounds.</summary>
        private static long Estimate(ulong address, long minimum)
        {
            ulong alignment = address == 0 ? (ulong)minimum : address & (~address + 1);
            return (long)Math.Min(Math.Max(alignment, (ulong)minimum), (ulong)MaxBarSize);
        }

        private static uint Word(byte[] config, int offset) => (uint)(config[offset] | (config[offset + 1] << 8));

        private static uint Dword(byte[] config, int offset) => (uint)(config[offset] | (config[offset + 1] << 8) | (config[offset + 2] << 16) | (config[offset + 3] << 24));
    }
}
