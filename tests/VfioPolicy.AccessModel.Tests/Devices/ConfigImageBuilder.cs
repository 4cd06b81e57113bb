using System;

namespace VfioPolicy.AccessModel.Tests.Devices
{
    /// <summary>Builds hand-made config-space images for walker tests: a type-0 header, then capabilities placed by hand.</summary>
    public sealed class ConfigImageBuilder
    {
        private readonly byte[] bytes;

        public ConfigImageBuilder(int size = 256)
        {
            bytes = new byte[size];
            Word(0x00, 0x1234);
            Word(0x02, 0x5678);
        }

        public byte[] Bytes => (byte[])bytes.Clone();

        /// <summary>Sets Status bit 4 and the capability pointer at 0x34.</summary>
        public ConfigImageBuilder CapabilityList(int head)
        {
            Word(0x06, 0x0010);
            bytes[0x34] = (byte)head;
            return this;
        }

        /// <summary>Places a standard capability: ID at +0, next at +1, then <paramref name="body"/> from +2.</summary>
        public ConfigImageBuilder Standard(int offset, int id, int next, params byte[] body)
        {
            bytes[offset] = (byte)id;
            bytes[offset + 1] = (byte)next;
            Array.Copy(body, 0, bytes, offset + 2, body.Length);
            return this;
        }

        /// <summary>Places a PCI Express capability of the given version and device/port type.</summary>
        public ConfigImageBuilder Express(int offset, int next, int version, int type, int linkWidth = 1)
        {
            Standard(offset, 0x10, next);
            Word(offset + 2, version | (type << 4));
            Dword(offset + 0x0C, (uint)(linkWidth << 4));
            return this;
        }

        /// <summary>Places an extended capability header: ID bits 0..15, version 16..19, next 20..31.</summary>
        public ConfigImageBuilder Extended(int offset, int id, int version, int next)
            => Dword(offset, (uint)id | ((uint)version << 16) | ((uint)next << 20));

        public ConfigImageBuilder Byte(int offset, int value)
        {
            bytes[offset] = (byte)value;
            return this;
        }

        public ConfigImageBuilder Word(int offset, int value)
        {
            bytes[offset] = (byte)value;
            bytes[offset + 1] = (byte)(value >> 8);
            return this;
        }

        public ConfigImageBuilder Dword(int offset, uint value)
        {
            for (int i = 0; i < 4; i++)
            {
                bytes[offset + i] = (byte)(value >> (8 * i));
            }

            return this;
        }
    }
}
