using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Grammar.Syntax;

namespace VfioPolicy.Hardening.Tests.Oracle
{
    /// <summary>The three dispositions of docs/access-model.md.</summary>
    public enum OracleKind
    {
        /// <summary>Reads the hardware bit.</summary>
        Passthrough,

        /// <summary>Reads the shadow bit.</summary>
        Virtualize,

        /// <summary>Reads a constant; a write that would change it is dropped and audited (unless silent).</summary>
        Deny,
    }

    /// <summary>What a consumer write does to a bit.</summary>
    public enum OracleWrite
    {
        /// <summary>Nothing (passthrough ro, virtualize ro, deny).</summary>
        Ignore,

        /// <summary>passthrough rw: the hardware takes the consumer's bit; virtualize rw: the shadow does.</summary>
        Store,

        /// <summary>virtualize rw1c: a written 1 clears the shadow bit.</summary>
        ClearOnOne,

        /// <summary>virtualize ro write-hw: the shadow keeps its value, the hardware takes the consumer's bit.</summary>
        ToHardware,
    }

    /// <summary>What one bit of config space does under one policy on one device, as the oracle decides it.</summary>
    public struct OracleBit
    {
        /// <summary>The disposition.</summary>
        public OracleKind Kind;

        /// <summary>The write semantics.</summary>
        public OracleWrite Write;

        /// <summary>Virtualized: the initial shadow comes from the hardware at open.</summary>
        public bool InitFromHardware;

        /// <summary>The literal initial value (virtualized) or the constant (denied).</summary>
        public bool Value;

        /// <summary>A denied bit whose rule says <c>silent</c>.</summary>
        public bool Silent;

        /// <summary>The rule, default or hide line that decided the bit; null for the chain's own link bits.</summary>
        public OracleOrigin? Origin;

        /// <summary>A bit the chain owns (capability ID, next pointer, 0x34, Status' CAP_LIST when rewritten).</summary>
        public bool Chain;

        /// <summary>Decided by a register or field line (not a default or a hide): only those may take chain link bits.</summary>
        public bool RuleOwned;
    }

    /// <summary>
    /// The per-bit statement of a policy on one device (docs/access-model.md and docs/language.md), computed by simple
    /// loops over the syntax trees, the oracle's own chain walk and the register catalogue's data (names, offsets,
    /// widths, field bits, conditions, capability IDs): the one input it shares with the product.
    /// </summary>
    public sealed class OracleLayout
    {
        private readonly byte[] _config;
        private readonly OraclePolicy _policy;
        private readonly List<Placement> _placements = new List<Placement>();

        private OracleLayout(OraclePolicy policy, byte[] config)
        {
            _policy = policy;
            _config = config;
            Size = config.Length;
            Bits = new OracleBit[Size * 8];
            HardwareWriteOneToClear = new byte[Size];
        }

        /// <summary>Config space size.</summary>
        public int Size { get; }

        /// <summary>Every bit, at [offset * 8 + bit].</summary>
        public OracleBit[] Bits { get; }

        /// <summary>Hardware bits the policy marks write-1-to-clear (hw-rw1c, passthrough rw1c); a mark is never taken away.</summary>
        public byte[] HardwareWriteOneToClear { get; }

        /// <summary>Capabilities the walk found, with what the policy does to them.</summary>
        public IReadOnlyList<Placement> Capabilities => _placements;

        /// <summary>Non-override rules that re-covered a bit an earlier rule already covered: whose line an audit event names is then the oracle's guess (the later rule), reported as undecided.</summary>
        public int UndecidedOriginBits { get; private set; }

        /// <summary>The policy's name.</summary>
        public string PolicyName => _policy.Name;

        /// <summary>Computes the layout of <paramref name="policy"/> on the device whose config space at open is <paramref name="config"/>.</summary>
        public static OracleLayout Build(OraclePolicy policy, byte[] config)
        {
            var layout = new OracleLayout(policy, config);
            layout.Run();
            return layout;
        }

        /// <summary>The bit at <paramref name="offset"/>, <paramref name="bit"/>.</summary>
        public ref OracleBit At(int offset, int bit) => ref Bits[(offset * 8) + bit];

