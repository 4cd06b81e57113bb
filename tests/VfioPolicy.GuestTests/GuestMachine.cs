using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace VfioPolicy.GuestTests
{
    /// <summary>One PCI function as the guest kernel's sysfs shows it.</summary>
    /// <param name="Address">The <c>DDDD:BB:DD.F</c> address.</param>
    /// <param name="SysfsPath">/sys/bus/pci/devices/ADDRESS.</param>
    /// <param name="Vendor">The vendor ID the kernel read.</param>
    /// <param name="Device">The device ID the kernel read.</param>
    /// <param name="Driver">The bound driver's name; null when unbound.</param>
    /// <param name="IommuGroup">The IOMMU group number; null when the function has none.</param>
    /// <param name="BridgeDepth">How many PCI bridges lie between the function and the root bus: 0 on the root bus, 1 behind a root port, 2 behind the PCIe-to-PCI bridge.</param>
    internal sealed record PciFunction(string Address, string SysfsPath, int Vendor, int Device, string? Driver, int? IommuGroup, int BridgeDepth)
    {
        /// <summary>True when the function sits directly behind a PCIe root port.</summary>
        public bool BehindRootPort => BridgeDepth == 1;

        public string ConfigPath => Path.Combine(SysfsPath, "config");

        public byte[] ReadConfig() => File.ReadAllBytes(ConfigPath);

        public int ReadHexAttribute(string name) => ParseHex(File.ReadAllText(Path.Combine(SysfsPath, name)));

        public bool HasAttribute(string name) => File.Exists(Path.Combine(SysfsPath, name));

        /// <summary>True for an SR-IOV virtual function (sysfs links it to its physical function).</summary>
        public bool IsVirtualFunction => Directory.Exists(Path.Combine(SysfsPath, "physfn"));

        /// <summary>True for a physical function that offers SR-IOV virtual functions.</summary>
        public bool OffersVirtualFunctions => HasAttribute("sriov_totalvfs") && ReadDecimalAttribute("sriov_totalvfs") > 0;

        /// <summary>The physical function's address, for a virtual function.</summary>
        public string? PhysicalFunctionAddress => IsVirtualFunction ? new DirectoryInfo(Path.Combine(SysfsPath, "physfn")).ResolveLinkTarget(returnFinalTarget: true)?.Name : null;

        public int ReadDecimalAttribute(string name) => int.Parse(File.ReadAllText(Path.Combine(SysfsPath, name)).Trim(), NumberStyles.None, CultureInfo.InvariantCulture);

        public override string ToString() => Address;

        internal static int ParseHex(string text)
        {
            string trimmed = text.Trim();
            if (trimmed.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                trimmed = trimmed.Substring(2);
            }

            return int.Parse(trimmed, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// The devices tests/vfio-qemu/run.sh puts in the guest: edu, e1000e and nvme each behind a PCIe root port, a
    /// second edu on the root bus (no reset method, an option ROM), and two more edus behind a PCIe-to-PCI bridge (one
    /// IOMMU group, reset only together by a bus reset). Found by ID and topology, since bus numbers and IOMMU groups
    /// move whenever QEMU's command line changes.
    /// </summary>
    internal sealed class GuestMachine
    {
        public const int EduVendor = 0x1234;
        public const int EduDevice = 0x11e8;
        public const int E1000eVendor = 0x8086;
        public const int E1000eDevice = 0x10d3;
        public const int NvmeVendor = 0x1b36;
        public const int NvmeDevice = 0x0010;

        private const string DevicesFolder = "/sys/bus/pci/devices";

        private GuestMachine(IReadOnlyList<PciFunction> functions)
        {
            Functions = functions;
        }

        public IReadOnlyList<PciFunction> Functions { get; }

        public PciFunction Edu => Single(EduVendor, EduDevice, bridges: 1, "edu behind a root port");

        public PciFunction EduOnRootBus => Single(EduVendor, EduDevice, bridges: 0, "edu on the root bus");

        public PciFunction E1000e => Single(E1000eVendor, E1000eDevice, bridges: 1, "e1000e behind a root port");

        public PciFunction Nvme => Single(NvmeVendor, NvmeDevice, bridges: 1, "nvme behind a root port", sriov: false);

        /// <summary>The NVMe controller that offers SR-IOV (bound to nvme, which enabled its virtual functions).</summary>
        public PciFunction SriovNvme => Single(NvmeVendor, NvmeDevice, bridges: 1, "SR-IOV nvme behind a root port", sriov: true);

        /// <summary>The virtual functions /init enabled on <see cref="SriovNvme"/>, in address order.</summary>
        public IReadOnlyList<PciFunction> VirtualFunctions => Functions.Where(f => f.IsVirtualFunction).ToArray();

        /// <summary>The two edus behind the PCIe-to-PCI bridge, in address order.</summary>
        public IReadOnlyList<PciFunction> BridgedEdus
        {
            get
            {
                PciFunction[] found = Functions.Where(f => f.Vendor == EduVendor && f.Device == EduDevice && f.BridgeDepth == 2).ToArray();
                if (found.Length != 2)
                {
                    throw new GuestTestFailure(string.Format(CultureInfo.InvariantCulture, "expected two edus behind the PCIe-to-PCI bridge, found {0}: is this the guest tests/vfio-qemu/run.sh boots?", found.Length));
                }

                return found;
            }
        }

        /// <summary>The four functions under test, with the device policy each must select.</summary>
        public IEnumerable<(PciFunction Function, string DevicePolicy)> DevicesUnderTest()
        {
            yield return (Edu, "qemu-edu");
            yield return (E1000e, "qemu-e1000e");
            yield return (Nvme, "qemu-nvme");
            yield return (EduOnRootBus, "qemu-edu");
        }

        public static GuestMachine Discover()
        {
            if (!Directory.Exists(DevicesFolder))
            {
                throw new GuestTestFailure(DevicesFolder + " does not exist: sysfs is not mounted");
            }

            var functions = new List<PciFunction>();
            foreach (string path in Directory.GetDirectories(DevicesFolder).OrderBy(p => p, StringComparer.Ordinal))
            {
                string address = Path.GetFileName(path);
                string? driver = LinkName(Path.Combine(path, "driver"));
                string? group = LinkName(Path.Combine(path, "iommu_group"));
                // The device's real sysfs folder is /sys/devices/pci0000:00[/bridge...]/ADDRESS; every folder above it
                // that is itself a PCI address is a bridge the function sits behind.
                string real = new DirectoryInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
                int depth = 0;
                for (string? parent = Path.GetDirectoryName(real); parent is not null && IsPciAddress(Path.GetFileName(parent)); parent = Path.GetDirectoryName(parent))
                {
                    depth++;
                }

                functions.Add(new PciFunction(
                    address,
                    path,
                    PciFunction.ParseHex(File.ReadAllText(Path.Combine(path, "vendor"))),
                    PciFunction.ParseHex(File.ReadAllText(Path.Combine(path, "device"))),
                    driver,
                    group is null ? null : int.Parse(group, NumberStyles.None, CultureInfo.InvariantCulture),
                    depth));
            }

            return new GuestMachine(functions);
        }

        private PciFunction Single(int vendor, int device, int bridges, string what, bool sriov = false)
        {
            // Virtual functions are never the plain models; the SR-IOV controller is told apart by its capability.
            PciFunction[] found = Functions
                .Where(f => f.Vendor == vendor && f.Device == device && f.BridgeDepth == bridges && !f.IsVirtualFunction && f.OffersVirtualFunctions == sriov)
                .ToArray();
            if (found.Length != 1)
            {
                throw new GuestTestFailure(string.Format(
                    CultureInfo.InvariantCulture,
                    "expected exactly one {0} ({1:x4}:{2:x4}), found {3}: is this the guest tests/vfio-qemu/run.sh boots?",
                    what,
                    vendor,
                    device,
                    found.Length));
            }

            return found[0];
        }

        private static bool IsPciAddress(string name) => name.Length == 12 && name[4] == ':' && name[7] == ':' && name[10] == '.';

        private static string? LinkName(string link)
        {
            var info = new FileInfo(link);
            return info.LinkTarget is null ? null : Path.GetFileName(info.LinkTarget);
        }
    }
}
