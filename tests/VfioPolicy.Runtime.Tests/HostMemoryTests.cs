using System;
using System.Runtime.InteropServices;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using Xunit;

namespace VfioPolicy.Runtime.Tests
{
    /// <summary>
    /// Memory another party hands over (a VMM's memfd of guest RAM): mapped by the seam, reachable by device DMA; and
    /// the simulated kernel among a host's real descriptors, as <c>vfio-policy serve --device</c> runs it.
    /// </summary>
    public sealed class HostMemoryTests
    {
        private const int Command = 0x04;

        [Fact]
        public void A_simulated_memfd_maps_as_a_view_of_the_same_memory_that_outlives_its_owner()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu());
            IHostMemory owner = kernel.AllocateMemory(0x3000, shareable: true);
            Assert.True(owner.Fd >= 0);

            IHostMemory view = kernel.MapMemory(owner.Fd, 0x1000, 0x2000, writable: true);
            Marshal.WriteInt32(owner.Address + 0x1010, 0x1234_5678);
            Assert.Equal(0x1234_5678, Marshal.ReadInt32(view.Address + 0x10));
            Marshal.WriteByte(view.Address + 0x1FFF, 0xA5);
            Assert.Equal(0xA5, Marshal.ReadByte(owner.Address + 0x2FFF));

            owner.Dispose(); // the view pins the memory, as a second process's mmap does
            Assert.Equal(0x1234_5678, Marshal.ReadInt32(view.Address + 0x10));
            Assert.Equal(2, kernel.LiveAllocationCount);
            view.Dispose();
            Assert.Equal(0, kernel.LiveAllocationCount);
        }

        [Fact]
        public void Mapping_what_is_not_a_memfd_or_lies_outside_it_is_refused_with_the_kernels_errno()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu());
            using IHostMemory memfd = kernel.AllocateMemory(0x2000, shareable: true);
            using IHostMemory anonymous = kernel.AllocateMemory(0x1000, shareable: false);
            int eventFd = kernel.CreateEventFd();

            Assert.Equal(VfioConstants.EINVAL, Assert.Throws<VfioException>(() => kernel.MapMemory(memfd.Fd, 0x800, 0x1000, true)).Errno);
            Assert.Equal(VfioConstants.EINVAL, Assert.Throws<VfioException>(() => kernel.MapMemory(memfd.Fd, 0x1000, 0x2000, true)).Errno);
            Assert.Equal(VfioConstants.EINVAL, Assert.Throws<VfioException>(() => kernel.MapMemory(memfd.Fd, 0, 0, true)).Errno);
            Assert.Equal(VfioConstants.ENODEV, Assert.Throws<VfioException>(() => kernel.MapMemory(eventFd, 0, 0x1000, true)).Errno);
            Assert.Equal(VfioConstants.EBADF, Assert.Throws<VfioException>(() => kernel.MapMemory(9999, 0, 0x1000, true)).Errno);
            Assert.Equal(-1, anonymous.Fd);
        }

        [Fact]
        public void A_device_DMAs_into_a_mapped_memfd_and_the_owner_sees_the_bytes()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using IHostMemory guestRam = kernel.AllocateMemory(0x10000, shareable: true); // the "VMM's" memory
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
            device.WriteConfig(Command, 2, 0x6);
            using IHostMemory mapped = kernel.MapMemory(guestRam.Fd, 0x4000, 0x4000, writable: true); // the "server's" view
            using VfioDmaMapping mapping = container.MapDma(0x100000, mapped.Address, 0x4000, VfioDmaAccess.ReadWrite);
            byte[] pattern = EduDma.Pattern(EduDma.Length, 0x31);
            pattern.CopyTo(EduDma.Model(edu).DmaBuffer);

            EduDma.EduToHost(device, 0, 0x100000 + 0x100, EduDma.Length);

            byte[] seen = new byte[EduDma.Length];
            Marshal.Copy(guestRam.Address + 0x4100, seen, 0, seen.Length);
            Assert.Equal(pattern, seen);
            Assert.Empty(kernel.IommuFaults);
        }

        [Fact]
        public void A_real_memfd_maps_twice_onto_the_same_pages()
        {
            var linux = new LinuxVfioKernel();
            using IHostMemory owner = linux.AllocateMemory(0x2000, shareable: true);
            using IHostMemory view = linux.MapMemory(owner.Fd, linux.PageSize, linux.PageSize, writable: true);

            Marshal.WriteInt64(view.Address + 8, 0x0102_0304_0506_0708);

            Assert.Equal(0x0102_0304_0506_0708, Marshal.ReadInt64(owner.Address + linux.PageSize + 8));
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => linux.MapMemory(owner.Fd, 100, 0x1000, true)).Kind);
        }

        [Fact]
        public void Among_a_hosts_descriptors_a_simulated_device_signals_a_real_eventfd_and_DMAs_into_a_real_memfd()
        {
            var linux = new LinuxVfioKernel();
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(linux, edu);
            int vmmEventFd = linux.CreateEventFd();
            try
            {
                using IHostMemory guestRam = linux.AllocateMemory(0x4000, shareable: true);
                using VfioContainer container = VfioContainer.Create(kernel);
                using VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"), new VfioDeviceOptions { Interrupts = VfioInterruptOwner.Vmm });
                device.WriteConfig(Command, 2, 0x6);

                device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.MsiIrqIndex, 0, new[] { vmmEventFd }));
                device.Bar(0).Write(0x60, 4, 1);
                Assert.True(linux.TryReadEventFd(vmmEventFd, out ulong interrupts));
                Assert.Equal(1UL, interrupts);

                using IHostMemory mapped = kernel.MapMemory(guestRam.Fd, 0, 0x4000, writable: true);
                using VfioDmaMapping mapping = container.MapDma(0x200000, mapped.Address, 0x4000, VfioDmaAccess.ReadWrite);
                byte[] pattern = EduDma.Pattern(EduDma.Length, 0x47);
                pattern.CopyTo(EduDma.Model(edu).DmaBuffer);
                EduDma.EduToHost(device, 0, 0x200000, EduDma.Length);
                byte[] seen = new byte[EduDma.Length];
                Marshal.Copy(guestRam.Address, seen, 0, seen.Length);
                Assert.Equal(pattern, seen);
            }
            finally
            {
                linux.Close(vmmEventFd);
            }
        }
    }
}
