using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Compiler.Tests.Library
{
    /// <summary>What the library's base policies do with capabilities QEMU also treats specially.</summary>
    public sealed class StrictPolicyTests
    {
        private const int Rebar = 0x15;

        private static PolicyModel Compile(string file)
        {
            CompilationResult result = PolicyCompiler.Compile(Path.Combine(RepositoryPaths.Policies, file), new FileSystemPolicySource());
            Assert.True(result.Model != null && result.Diagnostics.Count == 0, string.Join("\n", result.Diagnostics));
            return result.Model!;
        }

        // The GPU-class function of the pciutils dump: REBAR at 0x200, one BAR, after other extended capabilities.
        private static byte[] RebarDevice() => ConfigDumpReader.Load(Path.Combine(RepositoryPaths.Corpus, "pciutils", "cap-rebar.txt"), "09:00.0").Bytes;

        [Fact]
        public void Strict_hides_resizable_bar_unlinks_it_and_denies_its_body()
        {
            byte[] config = RebarDevice();
            BoundConfigSpace bound = DeviceBinder.Bind(Compile("strict.vfiopolicy"), config);
            BoundCapability rebar = Assert.Single(bound.Capabilities, c => c.Info.Extended && c.Info.Id == Rebar);
            Assert.True(rebar.Hidden);

            // No visible next pointer leads to it, and every byte of it reads 0 and drops writes.
            foreach (BoundCapability visible in bound.Capabilities.Where(c => c.Info.Extended && !c.Hidden))
            {
                uint header = 0;
                for (int b = 3; b >= 0; b--)
                {
                    header = (header << 8) | bound.ResetValue[visible.Info.Offset + b];
                }

                Assert.NotEqual(rebar.Info.Offset, (int)(header >> 20));
            }

            for (int offset = rebar.Info.Offset; offset < rebar.Info.Offset + rebar.Info.Length; offset++)
            {
                Assert.Equal(0xFF, bound.DenyMask[offset]);
                Assert.Equal(0x00, bound.ResetValue[offset]);
                Assert.Equal(0x00, bound.WriteMask[offset]);
            }
        }

        [Fact]
        public void Linux_vfio_default_keeps_resizable_bar_visible_and_read_only_as_the_kernel_does()
        {
            byte[] config = RebarDevice();
            BoundConfigSpace bound = DeviceBinder.Bind(Compile("linux-vfio-default.vfiopolicy"), config);
            BoundCapability rebar = Assert.Single(bound.Capabilities, c => c.Info.Extended && c.Info.Id == Rebar);
            Assert.False(rebar.Hidden);
            int control = rebar.Info.Offset + 8;
            Assert.Equal(0x00, bound.VirtMask[control]);
            Assert.Equal(0x00, bound.WriteMask[control]);
        }
    }
}
