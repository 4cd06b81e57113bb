using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.AccessModel.Tests.Binding.Support
{
    /// <summary>Short names for the actions tests use.</summary>
    internal static class Act
    {
        public static BitAction PassRw => BitAction.PassthroughReadWrite;

        public static BitAction PassRo => BitAction.PassthroughReadOnly;

        public static BitAction VirtRw(uint init) => new BitAction(Disposition.Virtualize, WriteSemantics.ReadWrite, InitialValueSource.Literal, init, false);

        public static BitAction VirtRo(uint init) => new BitAction(Disposition.Virtualize, WriteSemantics.ReadOnly, InitialValueSource.Literal, init, false);

        public static BitAction VirtRw1c(uint init) => new BitAction(Disposition.Virtualize, WriteSemantics.WriteOneToClear, InitialValueSource.Literal, init, false);

        public static BitAction VirtFromHardware(WriteSemantics write) => new BitAction(Disposition.Virtualize, write, InitialValueSource.Hardware, 0, false);

        public static BitAction Deny(uint value = 0) => BitAction.Deny(value);

        public static BitAction DenySilent(uint value = 0) => BitAction.Deny(value, silent: true);
    }

    /// <summary>
    /// Builds a <see cref="PolicyModel"/> in C#, as the compiler would lower it, so these tests do not depend on the
    /// parser. Every rule gets its own line in a fictitious file, so origins are distinct and predictable.
    /// </summary>
    internal sealed class PolicyBuilder
    {
        public const string Path = "test.vfiopolicy";

        private readonly List<RegisterBuilder> _header = new List<RegisterBuilder>();
        private readonly List<RegisterBuilder> _deviceSpecific = new List<RegisterBuilder>();
        private readonly List<CapabilityBuilder> _capabilities = new List<CapabilityBuilder>();
        private readonly List<DeviceMatch> _matches = new List<DeviceMatch>();
        private int _line;

        public PolicyBuilder(string name = "test-policy")
        {
            Name = name;
            HeaderDefault = new DefaultRule(DefaultTarget.Header, Act.PassRo, false, Origin("default header passthrough ro"));
            CapabilityDefault = new DefaultRule(DefaultTarget.Capability, Act.PassRo, false, Origin("default capability passthrough ro"));
            GapDefault = new DefaultRule(DefaultTarget.Gap, Act.Deny(), false, Origin("default gap deny"));
            UnknownDefault = new DefaultRule(DefaultTarget.UnknownCapability, Act.PassRo, false, Origin("default unknown-capability passthrough ro"));
        }

        public string Name { get; }

        public DefaultRule HeaderDefault { get; private set; }

        public DefaultRule CapabilityDefault { get; private set; }

        public DefaultRule GapDefault { get; private set; }

        public DefaultRule UnknownDefault { get; private set; }

        public RuleOrigin Origin(string text)
        {
            _line++;
            return new RuleOrigin(Path, _line, 1, text);
        }

        public PolicyBuilder Defaults(BitAction? header = null, BitAction? capability = null, BitAction? gap = null, BitAction? unknown = null, bool hideUnknown = false)
        {
            if (header is not null)
            {
                HeaderDefault = new DefaultRule(DefaultTarget.Header, header, false, Origin("default header"));
            }

            if (capability is not null)
            {
                CapabilityDefault = new DefaultRule(DefaultTarget.Capability, capability, false, Origin("default capability"));
            }

            if (gap is not null)
            {
                GapDefault = new DefaultRule(DefaultTarget.Gap, gap, false, Origin("default gap"));
            }

            if (unknown is not null || hideUnknown)
            {
                UnknownDefault = new DefaultRule(DefaultTarget.UnknownCapability, unknown ?? Act.Deny(), hideUnknown, Origin("default unknown-capability"));
            }

            return this;
        }

        public PolicyBuilder Match(params MatchCriterion[] criteria)
        {
            _matches.Add(new DeviceMatch(criteria.ToEquatableArray(), Origin("match")));
            return this;
        }

        public RegisterBuilder Header(int offset, int width, string name, Behavior behavior = Behavior.None)
        {
            var register = new RegisterBuilder(this, offset, width, name, behavior);
            _header.Add(register);
            return register;
        }

        public RegisterBuilder DeviceSpecific(int offset, int width, string name, Behavior behavior = Behavior.None)
        {
            var register = new RegisterBuilder(this, offset, width, name, behavior);
            _deviceSpecific.Add(register);
            return register;
        }

        public CapabilityBuilder Capability(int id, string name, bool extended = false)
        {
            CapabilityBuilder? existing = _capabilities.FirstOrDefault(c => c.Id == id && c.Extended == extended);
            if (existing is not null)
            {
                return existing;
            }

            var capability = new CapabilityBuilder(this, id, name, extended);
            _capabilities.Add(capability);
            return capability;
        }

        public PolicyModel Build()
        {
            return new PolicyModel(
                Name,
                new RuleOrigin(Path, 0, 1, "policy"),
                _matches.ToEquatableArray(),
                new PolicyDefaults(HeaderDefault, CapabilityDefault, GapDefault, UnknownDefault),
                _header.Select(r => r.Build()).ToEquatableArray(),
                _deviceSpecific.Select(r => r.Build()).ToEquatableArray(),
                _capabilities.Select(c => c.Build()).ToEquatableArray(),
                EquatableArray<ConfigMirror>.Empty);
        }
    }

    internal sealed class CapabilityBuilder
    {
        private readonly PolicyBuilder _policy;
        private readonly List<RegisterBuilder> _registers = new List<RegisterBuilder>();
        private readonly RuleOrigin _origin;
        private HideRule? _hide;

        public CapabilityBuilder(PolicyBuilder policy, int id, string name, bool extended)
        {
            _policy = policy;
            Id = id;
            Name = name;
            Extended = extended;
            _origin = policy.Origin((extended ? "extended-capability " : "capability ") + name);
        }

        public int Id { get; }

        public string Name { get; }

        public bool Extended { get; }

        public RegisterBuilder Register(int offset, int width, string name, Behavior behavior = Behavior.None)
        {
            var register = new RegisterBuilder(_policy, offset, width, name, behavior);
            _registers.Add(register);
            return register;
        }

        public CapabilityBuilder Hide(BitAction? body = null)
        {
            _hide = new HideRule(body ?? Act.Deny(), _policy.Origin("hide " + Name));
            return this;
        }

        public HideRule? HideRule => _hide;

        public DefaultRule? BlockDefault { get; private set; }

        /// <summary>The block's own <c>default ACTION</c>, which replaces <c>default capability</c> for this capability.</summary>
        public CapabilityBuilder Default(BitAction action)
        {
            BlockDefault = new DefaultRule(DefaultTarget.Capability, action, false, _policy.Origin("default in " + Name));
            return this;
        }

        public CapabilityModel Build()
            => new CapabilityModel(Extended, Id, Name, _registers.Select(r => r.Build()).ToEquatableArray(), _hide, _origin) { Default = BlockDefault };
    }

    internal sealed class RegisterBuilder
    {
        private readonly PolicyBuilder _policy;
        private readonly List<BitRule> _rules = new List<BitRule>();
        private readonly List<RegisterCondition> _conditions = new List<RegisterCondition>();
        private readonly RuleOrigin _origin;

        public RegisterBuilder(PolicyBuilder policy, int offset, int width, string name, Behavior behavior)
        {
            _policy = policy;
            Offset = offset;
            Width = width;
            Name = name;
            Behavior = behavior;
            _origin = policy.Origin("register " + name);
        }

        public int Offset { get; }

        public int Width { get; }

        public string Name { get; }

        public RuleOrigin Origin => _origin;

        public Behavior Behavior { get; }

        public RegisterBuilder Bits(int low, int high, BitAction action, bool hardwareRw1c = false) => Bits(low, high, action, out _, hardwareRw1c);

        public RegisterBuilder Bits(int low, int high, BitAction action, out RuleOrigin origin, bool hardwareRw1c = false)
        {
            origin = _policy.Origin(string.Format(CultureInfo.InvariantCulture, "bits {0}..{1} {2}", low, high, action.Disposition));
            _rules.Add(new BitRule(low, high, null, action, hardwareRw1c, origin));
            return this;
        }

        public RegisterBuilder All(BitAction action, bool hardwareRw1c = false) => Bits(0, (Width * 8) - 1, action, hardwareRw1c);

        public RegisterBuilder All(BitAction action, out RuleOrigin origin, bool hardwareRw1c = false) => Bits(0, (Width * 8) - 1, action, out origin, hardwareRw1c);

        public RegisterBuilder When(int offset, int width, uint mask, uint value, bool notEqual = false)
        {
            _conditions.Add(new RegisterCondition(offset, width, mask, value, notEqual));
            return this;
        }

        public RegisterModel Build()
            => new RegisterModel(Offset, Width, Name, Behavior, _conditions.ToEquatableArray(), _rules.ToEquatableArray(), _origin);
    }
}
