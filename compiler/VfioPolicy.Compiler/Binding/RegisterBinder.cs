using System;
using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Compiler.Diagnostics;
using VfioPolicy.Compiler.Loading;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Compiler.Binding
{
    /// <summary>
    /// Binds one <c>register</c> statement of a block: resolves its offset and width (catalogue or explicit), its
    /// conditions and behavior, merges it with earlier declarations of the same register, and appends its rules.
    /// A register is identified by its offset and its conditions, so the MSI layouts that share an offset under
    /// exclusive conditions stay separate registers.
    /// </summary>
    internal sealed class RegisterBinder
    {
        private readonly DiagnosticBag _diagnostics;

        public RegisterBinder(DiagnosticBag diagnostics) => _diagnostics = diagnostics;

        public void Bind(LoadedFile file, BoundBlock block, RegisterStatement statement)
        {
            if (!TryResolveRegister(block, statement.Register, out int offset, out int width, out string name, out RegisterInfo? info))
            {
                return;
            }

            uint fullMask = width >= 4 ? uint.MaxValue : (1u << (width * 8)) - 1;
            uint chainMask = ChainMask(block, offset, width);
            if (chainMask == fullMask && !ChainLinkRules.MayCoverLinkBits(statement))
            {
                _diagnostics.Report(CompilerDiagnostics.ChainBytes, statement.Register.Span, "register " + Describe(name, offset, width) + " lies in the capability's ID and next pointer, which belong to the chain; " + ChainLinkRules.WhatMayCoverThem);
                return;
            }

            if (!TryBindConditions(block, statement.Conditions, info, out EquatableArray<RegisterCondition> conditions))
            {
                return;
            }

            if (name.Length == 0)
            {
                info = FindSpelledRegister(block, offset, width, conditions);
                name = info?.Name ?? string.Empty;
            }

            RuleOrigin origin = file.OriginOf(statement);
            BoundRegister? register = FindOrAdd(block, statement, offset, width, name, conditions, origin, chainMask, ChainLinkRules.IdMask(block, offset, width));
            if (register == null)
            {
                return;
            }

            if (statement.Behavior != null)
            {
                BindBehavior(block, register, info, statement.Behavior, file);
            }

            BindRules(file, register, info, statement);
        }

        private bool TryResolveRegister(BoundBlock block, RegisterRef reference, out int offset, out int width, out string name, out RegisterInfo? info)
        {
            offset = 0;
            width = 0;
            name = string.Empty;
            info = null;
            if (reference.Offset == null || reference.Width == null)
            {
                if (reference.Name == null)
                {
                    return false;
                }

                info = block.Catalogue?.FindRegister(reference.Name.Text);
                if (info == null)
                {
                    string hint = block.Catalogue == null || block.Catalogue.Registers.Count == 0
                        ? block.Description + " has no catalogue registers; declare it as 'register OFFSET WIDTH " + reference.Name.Text + "'"
                        : "see docs/catalogue.md for the registers of " + block.Description + RegisterHint(block, reference.Name.Text);
                    _diagnostics.Report(CompilerDiagnostics.UnknownRegister, reference.Name.Span, "unknown register '" + reference.Name.Text + "' in " + block.Description + "; " + hint);
                    return false;
                }

                offset = info.Offset;
                width = info.Width;
                name = info.Name;
                return true;
            }

            switch (reference.Width.Text)
            {
                case "u8":
                    width = 1;
                    break;
                case "u16":
                    width = 2;
                    break;
                case "u32":
                    width = 4;
                    break;
                default:
                    _diagnostics.Report(CompilerDiagnostics.UnknownWidth, reference.Width.Span, "unknown register width '" + reference.Width.Text + "'; expected u8, u16 or u32");
                    return false;
            }

            ulong requested = reference.Offset.Value;
            if (requested < (ulong)block.LowestOffset || requested > (ulong)(block.EndOffset - width))
            {
                _diagnostics.Report(
                    CompilerDiagnostics.RegisterOutsideBlock,
                    reference.Offset.Span,
                    "register " + reference.Offset.Text + " " + reference.Width.Text + " lies outside " + block.Description + " (" + Formatting.Hex(block.LowestOffset) + ".." + Formatting.Hex(block.EndOffset - 1) + ")");
                return false;
            }

            offset = (int)requested;
            if (offset % width != 0)
            {
                _diagnostics.Report(CompilerDiagnostics.MisalignedRegister, reference.Offset.Span, "offset " + reference.Offset.Text + " is not aligned to the register width (" + reference.Width.Text + ")");
                return false;
            }

            if (reference.Name != null)
            {
                name = reference.Name.Text;
                info = block.Catalogue?.FindRegister(name);
                if (info != null && (info.Offset != offset || info.Width != width))
                {
                    _diagnostics.Report(
                        CompilerDiagnostics.CatalogueMismatch,
                        reference.Name.Span,
                        "register " + name + " is " + Formatting.Hex(info.Offset) + " " + Formatting.WidthName(info.Width) + " in the catalogue, not " + Formatting.Hex(offset) + " " + Formatting.WidthName(width));
                    return false;
                }

                return true;
            }

            return true;
        }

        /// <summary>
        /// The catalogue register an unnamed declaration spells: the one at the same offset and width with the same
        /// conditions, else the only one there if it has none (conditions of the declaration then narrow it).
        /// The catalogue name is not a different register, only another spelling of it.
        /// </summary>
        private static RegisterInfo? FindSpelledRegister(BoundBlock block, int offset, int width, EquatableArray<RegisterCondition> conditions)
        {
            RegisterInfo[] candidates = (block.Catalogue?.Registers ?? new RegisterInfo[0]).Where(r => r.Offset == offset && r.Width == width).ToArray();
            RegisterInfo[] sameConditions = candidates.Where(r => NormalizeConditions(r.Conditions).Equals(conditions)).ToArray();
            if (sameConditions.Length == 1)
            {
                return sameConditions[0];
            }

            return candidates.Length == 1 && candidates[0].Conditions.Count == 0 ? candidates[0] : null;
        }

        /// <summary>
        /// Equalities on one register merge into one (masks and values combined); inequalities stay apart (two fields
        /// that must each differ are not one pair that must differ) and only lose duplicates. Sorted, so equal
        /// requirements compare equal however they were spelled.
        /// </summary>
        internal static EquatableArray<RegisterCondition> NormalizeConditions(IEnumerable<RegisterCondition> conditions)
        {
            RegisterCondition[] all = conditions.ToArray();
            IEnumerable<RegisterCondition> equalities = all
                .Where(c => !c.NotEqual)
                .GroupBy(c => (c.Offset, c.Width))
                .Select(g => new RegisterCondition(g.Key.Offset, g.Key.Width, g.Aggregate(0u, (mask, c) => mask | c.Mask), g.Aggregate(0u, (value, c) => value | (c.Value & c.Mask))));
            IEnumerable<RegisterCondition> inequalities = all
                .Where(c => c.NotEqual)
                .Select(c => c with { Value = c.Value & c.Mask })
                .Distinct();
            return equalities.Concat(inequalities)
                .OrderBy(c => c.Offset).ThenBy(c => c.Width).ThenBy(c => c.NotEqual).ThenBy(c => c.Mask).ThenBy(c => c.Value)
                .ToEquatableArray();
        }

        private static uint ChainMask(BoundBlock block, int offset, int width)
        {
            uint mask = 0;
            for (int i = 0; i < width; i++)
            {
                if (offset + i < block.ChainBytes)
                {
                    mask |= 0xffu << (i * 8);
                }
            }

            return mask;
        }

        private bool TryBindConditions(BoundBlock block, IReadOnlyList<ConditionSyntax> syntax, RegisterInfo? info, out EquatableArray<RegisterCondition> conditions)
        {
            var bound = new List<RegisterCondition>(info?.Conditions ?? new RegisterCondition[0]);
            bool valid = true;
            foreach (ConditionSyntax condition in syntax)
            {
                RegisterInfo? tested = block.Catalogue?.FindRegister(condition.Register.Text);
                if (tested == null)
                {
                    _diagnostics.Report(CompilerDiagnostics.UnknownRegister, condition.Register.Span, "unknown register '" + condition.Register.Text + "' in " + block.Description + "; a condition tests a catalogue register's field" + RegisterHint(block, condition.Register.Text));
                    valid = false;
                    continue;
                }

                FieldInfo? field = tested.FindField(condition.Field.Text);
                if (field == null)
                {
                    _diagnostics.Report(CompilerDiagnostics.UnknownField, condition.Field.Span, "register " + tested.Name + " has no field '" + condition.Field.Text + "'" + NameSuggestions.Hint(condition.Field.Text, tested.Fields.Select(f => f.Name)));
                    valid = false;
                    continue;
                }

                int bits = field.HighBit - field.LowBit + 1;
                ulong limit = bits >= 32 ? uint.MaxValue : (1UL << bits) - 1;
                if (condition.Value.Value > limit)
                {
                    _diagnostics.Report(CompilerDiagnostics.ValueTooWide, condition.Value.Span, "value " + condition.Value.Text + " does not fit in field " + tested.Name + "." + field.Name + " (" + Formatting.Bits(MaskOf(field.LowBit, field.HighBit)) + ")");
                    valid = false;
                    continue;
                }

                var required = new RegisterCondition(tested.Offset, tested.Width, MaskOf(field.LowBit, field.HighBit), (uint)condition.Value.Value << field.LowBit, condition.NotEqual);
                RegisterCondition? contradicted = bound.FirstOrDefault(c => c.Contradicts(required));
                if (contradicted != null)
                {
                    _diagnostics.Report(
                        CompilerDiagnostics.ContradictoryConditions,
                        condition.Span,
                        "condition " + tested.Name + "." + field.Name + " " + condition.Operator + " " + condition.Value.Text + " contradicts " + (info != null && info.Conditions.Contains(contradicted) ? "the catalogue's condition on " + info.Name : "an earlier condition") + ", so the register could never exist");
                    valid = false;
                    continue;
                }

                bound.Add(required);
            }

            conditions = NormalizeConditions(bound);
            return valid;
        }

        private BoundRegister? FindOrAdd(BoundBlock block, RegisterStatement statement, int offset, int width, string name, EquatableArray<RegisterCondition> conditions, RuleOrigin origin, uint chainMask, uint chainIdMask)
        {
            BoundRegister? existing = block.Registers.FirstOrDefault(r => r.Offset == offset && r.Conditions.Equals(conditions));
            if (existing == null)
            {
                var created = new BoundRegister(offset, width, name, conditions, origin, statement.Register.Span, chainMask) { ChainIdMask = chainIdMask };
                if (name.Length > 0)
                {
                    created.NameOrigin = origin;
                }

                block.Registers.Add(created);
                return created;
            }

            if (existing.Width != width)
            {
                _diagnostics.Report(
                    CompilerDiagnostics.WidthMismatch,
                    statement.Register.Span,
                    "register " + (existing.Name.Length > 0 ? existing.Name : "at " + Formatting.Hex(offset)) + " is declared " + Formatting.WidthName(existing.Width) + " at " + existing.Origin.Location + ", not " + Formatting.WidthName(width));
                return null;
            }

            if (name.Length > 0 && existing.Name.Length > 0 && name != existing.Name)
            {
                _diagnostics.Report(
                    CompilerDiagnostics.RegisterRenamed,
                    statement.Register.Name?.Span ?? statement.Register.Span,
                    "register " + Formatting.Hex(offset) + " " + Formatting.WidthName(width) + " is already named " + existing.Name + " at " + (existing.NameOrigin ?? existing.Origin).Location);
                return null;
            }

            if (name.Length > 0 && existing.Name.Length == 0)
            {
                existing.Name = name;
                existing.NameOrigin = origin;
            }

            return existing;
        }

        private void BindBehavior(BoundBlock block, BoundRegister register, RegisterInfo? info, Identifier syntax, LoadedFile file)
        {
            if (!BehaviorNames.TryParse(syntax.Text, out Behavior behavior))
            {
                _diagnostics.Report(CompilerDiagnostics.UnknownBehavior, syntax.Span, "unknown behavior '" + syntax.Text + "'; expected " + BehaviorNames.Expected);
                return;
            }

            if (info == null || block.Catalogue == null || !block.Catalogue.AllowsBehavior(behavior, info.Name))
            {
                string[] allowed = (block.Catalogue?.Behaviors ?? new (Behavior, string)[0]).Where(b => b.Behavior == behavior).Select(b => b.Register).ToArray();
                string where = allowed.Length == 0
                    ? "it is not available in " + block.Description
                    : "in " + block.Description + " it may own " + string.Join(", ", allowed);
                _diagnostics.Report(CompilerDiagnostics.BehaviorNotAllowed, syntax.Span, "behavior '" + syntax.Text + "' cannot own register " + register.DisplayName + "; " + where);
                return;
            }

            if (register.Behavior != Behavior.None)
            {
                _diagnostics.Report(
                    CompilerDiagnostics.BehaviorBoundTwice,
                    syntax.Span,
                    "register " + register.DisplayName + " already has behavior '" + BehaviorNames.Name(register.Behavior) + "' from " + register.BehaviorOrigin!.Location + "; a behavior is bound once");
                return;
            }

            register.Behavior = behavior;
            register.BehaviorSpan = syntax.Span;
            register.BehaviorOrigin = file.OriginAt(syntax.Span, null);
        }

        private void BindRules(LoadedFile file, BoundRegister register, RegisterInfo? info, RegisterStatement statement)
        {
            uint fieldsMask = 0;
            var fieldRules = new List<BoundRule>();
            int registerBits = register.Width * 8;
            foreach (FieldStatement field in statement.Fields)
            {
                if (!TryResolveBits(register, info, field, registerBits, out int low, out int high, out string? fieldName))
                {
                    continue;
                }

                uint mask = MaskOf(low, high);
                fieldsMask |= mask;
                string target = Formatting.Bits(mask);
                BitAction? action = ActionBinder.Bind(field.Action, high - low + 1, target, true, _diagnostics);
                if (action == null)
                {
                    continue;
                }

                uint forbiddenLinkBits = mask & register.ChainMask & ~ChainLinkRules.AllowedLinkBits(action, field.Action.HardwareRw1c, register.ChainMask, register.ChainIdMask);
                if (forbiddenLinkBits != 0)
                {
                    _diagnostics.Report(CompilerDiagnostics.ChainBytes, field.Span, Formatting.Bits(forbiddenLinkBits) + " of " + register.DisplayName + " are the capability's ID and next pointer, which belong to the chain; " + ChainLinkRules.WhatMayCoverThem);
                    continue;
                }

                fieldRules.Add(new BoundRule(mask, action with { Value = action.Value << low }, field.Action.HardwareRw1c, fieldName, field.Override || statement.Override, file.OriginOf(field), field.Span));
            }

            if (statement.Action != null)
            {
                BitAction? action = ActionBinder.Bind(statement.Action, registerBits, "the " + Formatting.Decimal(registerBits) + "-bit register " + register.DisplayName, true, _diagnostics);

                // A register-level action covers the link bits it may take; the others stay the chain's.
                uint linkBitsTaken = action == null ? 0 : ChainLinkRules.AllowedLinkBits(action, statement.Action.HardwareRw1c, register.ChainMask, register.ChainIdMask);
                uint remaining = register.FullMask & ~fieldsMask & ~(register.ChainMask & ~linkBitsTaken);
                if (action != null && remaining == 0 && (register.FullMask & ~fieldsMask) != 0)
                {
                    _diagnostics.Report(CompilerDiagnostics.ChainBytes, statement.Action.Span, "the action of " + register.DisplayName + " would cover only the capability's ID and next pointer, which belong to the chain; " + ChainLinkRules.WhatMayCoverThem);
                }
                if (action != null && remaining != 0)
                {
                    register.Rules.Add(new BoundRule(remaining, action, statement.Action.HardwareRw1c, null, statement.Override, file.OriginOf(statement), statement.Action.Span));
                }
            }

            register.Rules.AddRange(fieldRules);
        }

        private bool TryResolveBits(BoundRegister register, RegisterInfo? info, FieldStatement field, int registerBits, out int low, out int high, out string? fieldName)
        {
            low = 0;
            high = 0;
            fieldName = field.Name?.Text;
            if (field.Bits == null)
            {
                FieldInfo? catalogued = field.Name == null ? null : info?.FindField(field.Name.Text);
                if (catalogued == null)
                {
                    if (field.Name != null)
                    {
                        _diagnostics.Report(CompilerDiagnostics.UnknownField, field.Name.Span, "register " + register.DisplayName + " has no field '" + field.Name.Text + "'"
                            + (info == null ? " (it has no catalogue entry: write 'bit N' or 'bits L..H')" : NameSuggestions.Hint(field.Name.Text, info.Fields.Select(f => f.Name))));
                    }

                    return false;
                }

                low = catalogued.LowBit;
                high = catalogued.HighBit;
                return true;
            }

            NumberLiteral highSyntax = field.Bits.High ?? field.Bits.Low;
            foreach (NumberLiteral bit in field.Bits.High == null ? new[] { field.Bits.Low } : new[] { field.Bits.Low, field.Bits.High })
            {
                if (bit.Value >= (ulong)registerBits)
                {
                    _diagnostics.Report(CompilerDiagnostics.BitOutsideRegister, bit.Span, "bit " + bit.Text + " is outside the " + Formatting.Decimal(registerBits) + "-bit register " + register.DisplayName + " (bits 0.." + Formatting.Decimal(registerBits - 1) + ")");
                    return false;
                }
            }

            low = (int)field.Bits.Low.Value;
            high = (int)highSyntax.Value;
            if (low > high)
            {
                _diagnostics.Report(CompilerDiagnostics.ReversedBitRange, field.Bits.Span, "bit range " + field.Bits.Low.Text + ".." + highSyntax.Text + " is reversed; write the low bit first (" + highSyntax.Text + ".." + field.Bits.Low.Text + ")");
                return false;
            }

            if (fieldName == null && info != null)
            {
                // An unnamed range that is exactly a catalogue field is that field: `bit 1` in COMMAND is MEMORY.
                int rangeLow = low;
                int rangeHigh = high;
                fieldName = info.Fields.FirstOrDefault(f => f.LowBit == rangeLow && f.HighBit == rangeHigh)?.Name;
            }

            return true;
        }

        // Names the specification (or lspci) uses for registers pci_regs.h names otherwise, per block.
        private static readonly Dictionary<string, Dictionary<string, string>> RegisterAliases = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal)
        {
            ["PM"] = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["PMCSR"] = "CTRL", ["PMCS"] = "CTRL", ["PMCAP"] = "PMC" },
            ["MSI"] = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["MSGCTL"] = "FLAGS", ["MESSAGE_CONTROL"] = "FLAGS", ["CONTROL"] = "FLAGS" },
            ["MSIX"] = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["MSGCTL"] = "FLAGS", ["MESSAGE_CONTROL"] = "FLAGS", ["CONTROL"] = "FLAGS" },
            ["header"] = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["CMD"] = "COMMAND", ["STS"] = "STATUS", ["BAR0"] = "BASE_ADDRESS_0", ["BAR1"] = "BASE_ADDRESS_1", ["BAR2"] = "BASE_ADDRESS_2", ["BAR3"] = "BASE_ADDRESS_3", ["BAR4"] = "BASE_ADDRESS_4", ["BAR5"] = "BASE_ADDRESS_5", ["ROM"] = "ROM_ADDRESS" },
        };

        /// <summary>"; did you mean 'X'?" for a register name of <paramref name="block"/>: a known alias first, then the nearest catalogue name.</summary>
        private static string RegisterHint(BoundBlock block, string name)
        {
            if (block.Catalogue is null)
            {
                return string.Empty;
            }

            if (RegisterAliases.TryGetValue(block.Catalogue.Name, out Dictionary<string, string>? aliases) && aliases.TryGetValue(name, out string? alias))
            {
                return "; did you mean '" + alias + "'? (" + name.ToUpperInvariant() + " in the specification)";
            }

            return NameSuggestions.Hint(name, block.Catalogue.Registers.Select(r => r.Name));
        }

        private static string Describe(string name, int offset, int width) => name.Length > 0 ? name : Formatting.Hex(offset) + " " + Formatting.WidthName(width);

        internal static uint MaskOf(int low, int high) => high >= 31 ? (uint.MaxValue << low) : (((1u << (high + 1)) - 1) & ~((1u << low) - 1));
    }
}
