using System;
using System.IO;
using VfioPolicy.Runtime.Kernel;
using Xunit;

namespace VfioPolicy.Runtime.Tests
{
    /// <summary>The Linux seam on this host, with files and eventfds (no VFIO needed); the QEMU stage covers VFIO.</summary>
    public sealed class LinuxKernelTests : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("vfiopolicy-kernel-").FullName;
        private readonly LinuxVfioKernel _kernel = new LinuxVfioKernel();

        public void Dispose() => Directory.Delete(_folder, recursive: true);

        [Fact]
        public void Eventfds_count_poll_and_drain()
        {
            int fd = _kernel.CreateEventFd();
            try
            {
                Span<bool> ready = stackalloc bool[1];
                Assert.Equal(0, _kernel.Poll(new[] { fd }, 0, ready));
                Assert.False(_kernel.TryReadEventFd(fd, out _));

                _kernel.WriteEventFd(fd, 2);
                _kernel.WriteEventFd(fd, 1);
                Assert.Equal(1, _kernel.Poll(new[] { fd }, 1000, ready));
                Assert.True(ready[0]);
                Assert.True(_kernel.TryReadEventFd(fd, out ulong count));
                Assert.Equal(3UL, count);
                Assert.False(_kernel.TryReadEventFd(fd, out _));
            }
            finally
            {
                _kernel.Close(fd);
            }
        }

        [Fact]
        public void Pread_pwrite_and_mmap_reach_the_same_bytes()
        {
            string path = Path.Combine(_folder, "region");
            File.WriteAllBytes(path, new byte[8192]);
            int fd = _kernel.Open(path);
            try
            {
                Assert.Equal(4, _kernel.PWrite(fd, new byte[] { 0xed, 0x00, 0x00, 0x01 }, 4096));
                using IMappedRange mapping = _kernel.Map(fd, 4096, 4096, writable: true);
                Assert.Equal(0x010000edUL, mapping.Read(0, 4));
                mapping.Write(8, 8, 0x1122334455667788UL);
                byte[] back = new byte[8];
                Assert.Equal(8, _kernel.PRead(fd, back, 4096 + 8));
                Assert.Equal(0x1122334455667788UL, BitConverter.ToUInt64(back));
                Assert.Throws<ArgumentOutOfRangeException>(() => mapping.Read(4094, 4));
            }
            finally
            {
                _kernel.Close(fd);
            }
        }

        [Fact]
        public void Failures_are_typed_with_the_operation_and_errno()
        {
            VfioException missing = Assert.Throws<VfioException>(() => _kernel.Open(Path.Combine(_folder, "absent")));
            Assert.Equal(VfioConstants.ENOENT, missing.Errno);
            Assert.Contains("open " + _folder, missing.Operation);

            string path = Path.Combine(_folder, "plain");
            File.WriteAllBytes(path, new byte[16]);
            int fd = _kernel.Open(path);
            try
            {
                VfioException notVfio = Assert.Throws<VfioException>(() => _kernel.GetDeviceInfo(fd));
                Assert.Equal(VfioConstants.ENOTTY, notVfio.Errno);
                Assert.Equal("VFIO_DEVICE_GET_INFO on " + path, notVfio.Operation);
                Assert.Contains("ENOTTY", notVfio.Message);
            }
            finally
            {
                _kernel.Close(fd);
            }
        }

        [Fact]
        public void Sysfs_style_links_and_folders_are_read()
        {
            Directory.CreateDirectory(Path.Combine(_folder, "devices"));
            File.WriteAllText(Path.Combine(_folder, "devices", "b"), string.Empty);
            File.WriteAllText(Path.Combine(_folder, "devices", "a"), string.Empty);
            File.CreateSymbolicLink(Path.Combine(_folder, "driver"), "../../../bus/pci/drivers/vfio-pci");

            Assert.Equal("../../../bus/pci/drivers/vfio-pci", _kernel.ReadLink(Path.Combine(_folder, "driver")));
            Assert.Null(_kernel.ReadLink(Path.Combine(_folder, "no-link")));
            Assert.Equal(new[] { "a", "b" }, _kernel.ListDirectory(Path.Combine(_folder, "devices")));
            Assert.Empty(_kernel.ListDirectory(Path.Combine(_folder, "absent")));
            Assert.True(_kernel.Exists(_folder));
        }
    }
}
