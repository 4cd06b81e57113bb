using System.Collections.Generic;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Compiler.Binding
{
    // The bound policy: names resolved to offsets and bit masks, declarations of one register merged, every rule
    // in include order. Mutable and internal: the checks annotate it (bit ownership after overrides), the lowerer
    // turns it into the immutable PolicyModel.

    /// <summary>One rule over some bits of a register, as bound from a register line or a field line.</summary>
    internal sealed class BoundRule
    {
        public BoundRule(uint mask, BitAction action, bool hardwareRw1c, string? field, bool isOverride, RuleOrigin origin, SourceSpan span)
        {
            Mask = mask;
            Action = action;
            HardwareRw1c = hardwareRw1c;
            Field = field;
            IsOverride = isOverride;
            Origin = origin;
            Span = span;
        }

        /// <summary>The bits the rule was written for.</summary>
        public uint Mask { get; }

        /// <summary>The action; its <see cref="BitAction.Value"/> is positioned in the register (bit 0 of the register is bit 0 of the value).</summary>
        public BitAction Action { get; }

        public bool HardwareRw1c { get; }

        public string? Field { get; }

        public bool IsOverride { get; }

        public RuleOrigin Origin { get; }

        public SourceSpan Span { get; }

        /// <summary>True once the rule owned at least one bit (set by override resolution).</summary>
        public bool OwnedAnyBit { get; set; }

        /// <summary>Every bit the rule took when it was resolved (before later overrides took some back).</summary>
        public uint TakenBits { get; set; }

        /// <summary>The overrides that took bits from this rule, in order.</summary>
        public List<BoundRule> OverriddenBy { get; } = new List<BoundRule>();

        /// <summary>True when this rule and <paramref name="other"/> do the same to every bit of <paramref name="mask"/>.</summary>
        public bool SameOn(BoundRule other, uint mask)
            => Action.Disposition == other.Action.Disposition
            && Action.Write == other.Action.Write
            && Action.Initial == other.Action.Initial
            && Action.Silent == other.Action.Silent
            && HardwareRw1c == other.HardwareRw1c
            && ((Action.Value ^ other.Action.Value) & mask) == 0;
    }

    /// <summary>A register of a block with all its declarations merged.</summary>
    internal sealed class BoundRegister
    {
        public BoundRegister(int offset, int width, string name, EquatableArray<RegisterCondition> conditions, RuleOrigin origin, SourceSpan span, uint chainMask)
        {
            Offset = offset;
            Width = width;
            Name = name;
            Conditions = conditions;
            Origin = origin;
            Span = span;
            ChainMask = chainMask;
            Owners = new BoundRule?[width * 8];
        }

        public int Offset { get; }

        public int Width { get; }

        /// <summary>The catalogue or declared name; empty when the register was declared by offset only.</summary>
        public string Name { get; set; }

        public RuleOrigin? NameOrigin { get; set; }

        public EquatableArray<RegisterCondition> Conditions { get; }

        /// <summary>The first declaration.</summary>
        public RuleOrigin Origin { get; }

        /// <summary>The register reference of the first declaration.</summary>
        public SourceSpan Span { get; }

        /// <summary>
        /// Bits that are a capability's ID and next pointer (the whole 4-byte header for extended ones). Only
        /// <see cref="ChainLinkRules.AllowedLinkBits"/> actions may cover them.
        /// </summary>
        public uint ChainMask { get; }

        /// <summary>The part of <see cref="ChainMask"/> that is the capability's ID (and, extended, its version): never rewritten by hiding.</summary>
        public uint ChainIdMask { get; init; }

        public Behavior Behavior { get; set; }

        public SourceSpan? BehaviorSpan { get; set; }

        public RuleOrigin? BehaviorOrigin { get; set; }

        /// <summary>Every rule of every declaration, in include order.</summary>
        public List<BoundRule> Rules { get; } = new List<BoundRule>();

        /// <summary>Per bit, the rule that decides it after overrides (null: the defaults decide).</summary>
        public BoundRule?[] Owners { get; }

        public uint FullMask => Width >= 4 ? uint.MaxValue : (1u << (Width * 8)) - 1;

        /// <summary>How messages name the register: <c>COMMAND</c> or <c>0x40 u32</c>.</summary>
        public string DisplayName => Name.Length > 0 ? Name : Diagnostics.Formatting.Hex(Offset) + " " + Diagnostics.Formatting.WidthName(Width);
    }

    /// <summary>A <c>hide capability</c> statement, bound.</summary>
    internal sealed record BoundHide(BitAction Body, RuleOrigin Origin);

    /// <summary>The header, the device-specific layout or one capability, with its registers.</summary>
    internal sealed class BoundBlock
    {
        public BoundBlock(BlockKind kind, int id, string name, BlockCatalog? catalogue, int lowestOffset, int endOffset, int chainBytes)
        {
            Kind = kind;
            Id = id;
            Name = name;
            Catalogue = catalogue;
            LowestOffset = lowestOffset;
            EndOffset = endOffset;
            ChainBytes = chainBytes;
        }

        public BlockKind Kind { get; }

        public bool Extended => Kind == BlockKind.ExtendedCapability;

        public int Id { get; }

        public string Name { get; }

        public BlockCatalog? Catalogue { get; }

        /// <summary>The lowest offset a register of this block may have.</summary>
        public int LowestOffset { get; }

        /// <summary>One past the highest byte a register of this block may cover.</summary>
        public int EndOffset { get; }

        /// <summary>How many leading bytes are the chain link (2 for standard capabilities, 4 for extended, 0 otherwise).</summary>
        public int ChainBytes { get; }

        /// <summary>The first block statement or hide statement that mentioned the block.</summary>
        public RuleOrigin? Origin { get; set; }

        public List<BoundRegister> Registers { get; } = new List<BoundRegister>();

        public BoundHide? Hide { get; set; }

        /// <summary>The block's own <c>default ACTION</c> (capability blocks only): replaces <c>default capability</c> for this capability.</summary>
        public BoundDefault? BlockDefault { get; set; }

        /// <summary>How messages name the block: <c>the header</c>, <c>capability MSI</c>.</summary>
        public string Description => Kind switch
        {
            BlockKind.Header => "the header",
            BlockKind.DeviceSpecific => "the device-specific layout",
            BlockKind.Capability => "capability " + Name,
            _ => "extended capability " + Name,
        };
    }

    /// <summary>A stated default.</summary>
    internal sealed record BoundDefault(DefaultTarget Target, BitAction Action, bool Hide, RuleOrigin Origin);

    /// <summary>The whole policy after binding.</summary>
    internal sealed class BoundPolicy
    {
        public BoundPolicy(BoundBlock header, BoundBlock deviceSpecific)
        {
            Header = header;
            DeviceSpecific = deviceSpecific;
        }

        public string? Name { get; set; }

        public RuleOrigin? NameOrigin { get; set; }

        public SourceSpan? NameSpan { get; set; }

        public List<DeviceMatch> Matches { get; } = new List<DeviceMatch>();

        /// <summary>How many match lines the compiled file has, valid or not.</summary>
        public int MatchLineCount { get; set; }

        public Dictionary<DefaultTarget, BoundDefault> Defaults { get; } = new Dictionary<DefaultTarget, BoundDefault>();

        public BoundBlock Header { get; }

        public BoundBlock DeviceSpecific { get; }

        /// <summary>Capabilities by (extended, ID), in the order first mentioned.</summary>
        public Dictionary<(bool Extended, int Id), BoundBlock> Capabilities { get; } = new Dictionary<(bool Extended, int Id), BoundBlock>();

        public List<ConfigMirror> Mirrors { get; } = new List<ConfigMirror>();

        public IEnumerable<BoundBlock> AllBlocks()
        {
            yield return Header;
            yield return DeviceSpecific;
            foreach (BoundBlock block in Capabilities.Values)
            {
                yield return block;
            }
        }
    }
}
