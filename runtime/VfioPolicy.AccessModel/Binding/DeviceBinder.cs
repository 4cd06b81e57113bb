using System;
using System.Collections.Generic;
using System.Globalization;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.AccessModel.Binding
{
    /// <summary>
    /// Binds a policy to one device: places every capability rule at every instance the chain walk found, applies the
    /// defaults, hides what the policy hides and keeps the chain consistent, and records for every bit the rule that
    /// decided it.
    /// </summary>
    /// <remarks>
    /// Precedence, highest first: chain-link bytes &gt; hidden capability bodies &gt; device-specific rules &gt;
    /// capability rules &gt; header rules &gt; defaults (a capability block's own default takes the place of the
    /// policy's <c>default capability</c> for that capability's bytes). The binder applies the layers lowest first, each one
    /// overwriting the bits it covers, so the last writer of a bit is its owner. A device-specific register never
    /// overwrites a visible capability, though: that is a <see cref="BindingError"/> (VP0701) and the register is not
    /// applied. Binding never throws on a malformed chain or a policy that does not fit the device: what it cannot
    /// place it skips with a warning, and what would be unsafe to place it reports in <see cref="BoundConfigSpace.Errors"/>.
    /// </remarks>
    public static class DeviceBinder
    {
        /// <summary>The first byte after the type-0 header.</summary>
        public const int HeaderSize = 0x40;

        /// <summary>Where the extended capability chain starts.</summary>
        public const int ExtendedChainStart = 0x100;

        private const int CapabilitiesPointerOffset = 0x34;
        private const int StatusLowByteOffset = 0x06;
        private const byte CapabilitiesListStatusBit = 0x10;

        /// <summary>Walks <paramref name="config"/>'s capability chains and binds <paramref name="model"/> to the device.</summary>
        /// <param name="model">The checked, lowered policy.</param>
        /// <param name="config">The device's config space as read at open: 64, 256 or 4096 bytes.</param>
        /// <exception cref="ArgumentException">The config space is not 64, 256 or 4096 bytes long.</exception>
        public static BoundConfigSpace Bind(PolicyModel model, ReadOnlySpan<byte> config)
        {
            CheckSize(config.Length);
            return Bind(model, config, CapabilityWalker.Walk(config));
        }

        /// <summary>Binds <paramref name="model"/> to a device whose config space is <paramref name="config"/> and whose chains <paramref name="chain"/> describes.</summary>
        /// <param name="model">The checked, lowered policy.</param>
        /// <param name="config">The device's config space as read at open: 64, 256 or 4096 bytes.</param>
        /// <param name="chain">The result of walking <paramref name="config"/>'s capability chains.</param>
        /// <exception cref="ArgumentException">The config space is not 64, 256 or 4096 bytes long.</exception>
        public static BoundConfigSpace Bind(PolicyModel model, ReadOnlySpan<byte> config, ChainWalk chain)
        {
            if (model is null)
            {
                throw new ArgumentNullException(nameof(model));
            }

            if (chain is null)
            {
                throw new ArgumentNullException(nameof(chain));
            }

            CheckSize(config.Length);
            return new Binding(model, config.ToArray(), chain).Run();
        }

        private static void CheckSize(int length)
        {
            if (length != 64 && length != 256 && length != 4096)
            {
                throw new ArgumentException(
                    "A config space is 64, 256 or 4096 bytes long; this one has " + length.ToString(CultureInfo.InvariantCulture) + ".",
                    "config");
            }
        }

        private static string Hex(int value) => "0x" + value.ToString("x2", CultureInfo.InvariantCulture);

        private static string Describe(Disposition disposition) => disposition switch
        {
            Disposition.Passthrough => "passthrough",
            Disposition.Virtualize => "virtualized",
            _ => "denied",
        };

        /// <summary>One capability instance and what the policy does to it.</summary>
        private sealed class CapabilityPlacement
        {
            public CapabilityPlacement(CapabilityInfo info, bool bound, int start, int end, List<CapabilityModel> models)
            {
                Info = info;
                Bound = bound;
                Start = start;
                End = end;
                Models = models;
            }

            public CapabilityInfo Info { get; }

            public bool Bound { get; }

            public int Start { get; }

            /// <summary>Exclusive end of the capability's bytes, clamped to the config space.</summary>
            public int End { get; }

            public List<CapabilityModel> Models { get; }

            public bool Known => Models.Count > 0;

            /// <summary>The capability block's own default, when one of its models states one (it replaces <c>default capability</c>).</summary>
            public DefaultRule? Default
            {
                get
                {
                    foreach (CapabilityModel model in Models)
                    {
                        if (model.Default is not null)
                        {
                            return model.Default;
                        }
                    }

                    return null;
                }
            }

            public BitAction? HideBody { get; set; }

            public RuleOrigin? HideOrigin { get; set; }

            public bool Hidden => HideBody is not null;
        }

        /// <summary>The state of one binding; used once.</summary>
        private sealed class Binding
        {
            private static readonly BitAction ChainLinkAction = new BitAction(Disposition.Virtualize, WriteSemantics.ReadOnly, InitialValueSource.Literal, 0, false);

            // The chain's value (a literal: hiding may have rewritten it), with writes sent to the hardware.
            private static readonly BitAction ChainLinkWriteHardwareAction = new BitAction(Disposition.Virtualize, WriteSemantics.WriteHardware, InitialValueSource.Literal, 0, false);

            private readonly PolicyModel _model;
            private readonly byte[] _config;
            private readonly int _size;
            private readonly ChainWalk _chain;
            private readonly ConfigSpaceMasks _masks;
            private readonly BitOwnerTable _bitOwners;
            private readonly List<RuleOrigin> _rules = new List<RuleOrigin>();
            private readonly List<BitOwnerKind> _ruleKinds = new List<BitOwnerKind>();
            private readonly Dictionary<(RuleOrigin Origin, BitOwnerKind Kind), int> _ownerIndex = new Dictionary<(RuleOrigin Origin, BitOwnerKind Kind), int>();
            private readonly List<BoundBehavior> _behaviors = new List<BoundBehavior>();
            private readonly List<string> _warnings = new List<string>();
            private readonly List<BindingError> _errors = new List<BindingError>();
            private readonly List<CapabilityPlacement> _capabilities = new List<CapabilityPlacement>();

            public Binding(PolicyModel model, byte[] config, ChainWalk chain)
            {
                _model = model;
                _config = config;
                _size = config.Length;
                _chain = chain;
                _masks = new ConfigSpaceMasks(_size);
                _bitOwners = new BitOwnerTable(_size);
            }

            public BoundConfigSpace Run()
            {
                _warnings.AddRange(_chain.Warnings);
                PlaceCapabilities();
                ApplyDefaults();
                ApplyHeaderRules();
                ApplyCapabilityRules();
                ApplyDeviceSpecificRules();
                ApplyHiddenBodies();
                ApplyChainLinks();

                var capabilities = new List<BoundCapability>(_capabilities.Count);
                foreach (CapabilityPlacement placement in _capabilities)
                {
                    capabilities.Add(new BoundCapability(placement.Info, placement.Hidden, placement.Known, placement.Bound));
                }

                return new BoundConfigSpace(_model, _size, _masks, _bitOwners, _rules, _ruleKinds, _behaviors.ToArray(), capabilities, _warnings, _errors);
            }

            private void PlaceCapabilities()
            {
                foreach (CapabilityInfo info in _chain.Capabilities)
                {
                    int linkSize = info.Extended ? 4 : 2;
                    int lowest = info.Extended ? ExtendedChainStart : HeaderSize;
                    string chainName = info.Extended ? "extended capability " : "capability ";
                    bool bound = true;
                    if (info.Offset < lowest || (long)info.Offset + linkSize > _size)
                    {
                        bound = false;
                        _warnings.Add(chainName + info.Name + " at " + Hex(info.Offset) + " lies outside the region its chain may use; ignored");
                    }

                    int end = (int)Math.Min(_size, (long)info.Offset + Math.Max(info.Length, linkSize));
                    var models = new List<CapabilityModel>();
                    foreach (CapabilityModel capability in _model.Capabilities)
                    {
                        if (capability.Extended == info.Extended && capability.Id == info.Id)
                        {
                            models.Add(capability);
                        }
                    }

                    var placement = new CapabilityPlacement(info, bound, info.Offset, end, models);
                    foreach (CapabilityModel capability in models)
                    {
                        if (capability.Hide is not null && placement.HideBody is null)
                        {
                            placement.HideBody = capability.Hide.Body;
                            placement.HideOrigin = capability.Hide.Origin;
                        }
                    }

                    DefaultRule unknown = _model.Defaults.UnknownCapability;
                    if (!placement.Known && unknown.Hide)
                    {
                        placement.HideBody = unknown.Action;
                        placement.HideOrigin = unknown.Origin;
                    }

                    _capabilities.Add(placement);
                }
            }

            private void ApplyDefaults()
            {
                PolicyDefaults defaults = _model.Defaults;
                AssignDefault(0, _size, defaults.Gap, BitOwnerKind.GapDefault);
                AssignDefault(0, Math.Min(HeaderSize, _size), defaults.Header, BitOwnerKind.HeaderDefault);
                foreach (CapabilityPlacement placement in _capabilities)
                {
                    if (!placement.Bound)
                    {
                        continue;
                    }

                    if (placement.Known)
                    {
                        AssignDefault(placement.Start, placement.End, placement.Default ?? defaults.Capability, BitOwnerKind.CapabilityDefault);
                    }
                    else
                    {
                        AssignDefault(placement.Start, placement.End, defaults.UnknownCapability, BitOwnerKind.UnknownCapabilityDefault);
                    }
                }
            }

            private void AssignDefault(int start, int end, DefaultRule rule, BitOwnerKind kind)
            {
                int owner = Owner(rule.Origin, kind);
                byte pattern = (byte)(rule.Action.Value & 0xFF);
                for (int offset = start; offset < end; offset++)
                {
                    Assign(offset, 0xFF, rule.Action, pattern, 0, owner);
                }
            }

            private void ApplyHeaderRules()
            {
                int end = Math.Min(HeaderSize, _size);
                foreach (RegisterModel register in _model.Header)
                {
                    ApplyRegister(register, 0, end, "register " + register.Name + " at " + Hex(register.Offset) + " lies outside the header (0x00-0x3f); ignored");
                }
            }

            private void ApplyCapabilityRules()
            {
                foreach (CapabilityPlacement placement in _capabilities)
                {
                    // A hidden capability's body overrides every rule, so its rules would bind nothing but warnings.
                    if (!placement.Bound || placement.Hidden)
                    {
                        continue;
                    }

                    foreach (CapabilityModel capability in placement.Models)
                    {
                        foreach (RegisterModel register in capability.Registers)
                        {
                            string outside = "register " + register.Name + " of " + capability.Name + " at " + Hex(placement.Start)
                                + " straddles the end of the capability (length " + placement.Info.Length.ToString(CultureInfo.InvariantCulture) + "); ignored";
                            ApplyRegister(register, placement.Start, placement.End, outside);
                        }
                    }
                }
            }

            private void ApplyDeviceSpecificRules()
            {
                foreach (RegisterModel register in _model.DeviceSpecific)
                {
                    if (OverlapsVisibleCapability(register))
                    {
                        continue;
                    }

                    string outside = "device-specific register " + register.Name + " at " + Hex(register.Offset)
                        + " straddles the end of the config space (size " + _size.ToString(CultureInfo.InvariantCulture) + "); ignored";
                    ApplyRegister(register, 0, _size, outside);
                }
            }

            /// <summary>
            /// A device-specific register that lies over a capability this device has would silently take over the
            /// capability's bits (an MSI-X enable passed to the hardware where the capability's rules virtualize it).
            /// The policy was written for another layout: an error (VP0701), and the register is not applied.
            /// Hidden capabilities are exempt: their bodies win over device-specific rules anyway.
            /// </summary>
            private bool OverlapsVisibleCapability(RegisterModel register)
            {
                // A register ApplyRegister ignores (a width other than 1, 2 or 4, a negative offset) takes over nothing.
                if ((register.Width != 1 && register.Width != 2 && register.Width != 4) || register.Offset < 0)
                {
                    return false;
                }

                foreach (RegisterCondition condition in register.Conditions)
                {
                    if (!condition.Holds(_config, 0))
                    {
                        return false;
                    }
                }

                int start = register.Offset;
                int end = register.Offset + register.Width;
                foreach (CapabilityPlacement placement in _capabilities)
                {
                    if (!placement.Bound || placement.Hidden || start >= placement.End || placement.Start >= end)
                    {
                        continue;
                    }

                    CapabilityInfo info = placement.Info;
                    _errors.Add(new BindingError(
                        "VP0701",
                        register.Origin,
                        "device-specific register " + (register.Name.Length > 0 ? register.Name + " " : string.Empty) + "(" + Hex(register.Offset) + ", "
                        + register.Width.ToString(CultureInfo.InvariantCulture) + " bytes) lies over " + (info.Extended ? "extended capability " : "capability ")
                        + info.Name + " at " + Hex(placement.Start) + "-" + Hex(placement.End - 1) + " on this device and would take over its bits; "
                        + "write those rules in the capability's block, or use a policy written for this device"));
                    return true;
                }

                return false;
            }

            private void ApplyHiddenBodies()
            {
                foreach (CapabilityPlacement placement in _capabilities)
                {
                    if (!placement.Bound || placement.HideBody is null || placement.HideOrigin is null)
                    {
                        continue;
                    }

                    int owner = Owner(placement.HideOrigin, BitOwnerKind.HiddenBody);
                    byte pattern = (byte)(placement.HideBody.Value & 0xFF);
                    for (int offset = placement.Start; offset < placement.End; offset++)
                    {
                        Assign(offset, 0xFF, placement.HideBody, pattern, 0, owner);
                    }
                }
            }

            private void ApplyChainLinks()
            {
                var standard = new List<CapabilityPlacement>();
                var extended = new List<CapabilityPlacement>();
                foreach (CapabilityPlacement placement in _capabilities)
                {
                    if (placement.Bound)
                    {
                        (placement.Info.Extended ? extended : standard).Add(placement);
                    }
                }

                // The consumer's chain is exactly what the walk kept, minus what is hidden: each next pointer names the
                // next visible capability the walk found, so a chain the walk cut (a loop, a pointer into the header
                // or past the image, reserved low bits) ends at 0 there instead of showing the hardware's pointer.
                for (int i = 0; i < standard.Count; i++)
                {
                    CapabilityPlacement placement = standard[i];
                    if (placement.Hidden)
                    {
                        continue;
                    }

                    AssignChainLink(placement.Start, 0xFF, _config[placement.Start], warnAboutRules: true, idBits: 0xFF);
                    AssignChainLink(placement.Start + 1, 0xFF, (byte)NextVisibleOffset(standard, i + 1), warnAboutRules: true);
                }

                // The Capabilities Pointer and Status' Capabilities List bit agree with what remains.
                int first = NextVisibleOffset(standard, 0);
                bool listed = (_config[StatusLowByteOffset] & CapabilitiesListStatusBit) != 0;
                if (listed && first != _config[CapabilitiesPointerOffset])
                {
                    AssignChainLink(CapabilitiesPointerOffset, 0xFF, (byte)first, warnAboutRules: false);
                }

                if (listed && first == 0)
                {
                    AssignChainLink(StatusLowByteOffset, CapabilitiesListStatusBit, 0, warnAboutRules: false);
                }

                for (int i = 0; i < extended.Count; i++)
                {
                    CapabilityPlacement placement = extended[i];

                    // The head of the extended chain has no predecessor to unlink it from, so a hidden one stays as a
                    // placeholder header (ID 0, version 0) that keeps the chain reachable.
                    bool placeholder = placement.Hidden && placement.Start == ExtendedChainStart;
                    if (placement.Hidden && !placeholder)
                    {
                        continue;
                    }

                    uint header = ReadConfig(placement.Start, 4);
                    uint next = (uint)NextVisibleOffset(extended, i + 1);

                    uint linked = placeholder ? next << 20 : (header & 0x000F_FFFFu) | (next << 20);
                    for (int b = 0; b < 4; b++)
                    {
                        // The ID and version (bits 0..19) are never rewritten, unless the head is a hidden placeholder.
                        byte idBits = placeholder ? (byte)0 : (byte)(0x000F_FFFFu >> (8 * b));
                        AssignChainLink(placement.Start + b, 0xFF, (byte)(linked >> (8 * b)), warnAboutRules: true, idBits);
                    }
                }
            }

            private static int NextVisibleOffset(List<CapabilityPlacement> chain, int from)
            {
                for (int i = from; i < chain.Count; i++)
                {
                    if (!chain[i].Hidden)
                    {
                        return chain[i].Start;
                    }
                }

                return 0;
            }

            /// <summary>
            /// Gives chain link bits the chain's value. A rule may keep them in two ways, as the compiler's chain-link
            /// check allows: <c>virtualize ro write-hw</c> (the chain's value is read, writes reach the hardware) and,
            /// on ID bits that hiding never rewrites, <c>passthrough ro</c>. Any other rule there is dropped with a
            /// warning, once per rule and byte.
            /// </summary>
            private void AssignChainLink(int offset, byte bits, byte value, bool warnAboutRules, byte idBits = 0)
            {
                if (warnAboutRules)
                {
                    ConfigSpaceMasks m = _masks;
                    byte writeHardware = (byte)(m.Virt[offset] & m.PassthroughWritable[offset] & ~m.Deny[offset] & ~m.HardwareWriteOneToClear[offset] & m.InitFromHardware[offset]);
                    byte readHardware = (byte)(~m.Virt[offset] & ~m.PassthroughWritable[offset] & ~m.HardwareWriteOneToClear[offset] & idBits);
                    int warnedOwner = -1;
                    for (int bit = 0; bit < 8; bit++)
                    {
                        int owner = _bitOwners[offset, bit];
                        if ((bits & (1 << bit)) == 0 || _ruleKinds[owner] != BitOwnerKind.Rule)
                        {
                            continue;
                        }

                        if ((writeHardware & (1 << bit)) != 0)
                        {
                            Assign(offset, (byte)(1 << bit), ChainLinkWriteHardwareAction, value, 0, owner);
                            bits &= (byte)~(1 << bit);
                        }
                        else if ((readHardware & (1 << bit)) != 0)
                        {
                            bits &= (byte)~(1 << bit);
                        }
                        else if (owner != warnedOwner)
                        {
                            warnedOwner = owner;
                            _warnings.Add("rule at " + _rules[owner].Location + " would make chain link byte " + Hex(offset) + " "
                                + Describe(DispositionOf(offset, bit)) + "; kept virtual");
                        }
                    }
                }

                Assign(offset, bits, ChainLinkAction, value, 0, Owner(RuleOrigin.Chain, BitOwnerKind.ChainLink));
            }

            private Disposition DispositionOf(int offset, int bit)
            {
                int mask = 1 << bit;
                if ((_masks.Deny[offset] & mask) != 0)
                {
                    return Disposition.Deny;
                }

                return (_masks.Virt[offset] & mask) != 0 ? Disposition.Virtualize : Disposition.Passthrough;
            }

            private void ApplyRegister(RegisterModel register, int baseOffset, int regionEnd, string outsideWarning)
            {
                if (register.Width != 1 && register.Width != 2 && register.Width != 4)
                {
                    _warnings.Add("register " + register.Name + " at " + register.Origin.Location + " has width "
                        + register.Width.ToString(CultureInfo.InvariantCulture) + " (1, 2 or 4 expected); ignored");
                    return;
                }

                foreach (RegisterCondition condition in register.Conditions)
                {
                    if (!condition.Holds(_config, baseOffset))
                    {
                        return;
                    }
                }

                int start = baseOffset + register.Offset;
                if (register.Offset >= 0 && start >= regionEnd)
                {
                    // Wholly past the structure: this device's instance is shorter (a PCIe endpoint has no slot 2
                    // registers, a 16-byte vendor capability no word at 0x10). Like a condition that does not hold,
                    // the register simply does not exist here.
                    return;
                }

                if (register.Offset < 0 || start + register.Width > regionEnd)
                {
                    _warnings.Add(outsideWarning);
                    return;
                }

                foreach (BitRule rule in register.Rules)
                {
                    if (rule.LowBit < 0 || rule.HighBit < rule.LowBit || rule.HighBit >= register.Width * 8)
                    {
                        _warnings.Add("rule at " + rule.Origin.Location + " covers bits " + rule.LowBit.ToString(CultureInfo.InvariantCulture) + ".."
                            + rule.HighBit.ToString(CultureInfo.InvariantCulture) + ", outside register " + register.Name + "; ignored");
                        continue;
                    }

                    // Inside the register (checked above), so the rule's mask needs no cut to the register's width.
                    uint mask = rule.Mask;
                    uint value = (rule.Action.Value << rule.LowBit) & mask;
                    uint hardwareRw1c = rule.HardwareWriteOneToClear ? mask : 0;
                    int owner = Owner(rule.Origin, BitOwnerKind.Rule);
                    for (int b = 0; b < register.Width; b++)
                    {
                        byte bits = (byte)(mask >> (8 * b));
                        if (bits != 0)
                        {
                            Assign(start + b, bits, rule.Action, (byte)(value >> (8 * b)), (byte)(hardwareRw1c >> (8 * b)), owner);
                        }
                    }
                }

                if (register.Behavior != Behavior.None)
                {
                    _behaviors.Add(new BoundBehavior(start, register.Width, register.Behavior, register.Origin));
                }
            }


            private uint ReadConfig(int offset, int width)
            {
                uint value = 0;
                for (int b = width - 1; b >= 0; b--)
                {
                    value = (value << 8) | _config[offset + b];
                }

                return value;
            }

            private int Owner(RuleOrigin origin, BitOwnerKind kind)
            {
                if (!_ownerIndex.TryGetValue((origin, kind), out int index))
                {
                    index = _rules.Count;
                    _rules.Add(origin);
                    _ruleKinds.Add(kind);
                    _ownerIndex.Add((origin, kind), index);
                }

                return index;
            }

            /// <summary>Gives <paramref name="bits"/> of byte <paramref name="offset"/> the disposition of <paramref name="action"/>, replacing what they had.</summary>
            private void Assign(int offset, byte bits, BitAction action, byte value, byte hardwareRw1c, int owner)
            {
                byte keep = (byte)~bits;
                ConfigSpaceMasks m = _masks;
                m.Virt[offset] &= keep;
                m.PassthroughWritable[offset] &= keep;
                m.ShadowReadWrite[offset] &= keep;
                m.ShadowWriteOneToClear[offset] &= keep;
                m.Deny[offset] &= keep;
                m.Audit[offset] &= keep;
                m.ResetValue[offset] &= keep;
                m.InitFromHardware[offset] &= keep;

                switch (action.Disposition)
                {
                    case Disposition.Passthrough:
                        if (action.Write != WriteSemantics.ReadOnly)
                        {
                            m.PassthroughWritable[offset] |= bits;
                        }

                        // A passthrough rw1c bit is a write-1-to-clear hardware bit the consumer may clear.
                        if (action.Write == WriteSemantics.WriteOneToClear)
                        {
                            m.HardwareWriteOneToClear[offset] |= bits;
                        }

                        break;
                    case Disposition.Virtualize:
                        m.Virt[offset] |= bits;
                        if (action.Write == WriteSemantics.WriteHardware)
                        {
                            // Read from the shadow, written to the hardware: the merge treats it as passthrough-writable.
                            m.PassthroughWritable[offset] |= bits;
                        }
                        else if (action.Write == WriteSemantics.ReadWrite)
                        {
                            m.ShadowReadWrite[offset] |= bits;
                        }
                        else if (action.Write == WriteSemantics.WriteOneToClear)
                        {
                            m.ShadowWriteOneToClear[offset] |= bits;
                        }

                        if (action.Initial == InitialValueSource.Hardware)
                        {
                            m.InitFromHardware[offset] |= bits;
                        }
                        else
                        {
                            m.ResetValue[offset] |= (byte)(value & bits);
                        }

                        break;
                    default:
                        m.Virt[offset] |= bits;
                        m.Deny[offset] |= bits;
                        if (!action.Silent)
                        {
                            m.Audit[offset] |= bits;
                        }

                        m.ResetValue[offset] |= (byte)(value & bits);
                        break;
                }

                // Write-1-to-clear is a fact about the hardware, not about who owns the bit: it is never taken away,
                // so a merge can never clear a status bit because a later layer forgot to say it was one.
                m.HardwareWriteOneToClear[offset] |= (byte)(hardwareRw1c & bits);

                for (int bit = 0; bit < 8; bit++)
                {
                    if ((bits & (1 << bit)) != 0)
                    {
                        _bitOwners[offset, bit] = owner;
                    }
                }
            }
        }
    }
}
