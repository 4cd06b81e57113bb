using System;
using System.IO;
using Microsoft.Win32.SafeHandles;
using VfioPolicy.AccessModel.Contracts;

namespace VfioPolicy.GuestTests
{
    /// <summary>
    /// A device's config space through the kernel's sysfs <c>config</c> file: the view that bypasses every firewall,
    /// so the tests can compare what a policy promises with what the hardware holds, and see whether a consumer write
    /// reached the device.
    /// </summary>
    internal sealed class SysfsConfigHardware : IHardwareConfig, IDisposable
    {
        private readonly SafeFileHandle _file;

        public SysfsConfigHardware(PciFunction function)
        {
            _file = File.OpenHandle(function.ConfigPath, FileMode.Open, FileAccess.ReadWrite);
            Size = (int)RandomAccess.GetLength(_file);
        }

        public int Size { get; }

        public bool TryRead(int offset, int width, out uint value)
        {
            value = 0;
            Span<byte> buffer = stackalloc byte[4];
            // The kernel turns an aligned 1, 2 or 4 byte pread into one config cycle of that width.
            try
            {
                if (RandomAccess.Read(_file, buffer.Slice(0, width), offset) != width)
                {
                    return false;
                }
            }
            catch (IOException)
            {
                return false;
            }

            for (int i = 0; i < width; i++)
            {
                value |= (uint)buffer[i] << (8 * i);
            }

            return true;
        }

        public bool TryWrite(int offset, int width, uint value)
        {
            Span<byte> buffer = stackalloc byte[4];
            for (int i = 0; i < width; i++)
            {
                buffer[i] = (byte)(value >> (8 * i));
            }

            try
            {
                RandomAccess.Write(_file, (ReadOnlySpan<byte>)buffer.Slice(0, width), offset);
                return true;
            }
            catch (IOException)
            {
                return false;
            }
        }

        public void Dispose() => _file.Dispose();
    }
}
