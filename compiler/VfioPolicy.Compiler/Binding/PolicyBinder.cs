using System.Collections.Generic;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Compiler.Diagnostics;
using VfioPolicy.Compiler.Loading;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Compiler.Binding
{
    /// <summary>
    /// Binds the files of an include graph, in include order, into one <see cref="BoundPolicy"/>: file-level
    /// statements here, registers in <see cref="RegisterBinder"/>. The policy name and match lines come from the
    /// compiled (root) file only: an extended base's are replaced by the file that extends it.
    /// </summary>
    internal sealed class PolicyBinder
    {
        private readonly DiagnosticBag _diagnostics;
        private readonly RegisterBinder _registers;
        private readonly BoundPolicy _policy;

        public PolicyBinder(DiagnosticBag diagnostics)
        {
            _diagnostics = diagnostics;
            _registers = new RegisterBinder(diagnostics);
            _policy = new BoundPolicy(
                new BoundBlock(BlockKind.Header, -1, "header", RegisterCatalog.Header, 0x00, 0x40, 0),
                new BoundBlock(BlockKind.DeviceSpecific, -1, "device-specific", null, 0x40, 0x1000, 0));
        }

        public BoundPolicy Bind(IReadOnlyList<LoadedFile> files, LoadedFile root)
        {
            foreach (LoadedFile file in files)
            {
                BindFile(file, ReferenceEquals(file, root));
            }

            return _policy;
        }

        private void BindFile(LoadedFile file, bool isRoot)
        {
            PolicyStatement? named = null;
            foreach (Statement statement in file.Syntax.Statements)
            {
                switch (statement)
                {
                    case PolicyStatement policy:
                        if (named != null)
                        {
                            _diagnostics.Report(CompilerDiagnostics.PolicyNamedTwice, policy.Name.Span, "the policy is already named \"" + named.Name.Value + "\" at line " + Formatting.Decimal(named.Span.Start.Line));
                            break;
                        }

                        named = policy;
                        if (isRoot)
                        {
                            _policy.Name = policy.Name.Value;
                            _policy.NameOrigin = file.OriginOf(policy);
                            _policy.NameSpan = policy.Name.Span;
                        }

                        break;
                    case MatchStatement match:
                        if (!file.IsComplete)
                        {
                            _diagnostics.Report(CompilerDiagnostics.StatementNeedsPolicy, match.Span, "match needs a policy line: a file without one is a library fragment, and the file that includes it decides what it matches");
                            break;
                        }

                        _policy.MatchLineCount += isRoot ? 1 : 0;
                        DeviceMatch? bound = BindMatch(file, match);
                        if (bound != null && isRoot)
                        {
                            _policy.Matches.Add(bound);
                        }

                        break;
                    case IncludeStatement include:
                        if (include.IsExtends && !file.IsComplete)
                        {
                            _diagnostics.Report(CompilerDiagnostics.StatementNeedsPolicy, include.Span, "extends needs a policy line: only a complete policy can extend another; a fragment uses include");
                        }

                        break;
                    case DefaultStatement defaultStatement:
                        BindDefault(file, defaultStatement);
                        break;
                    case HideStatement hide:
                        BindHide(file, hide);
                        break;
                    case MirrorStatement mirror:
                        BindMirror(file, mirror);
                        break;
                    case BlockStatement block:
                        BoundBlock? target = ResolveBlock(file, block.Kind, block.Capability, block);
                        if (target != null)
                        {
                            foreach (RegisterStatement register in block.Registers)
                            {
                                _registers.Bind(file, target, register);
                            }

                            foreach (BlockDefaultStatement blockDefault in block.Defaults)
                            {
                                BindBlockDefault(file, target, blockDefault);
                            }
                        }

                        break;
                }
            }
        }

        private DeviceMatch? BindMatch(LoadedFile file, MatchStatement match)
        {
            var criteria = new List<MatchCriterion>();
            bool valid = true;
            foreach (MatchCriterionSyntax criterion in match.Criteria)
            {
                MatchField field;
                int bits;
                switch (criterion.Field.Text)
                {
                    case "vendor": field = MatchField.Vendor; bits = 16; break;
                    case "device": field = MatchField.Device; bits = 16; break;
                    case "subsystem-vendor": field = MatchField.SubsystemVendor; bits = 16; break;
                    case "subsystem": field = MatchField.Subsystem; bits = 16; break;
                    case "class": field = MatchField.Class; bits = 24; break;
                    case "revision": field = MatchField.Revision; bits = 8; break;
                    default:
                        _diagnostics.Report(CompilerDiagnostics.UnknownMatchField, criterion.Field.Span, "unknown match field '" + criterion.Field.Text + "'; expected vendor, device, subsystem-vendor, subsystem, class or revision");
                        valid = false;
                        continue;
                }

                uint limit = (uint)((1UL << bits) - 1);
                valid &= Fits(criterion.Value, limit, criterion.Field.Text + " (" + Formatting.Decimal(bits) + " bits)");
                if (criterion.Mask != null)
                {
                    valid &= Fits(criterion.Mask, limit, "the mask of " + criterion.Field.Text + " (" + Formatting.Decimal(bits) + " bits)");
                }

                if (valid)
                {
                    criteria.Add(new MatchCriterion(field, (uint)criterion.Value.Value, criterion.Mask == null ? limit : (uint)criterion.Mask.Value));
                }
            }

            return valid ? new DeviceMatch(criteria.ToEquatableArray(), file.OriginOf(match)) : null;
        }

        private bool Fits(NumberLiteral number, ulong limit, string what)
        {
            if (number.Value <= limit)
            {
                return true;
            }

            _diagnostics.Report(CompilerDiagnostics.ValueTooWide, number.Span, "value " + number.Text + " does not fit in " + what);
            return false;
        }

        private void BindDefault(LoadedFile file, DefaultStatement statement)
        {
            DefaultTarget target;
            switch (statement.Target.Text)
            {
                case "header": target = DefaultTarget.Header; break;
                case "capability": target = DefaultTarget.Capability; break;
                case "gap": target = DefaultTarget.Gap; break;
                case "unknown-capability": target = DefaultTarget.UnknownCapability; break;
                default:
                    _diagnostics.Report(CompilerDiagnostics.UnknownDefaultTarget, statement.Target.Span, "unknown default target '" + statement.Target.Text + "'; expected header, capability, gap or unknown-capability");
                    return;
            }

            if (statement.Hide && target != DefaultTarget.UnknownCapability)
            {
                _diagnostics.Report(CompilerDiagnostics.HideNotAllowed, statement.Target.Span, "only 'default unknown-capability' can hide; 'default " + statement.Target.Text + "' cannot (hide a known capability with 'hide capability CAP')");
                return;
            }

            BitAction? action = BindByteAction(statement.Action, statement.Hide);
            if (action == null)
            {
                if (statement.Action == null && !statement.Hide)
                {
                    _diagnostics.Report(CompilerDiagnostics.ModeNotAllowed, statement.Target.Span, "default " + statement.Target.Text + " needs an action");
                }

                return;
            }

            var bound = new BoundDefault(target, action, statement.Hide, file.OriginOf(statement));
            string what = "default " + statement.Target.Text;
            if (_policy.Defaults.TryGetValue(target, out BoundDefault? earlier))
            {
                if (Restate(earlier.Origin, earlier.Action == bound.Action && earlier.Hide == bound.Hide, statement.Override, statement.Span, what, "override default"))
                {
                    _policy.Defaults[target] = bound;
                }
            }
            else
            {
                if (statement.Override)
                {
                    _diagnostics.Report(CompilerDiagnostics.OverrideOfNothing, statement.Span, "override replaces nothing: no earlier " + what + " is stated");
                }

                _policy.Defaults[target] = bound;
            }
        }

        /// <summary>
        /// Binds a capability block's <c>default ACTION</c>. Like the policy's defaults it is stated once per
        /// capability across the include chain: a different restatement needs <c>override default</c>, an identical
        /// one is a duplicate. It needs no override against <c>default capability</c>, which it replaces by design.
        /// </summary>
        private void BindBlockDefault(LoadedFile file, BoundBlock block, BlockDefaultStatement statement)
        {
            if (block.Kind != BlockKind.Capability && block.Kind != BlockKind.ExtendedCapability)
            {
                string own = block.Kind == BlockKind.Header ? "default header" : "default gap";
                _diagnostics.Report(
                    CompilerDiagnostics.BlockDefaultOutsideCapability,
                    statement.Span,
                    "a block default belongs in a capability or extended-capability block; " + block.Description + " has none (its uncovered bytes follow '" + own + "')");
                return;
            }

            BitAction? action = BindByteAction(statement.Action, false);
            if (action == null)
            {
                return;
            }

            var bound = new BoundDefault(DefaultTarget.Capability, action, false, file.OriginOf(statement));
            string what = "the default of " + block.Description;
            if (block.BlockDefault != null)
            {
                if (Restate(block.BlockDefault.Origin, block.BlockDefault.Action == action, statement.Override, statement.Span, what, "override default"))
                {
                    block.BlockDefault = bound;
                }
            }
            else
            {
                if (statement.Override)
                {
                    _diagnostics.Report(CompilerDiagnostics.OverrideOfNothing, statement.Span, "override replaces nothing: no earlier default of " + block.Description + " is stated (a block default needs no override to replace 'default capability')");
                }

                block.BlockDefault = bound;
            }
        }

        private void BindHide(LoadedFile file, HideStatement statement)
        {
            BoundBlock? block = ResolveBlock(file, statement.Extended ? BlockKind.ExtendedCapability : BlockKind.Capability, statement.Capability, statement);
            BitAction? body = BindByteAction(statement.Body, true);
            if (block == null || body == null)
            {
                return;
            }

            var bound = new BoundHide(body, file.OriginOf(statement));
            string what = "hide " + (statement.Extended ? "extended-capability " : "capability ") + block.Name;
            if (block.Hide != null)
            {
                if (Restate(block.Hide.Origin, block.Hide.Body == body, statement.Override, statement.Span, what, "override hide"))
                {
                    block.Hide = bound;
                }
            }
            else
            {
                if (statement.Override)
                {
                    _diagnostics.Report(CompilerDiagnostics.OverrideOfNothing, statement.Span, "override replaces nothing: no earlier " + what + " is stated");
                }

                block.Hide = bound;
            }
        }

        /// <summary>Decides a restated default or hide; true when the new statement replaces the earlier one.</summary>
        private bool Restate(RuleOrigin earlier, bool identical, bool isOverride, SourceSpan span, string what, string overrideSpelling)
        {
            if (identical)
            {
                if (!isOverride)
                {
                    _diagnostics.Report(CompilerDiagnostics.DuplicateRule, span, what + " repeats the one at " + earlier.Location);
                }

                return false;
            }

            if (!isOverride)
            {
                _diagnostics.Report(CompilerDiagnostics.RestatedDefault, span, what + " is already stated differently at " + earlier.Location + "; write '" + overrideSpelling + "' to replace it");
                return false;
            }

            return true;
        }

        /// <summary>Binds the action of a default or hidden body; values are per byte. A hidden body without an action is <c>deny 0</c>.</summary>
        private BitAction? BindByteAction(ActionSyntax? syntax, bool hideBody)
        {
            if (syntax == null)
            {
                return hideBody ? BitAction.Deny(0) : null;
            }

            return ActionBinder.Bind(syntax, 8, "a byte (a default's value is per byte)", false, _diagnostics);
        }

        private void BindMirror(LoadedFile file, MirrorStatement statement)
        {
            bool valid = InRange(statement.Bar, 0, 5, "BAR index");
            valid &= InRange(statement.Size, 1, 4096, "mirror size");
            valid &= InRange(statement.Offset, 0, long.MaxValue, statement.DataOffset is null ? "mirror offset" : "address register offset");
            if (statement.DataOffset is not null && statement.Base is not null)
            {
                valid &= InRange(statement.DataOffset, 0, long.MaxValue, "data register offset");
                valid &= InRange(statement.Base, 0, uint.MaxValue - 4096, "window base");
                valid &= Aligned(statement.Offset, "address register") & Aligned(statement.DataOffset, "data register");
                if (valid && statement.Offset.Value + 4 > statement.DataOffset.Value && statement.DataOffset.Value + 4 > statement.Offset.Value)
                {
                    _diagnostics.Report(CompilerDiagnostics.NumberOutOfRange, statement.DataOffset.Span, "the data register overlaps the address register");
                    valid = false;
                }
            }

            if (valid)
            {
                _policy.Mirrors.Add(new ConfigMirror((int)statement.Bar.Value, (long)statement.Offset.Value, (int)statement.Size.Value, file.OriginOf(statement))
                {
                    DataOffset = statement.DataOffset is null ? null : (long)statement.DataOffset.Value,
                    Base = statement.Base is null ? 0 : (uint)statement.Base.Value,
                });
            }
        }

        private bool Aligned(NumberLiteral offset, string what)
        {
            if (offset.Value % 4 == 0)
            {
                return true;
            }

            _diagnostics.Report(CompilerDiagnostics.NumberOutOfRange, offset.Span, "the " + what + " is 4 bytes: its offset " + offset.Text + " must be a multiple of 4");
            return false;
        }

        private bool InRange(NumberLiteral number, long low, long high, string what)
        {
            if (number.Value >= (ulong)low && number.Value <= (ulong)high)
            {
                return true;
            }

            _diagnostics.Report(CompilerDiagnostics.NumberOutOfRange, number.Span, what + " " + number.Text + " is out of range (" + Formatting.Decimal(low) + ".." + Formatting.Decimal(high) + ")");
            return false;
        }

        private BoundBlock? ResolveBlock(LoadedFile file, BlockKind kind, CapabilityRef? reference, Statement statement)
        {
            if (kind == BlockKind.Header || kind == BlockKind.DeviceSpecific)
            {
                BoundBlock fixedBlock = kind == BlockKind.Header ? _policy.Header : _policy.DeviceSpecific;
                fixedBlock.Origin ??= file.OriginOf(statement);
                return fixedBlock;
            }

            if (reference == null)
            {
                return null;
            }

            bool extended = kind == BlockKind.ExtendedCapability;
            int id;
            if (reference.Name != null)
            {
                if (!CapabilityIds.TryParseShortName(reference.Name.Text, extended, out id))
                {
                    string message = extended
                        ? "unknown extended capability '" + reference.Name.Text + "'; names are the PCI_EXT_CAP_ID_* suffixes (ERR, DSN, ACS…) or a number"
                        : "unknown capability '" + reference.Name.Text + "'; names are the PCI_CAP_ID_* suffixes (PM, MSI, EXP, MSIX…) or a number";

                    // The other chain's name is the likeliest slip ('capability SRIOV'); else the nearest name of this one.
                    message += CapabilityIds.TryParseShortName(reference.Name.Text, !extended, out _)
                        ? "; " + reference.Name.Text + " is " + (extended ? "a standard capability: write 'capability " : "an extended capability: write 'extended-capability ") + reference.Name.Text + "'"
                        : NameSuggestions.Hint(reference.Name.Text, CapabilityIds.ShortNames(extended));
                    _diagnostics.Report(CompilerDiagnostics.UnknownCapability, reference.Name.Span, message);
                    return null;
                }
            }
            else if (reference.Id != null)
            {
                if (!InRange(reference.Id, 0, extended ? 0xffff : 0xff, extended ? "extended capability ID" : "capability ID"))
                {
                    return null;
                }

                id = (int)reference.Id.Value;
            }
            else
            {
                return null;
            }

            if (!_policy.Capabilities.TryGetValue((extended, id), out BoundBlock? block))
            {
                string name = CapabilityIds.ShortName(id, extended) ?? (extended ? "0x" + id.ToString("x4", System.Globalization.CultureInfo.InvariantCulture) : Formatting.Hex(id));
                block = extended
                    ? new BoundBlock(kind, id, name, RegisterCatalog.FindCapability(id, true), 0x000, 0xf00, 4)
                    : new BoundBlock(kind, id, name, RegisterCatalog.FindCapability(id, false), 0x00, 0xc0, 2);
                _policy.Capabilities.Add((extended, id), block);
            }

            block.Origin ??= file.OriginOf(statement);
            return block;
        }
    }
}