        private void Run()
        {
            Defaults defaults = ResolveDefaults();
            foreach (OracleCapability capability in OracleChain.Walk(_config))
            {
                int link = capability.Extended ? 4 : 2;
                bool bound = capability.Offset >= (capability.Extended ? 0x100 : 0x40) && capability.Offset + link <= Size;
                int end = Math.Min(Size, capability.Offset + Math.Max(capability.Length, link));
                var blocks = _policy.Blocks.Where(b => IsBlockOf(b.Statement, capability.Id, capability.Extended)).ToList();
                Placed<HideStatement>? hide = Latest(_policy.Hides.Where(h => h.Statement.Extended == capability.Extended && CapabilityId(h.Statement.Capability, capability.Extended) == capability.Id), h => h.Statement.Override);
                var placement = new Placement(capability, bound, end, blocks);
                bool known = blocks.Count > 0 || hide is not null;
                if (hide is not null)
                {
                    placement.HideBody = hide.Statement.Body;
                    placement.HideOrigin = new OracleOrigin(hide.File, hide.Statement.Span.Start.Line);
                    placement.Hidden = true;
                }
                else if (!known && defaults.UnknownCapability.Statement.Hide)
                {
                    placement.HideBody = defaults.UnknownCapability.Statement.Action;
                    placement.HideOrigin = Origin(defaults.UnknownCapability);
                    placement.Hidden = true;
                }

                placement.Known = known;
                _placements.Add(placement);
            }

            // Defaults: gaps everywhere, then the header, then each capability's extent.
            FillDefault(0, Size, defaults.Gap.Statement.Action!, Origin(defaults.Gap));
            FillDefault(0, Math.Min(0x40, Size), defaults.Header.Statement.Action!, Origin(defaults.Header));
            foreach (Placement placement in _placements.Where(p => p.Bound))
            {
                if (placement.Known)
                {
                    Placed<BlockDefaultStatement>? own = Latest(placement.Blocks.SelectMany(b => b.Statement.Defaults.Select(d => new Placed<BlockDefaultStatement>(d, b.File))), d => d.Statement.Override);
                    if (own is not null)
                    {
                        FillDefault(placement.Capability.Offset, placement.End, own.Statement.Action, new OracleOrigin(own.File, own.Statement.Span.Start.Line));
                    }
                    else
                    {
                        FillDefault(placement.Capability.Offset, placement.End, defaults.Capability.Statement.Action!, Origin(defaults.Capability));
                    }
                }
                else if (!defaults.UnknownCapability.Statement.Hide)
                {
                    FillDefault(placement.Capability.Offset, placement.End, defaults.UnknownCapability.Statement.Action!, Origin(defaults.UnknownCapability));
                }
            }

            // Rules: the header, the capabilities that stay visible, then device-specific registers.
            var covered = new bool[Size * 8];
            foreach (Placed<BlockStatement> block in _policy.Blocks.Where(b => b.Statement.Kind == BlockKind.Header))
            {
                foreach (RegisterStatement register in block.Statement.Registers)
                {
                    ApplyRegister(block, register, RegisterCatalog.Header, 0, Math.Min(0x40, Size), 0, 0, covered);
                }
            }

            foreach (Placement placement in _placements.Where(p => p.Bound && !p.Hidden))
            {
                BlockCatalog? catalogue = RegisterCatalog.FindCapability(placement.Capability.Id, placement.Capability.Extended);
                foreach (Placed<BlockStatement> block in placement.Blocks)
                {
                    foreach (RegisterStatement register in block.Statement.Registers)
                    {
                        ApplyRegister(block, register, catalogue, placement.Capability.Offset, placement.End, placement.Capability.Extended ? 4 : 2, placement.Capability.Extended ? 0x000f_ffffu : 0xffu, covered);
                    }
                }
            }

            foreach (Placed<BlockStatement> block in _policy.Blocks.Where(b => b.Statement.Kind == BlockKind.DeviceSpecific))
            {
                foreach (RegisterStatement register in block.Statement.Registers)
                {
                    (int offset, int width, _, _) = Resolve(register.Register, null);
                    bool overCapability = _placements.Any(p => p.Bound && !p.Hidden && offset < p.End && p.Capability.Offset < offset + width);
                    if (!overCapability)
                    {
                        ApplyRegister(block, register, null, 0, Size, 0, 0, covered);
                    }
                }
            }

            foreach (Placement placement in _placements.Where(p => p.Bound && p.Hidden))
            {
                FillDefault(placement.Capability.Offset, placement.End, placement.HideBody ?? DenyZero, placement.HideOrigin!);
            }

            ApplyChainLinks();
        }

