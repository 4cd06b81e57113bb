using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Pci
{
    // Sanity checks over the whole catalogue: the compiler binds register and field names against it, so a
    // transcription slip (an overlap, a misaligned offset, a field outside its register) would silently move rules.
    public class RegisterCatalogTests
    {
        private static readonly Regex Identifier = new Regex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant);

        [Fact]
        public void hardware_write_one_to_clear_bits_are_placed_where_the_device_has_them()
        {
            // The 82574L (QEMU e1000e): PM at 0xc8, MSI at 0xd0, PCI Express v1 at 0xe0, AER at 0x100. Expected masks
            // are pci_regs.h's RW1C status bits, written out here rather than read from the catalogue.
            string dump = Path.Combine(RepositoryPaths.Corpus, "qemu", "vm1_01-00.0_8086-10d3_82574l-gigabit-network-connection.xxxx.txt");
            byte[] config = ConfigDumpReader.Load(dump, null).Bytes;
            byte[] mask = RegisterCatalog.HardwareWriteOneToClear(config, CapabilityWalker.Walk(config).Capabilities);

            uint Word(int offset, int width)
            {
                uint value = 0;
                for (int b = width - 1; b >= 0; b--)
                {
                    value = (value << 8) | mask[offset + b];
                }

                return value;
            }

            Assert.Equal(0xF900u, Word(0x06, 2));          // PCI_STATUS: PARITY, SIG/REC_TARGET_ABORT, REC_MASTER_ABORT, SIG_SYSTEM_ERROR, DETECTED_PARITY
            Assert.Equal(0x8000u, Word(0xc8 + 4, 2));      // PCI_PM_CTRL_PME_STATUS
            Assert.Equal(0x000Fu, Word(0xe0 + 0x0a, 2));   // PCI_EXP_DEVSTA_CED | NFED | FED | URD
            Assert.Equal(0xC000u, Word(0xe0 + 0x12, 2));   // PCI_EXP_LNKSTA_LBMS | LABS
            Assert.Equal(0x03FF_F031u, Word(0x104, 4));     // PCI_ERR_UNCOR_STATUS
            Assert.Equal(0x0000_F1C1u, Word(0x110, 4));     // PCI_ERR_COR_STATUS
            Assert.Equal(0x0000_007Fu, Word(0x130, 4));     // PCI_ERR_ROOT_STATUS (reserved, so 0, on an endpoint)
            Assert.Equal(0u, Word(0x108, 4));               // UNCOR_MASK is plain read-write
            int marked = mask.Count(b => b != 0);
            Assert.Equal(1 + 1 + 1 + 1 + 4 + 2 + 1, marked); // nothing else on this device
        }

        public static IEnumerable<object[]> Blocks()
            => new[] { RegisterCatalog.Header }.Concat(RegisterCatalog.Capabilities).Select(b => new object[] { Describe(b) });

        [Theory]
        [MemberData(nameof(Blocks))]
        public void registers_have_a_valid_width_and_natural_alignment(string block)
        {
            foreach (RegisterInfo register in Find(block).Registers)
            {
                Assert.True(register.Width == 1 || register.Width == 2 || register.Width == 4, $"{block}.{register.Name}: width {register.Width}");
                Assert.True(register.Offset % register.Width == 0, $"{block}.{register.Name}: offset 0x{register.Offset:x} is not aligned to {register.Width}");
            }
        }

        [Theory]
        [MemberData(nameof(Blocks))]
        public void registers_stay_out_of_the_chain_bytes_and_inside_config_space(string block)
        {
            BlockCatalog catalog = Find(block);
            int first = catalog.Id < 0 ? 0x00 : catalog.Extended ? 0x04 : 0x02;
            int end = catalog.Id < 0 ? 0x40 : catalog.Extended ? 0x1000 - 0x100 : 0x100 - 0x40;
            foreach (RegisterInfo register in catalog.Registers)
            {
                Assert.True(register.Offset >= first, $"{block}.{register.Name} at 0x{register.Offset:x} overlaps the capability's ID/next-pointer bytes");
                Assert.True(register.Offset + register.Width <= end, $"{block}.{register.Name} ends beyond the block's space");
            }
        }

        [Theory]
        [MemberData(nameof(Blocks))]
        public void names_are_identifiers_and_unique(string block)
        {
            BlockCatalog catalog = Find(block);
            Assert.Matches(Identifier, catalog.Name);
            foreach (RegisterInfo register in catalog.Registers)
            {
                Assert.Matches(Identifier, register.Name);
                Assert.Single(catalog.Registers, r => r.Name == register.Name);
                foreach (FieldInfo field in register.Fields)
                {
                    Assert.Matches(Identifier, field.Name);
                    Assert.Single(register.Fields, f => f.Name == field.Name);
                }
            }
        }

        [Theory]
        [MemberData(nameof(Blocks))]
        public void fields_lie_inside_their_register_and_do_not_overlap(string block)
        {
            foreach (RegisterInfo register in Find(block).Registers)
            {
                uint seen = 0;
                foreach (FieldInfo field in register.Fields)
                {
                    Assert.True(field.LowBit >= 0 && field.LowBit <= field.HighBit, $"{block}.{register.Name}.{field.Name}: bits {field.LowBit}..{field.HighBit}");
                    Assert.True(field.HighBit < register.Width * 8, $"{block}.{register.Name}.{field.Name}: bit {field.HighBit} is outside a {register.Width}-byte register");
                    uint mask = Mask(field.LowBit, field.HighBit);
                    Assert.True((seen & mask) == 0, $"{block}.{register.Name}.{field.Name} overlaps another field");
                    seen |= mask;
                }
            }
        }

        [Theory]
        [MemberData(nameof(Blocks))]
        public void overlapping_registers_have_mutually_exclusive_conditions(string block)
        {
            IReadOnlyList<RegisterInfo> registers = Find(block).Registers;
            for (int i = 0; i < registers.Count; i++)
            {
                for (int j = i + 1; j < registers.Count; j++)
                {
                    RegisterInfo a = registers[i];
                    RegisterInfo b = registers[j];
                    bool overlap = a.Offset < b.Offset + b.Width && b.Offset < a.Offset + a.Width;
                    Assert.False(overlap && !MutuallyExclusive(a.Conditions, b.Conditions), $"{block}: {a.Name} and {b.Name} overlap and can exist together");
                }
            }
        }

        [Theory]
        [MemberData(nameof(Blocks))]
        public void conditions_test_bits_of_a_register_of_the_same_block(string block)
        {
            BlockCatalog catalog = Find(block);
            foreach (RegisterInfo register in catalog.Registers)
            {
                foreach (RegisterCondition condition in register.Conditions)
                {
                    Assert.Contains(catalog.Registers, r => r.Offset == condition.Offset && r.Width == condition.Width && r.Conditions.Count == 0);
                    Assert.True(condition.Mask != 0 && (condition.Mask & ~Mask(0, (condition.Width * 8) - 1)) == 0, $"{block}.{register.Name}: condition mask 0x{condition.Mask:x}");
                    Assert.True((condition.Value & ~condition.Mask) == 0, $"{block}.{register.Name}: condition value outside its mask");
                }
            }
        }

        [Theory]
        [MemberData(nameof(Blocks))]
        public void behaviors_name_registers_of_their_block(string block)
        {
            BlockCatalog catalog = Find(block);
            foreach ((Behavior behavior, string register) in catalog.Behaviors)
            {
                Assert.NotEqual(Behavior.None, behavior);
                Assert.NotNull(catalog.FindRegister(register));
                Assert.True(catalog.AllowsBehavior(behavior, register));
            }
        }

        [Fact]
        public void capability_names_and_ids_are_unique_per_chain()
        {
            foreach (bool extended in new[] { false, true })
            {
                List<BlockCatalog> chain = RegisterCatalog.Capabilities.Where(c => c.Extended == extended).ToList();
                Assert.Equal(chain.Count, chain.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count());
                Assert.Equal(chain.Count, chain.Select(c => c.Id).Distinct().Count());
                Assert.All(chain, c => Assert.InRange(c.Id, 1, extended ? 0xffff : 0xff));
            }
        }

        [Theory]
        [InlineData("PM", false, 0x01)]
        [InlineData("VPD", false, 0x03)]
        [InlineData("MSI", false, 0x05)]
        [InlineData("VNDR", false, 0x09)]
        [InlineData("SSVID", false, 0x0d)]
        [InlineData("EXP", false, 0x10)]
        [InlineData("MSIX", false, 0x11)]
        [InlineData("AF", false, 0x13)]
        [InlineData("ERR", true, 0x01)]
        [InlineData("DSN", true, 0x03)]
        [InlineData("VNDR", true, 0x0b)]
        [InlineData("ACS", true, 0x0d)]
        [InlineData("ARI", true, 0x0e)]
        [InlineData("ATS", true, 0x0f)]
        [InlineData("SRIOV", true, 0x10)]
        [InlineData("PRI", true, 0x13)]
        [InlineData("REBAR", true, 0x15)]
        [InlineData("LTR", true, 0x18)]
        [InlineData("PASID", true, 0x1b)]
        [InlineData("L1SS", true, 0x1e)]
        [InlineData("DVSEC", true, 0x23)]
        public void capabilities_carry_their_pci_regs_ids(string name, bool extended, int id)
        {
            Assert.Same(RegisterCatalog.FindCapability(name, extended), RegisterCatalog.FindCapability(id, extended));
            Assert.Equal(name, RegisterCatalog.FindCapability(id, extended)!.Name);
        }

        // The four MSI layouts of PCI Local Bus 3.0 figure 6-9: which registers exist, where.
        [Theory]
        [InlineData(false, false, "FLAGS@02 ADDRESS_LO@04 DATA_32@08")]
        [InlineData(false, true, "FLAGS@02 ADDRESS_LO@04 DATA_32@08 MASK_32@0c PENDING_32@10")]
        [InlineData(true, false, "FLAGS@02 ADDRESS_LO@04 ADDRESS_HI@08 DATA_64@0c")]
        [InlineData(true, true, "FLAGS@02 ADDRESS_LO@04 ADDRESS_HI@08 DATA_64@0c MASK_64@10 PENDING_64@14")]
        public void msi_registers_follow_the_four_layouts(bool address64, bool perVectorMask, string expected)
        {
            BlockCatalog msi = RegisterCatalog.FindCapability("MSI", extended: false)!;
            RegisterInfo flagsRegister = msi.FindRegister("FLAGS")!;
            uint flags = (address64 ? Bit(flagsRegister, "ADDR_64") : 0) | (perVectorMask ? Bit(flagsRegister, "MASKBIT") : 0);

            IEnumerable<string> present = msi.Registers
                .Where(r => r.Conditions.All(c => c.Offset == flagsRegister.Offset && (flags & c.Mask) == c.Value))
                .OrderBy(r => r.Offset)
                .Select(r => r.Name + "@" + r.Offset.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));

            Assert.Equal(expected, string.Join(" ", present));
        }

        [Theory]
        [InlineData("header", "COMMAND", "INTX_DISABLE", 0x04, 2, 10, 10)]
        [InlineData("EXP", "DEVCTL", "BCR_FLR", 0x08, 2, 15, 15)]
        [InlineData("EXP", "DEVSTA", "TRPND", 0x0a, 2, 5, 5)]
        [InlineData("EXP", "LNKCTL2", "TLS", 0x30, 2, 0, 3)]
        [InlineData("MSIX", "FLAGS", "MASKALL", 0x02, 2, 14, 14)]
        [InlineData("PM", "CTRL", "STATE", 0x04, 2, 0, 1)]
        [InlineData("AF", "CTRL", "FLR", 0x04, 1, 0, 0)]
        [InlineData("ERR", "UNCOR_STATUS", "UNSUP", 0x04, 4, 20, 20)]
        [InlineData("ERR", "COR_STATUS", "LOG_OVER", 0x10, 4, 15, 15)]
        [InlineData("ERR", "ROOT_STATUS", "AER_IRQ", 0x30, 4, 27, 31)]
        [InlineData("ATS", "CTRL", "ENABLE", 0x06, 2, 15, 15)]
        [InlineData("SRIOV", "CTRL", "MSE", 0x08, 2, 3, 3)]
        [InlineData("REBAR", "CTRL_5", "BAR_SIZE", 0x30, 4, 8, 13)]
        [InlineData("L1SS", "CTL1", "LTR_L12_TH_SCALE", 0x08, 4, 29, 31)]
        public void spot_checks_against_pci_regs(string block, string register, string field, int offset, int width, int low, int high)
        {
            RegisterInfo info = Find(block == "header" ? "header" : Describe(RegisterCatalog.Capabilities.First(c => c.Name == block))).FindRegister(register)!;
            Assert.Equal((offset, width), (info.Offset, info.Width));
            FieldInfo found = info.FindField(field)!;
            Assert.Equal((field, low, high), (found.Name, found.LowBit, found.HighBit));
        }

        [Fact]
        public void aer_header_log_is_four_dwords_between_cap_and_root_command()
        {
            BlockCatalog aer = RegisterCatalog.FindCapability("ERR", extended: true)!;
            Assert.Equal(new[] { 0x1c, 0x20, 0x24, 0x28 }, Enumerable.Range(0, 4).Select(i => aer.FindRegister("HEADER_LOG_" + i)!.Offset));
            Assert.Equal(0x18 + 4, aer.FindRegister("HEADER_LOG_0")!.Offset);
            Assert.Equal(0x28 + 4, aer.FindRegister("ROOT_COMMAND")!.Offset);
        }

        [Fact]
        public void the_catalogue_document_lists_every_block_and_register()
        {
            string document = File.ReadAllText(CatalogueDocument());
            foreach (BlockCatalog block in new[] { RegisterCatalog.Header }.Concat(RegisterCatalog.Capabilities))
            {
                string heading = block.Id < 0 ? "## Header" : (block.Extended ? "## Extended " : "## Capability ") + block.Name + " ";
                int start = document.IndexOf(heading, StringComparison.Ordinal);
                Assert.True(start >= 0, $"docs/catalogue.md has no section starting '{heading}'");
                int end = document.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
                string section = end < 0 ? document.Substring(start) : document.Substring(start, end - start);
                foreach (RegisterInfo register in block.Registers)
                {
                    string row = $"| 0x{register.Offset:x2} | u{register.Width * 8} | `{register.Name}` |";
                    Assert.True(section.Contains(row, StringComparison.Ordinal), $"docs/catalogue.md section '{heading.Trim()}' lacks the row '{row}'");
                }
            }
        }

        private static string Describe(BlockCatalog block) => block.Id < 0 ? "header" : (block.Extended ? "extended " : "standard ") + block.Name;

        private static BlockCatalog Find(string description)
            => new[] { RegisterCatalog.Header }.Concat(RegisterCatalog.Capabilities).Single(b => Describe(b) == description);

        private static uint Mask(int low, int high) => (high >= 31 ? uint.MaxValue : (1u << (high + 1)) - 1) & ~((1u << low) - 1);

        private static uint Bit(RegisterInfo register, string field)
        {
            FieldInfo info = register.FindField(field)!;
            Assert.Equal(info.LowBit, info.HighBit);
            return 1u << info.LowBit;
        }

        // Two registers can never coexist when some bit is tested by both with different required values.
        private static bool MutuallyExclusive(IReadOnlyList<RegisterCondition> a, IReadOnlyList<RegisterCondition> b)
            => a.Any(x => b.Any(y => x.Offset == y.Offset && x.Width == y.Width && ((x.Value ^ y.Value) & x.Mask & y.Mask) != 0));

        // Found from this source file rather than the build output: artifacts may live outside the repository.
        private static string CatalogueDocument([CallerFilePath] string thisFile = "")
            => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", "..", "docs", "catalogue.md"));
    }
}
