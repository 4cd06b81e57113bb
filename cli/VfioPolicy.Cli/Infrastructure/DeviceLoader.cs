using System.Globalization;
using System.IO;
using VfioPolicy.AccessModel.Devices;

namespace VfioPolicy.Cli.Infrastructure
{
    /// <summary>A device dump loaded and walked.</summary>
    /// <param name="Image">The config-space bytes.</param>
    /// <param name="Walk">Both capability chains.</param>
    /// <param name="DisplayPath">The dump's path as printed.</param>
    public sealed record LoadedDevice(ConfigSpaceImage Image, ChainWalk Walk, string DisplayPath)
    {
        /// <summary>One line naming the device: slot, lspci's description, size and dump file.</summary>
        public string Title
        {
            get
            {
                string slot = Image.Slot ?? "(no slot)";
                string description = string.IsNullOrEmpty(Image.Description) ? string.Empty : " " + Image.Description;
                return string.Format(CultureInfo.InvariantCulture, "device {0}{1}, {2} bytes, from {3}", slot, description, Image.Size, DisplayPath);
            }
        }
    }

    /// <summary>Loads <c>--device</c>/<c>--slot</c> (and <c>--pf</c> for a virtual function dumped alone).</summary>
    public static class DeviceLoader
    {
        /// <summary>Reads the dump and walks its chains.</summary>
        /// <exception cref="CommandFailedException">The file does not exist.</exception>
        /// <exception cref="DeviceDumpException">The dump is malformed or has no device at the slot.</exception>
        public static LoadedDevice Load(CliContext context, string path, string? slot, string? physicalFunctionPath = null)
        {
            if (TryLoadLive(context, path, physicalFunctionPath, out LoadedDevice? live))
            {
                return live!;
            }

            string full = InputFiles.RequireFile(context, path, "device dump");
            string? physicalFunction = physicalFunctionPath is null ? null : InputFiles.RequireFile(context, physicalFunctionPath, "physical function dump");

            // A virtual function comes back as vfio-pci presents it (the PF's identity, pin 0, typed BARs).
            ConfigSpaceImage image = ConfigDumpReader.Load(full, slot, physicalFunction);
            ChainWalk walk = CapabilityWalker.Walk(image.Bytes);
            return new LoadedDevice(image, walk, context.Display(full));
        }

        /// <summary>
        /// <c>--device 0000:01:00.0</c> (or <c>01:00.0</c>): the function's live config space from sysfs, when no file of
        /// that name exists. A virtual function comes with its physical function (sysfs' <c>physfn</c> link), so it is
        /// presented as vfio-pci presents it. Unprivileged reads get only the 64-byte header, as lspci does.
        /// </summary>
        private static bool TryLoadLive(CliContext context, string path, string? physicalFunctionPath, out LoadedDevice? loaded)
        {
            loaded = null;
            if (File.Exists(context.Resolve(path)) || !ConfigDumpReader.TryNormalizeSlot(path, out string address))
            {
                return false;
            }

            string function = Path.Combine(context.SysfsPciDevices, address);
            string config = Path.Combine(function, "config");
            if (!File.Exists(config))
            {
                throw new CommandFailedException("no PCI function " + address + " (looked for " + config + "); to read a dump file of that name, write ./" + path);
            }

            string? physicalFunction = physicalFunctionPath is null ? null : InputFiles.RequireFile(context, physicalFunctionPath, "physical function dump");
            string physfn = Path.Combine(function, "physfn", "config");
            if (physicalFunction is null && File.Exists(physfn))
            {
                physicalFunction = physfn;
            }

            ConfigSpaceImage raw = ConfigDumpReader.Load(config, null, physicalFunction);
            var image = new ConfigSpaceImage(raw.Bytes, address, raw.Description ?? "(live, from sysfs)");
            loaded = new LoadedDevice(image, CapabilityWalker.Walk(image.Bytes), config);
            return true;
        }
    }
}
