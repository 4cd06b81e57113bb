using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Infrastructure;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Compiler.Emit
{
    /// <summary>One dword of masks the generated handler holds as constants, and where it was first seen.</summary>
    /// <param name="Number">The block's number in the generated tables (1 and up; 0 means "general path").</param>
    /// <param name="Masks">The dword's masks.</param>
    /// <param name="Region">Where the planner first met it, without the offset: <c>header </c>, <c>MSI +</c>, <c>gap </c>.</param>
    /// <param name="RegionOffset">The dword's offset in <paramref name="Region"/>.</param>
    /// <param name="Bits">Runs of bits with the same treatment and owner, lowest first.</param>
    public sealed record ConstantBlock(int Number, PieceMasks Masks, string Region, int RegionOffset, IReadOnlyList<BitRun> Bits)
    {
        /// <summary>Where the planner first met the dword, in words (e.g. <c>header 0x04</c>, <c>MSI +0x0c</c>).</summary>
        public string Place => PlaceAt(0);

        /// <summary>The place of the byte <paramref name="byteInDword"/> bytes into the dword, in the words of <see cref="Place"/>.</summary>
        public string PlaceAt(int byteInDword) => Region + "0x" + (RegionOffset + byteInDword).ToString("x2", CultureInfo.InvariantCulture);
    }

    /// <summary>Bits <paramref name="LowBit"/>..<paramref name="HighBit"/> of a dword, treated alike and owned by one rule or default.</summary>
    /// <param name="LowBit">Lowest bit (0–31).</param>
    /// <param name="HighBit">Highest bit, inclusive.</param>
    /// <param name="Treatment">What the bits do, in words.</param>
    /// <param name="Owner">The owning rule's origin.</param>
    /// <param name="OwnerKind">What kind of thing owns them.</param>
    public sealed record BitRun(int LowBit, int HighBit, string Treatment, RuleOrigin Owner, BitOwnerKind OwnerKind);

    /// <summary>
    /// Decides which dwords of masks a generated handler holds as constants. Rather than re-deriving the binder's
    /// precedence rules (which would be a second definition that could drift), it binds the model with the real
    /// <see cref="DeviceBinder"/> to small synthetic devices: one without capabilities, and one per capability the
    /// policy describes (and one unknown capability per chain), each in every combination of the conditions its
    /// registers test. Every distinct dword those bindings produce becomes a block. Which device a block then serves
    /// is decided at open time by comparing masks, so a block the planner mis-guessed costs speed, never correctness.
    /// </summary>
    public static class ConstantBlockPlanner
    {
        private const int StandardStart = 0x40;
        private const int ExtendedStart = 0x100;
        private const int ExpressCapabilityId = 0x10;
        private const int MaxConditionsVaried = 4;

        /// <summary>The constant blocks for <paramref name="model"/>, numbered from 1 in a deterministic order.</summary>
        public static IReadOnlyList<ConstantBlock> Plan(PolicyModel model)
        {
            if (model is null)
            {
                throw new ArgumentNullException(nameof(model));
            }

            var blocks = new List<ConstantBlock>();
            var seen = new HashSet<PieceMasks>();
            foreach (SyntheticDevice device in SyntheticDevices(model))
            {
                BoundConfigSpace bound = DeviceBinder.Bind(model, device.Config);
                for (int offset = 0; offset < bound.Size; offset += 4)
                {
                    PieceMasks masks = PieceMasks.FromBound(bound, offset, 4);
                    if (seen.Add(masks))
                    {
                        (string region, int regionOffset) = Place(bound, offset);
                        blocks.Add(new ConstantBlock(blocks.Count + 1, masks, region, regionOffset, Runs(bound, offset)));
                    }
                }
            }

            if (blocks.Count > ushort.MaxValue)
            {
                throw new InvalidOperationException("The policy produces more constant blocks than a dispatch table can number.");
            }

            return blocks;
        }

        private sealed class SyntheticDevice
        {
            public SyntheticDevice(byte[] config) => Config = config;

            public byte[] Config { get; }
        }

        private static IEnumerable<SyntheticDevice> SyntheticDevices(PolicyModel model)
        {
            // Header and device-specific registers: a device without capabilities, in every variant of their conditions.
            var absolute = model.Header.Concat(model.DeviceSpecific).SelectMany(r => r.Conditions).ToList();
            foreach (byte[] config in Variants(new byte[4096], 0, absolute, _ => { }))
            {
                yield return new SyntheticDevice(config);
            }

            var capabilities = model.Capabilities
                .GroupBy(c => (c.Extended, c.Id))
                .OrderBy(g => g.Key.Extended)
                .ThenBy(g => g.Key.Id)
                .ToList();
            foreach (var capability in capabilities)
            {
                var conditions = capability.SelectMany(c => c.Registers).SelectMany(r => r.Conditions).ToList();
                foreach (SyntheticDevice device in WithCapability(capability.Key.Extended, capability.Key.Id, conditions))
                {
                    yield return device;
                }
            }

            var knownStandard = new HashSet<int>(model.Capabilities.Where(c => !c.Extended).Select(c => c.Id));
            var knownExtended = new HashSet<int>(model.Capabilities.Where(c => c.Extended).Select(c => c.Id));
            int unknownStandard = Enumerable.Range(1, 0xFE).First(id => !knownStandard.Contains(id) && id != ExpressCapabilityId);
            int unknownExtended = Enumerable.Range(1, 0xFFFE).First(id => !knownExtended.Contains(id));
            foreach (SyntheticDevice device in WithCapability(false, unknownStandard, new List<RegisterCondition>()))
            {
                yield return device;
            }

            foreach (SyntheticDevice device in WithCapability(true, unknownExtended, new List<RegisterCondition>()))
            {
                yield return device;
            }
        }

        /// <summary>A device with one capability (an extended one behind a PCI Express capability, which makes the extended space walkable).</summary>
        private static IEnumerable<SyntheticDevice> WithCapability(bool extended, int id, List<RegisterCondition> conditions)
        {
            int start = extended ? ExtendedStart : StandardStart;
            Action<byte[]> link = config =>
            {
                config[0x06] |= 0x10;
                config[0x34] = StandardStart;
                if (extended)
                {
                    config[StandardStart] = ExpressCapabilityId;
                    config[StandardStart + 1] = 0;
                    config[StandardStart + 2] = 0x02;
                    uint header = (uint)id | (1u << 16);
                    for (int b = 0; b < 4; b++)
                    {
                        config[ExtendedStart + b] = (byte)(header >> (8 * b));
                    }
                }
                else
                {
                    config[StandardStart] = (byte)id;
                    config[StandardStart + 1] = 0;
                }
            };

            var template = new byte[4096];
            link(template);
            foreach (byte[] config in Variants(template, start, conditions, link))
            {
                yield return new SyntheticDevice(config);
            }
        }

        /// <summary>
        /// Copies of <paramref name="template"/> in which each of the first few distinct conditions holds or fails in
        /// every combination; <paramref name="relink"/> restores the chain a condition's bytes may have overwritten.
        /// </summary>
        private static IEnumerable<byte[]> Variants(byte[] template, int baseOffset, List<RegisterCondition> conditions, Action<byte[]> relink)
        {
            var distinct = conditions.Distinct().Take(MaxConditionsVaried).ToList();
            var produced = new HashSet<string>(StringComparer.Ordinal);
            for (int combination = 0; combination < (1 << distinct.Count); combination++)
            {
                var config = (byte[])template.Clone();
                for (int i = 0; i < distinct.Count; i++)
                {
                    RegisterCondition condition = distinct[i];
                    int offset = baseOffset + condition.Offset;
                    if (condition.Width < 1 || condition.Width > 4 || offset < 0 || offset + condition.Width > config.Length || condition.Mask == 0)
                    {
                        continue;
                    }

                    uint lowest = condition.Mask & (~condition.Mask + 1);
                    uint wanted = (combination & (1 << i)) != 0 ? condition.Value : condition.Value ^ lowest;
                    for (int b = 0; b < condition.Width; b++)
                    {
                        uint mask = (condition.Mask >> (8 * b)) & 0xFF;
                        config[offset + b] = (byte)((config[offset + b] & ~mask) | ((wanted >> (8 * b)) & mask));
                    }
                }

                relink(config);
                if (produced.Add(Convert.ToBase64String(config)))
                {
                    yield return config;
                }
            }
        }

        private static (string Region, int Offset) Place(BoundConfigSpace bound, int offset)
        {
            if (offset < DeviceBinder.HeaderSize)
            {
                return ("header ", offset);
            }

            foreach (BoundCapability capability in bound.Capabilities)
            {
                int start = capability.Info.Offset;
                if (offset >= start && offset < start + Math.Max(capability.Info.Length, 4))
                {
                    string what = capability.Known ? capability.Info.Name : "a capability the policy does not describe";
                    return (what + (capability.Hidden ? " (hidden)" : string.Empty) + " +", offset - start);
                }
            }

            return ("gap ", offset);
        }

        private static IReadOnlyList<BitRun> Runs(BoundConfigSpace bound, int offset)
        {
            var runs = new List<BitRun>();
            for (int bit = 0; bit < 32; bit++)
            {
                int owner = bound.OwnerIndexOf(offset + (bit / 8), bit % 8);
                string treatment = Treatment(bound, offset + (bit / 8), bit % 8);
                BitRun? last = runs.Count > 0 ? runs[runs.Count - 1] : null;
                if (last != null && last.HighBit == bit - 1 && last.Treatment == treatment && last.Owner == bound.Rules[owner] && last.OwnerKind == bound.RuleKinds[owner])
                {
                    runs[runs.Count - 1] = last with { HighBit = bit };
                }
                else
                {
                    runs.Add(new BitRun(bit, bit, treatment, bound.Rules[owner], bound.RuleKinds[owner]));
                }
            }

            return runs;
        }

        private static string Treatment(BoundConfigSpace bound, int offset, int bit)
        {
            int mask = 1 << bit;
            bool Has(ReadOnlySpan<byte> bytes) => (bytes[offset] & mask) != 0;
            string hardwareRw1c = Has(bound.HardwareWriteOneToClear) ? ", hardware rw1c" : string.Empty;
            if (Has(bound.DenyMask))
            {
                return "denied" + (Has(bound.AuditMask) ? ", audited" : ", silent") + hardwareRw1c;
            }

            if (Has(bound.VirtMask))
            {
                string write = Has(bound.PassthroughWritable) ? "ro, writes reach the hardware" : Has(bound.ShadowReadWrite) ? "rw" : Has(bound.ShadowWriteOneToClear) ? "rw1c" : "ro";
                string initial = Has(bound.InitFromHardware) ? ", from hardware" : string.Empty;
                return "virtualized " + write + initial + hardwareRw1c;
            }

            return "passthrough " + (Has(bound.PassthroughWritable) ? (Has(bound.HardwareWriteOneToClear) ? "rw1c" : "rw") : "ro" + hardwareRw1c);
        }
    }
}