        /// <summary>A <c>hide</c> without <c>body</c> denies the body with 0.</summary>
        private static readonly ActionSyntax DenyZero = new ActionSyntax(ActionKind.Deny, null, false, null, false, false, null!);

        private void ApplyChainLinks()
        {
            List<Placement> standard = _placements.Where(p => p.Bound && !p.Capability.Extended).ToList();
            List<Placement> extended = _placements.Where(p => p.Bound && p.Capability.Extended).ToList();
            for (int i = 0; i < standard.Count; i++)
            {
                if (standard[i].Hidden)
                {
                    continue;
                }

                int at = standard[i].Capability.Offset;
                Link(at, _config[at], 0xff);
                Link(at + 1, (byte)NextVisible(standard, i + 1), 0);
            }

            // 0x34 and Status' Capabilities List bit agree with the chain that remains.
            int first = NextVisible(standard, 0);
            bool listed = (_config[0x06] & 0x10) != 0;
            if (listed && first != _config[0x34])
            {
                ChainOnly(0x34, 0xff, (byte)first);
            }

            if (listed && first == 0)
            {
                ChainOnly(0x06, 0x10, 0);
            }

            for (int i = 0; i < extended.Count; i++)
            {
                Placement placement = extended[i];
                bool placeholder = placement.Hidden && placement.Capability.Offset == 0x100;
                if (placement.Hidden && !placeholder)
                {
                    continue;
                }

                uint header = OracleChain.Dword(_config, placement.Capability.Offset);
                uint next = (uint)NextVisible(extended, i + 1);
                uint linked = placeholder ? next << 20 : (header & 0x000f_ffffu) | (next << 20);
                for (int b = 0; b < 4; b++)
                {
                    if (placeholder)
                    {
                        ChainOnly(placement.Capability.Offset + b, 0xff, (byte)(linked >> (8 * b)));
                    }
                    else
                    {
                        Link(placement.Capability.Offset + b, (byte)(linked >> (8 * b)), (byte)(0x000f_ffffu >> (8 * b)));
                    }
                }
            }
        }

        private static int NextVisible(List<Placement> chain, int from)
        {
            for (int i = from; i < chain.Count; i++)
            {
                if (!chain[i].Hidden)
                {
                    return chain[i].Capability.Offset;
                }
            }

            return 0;
        }

