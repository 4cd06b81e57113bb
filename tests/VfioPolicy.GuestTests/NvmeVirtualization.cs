using System;
using System.Buffers.Binary;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace VfioPolicy.GuestTests
{
    /// <summary>
    /// QEMU's NVMe virtual functions are secondary controllers that stay offline (their registers read 0) until the
    /// primary controller gives them queue and interrupt resources and brings them online: NVMe's Virtualization
    /// Management command, sent through the nvme driver's admin passthrough (what <c>nvme virt-mgmt</c> does, following
    /// QEMU's docs/system/devices/nvme.rst). Only the test harness does this; the project never talks NVMe.
    /// </summary>
    internal static class NvmeVirtualization
    {
        private const uint AdminCommandIoctl = 0xC048_4E41;   // _IOWR('N', 0x41, struct nvme_passthru_cmd), 72 bytes
        private const uint ResetIoctl = 0x4E44;               // _IO('N', 0x44)
        private const byte IdentifyOpcode = 0x06;
        private const byte VirtualizationManagementOpcode = 0x1C;
        private const uint SecondaryControllerList = 0x15;    // Identify CNS
        private const uint PrimaryFlexibleAllocation = 0x1;
        private const uint SecondaryAssign = 0x8;
        private const uint SecondaryOnline = 0x9;
        private const uint QueueResources = 0;
        private const uint InterruptResources = 1;

        public static void BringSecondaryControllersOnline(PciFunction pf)
        {
            string controller = Directory.GetDirectories(Path.Combine(pf.SysfsPath, "nvme")).Select(Path.GetFileName).Single()!;
            using SafeFileHandle handle = File.OpenHandle("/dev/" + controller, FileMode.Open, FileAccess.ReadWrite);
            int fd = (int)handle.DangerousGetHandle();

            // The primary keeps no flexible resources, so all of them can go to the secondaries after a reset.
            Admin(fd, VirtualizationManagementOpcode, PrimaryFlexibleAllocation | (QueueResources << 8), 0, null);
            Admin(fd, VirtualizationManagementOpcode, PrimaryFlexibleAllocation | (InterruptResources << 8), 0, null);
            Check.Equal(0, ioctl(fd, ResetIoctl, IntPtr.Zero), controller + " reset");

            var list = new byte[4096];
            Admin(fd, IdentifyOpcode, SecondaryControllerList, 0, list);
            int count = list[0];
            Check.True(count >= 2, controller + " lists " + count.ToString(CultureInfo.InvariantCulture) + " secondary controllers");
            for (int i = 0; i < count; i++)
            {
                ushort id = BinaryPrimitives.ReadUInt16LittleEndian(list.AsSpan(32 + (32 * i)));
                Admin(fd, VirtualizationManagementOpcode, SecondaryAssign | (InterruptResources << 8) | ((uint)id << 16), 1, null);
                Admin(fd, VirtualizationManagementOpcode, SecondaryAssign | (QueueResources << 8) | ((uint)id << 16), 2, null);
                Admin(fd, VirtualizationManagementOpcode, SecondaryOnline | ((uint)id << 16), 0, null);
                Console.WriteLine("  secondary controller " + id.ToString(CultureInfo.InvariantCulture) + " (VF "
                    + BinaryPrimitives.ReadUInt16LittleEndian(list.AsSpan(32 + (32 * i) + 8)).ToString(CultureInfo.InvariantCulture) + ") online");
            }
        }

        private static void Admin(int fd, byte opcode, uint cdw10, uint cdw11, byte[]? data)
        {
            var command = new byte[72];
            command[0] = opcode;
            GCHandle pinned = default;
            try
            {
                if (data is not null)
                {
                    pinned = GCHandle.Alloc(data, GCHandleType.Pinned);
                    BinaryPrimitives.WriteUInt64LittleEndian(command.AsSpan(24), (ulong)pinned.AddrOfPinnedObject());
                    BinaryPrimitives.WriteUInt32LittleEndian(command.AsSpan(36), (uint)data.Length);
                }

                BinaryPrimitives.WriteUInt32LittleEndian(command.AsSpan(40), cdw10);
                BinaryPrimitives.WriteUInt32LittleEndian(command.AsSpan(44), cdw11);
                int status = ioctl(fd, AdminCommandIoctl, command);
                int errno = Marshal.GetLastPInvokeError();
                Check.True(status == 0, string.Format(
                    CultureInfo.InvariantCulture,
                    "admin command 0x{0:x2} (cdw10 0x{1:x8}, cdw11 {2}) returned {3}{4}",
                    opcode,
                    cdw10,
                    cdw11,
                    status,
                    status < 0 ? " (errno " + errno.ToString(CultureInfo.InvariantCulture) + ")" : " (NVMe status)"));
            }
            finally
            {
                if (pinned.IsAllocated)
                {
                    pinned.Free();
                }
            }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int ioctl(int fd, uint request, byte[] argument);

        [DllImport("libc", SetLastError = true)]
        private static extern int ioctl(int fd, uint request, IntPtr argument);
    }
}
