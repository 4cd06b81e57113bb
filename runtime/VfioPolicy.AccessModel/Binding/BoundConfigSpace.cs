using System;
using System.Collections.Generic;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.AccessModel.Binding
{
    /// <summary>
    /// A policy bound to one device: for every byte of its config space, plain 8-bit masks saying what each bit does,
    /// and for every bit the rule that decided it. The interpreter executes these arrays; the map prints them; the
    /// masks <see cref="VirtMask"/> and <see cref="WriteMask"/> are exactly the access model's <c>virt</c> and
    /// <c>write</c>, so a binding compares directly with the Linux kernel's vfio-pci tables.
    /// </summary>
    /// <remarks>Created by <see cref="DeviceBinder"/>; immutable afterwards.</remarks>
    public sealed class BoundConfigSpace
    {
        private readonly byte[] _virt;
        private readonly byte[] _write;
        private readonly byte[] _passthroughWritable;
        private readonly byte[] _shadowReadWrite;
        private readonly byte[] _shadowWriteOneToClear;
        private readonly byte[] _hardwareWriteOneToClear;
        private readonly byte[] _deny;
        private readonly byte[] _audit;
        private readonly byte[] _resetValue;
        private readonly byte[] _initFromHardware;
        private readonly BitOwnerTable _bitOwners;
        private readonly BoundBehavior[] _behaviors;

        internal BoundConfigSpace(
            PolicyModel model,
            int size,
            ConfigSpaceMasks masks,
            BitOwnerTable bitOwners,
            IReadOnlyList<RuleOrigin> rules,
            IReadOnlyList<BitOwnerKind> ruleKinds,
            BoundBehavior[] behaviors,
            IReadOnlyList<BoundCapability> capabilities,
            IReadOnlyList<string> warnings,
            IReadOnlyList<BindingError> errors)
        {
            Model = model;
            Size = size;
            _virt = masks.Virt;
            _passthroughWritable = masks.PassthroughWritable;
            _shadowReadWrite = masks.ShadowReadWrite;
            _shadowWriteOneToClear = masks.ShadowWriteOneToClear;
            _hardwareWriteOneToClear = masks.HardwareWriteOneToClear;
            _deny = masks.Deny;
            _audit = masks.Audit;
            _resetValue = masks.ResetValue;
            _initFromHardware = masks.InitFromHardware;
            _write = new byte[size];
            for (int i = 0; i < size; i++)
            {
                _write[i] = (byte)(_passthroughWritable[i] | _shadowReadWrite[i] | _shadowWriteOneToClear[i]);
            }

            _bitOwners = bitOwners;
            Rules = rules;
            RuleKinds = ruleKinds;
            _behaviors = behaviors;
            Capabilities = capabilities;
            Warnings = warnings;
            Errors = errors;
        }

        /// <summary>The policy that was bound.</summary>
        public PolicyModel Model { get; }

        /// <summary>The policy's name, as audit events carry it.</summary>
        public string PolicyName => Model.Name;

        /// <summary>The device's config-space size in bytes.</summary>
        public int Size { get; }

        /// <summary>Per byte: bits whose read value does not come from hardware (virtualized and denied) — the access model's <c>virt</c>.</summary>
        public ReadOnlySpan<byte> VirtMask => _virt;

        /// <summary>Per byte: bits where a consumer write has an effect (passthrough writable, virtualized rw or rw1c) — the access model's <c>write</c>.</summary>
        public ReadOnlySpan<byte> WriteMask => _write;

        /// <summary>Per byte: passthrough bits a consumer write reaches the hardware through.</summary>
        public ReadOnlySpan<byte> PassthroughWritable => _passthroughWritable;

        /// <summary>Per byte: virtualized bits a write stores into the shadow.</summary>
        public ReadOnlySpan<byte> ShadowReadWrite => _shadowReadWrite;

        /// <summary>Per byte: virtualized bits a written 1 clears in the shadow.</summary>
        public ReadOnlySpan<byte> ShadowWriteOneToClear => _shadowWriteOneToClear;

        /// <summary>Per byte: bits that are write-1-to-clear in the hardware; a read-modify-write writes them as 0 unless the consumer writes them.</summary>
        public ReadOnlySpan<byte> HardwareWriteOneToClear => _hardwareWriteOneToClear;

        /// <summary>Per byte: denied bits.</summary>
        public ReadOnlySpan<byte> DenyMask => _deny;

        /// <summary>Per byte: denied bits whose rule is not silent; a write that tries to change them is audited.</summary>
        public ReadOnlySpan<byte> AuditMask => _audit;

        /// <summary>Per byte: the reset value of virtualized bits with a literal initial value and the constant of denied bits; 0 elsewhere.</summary>
        public ReadOnlySpan<byte> ResetValue => _resetValue;

        /// <summary>Per byte: virtualized bits whose initial (and reset) value is the hardware's when the device is opened.</summary>
        public ReadOnlySpan<byte> InitFromHardware => _initFromHardware;

        /// <summary>Every rule or default that owns at least one bit; bit owners are indices into this list.</summary>
        public IReadOnlyList<RuleOrigin> Rules { get; }

        /// <summary>For each entry of <see cref="Rules"/>, what kind of thing it is (the same origin may appear once per kind).</summary>
        public IReadOnlyList<BitOwnerKind> RuleKinds { get; }

        /// <summary>Registers bound to behaviors, in binding order.</summary>
        public IReadOnlyList<BoundBehavior> Behaviors => _behaviors;

        /// <summary>Every capability the chain walk found, with what the policy did to it, in chain order.</summary>
        public IReadOnlyList<BoundCapability> Capabilities { get; }

        /// <summary>The chain walk's warnings followed by the binder's.</summary>
        public IReadOnlyList<string> Warnings { get; }

        /// <summary>Where the policy does not fit this device (see <see cref="BindingError"/>); empty when the binding may be used.</summary>
        public IReadOnlyList<BindingError> Errors { get; }

        internal byte[] VirtArray => _virt;

        internal byte[] PassthroughWritableArray => _passthroughWritable;

        internal byte[] ShadowReadWriteArray => _shadowReadWrite;

        internal byte[] ShadowWriteOneToClearArray => _shadowWriteOneToClear;

        internal byte[] HardwareWriteOneToClearArray => _hardwareWriteOneToClear;

        internal byte[] AuditArray => _audit;

        internal byte[] ResetValueArray => _resetValue;

        internal byte[] InitFromHardwareArray => _initFromHardware;

        internal BoundBehavior[] BehaviorArray => _behaviors;

        /// <summary>The index into <see cref="Rules"/> of the owner of bit <paramref name="bit"/> (0–7) of byte <paramref name="offset"/>.</summary>
        public int OwnerIndexOf(int offset, int bit)
        {
            CheckBit(offset, bit);
            return _bitOwners[offset, bit];
        }

        /// <summary>The rule or default that owns bit <paramref name="bit"/> (0–7) of byte <paramref name="offset"/>.</summary>
        public RuleOrigin OwnerOf(int offset, int bit) => Rules[OwnerIndexOf(offset, bit)];

        /// <summary>What kind of thing owns bit <paramref name="bit"/> (0–7) of byte <paramref name="offset"/>.</summary>
        public BitOwnerKind OwnerKindOf(int offset, int bit) => RuleKinds[OwnerIndexOf(offset, bit)];

        /// <summary>The index into <see cref="Rules"/> of the owner of most bits of byte <paramref name="offset"/>; a tie goes to the owner of the lowest bit.</summary>
        public int DominantOwnerIndex(int offset)
        {
            CheckBit(offset, 0);
            int best = _bitOwners[offset, 0];
            int bestCount = 0;

            // Candidates are visited in order of their lowest bit and only a strictly larger count replaces the best,
            // so a tie keeps the owner of the lower bit.
            for (int candidateBit = 0; candidateBit < 8; candidateBit++)
            {
                int candidate = _bitOwners[offset, candidateBit];
                int count = 0;
                for (int bit = 0; bit < 8; bit++)
                {
                    if (_bitOwners[offset, bit] == candidate)
                    {
                        count++;
                    }
                }

                if (count > bestCount)
                {
                    best = candidate;
                    bestCount = count;
                }
            }

            return best;
        }

        /// <summary>
        /// The action bit <paramref name="bit"/> (0–7) of byte <paramref name="offset"/> was bound to, read back from the
        /// masks: <see cref="BitAction.Value"/> is the bit's reset or denied value (0 or 1; 0 when it starts from the
        /// hardware). Whether the hardware bit is write-1-to-clear is a separate fact (<see cref="HardwareWriteOneToClear"/>).
        /// </summary>
        public BitAction ActionAt(int offset, int bit)
        {
            CheckBit(offset, bit);
            int mask = 1 << bit;
            bool Has(byte[] bytes) => (bytes[offset] & mask) != 0;
            uint value = Has(_resetValue) ? 1u : 0u;
            if (Has(_deny))
            {
                return BitAction.Deny(value, silent: !Has(_audit));
            }

            if (!Has(_virt))
            {
                return Has(_passthroughWritable) ? BitAction.PassthroughReadWrite : BitAction.PassthroughReadOnly;
            }

            WriteSemantics write = Has(_passthroughWritable) ? WriteSemantics.WriteHardware
                : Has(_shadowReadWrite) ? WriteSemantics.ReadWrite
                : Has(_shadowWriteOneToClear) ? WriteSemantics.WriteOneToClear
                : WriteSemantics.ReadOnly;
            bool fromHardware = Has(_initFromHardware);
            return new BitAction(Disposition.Virtualize, write, fromHardware ? InitialValueSource.Hardware : InitialValueSource.Literal, fromHardware ? 0 : value, false);
        }

        /// <summary>The rule or default owning most bits of byte <paramref name="offset"/>; a tie goes to the owner of the lowest bit.</summary>
        public RuleOrigin DominantRule(int offset) => Rules[DominantOwnerIndex(offset)];

        /// <summary>The behavior register containing byte <paramref name="offset"/>, or null.</summary>
        public BoundBehavior? FindBehavior(int offset)
        {
            foreach (BoundBehavior behavior in _behaviors)
            {
                if (behavior.Contains(offset))
                {
                    return behavior;
                }
            }

            return null;
        }

        private void CheckBit(int offset, int bit)
        {
            if (offset < 0 || offset >= Size)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), offset, "The offset lies outside the device's config space (size " + Size.ToString(System.Globalization.CultureInfo.InvariantCulture) + ").");
            }

            if (bit < 0 || bit > 7)
            {
                throw new ArgumentOutOfRangeException(nameof(bit), bit, "A bit index within a byte is 0 to 7.");
            }
        }
    }

    /// <summary>The per-byte masks the binder fills in; handed to <see cref="BoundConfigSpace"/> without copying.</summary>
    internal sealed class ConfigSpaceMasks
    {
        public ConfigSpaceMasks(int size)
        {
            Virt = new byte[size];
            PassthroughWritable = new byte[size];
            ShadowReadWrite = new byte[size];
            ShadowWriteOneToClear = new byte[size];
            HardwareWriteOneToClear = new byte[size];
            Deny = new byte[size];
            Audit = new byte[size];
            ResetValue = new byte[size];
            InitFromHardware = new byte[size];
        }

        public byte[] Virt { get; }

        public byte[] PassthroughWritable { get; }

        public byte[] ShadowReadWrite { get; }

        public byte[] ShadowWriteOneToClear { get; }

        public byte[] HardwareWriteOneToClear { get; }

        public byte[] Deny { get; }

        public byte[] Audit { get; }

        public byte[] ResetValue { get; }

        public byte[] InitFromHardware { get; }
    }
}
