using System.Globalization;
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
            string full = InputFiles.RequireFile(context, path, "device dump");
            string? physicalFunction = physicalFunctionPath is null ? null : InputFiles.RequireFile(context, physicalFunctionPath, "physical function dump");

            // A virtual function comes back as vfio-pci presents it (the PF's identity, pin 0, typed BARs).
            ConfigSpaceImage image = ConfigDumpReader.Load(full, slot, physicalFunction);
            ChainWalk walk = CapabilityWalker.Walk(image.Bytes);
            return new LoadedDevice(image, walk, context.Display(full));
        }
    }
}
