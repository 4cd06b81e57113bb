using System;
using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.AccessModel.Pci
{
    /// <summary>A named bit range of a catalogue register (<c>PCI_COMMAND_MEMORY</c> is <c>MEMORY</c>, bit 1).</summary>
    /// <param name="Name">Name without the register's prefix.</param>
    /// <param name="LowBit">Lowest bit, 0-based within the register.</param>
    /// <param name="HighBit">Highest bit, inclusive.</param>
    /// <param name="HardwareWriteOneToClear">The specification makes these bits write-1-to-clear in hardware (RW1C, RW1CS): status bits a written 1 clears.</param>
    public sealed record FieldInfo(string Name, int LowBit, int HighBit, bool HardwareWriteOneToClear = false)
    {
        /// <summary>The field's bits as a mask over its register.</summary>
        public uint Mask => Semantics.BitSemantics.RangeMask(LowBit, HighBit);
    }

    /// <summary>A register the PCI specification and <c>pci_regs.h</c> name, at its offset within its block.</summary>
    /// <param name="Name">Name without the <c>PCI_</c>/capability prefix (<c>COMMAND</c>, <c>DATA_64</c>).</param>
    /// <param name="Offset">Absolute for the header, relative for capabilities.</param>
    /// <param name="Width">1, 2 or 4 bytes.</param>
    /// <param name="Fields">Named fields.</param>
    /// <param name="Conditions">When the register exists (MSI layouts); empty means always.</param>
    public sealed record RegisterInfo(string Name, int Offset, int Width, IReadOnlyList<FieldInfo> Fields, IReadOnlyList<RegisterCondition> Conditions)
    {
        /// <summary>The field named <paramref name="name"/>, or null.</summary>
        public FieldInfo? FindField(string name) => Fields.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.Ordinal));
    }

    /// <summary>The registers of one block: the header or one capability.</summary>
    /// <param name="Name">Catalogue name (<c>MSI</c>, <c>EXP</c>; <c>header</c> for the header).</param>
    /// <param name="Id">Capability ID (-1 for the header).</param>
    /// <param name="Extended">True for extended capabilities.</param>
    /// <param name="Registers">Named registers.</param>
    /// <param name="Behaviors">Which behavior may own which register of this block (by register name).</param>
    public sealed record BlockCatalog(string Name, int Id, bool Extended, IReadOnlyList<RegisterInfo> Registers, IReadOnlyList<(Behavior Behavior, string Register)> Behaviors)
    {
        /// <summary>The register named <paramref name="name"/>, or null.</summary>
        public RegisterInfo? FindRegister(string name) => Registers.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.Ordinal));

        /// <summary>True when <paramref name="behavior"/> may own the register named <paramref name="register"/> (or at its offset).</summary>
        public bool AllowsBehavior(Behavior behavior, string register) => Behaviors.Any(b => b.Behavior == behavior && string.Equals(b.Register, register, StringComparison.Ordinal));
    }

    /// <summary>
    /// PCI knowledge the compiler binds names against: the type-0 header and every capability with named registers.
    /// Names follow <c>linux/pci_regs.h</c> without the prefix.
    /// </summary>
    public static partial class RegisterCatalog
    {
        /// <summary>The type-0 header (0x00–0x3F).</summary>
        public static BlockCatalog Header => HeaderBlock;

        /// <summary>Every capability block the catalogue knows, standard and extended.</summary>
        public static IReadOnlyList<BlockCatalog> Capabilities => CapabilityBlocks;

        /// <summary>The capability named <paramref name="name"/> in the given chain, or null.</summary>
        public static BlockCatalog? FindCapability(string name, bool extended)
            => CapabilityBlocks.FirstOrDefault(c => c.Extended == extended && string.Equals(c.Name, name, StringComparison.Ordinal));

        /// <summary>The capability with <paramref name="id"/> in the given chain, or null.</summary>
        public static BlockCatalog? FindCapability(int id, bool extended)
            => CapabilityBlocks.FirstOrDefault(c => c.Extended == extended && c.Id == id);

        /// <summary>
        /// Per byte of <paramref name="config"/>, the bits the catalogue says are write-1-to-clear in hardware, at every
        /// place the device has them: the header's Status error bits and the status registers of every capability in
        /// <paramref name="capabilities"/> (as the chain walk found them) (a register counts where its conditions hold and it lies inside the
        /// capability). What a real device does to a written 1, whatever a policy says about the bit.
        /// </summary>
        public static byte[] HardwareWriteOneToClear(ReadOnlySpan<byte> config, IEnumerable<Devices.CapabilityInfo> capabilities)
        {
            if (capabilities is null)
            {
                throw new ArgumentNullException(nameof(capabilities));
            }

            var mask = new byte[config.Length];
            Mark(mask, config, HeaderBlock, 0, Math.Min(0x40, config.Length));
            foreach (Devices.CapabilityInfo capability in capabilities)
            {
                BlockCatalog? block = FindCapability(capability.Id, capability.Extended);
                if (block is not null)
                {
                    Mark(mask, config, block, capability.Offset, (int)Math.Min(config.Length, (long)capability.Offset + capability.Length));
                }
            }

            return mask;
        }

        private static bool AllHold(IReadOnlyList<RegisterCondition> conditions, ReadOnlySpan<byte> config, int start)
        {
            foreach (RegisterCondition condition in conditions)
            {
                if (!condition.Holds(config, start))
                {
                    return false;
                }
            }

            return true;
        }

        private static void Mark(byte[] mask, ReadOnlySpan<byte> config, BlockCatalog block, int start, int end)
        {
            foreach (RegisterInfo register in block.Registers)
            {
                int at = start + register.Offset;
                if (at < 0 || at + register.Width > end || !AllHold(register.Conditions, config, start))
                {
                    continue;
                }

                foreach (FieldInfo field in register.Fields)
                {
                    if (!field.HardwareWriteOneToClear)
                    {
                        continue;
                    }

                    for (int bit = field.LowBit; bit <= field.HighBit; bit++)
                    {
                        mask[at + (bit / 8)] |= (byte)(1 << (bit % 8));
                    }
                }
            }
        }
    }
}