        /// <summary>
        /// A link byte of a visible capability reads the chain's value. Two rules may take link bits (docs/language.md,
        /// "The capability chain"): <c>virtualize ro write-hw</c> keeps the chain's value and sends writes to the
        /// hardware; <c>passthrough ro</c> on the ID reads the hardware. Everything else there is the chain's.
        /// </summary>
        private void Link(int offset, byte value, byte idBits)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                ref OracleBit b = ref At(offset, bit);
                bool fromRule = b.Origin is not null && b.RuleOwned;
                if (fromRule && b.Kind == OracleKind.Virtualize && b.Write == OracleWrite.ToHardware && b.InitFromHardware)
                {
                    b = new OracleBit { Kind = OracleKind.Virtualize, Write = OracleWrite.ToHardware, Value = ((value >> bit) & 1) != 0, Origin = b.Origin, Chain = true, RuleOwned = true };
                }
                else if (!(fromRule && b.Kind == OracleKind.Passthrough && b.Write == OracleWrite.Ignore && ((idBits >> bit) & 1) != 0))
                {
                    b = new OracleBit { Kind = OracleKind.Virtualize, Write = OracleWrite.Ignore, Value = ((value >> bit) & 1) != 0, Chain = true };
                }
            }
        }

        private void ChainOnly(int offset, byte bits, byte value)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                if (((bits >> bit) & 1) != 0)
                {
                    At(offset, bit) = new OracleBit { Kind = OracleKind.Virtualize, Write = OracleWrite.Ignore, Value = ((value >> bit) & 1) != 0, Chain = true };
                }
            }
        }

        private void FillDefault(int start, int end, ActionSyntax action, OracleOrigin origin)
        {
            uint pattern = (uint)((action.Value?.Value ?? 0) & 0xff);
            for (int offset = start; offset < end; offset++)
            {
                for (int bit = 0; bit < 8; bit++)
                {
                    Set(offset, bit, action, ((pattern >> bit) & 1) != 0, origin, ruleOwned: false);
                }
            }
        }

        /// <summary>Sets one bit from an action; a hw-rw1c (or passthrough rw1c) mark is added, never taken away.</summary>
        private void Set(int offset, int bit, ActionSyntax action, bool value, OracleOrigin origin, bool ruleOwned)
        {
            string mode = action.Mode?.Text ?? string.Empty;
            OracleBit b = new OracleBit { Origin = origin, Value = value, RuleOwned = ruleOwned };
            switch (action.Kind)
            {
                case ActionKind.Passthrough:
                    b.Kind = OracleKind.Passthrough;
                    b.Write = mode == "ro" ? OracleWrite.Ignore : OracleWrite.Store;
                    b.Value = false;
                    if (mode == "rw1c")
                    {
                        HardwareWriteOneToClear[offset] |= (byte)(1 << bit);
                    }

                    break;
                case ActionKind.Virtualize:
                    b.Kind = OracleKind.Virtualize;
                    b.Write = action.WriteHardware ? OracleWrite.ToHardware : mode switch
                    {
                        "rw" => OracleWrite.Store,
                        "rw1c" => OracleWrite.ClearOnOne,
                        "ro" => OracleWrite.Ignore,
                        _ => throw new NotSupportedException("virtualize mode '" + mode + "' at " + origin),
                    };
                    b.InitFromHardware = action.Value is null || action.InitFromHardware;
                    if (b.InitFromHardware)
                    {
                        b.Value = false;
                    }

                    break;
                default:
                    b.Kind = OracleKind.Deny;
                    b.Write = OracleWrite.Ignore;
                    b.Silent = action.Silent;
                    break;
            }

            if (action.HardwareRw1c)
            {
                HardwareWriteOneToClear[offset] |= (byte)(1 << bit);
            }

            At(offset, bit) = b;
        }

        private void ApplyRegister(Placed<BlockStatement> block, RegisterStatement register, BlockCatalog? catalogue, int baseOffset, int regionEnd, int chainBytes, uint idWord, bool[] covered)
        {
            (int offset, int width, RegisterInfo? info, IReadOnlyList<RegisterCondition> conditions) = Resolve(register.Register, catalogue);
            foreach (RegisterCondition condition in conditions)
            {
                if (!Holds(condition, baseOffset))
                {
                    return;
                }
            }

            foreach (ConditionSyntax condition in register.Conditions)
            {
                if (!Holds(condition, catalogue, baseOffset))
                {
                    return;
                }
            }

            int start = baseOffset + offset;
            if (start >= regionEnd || start + width > regionEnd)
            {
                // Past this instance's end (a shorter structure): the register does not exist here; one that
                // straddles the end binds nothing either.
                return;
            }

            int registerBits = width * 8;
            uint chainMask = 0;
            for (int b = 0; b < width; b++)
            {
                if (offset + b < chainBytes)
                {
                    chainMask |= 0xffu << (8 * b);
                }
            }

            uint idMask = offset < 4 ? (idWord >> (8 * offset)) & Full(width) : 0;
            uint fieldBits = 0;
            var rules = new List<(uint Mask, ActionSyntax Action, uint Value, bool Override, OracleOrigin Origin)>();
            foreach (FieldStatement field in register.Fields)
            {
                (int low, int high) = FieldBits(field, info, register);
                uint mask = Mask(low, high) & Full(width);
                fieldBits |= mask;
                uint allowed = AllowedLinkBits(field.Action, chainMask, idMask);
                rules.Add((mask & ~(chainMask & ~allowed), field.Action, (uint)(field.Action.Value?.Value ?? 0) << low, field.Override || register.Override, new OracleOrigin(block.File, field.Span.Start.Line)));
            }

            if (register.Action is not null)
            {
                uint allowed = AllowedLinkBits(register.Action, chainMask, idMask);
                uint remaining = Full(width) & ~fieldBits & ~(chainMask & ~allowed);
                rules.Insert(0, (remaining, register.Action, (uint)(register.Action.Value?.Value ?? 0), register.Override, new OracleOrigin(block.File, register.Span.Start.Line)));
            }

            foreach ((uint mask, ActionSyntax action, uint value, bool isOverride, OracleOrigin origin) in rules)
            {
                for (int bit = 0; bit < registerBits; bit++)
                {
                    if (((mask >> bit) & 1) == 0)
                    {
                        continue;
                    }

                    int at = start + (bit / 8);
                    int index = (at * 8) + (bit % 8);
                    if (covered[index] && !isOverride)
                    {
                        UndecidedOriginBits++;
                    }

                    covered[index] = true;
                    Set(at, bit % 8, action, ((value >> bit) & 1) != 0, origin, ruleOwned: true);
                }
            }
        }

        /// <summary>Which link bits an action may take (docs/language.md): write-hw all of them, passthrough ro the ID; with hw-rw1c none.</summary>
        private static uint AllowedLinkBits(ActionSyntax action, uint chainMask, uint idMask)
        {
            if (action.HardwareRw1c)
            {
                return 0;
            }

            if (action.Kind == ActionKind.Virtualize && action.WriteHardware && (action.Value is null || action.InitFromHardware))
            {
                return chainMask;
            }

            return action.Kind == ActionKind.Passthrough && action.Mode?.Text == "ro" ? chainMask & idMask : 0;
        }

        private static uint Full(int width) => width >= 4 ? uint.MaxValue : (1u << (width * 8)) - 1;

        private static uint Mask(int low, int high)
        {
            uint mask = 0;
            for (int bit = low; bit <= high; bit++)
            {
                mask |= 1u << bit;
            }

            return mask;
        }

        private static (int Low, int High) FieldBits(FieldStatement field, RegisterInfo? info, RegisterStatement register)
        {
            if (field.Bits is not null)
            {
                return ((int)field.Bits.Low.Value, (int)(field.Bits.High ?? field.Bits.Low).Value);
            }

            FieldInfo found = info?.FindField(field.Name?.Text ?? string.Empty)
                ?? throw new NotSupportedException("field " + field.Name?.Text + " of " + register.Register.Name?.Text + " is not in the catalogue");
            return (found.LowBit, found.HighBit);
        }

        /// <summary>Offset, width, catalogue entry and catalogue conditions of a register reference.</summary>
        private static (int Offset, int Width, RegisterInfo? Info, IReadOnlyList<RegisterCondition> Conditions) Resolve(RegisterRef reference, BlockCatalog? catalogue)
        {
            RegisterInfo? named = reference.Name is null ? null : catalogue?.FindRegister(reference.Name.Text);
            if (reference.Offset is not null)
            {
                int width = reference.Width?.Text switch
                {
                    "u8" => 1,
                    "u16" => 2,
                    "u32" => 4,
                    _ => throw new NotSupportedException("width " + reference.Width?.Text),
                };
                int offset = (int)reference.Offset.Value;
                RegisterInfo? spelled = named ?? SingleAt(catalogue, offset, width);
                return (offset, width, spelled, named?.Conditions ?? Array.Empty<RegisterCondition>());
            }

            RegisterInfo info = named ?? throw new NotSupportedException("register " + reference.Name?.Text + " is not in the catalogue of " + (catalogue?.Name ?? "this block"));
            return (info.Offset, info.Width, info, info.Conditions);
        }

        private static RegisterInfo? SingleAt(BlockCatalog? catalogue, int offset, int width)
        {
            RegisterInfo[] there = catalogue?.Registers.Where(r => r.Offset == offset && r.Width == width).ToArray() ?? Array.Empty<RegisterInfo>();
            return there.Length == 1 ? there[0] : null;
        }

        /// <summary>A catalogue condition (data: offset, width, mask, value), read from the device image; unreadable means false.</summary>
        private bool Holds(RegisterCondition condition, int baseOffset)
        {
            return TryReadImage(baseOffset + condition.Offset, condition.Width, out uint value)
                && ((value & condition.Mask) == (condition.Value & condition.Mask)) != condition.NotEqual;
        }

        /// <summary>A <c>when REGISTER.FIELD = V</c> (or <c>!=</c>) of the policy, against the device image.</summary>
        private bool Holds(ConditionSyntax condition, BlockCatalog? catalogue, int baseOffset)
        {
            RegisterInfo register = catalogue?.FindRegister(condition.Register.Text) ?? throw new NotSupportedException("condition register " + condition.Register.Text);
            FieldInfo field = register.FindField(condition.Field.Text) ?? throw new NotSupportedException("condition field " + condition.Field.Text);
            if (!TryReadImage(baseOffset + register.Offset, register.Width, out uint value))
            {
                return false;
            }

            uint fieldValue = (value & Mask(field.LowBit, field.HighBit)) >> field.LowBit;
            return (fieldValue == condition.Value.Value) != condition.NotEqual;
        }

        /// <summary>The little-endian value of <paramref name="width"/> image bytes at <paramref name="start"/>; false when they are not all in the image.</summary>
        private bool TryReadImage(int start, int width, out uint value)
        {
            value = 0;
            if (start < 0 || start + width > Size)
            {
                return false;
            }

            for (int b = 0; b < width; b++)
            {
                value |= (uint)_config[start + b] << (8 * b);
            }

            return true;
        }

        private bool IsBlockOf(BlockStatement block, int id, bool extended)
            => (block.Kind == BlockKind.Capability && !extended || block.Kind == BlockKind.ExtendedCapability && extended)
               && block.Capability is not null && CapabilityId(block.Capability, extended) == id;

        private static int CapabilityId(CapabilityRef reference, bool extended)
        {
            if (reference.Id is not null)
            {
                return (int)reference.Id.Value;
            }

            string name = reference.Name?.Text ?? string.Empty;
            BlockCatalog? block = RegisterCatalog.FindCapability(name, extended);
            if (block is not null)
            {
                return block.Id;
            }

            return CapabilityIds.TryParseShortName(name, extended, out int id) ? id : throw new NotSupportedException("capability " + name);
        }

        private Defaults ResolveDefaults()
        {
            Placed<DefaultStatement> Find(string target)
                => Latest(_policy.Defaults.Where(d => d.Statement.Target.Text == target), d => d.Statement.Override)
                   ?? throw new InvalidOperationException("policy '" + _policy.Name + "' states no default " + target);
            return new Defaults(Find("header"), Find("capability"), Find("gap"), Find("unknown-capability"));
        }

        /// <summary>The first statement, unless a later one says <c>override</c> (then the last such).</summary>
        private static T? Latest<T>(IEnumerable<T> statements, Func<T, bool> isOverride)
            where T : class
        {
            T? chosen = null;
            foreach (T statement in statements)
            {
                if (chosen is null || isOverride(statement))
                {
                    chosen = statement;
                }
            }

            return chosen;
        }

        private static OracleOrigin Origin(Placed<DefaultStatement> statement) => new OracleOrigin(statement.File, statement.Statement.Span.Start.Line);

        private sealed record Defaults(Placed<DefaultStatement> Header, Placed<DefaultStatement> Capability, Placed<DefaultStatement> Gap, Placed<DefaultStatement> UnknownCapability);

        /// <summary>A capability the walk found and what the policy does with it.</summary>
        public sealed class Placement
        {
            internal Placement(OracleCapability capability, bool bound, int end, List<Placed<BlockStatement>> blocks)
            {
                Capability = capability;
                Bound = bound;
                End = end;
                Blocks = blocks;
            }

            /// <summary>What the walk found.</summary>
            public OracleCapability Capability { get; }

            /// <summary>False when it lies where its chain may not reach (it then binds nothing).</summary>
            public bool Bound { get; }

            /// <summary>One past its last byte.</summary>
            public int End { get; }

            /// <summary>The policy's blocks for its ID.</summary>
            public List<Placed<BlockStatement>> Blocks { get; }

            /// <summary>Some block or hide names it.</summary>
            public bool Known { get; internal set; }

            /// <summary>Unlinked from the chain.</summary>
            public bool Hidden { get; internal set; }

            /// <summary>The hidden body's action (null: deny 0).</summary>
            public ActionSyntax? HideBody { get; internal set; }

            /// <summary>The hide line (or the unknown-capability default that hides it).</summary>
            public OracleOrigin? HideOrigin { get; internal set; }

            /// <inheritdoc />
            public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} 0x{1:x2} at 0x{2:x3}", Capability.Extended ? "extended capability" : "capability", Capability.Id, Capability.Offset);
        }
    }
}
