using System;
using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Hardening.Tests.Runtime
{
    /// <summary>
    /// Issue 6, item 4: faults injected through the simulated kernel into a device opened by the runtime. Each row is an
    /// operation × fault with its expected outcome; every row is compared with a twin device that saw no fault.
    /// </summary>
    public sealed class FaultInjectionTests
    {
        private const int EduLiveness = 0x04;
        private const int PciMsiCapability = 0x05;

        /// <summary>What the consumer does while the fault is armed.</summary>
        public enum Operation
        {
            ConfigRead,
            ConfigWrite,
            BarRead,
            BarWrite,
            Reset,
            MsiEnable,
        }

        /// <summary>operation × fault → expected outcome. Kind null: the runtime absorbs the fault and the access succeeds.</summary>
        public static IEnumerable<object[]> Table()
        {
            var rows = new List<FaultRow>();
            foreach (Operation operation in new[] { Operation.ConfigRead, Operation.ConfigWrite, Operation.BarRead, Operation.BarWrite })
            {
                string syscall = operation is Operation.ConfigRead or Operation.BarRead ? "pread" : "pwrite";
                rows.Add(new FaultRow(operation, syscall, VfioConstants.EIO, Times: 1, ShortBytes: null, VfioErrorKind.Kernel, VfioConstants.EIO, null));
                rows.Add(new FaultRow(operation, syscall, VfioConstants.ENODEV, Times: 1, ShortBytes: null, VfioErrorKind.Kernel, VfioConstants.ENODEV, null));
                rows.Add(new FaultRow(operation, syscall, VfioConstants.EAGAIN, Times: 1, ShortBytes: null, VfioErrorKind.Kernel, VfioConstants.EAGAIN, null));
                rows.Add(new FaultRow(operation, syscall, VfioConstants.EINTR, Times: 3, ShortBytes: null, null, 0, null));
                rows.Add(new FaultRow(operation, syscall, VfioConstants.EINTR, Times: int.MaxValue, ShortBytes: null, VfioErrorKind.Kernel, VfioConstants.EINTR, null));
                if (operation is Operation.ConfigRead or Operation.ConfigWrite)
                {
                    rows.Add(new FaultRow(operation, syscall, 0, Times: 1, ShortBytes: 1, null, 0, null));
                    rows.Add(new FaultRow(operation, syscall, 0, Times: 3, ShortBytes: 1, null, 0, null));
                    rows.Add(new FaultRow(operation, syscall, 0, Times: 1, ShortBytes: 0, VfioErrorKind.Kernel, VfioConstants.EIO, null));
                }
            }

            // A reset the kernel refuses (ENODEV, EINVAL, ENOTTY) is CannotReset; one that fails (EIO) is a kernel error.
            rows.Add(new FaultRow(Operation.Reset, "VFIO_DEVICE_RESET", VfioConstants.EIO, Times: 1, ShortBytes: null, VfioErrorKind.Kernel, VfioConstants.EIO, null));
            rows.Add(new FaultRow(Operation.Reset, "VFIO_DEVICE_RESET", VfioConstants.ENODEV, Times: 1, ShortBytes: null, VfioErrorKind.CannotReset, VfioConstants.ENODEV, null));
            rows.Add(new FaultRow(Operation.MsiEnable, "VFIO_DEVICE_SET_IRQS", VfioConstants.EIO, Times: 1, ShortBytes: null, null, 0, VfioConstants.EIO));
            rows.Add(new FaultRow(Operation.MsiEnable, "VFIO_DEVICE_SET_IRQS", VfioConstants.ENODEV, Times: int.MaxValue, ShortBytes: null, null, 0, VfioConstants.ENODEV));
            return rows.Select(r => new object[] { r });
        }

        [Theory]
        [MemberData(nameof(Table))]
        public void A_fault_gives_a_typed_error_changes_nothing_and_leaves_the_device_usable(FaultRow row)
        {
            Figures.Add("faults.rows", 1);
            using RuntimeRig faulty = RuntimeRig.Open();
            using RuntimeRig twin = RuntimeRig.Open();
            byte[] hardwareBefore = faulty.HardwareBytes();
            uint[] shadowBefore = faulty.ShadowDwords();
            int behaviorErrorsBefore = faulty.Device.BehaviorErrors.Count;

            if (row.ShortBytes is { } bytes)
            {
                faulty.Kernel.InjectShortTransfer(row.Syscall, bytes, row.Times);
            }
            else
            {
                faulty.Kernel.InjectFault(row.Syscall, row.Errno, row.Times);
            }

            VfioException? error = Record(() => Act(faulty, row.Operation));
            faulty.Kernel.ClearFaults();

            if (row.Kind is { } kind)
            {
                Assert.NotNull(error);
                Assert.Equal(kind, error!.Kind);
                Assert.Equal(row.ExpectedErrno, error.Errno);
                Assert.Contains(VfioException.ErrnoName(row.ExpectedErrno), error.Message, StringComparison.Ordinal);

                // No partial write, and the shadow still describes the hardware: both exactly as before the access.
                Assert.Equal(hardwareBefore, faulty.HardwareBytes());
                Assert.Equal(shadowBefore, faulty.ShadowDwords());
            }
            else
            {
                Assert.Null(error);
                Act(twin, row.Operation);

                // Absorbed: the device ends exactly where a fault-free twin that did the same access ends.
                Assert.Equal(twin.HardwareBytes(), faulty.HardwareBytes());
                Assert.Equal(twin.ShadowDwords(), faulty.ShadowDwords());
            }

            if (row.BehaviorErrno is { } behaviorErrno)
            {
                VfioException behavior = faulty.Device.BehaviorErrors.Skip(behaviorErrorsBefore).First();
                Assert.Equal(behaviorErrno, behavior.Errno);
            }

            // A failed BAR write reached nothing (the twin did no write); an absorbed one landed (the twin did the same).
            Assert.Equal(twin.Device.Bar(0).Read(EduLiveness, 4), faulty.Device.Bar(0).Read(EduLiveness, 4));
            AssertUsable(faulty);
            faulty.Dispose();
            Assert.Equal(0, faulty.Kernel.OpenDescriptorCount);
        }

        [Fact]
        public void A_failed_bar_write_leaves_the_register_as_it_was()
        {
            using RuntimeRig rig = RuntimeRig.Open();
            rig.Device.Bar(0).Write(EduLiveness, 4, 0x1234_5678);
            rig.Kernel.InjectFault("pwrite", VfioConstants.EIO, 1);

            VfioException error = Assert.Throws<VfioException>(() => rig.Device.Bar(0).Write(EduLiveness, 4, 0xCAFE_F00D));

            Assert.Equal(VfioConstants.EIO, error.Errno);
            Assert.Equal(~0x1234_5678u, (uint)rig.Device.Bar(0).Read(EduLiveness, 4));
        }

        [Fact]
        public void A_device_that_disappears_mid_session_fails_every_access_with_ENODEV_and_closes_cleanly()
        {
            RuntimeRig rig = RuntimeRig.Open();
            int configWriteOffset = rig.PassthroughWritableByte();
            byte[] hardwareBefore = rig.HardwareBytes();
            uint[] shadowBefore = rig.ShadowDwords();
            foreach (string syscall in new[] { "pread", "pwrite", "mmap", "eventfd", "poll", "VFIO_DEVICE_SET_IRQS", "VFIO_DEVICE_RESET", "VFIO_DEVICE_GET_REGION_INFO", "VFIO_DEVICE_GET_IRQ_INFO" })
            {
                rig.Kernel.InjectFault(syscall, VfioConstants.ENODEV);
            }

            Assert.Equal(VfioConstants.ENODEV, Assert.Throws<VfioException>(() => rig.Device.ReadConfig(0x00, 4)).Errno);
            Assert.Equal(AccessStatus.HardwareError, rig.Device.TryWriteConfig(configWriteOffset, 1, 0xFF));
            Assert.Equal(VfioConstants.ENODEV, Assert.Throws<VfioException>(() => rig.Device.WriteConfig(configWriteOffset, 1, 0xFF)).Errno);
            Assert.Equal(VfioConstants.ENODEV, Assert.Throws<VfioException>(() => rig.Device.Bar(0).Read(EduLiveness, 4)).Errno);
            Assert.Equal(VfioConstants.ENODEV, Assert.Throws<VfioException>(() => rig.Device.Bar(0).Write(EduLiveness, 4, 1)).Errno);
            // The reset fails before it reaches VFIO_DEVICE_RESET (its first step, detaching interrupts, already fails).
            VfioException reset = Assert.Throws<VfioException>(() => rig.Device.Reset());
            Assert.Equal(VfioErrorKind.Kernel, reset.Kind);
            Assert.Equal(VfioConstants.ENODEV, reset.Errno);
            Assert.Equal(hardwareBefore, rig.HardwareBytes());
            Assert.Equal(shadowBefore, rig.ShadowDwords());

            rig.Dispose();

            Assert.Equal(0, rig.Kernel.OpenDescriptorCount);
            Assert.Equal(VfioErrorKind.Closed, Assert.Throws<VfioException>(() => rig.Device.ReadConfig(0x00, 4)).Kind);
            rig.Dispose(); // idempotent, even on a vanished device
        }

        /// <summary>Faults while opening: a typed error and not one descriptor left open; the next open works.</summary>
        [Theory]
        [InlineData("eventfd", VfioConstants.EIO)]
        [InlineData("VFIO_GROUP_GET_DEVICE_FD", VfioConstants.ENODEV)]
        [InlineData("VFIO_DEVICE_GET_INFO", VfioConstants.EIO)]
        [InlineData("VFIO_DEVICE_GET_REGION_INFO", VfioConstants.EIO)]
        [InlineData("VFIO_DEVICE_GET_IRQ_INFO", VfioConstants.ENODEV)]
        [InlineData("VFIO_DEVICE_SET_IRQS", VfioConstants.EIO)]
        [InlineData("pread", VfioConstants.EIO)]
        [InlineData("pread", VfioConstants.EAGAIN)]
        [InlineData("pwrite", VfioConstants.EIO)]
        [InlineData("VFIO_SET_IOMMU", VfioConstants.EIO)]
        public void A_fault_while_opening_closes_every_descriptor(string syscall, int errno)
        {
            Figures.Add("faults.open", 1);
            SimulatedPciDevice hardware = RuntimeRig.Edu(RuntimeRig.FirstAddress, 5);
            hardware.PokeConfig(0x04, 2, 0); // decode off, so opening must write Command (pwrite is reached)
            var kernel = new SimulatedVfioKernel(hardware);
            kernel.InjectFault(syscall, errno);

            VfioException error = Assert.Throws<VfioException>(() => VfioDevice.Open(RuntimeRig.FirstAddress, RuntimeRig.Strict(), kernel));

            Assert.Equal(errno, error.Errno);
            Assert.Equal(0, kernel.OpenDescriptorCount);
            kernel.ClearFaults();
            using (VfioDevice device = VfioDevice.Open(RuntimeRig.FirstAddress, RuntimeRig.Strict(), kernel))
            {
                Assert.Equal(hardware.PeekConfig(0x00, 4), device.ReadConfig(0x00, 4));
            }

            Assert.Equal(0, kernel.OpenDescriptorCount);
        }

        private static void Act(RuntimeRig rig, Operation operation)
        {
            switch (operation)
            {
                case Operation.ConfigRead:
                    Assert.Equal(rig.Hardware.PeekConfig(0x00, 4), rig.Device.ReadConfig(0x00, 4));
                    break;
                case Operation.ConfigWrite:
                    // A dword write over a passthrough-writable byte (and its neighbours, virtualized or not), every
                    // bit that reaches the hardware flipped, so a partial write shows.
                    int dword = rig.PassthroughWritableByte() & ~3;
                    rig.Device.WriteConfig(dword, 4, rig.Device.ReadConfig(dword, 4) ^ rig.ReachingDword(dword));
                    break;
                case Operation.BarRead:
                    Assert.Equal(0x010000edUL, rig.Device.Bar(0).Read(0x00, 4));
                    break;
                case Operation.BarWrite:
                    rig.Device.Bar(0).Write(EduLiveness, 4, 0x5555_AAAA);
                    Assert.Equal(~0x5555_AAAAu, (uint)rig.Device.Bar(0).Read(EduLiveness, 4));
                    break;
                case Operation.Reset:
                    rig.Device.Reset();
                    break;
                case Operation.MsiEnable:
                    int msi = rig.Device.Binding.Capabilities.First(c => !c.Info.Extended && c.Info.Id == PciMsiCapability).Info.Offset;
                    rig.Device.WriteConfig(msi + 2, 2, rig.Device.ReadConfig(msi + 2, 2) | 1);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(operation), operation, null);
            }
        }

        /// <summary>After the fault is cleared: a config write through the firewall lands, the BAR works, a reset works.</summary>
        private static void AssertUsable(RuntimeRig rig)
        {
            int passthrough = rig.PassthroughWritableByte();
            uint reaches = rig.ReachingBits(passthrough);
            uint flipped = rig.Device.ReadConfig(passthrough, 1) ^ reaches;
            rig.Device.WriteConfig(passthrough, 1, flipped);
            Assert.Equal(flipped & reaches, rig.Hardware.PeekConfig(passthrough, 1) & reaches);
            rig.Device.Bar(0).Write(EduLiveness, 4, 0x0F0F_0F0F);
            Assert.Equal(~0x0F0F_0F0Fu, (uint)rig.Device.Bar(0).Read(EduLiveness, 4));
            rig.Device.Reset();
        }

        private static VfioException? Record(Action action)
        {
            try
            {
                action();
                return null;
            }
            catch (VfioException error)
            {
                return error;
            }
        }

        /// <summary>One row of the table.</summary>
        public sealed record FaultRow(Operation Operation, string Syscall, int Errno, int Times, int? ShortBytes, VfioErrorKind? Kind, int ExpectedErrno, int? BehaviorErrno)
        {
            /// <inheritdoc />
            public override string ToString()
            {
                string fault = ShortBytes is { } bytes ? "short " + Syscall + " of " + bytes + " bytes" : Syscall + " " + VfioException.ErrnoName(Errno);
                string times = Times == int.MaxValue ? " always" : " x" + Times;
                string outcome = Kind is { } kind ? kind + "/" + VfioException.ErrnoName(ExpectedErrno) : BehaviorErrno is { } b ? "ok, behavior error " + VfioException.ErrnoName(b) : "absorbed";
                return Operation + ": " + fault + times + " -> " + outcome;
            }
        }
    }
}
