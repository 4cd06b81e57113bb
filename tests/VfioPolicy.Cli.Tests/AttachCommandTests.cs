using System.IO;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Cli.Commands;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Simulation;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    public sealed class AttachCommandTests
    {
        [Fact]
        public void Attach_to_a_device_that_does_not_exist_fails_with_one_clear_line()
        {
            CliRun run = CliRunner.Run("attach", "0000:7f:1f.7", "--policy", "policies/strict.vfiopolicy");
            Assert.Equal(2, run.ExitCode);
            run.AssertOneLineError("no PCI device at /sys/bus/pci/devices/0000:7f:1f.7");
        }

        [Fact]
        public void Render_shows_regions_with_their_access_paths_interrupts_capabilities_and_the_header()
        {
            PolicyModel strict = PolicyCompiler.Compile(Path.Combine(RepositoryPaths.Policies, "strict.vfiopolicy"), new FileSystemPolicySource()).Model!;
            byte[] image = ConfigDumpReader.Load(RepositoryPaths.InRepository("policies/dumps/qemu-edu.lspci-xxx.txt"), null).Bytes;
            var edu = new SimulatedPciDevice("0000:01:00.0", image);
            edu.Bars[0] = new SimulatedBar(0x100000, model: new SimulatedEduModel());
            using VfioDevice device = VfioDevice.Open("01:00.0", strict, new SimulatedVfioKernel(edu));

            string text = AttachCommand.Render(device);

            Assert.Contains("device 0000:01:00.0 (IOMMU group 5), 1234:11e8 class 00ff00, policy \"strict\"", text);
            Assert.Contains("opened through the group/container API: iommufd is not available (/dev/iommu does not exist: the kernel was built without CONFIG_IOMMUFD", text);
            Assert.Contains("IOMMU: page sizes 0x40201000, IOVA ranges [0x0, 0xfedfffff] [0xfef00000, 0x7fffffffff], 65535 DMA mappings available", text);
            Assert.Contains("BAR0   size 0x100000 mem32", text);
            Assert.Contains("0x0-0xfffff mapped", text);
            Assert.Contains("MSI    1 vector(s)", text);
            Assert.Contains("current mode: Intx", text);
            Assert.Contains("0x040 MSI", text);
            Assert.Contains("  00: 11e81234 00100100 00ff0010 00000000", text);
        }
    }
}
