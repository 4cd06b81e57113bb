using System.Collections.Generic;
using VfioPolicy.AccessModel.Devices;

namespace VfioPolicy.AccessModel.Tests.Binding.Support
{
    /// <summary>
    /// Builds a device's config space byte by byte, linking capabilities as it adds them, and the chain walk that
    /// describes it (built by hand, so these tests do not depend on the chain walker).
    /// </summary>
    internal sealed class ConfigImage
    {
        private readonly List<CapabilityInfo> _capabilities = new List<CapabilityInfo>();
        private readonly List<string> _walkWarnings = new List<string>();
        private int _lastStandard = -1;
        private int _lastExtended = -1;

        public ConfigImage(int size = 256)
        {
            Bytes = new byte[size];
            Set16(0x00, 0x1234);
            Set16(0x02, 0x5678);
            Bytes[0x0E] = 0x00;
        }

        public byte[] Bytes { get; }

        public ConfigImage Set8(int offset, uint value)
        {
            Bytes[offset] = (byte)value;
            return this;
        }

        public ConfigImage Set16(int offset, uint value)
        {
            Bytes[offset] = (byte)value;
            Bytes[offset + 1] = (byte)(value >> 8);
            return this;
        }

        public ConfigImage Set32(int offset, uint value)
        {
            for (int b = 0; b < 4; b++)
            {
                Bytes[offset + b] = (byte)(value >> (8 * b));
            }

            return this;
        }

        public uint Get(int offset, int width)
        {
            uint value = 0;
            for (int b = width - 1; b >= 0; b--)
            {
                value = (value << 8) | Bytes[offset + b];
            }

            return value;
        }

        /// <summary>Appends a standard capability to the chain: links it from 0x34 or its predecessor and sets Status.CAP_LIST.</summary>
        public ConfigImage AddCapability(int offset, int id, int length, string name = "CAP")
        {
            Bytes[offset] = (byte)id;
            Bytes[offset + 1] = 0;
            if (_lastStandard < 0)
            {
                Bytes[0x34] = (byte)offset;
                Bytes[0x06] |= 0x10;
            }
            else
            {
                Bytes[_lastStandard + 1] = (byte)offset;
            }

            _lastStandard = offset;
            _capabilities.Add(new CapabilityInfo(offset, id, false, null, length, name));
            return this;
        }

        /// <summary>Appends an extended capability to the chain (the first one must be at 0x100).</summary>
        public ConfigImage AddExtended(int offset, int id, int version, int length, string name = "ECAP")
        {
            Set32(offset, (uint)id | ((uint)version << 16));
            if (_lastExtended >= 0)
            {
                uint previous = Get(_lastExtended, 4);
                Set32(_lastExtended, (previous & 0x000F_FFFF) | ((uint)offset << 20));
            }

            _lastExtended = offset;
            _capabilities.Add(new CapabilityInfo(offset, id, true, version, length, name));
            return this;
        }

        public ConfigImage WalkWarning(string warning)
        {
            _walkWarnings.Add(warning);
            return this;
        }

        public ChainWalk Walk()
        {
            var ordered = new List<CapabilityInfo>();
            ordered.AddRange(_capabilities.FindAll(c => !c.Extended));
            ordered.AddRange(_capabilities.FindAll(c => c.Extended));
            return new ChainWalk(ordered, _walkWarnings.ToArray());
        }
    }
}
