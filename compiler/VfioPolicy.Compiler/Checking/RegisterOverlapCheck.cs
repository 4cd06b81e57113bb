using System.Collections.Generic;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Binding;
using VfioPolicy.Compiler.Diagnostics;

namespace VfioPolicy.Compiler.Checking
{
    /// <summary>
    /// Two different registers of one block must not share bytes (VP0305), unless their conditions exclude each
    /// other: MSI's <c>MASK_32</c> (32-bit layout) and <c>DATA_64</c> (64-bit layout) share offset 0x0c but never
    /// exist on the same device.
    /// </summary>
    internal static class RegisterOverlapCheck
    {
        public static void Run(BoundPolicy policy, DiagnosticBag diagnostics)
        {
            foreach (BoundBlock block in policy.AllBlocks())
            {
                List<BoundRegister> registers = block.Registers;
                for (int later = 1; later < registers.Count; later++)
                {
                    for (int earlier = 0; earlier < later; earlier++)
                    {
                        BoundRegister a = registers[earlier];
                        BoundRegister b = registers[later];
                        bool shareBytes = a.Offset < b.Offset + b.Width && b.Offset < a.Offset + a.Width;
                        if (shareBytes && !Exclusive(a.Conditions, b.Conditions))
                        {
                            diagnostics.Report(
                                CompilerDiagnostics.OverlappingRegisters,
                                b.Span,
                                "register " + Describe(b, block) + " overlaps register " + Describe(a, block) + " from " + a.Origin.Location + " in " + block.Description
                                + Separation(a, b, block));
                            break;
                        }
                    }
                }
            }
        }

        /// <summary>
        /// How to make two overlapping registers exclusive: the opposite of one register's condition on the other
        /// (<c>when STATUS.CAP_LIST != 1</c>), so that no device has both. Without any condition to oppose, a reminder.
        /// </summary>
        private static string Separation(BoundRegister a, BoundRegister b, BoundBlock block)
        {
            (BoundRegister conditioned, BoundRegister other) = a.Conditions.Count > 0 ? (a, b) : (b, a);
            if (conditioned.Conditions.Count == 0)
            {
                return "; both exist on every device: give them conditions that separate the layouts (when FIELD = V on one, when FIELD != V on the other)";
            }

            RegisterCondition first = conditioned.Conditions[0];
            string opposite = ConditionNames.Describe(new[] { first with { NotEqual = !first.NotEqual } }.ToEquatableArray(), block.Catalogue);
            return "; both can exist on one device: 'when " + opposite + "' on the register at " + other.Origin.Location + " would separate them";
        }

        private static string Describe(BoundRegister register, BoundBlock block)
            => (register.Name.Length > 0 ? register.Name + " (" + Formatting.Hex(register.Offset) + " " + Formatting.WidthName(register.Width) + ")" : register.DisplayName)
               + (register.Conditions.Count > 0 ? " when " + ConditionNames.Describe(register.Conditions, block.Catalogue) : string.Empty);

        /// <summary>True when no device can satisfy both condition sets: some byte is required to hold different values, or to hold and not hold one value.</summary>
        public static bool Exclusive(EquatableArray<RegisterCondition> first, EquatableArray<RegisterCondition> second)
        {
            foreach (RegisterCondition a in first)
            {
                foreach (RegisterCondition b in second)
                {
                    if (a.Contradicts(b))
                    {
                        return true;
                    }
                }
            }

            return false;
        }
    }
}
