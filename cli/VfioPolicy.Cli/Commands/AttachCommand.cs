using System;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using System.Text;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.Serving;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Cli.Commands
{
    /// <summary>
    /// <c>attach ADDRESS --policy P</c>: opens a real device through vfio-pci behind the policy's firewall (the
    /// interpreter runs the policy) and prints what a consumer sees: regions and how they are reached, interrupts,
    /// capabilities, and the config header as read through the firewall.
    /// </summary>
    public static class AttachCommand
    {
        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            var address = new Argument<string>("address") { Description = "PCI address (DDDD:BB:DD.F or BB:DD.F) or sysfs path of a device bound to vfio-pci, or vfio-user:SOCKET for a device a vfio-user server serves" };
            Option<string> policy = CommonOptions.Policy();
            var command = new Command("attach", "Open a real device through vfio-pci behind the policy's firewall and print what the consumer sees")
            {
                address,
                policy,
            };
            command.SetAction(parseResult =>
            {
                PolicyModel model = PolicyLoader.Load(context, parseResult.GetValue(policy)!);
                try
                {
                    using DeviceKernel target = DeviceKernel.For(parseResult.GetValue(address)!, new LinuxVfioKernel(), context.Resolve);
                    using VfioDevice device = VfioDevice.Open(target.Address, model, target.Kernel);
                    context.Output.Write(Render(device));
                }
                catch (VfioException error)
                {
                    throw new CommandFailedException(error.Message);
                }

                return ExitCodes.Success;
            });
            return command;
        }

        /// <summary>What the consumer sees of an open device, as text.</summary>
        public static string Render(VfioDevice device)
        {
            if (device is null)
            {
                throw new ArgumentNullException(nameof(device));
            }

            var text = new StringBuilder();
            text.AppendLine(Format("device {0} (IOMMU group {1}), {2:x4}:{3:x4} class {4:x6}, policy \"{5}\"", device.Address, device.IommuGroup, device.Identity.Vendor, device.Identity.Device, device.Identity.ClassCode, device.Firewall.PolicyName));
            text.AppendLine(Format("opened through {0}: {1}", device.OpenPath == VfioOpenPath.Iommufd ? "iommufd and the device cdev" : "the group/container API", device.Container.OpenPathReason));
            if (device.Container.IommuInfo is { } iommu)
            {
                text.AppendLine(Format("IOMMU: page sizes 0x{0:x}, IOVA ranges {1}{2}", iommu.PageSizes, iommu.IovaRanges.Count == 0 ? "(not reported)" : string.Join(" ", iommu.IovaRanges), iommu.DmaMappingLimit is int limit ? Format(", {0} DMA mappings available", limit) : string.Empty));
            }

            text.AppendLine(Format("config space {0} bytes; reset {1}", device.ConfigSize, device.CanReset ? "supported" : "only by a bus reset, if every function it reaches is ours"));
            text.AppendLine("regions:");
            foreach (VfioRegionInfo region in device.Regions)
            {
                VfioBar? bar = device.Bars.FirstOrDefault(b => b.Index == region.Index);
                string name = region.Name;
                string kind = bar is null ? string.Empty : bar.IsRom ? " rom" : bar.IsIo ? " io" : (bar.Is64Bit ? " mem64" : " mem32") + (bar.IsPrefetchable ? " prefetchable" : string.Empty);
                text.AppendLine(Format("  {0,-6} size 0x{1:x}{2}  flags {3}{4}", name, region.Size, kind, region.Flags, region.MsixMappable ? ", MSI-X mappable" : string.Empty));
                if (bar is not null)
                {
                    foreach (BarRange range in bar.Layout)
                    {
                        text.AppendLine(Format("         0x{0:x}-0x{1:x} {2}", range.Offset, range.Offset + range.Size - 1, range.Path.ToString().ToLowerInvariant()));
                    }
                }
            }

            text.AppendLine("interrupts:");
            foreach (VfioIrqInfo irq in device.Irqs)
            {
                string name = irq.Index switch
                {
                    VfioConstants.IntxIrqIndex => "INTx",
                    VfioConstants.MsiIrqIndex => "MSI",
                    VfioConstants.MsixIrqIndex => "MSI-X",
                    VfioConstants.ErrIrqIndex => "ERR",
                    VfioConstants.ReqIrqIndex => "REQ",
                    _ => "index " + irq.Index.ToString(CultureInfo.InvariantCulture),
                };
                text.AppendLine(Format("  {0,-6} {1} vector(s)  flags {2}", name, irq.Count, irq.Flags));
            }

            text.AppendLine(Format("  current mode: {0}", device.InterruptMode));
            text.AppendLine("capabilities (as bound):");
            foreach (BoundCapability capability in device.Binding.Capabilities)
            {
                text.AppendLine(Format("  0x{0:x3} {1}{2}", capability.Info.Offset, capability.Info.Name, capability.Hidden ? " (hidden)" : string.Empty));
            }

            text.AppendLine("header through the firewall:");
            for (int offset = 0; offset < 0x40; offset += 16)
            {
                var line = new StringBuilder(Format("  {0:x2}:", offset));
                for (int dword = offset; dword < offset + 16; dword += 4)
                {
                    line.Append(device.TryReadConfig(dword, 4, out uint value) == AccessModel.Contracts.AccessStatus.Ok ? Format(" {0:x8}", value) : " ????????");
                }

                text.AppendLine(line.ToString());
            }

            foreach (string warning in device.Warnings)
            {
                text.AppendLine("warning: " + warning);
            }

            return text.ToString();
        }

        private static string Format(string format, params object[] args) => string.Format(CultureInfo.InvariantCulture, format, args);
    }
}
