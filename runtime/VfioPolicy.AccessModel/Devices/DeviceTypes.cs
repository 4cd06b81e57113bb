using System;
using System.Collections.Generic;
using System.Linq;

namespace VfioPolicy.AccessModel.Devices
{
    /// <summary>The identity fields a policy's <c>match</c> lines test, read from the header.</summary>
    public sealed record DeviceIdentity(int Vendor, int Device, int SubsystemVendor, int Subsystem, int ClassCode, int Revision)
    {
        /// <summary>
        /// The identity as a <c>match</c> line would test it, in hex as lspci and the policy write IDs:
        /// <c>vendor 0x8086 device 0x10d3 subsystem-vendor 0x8086 subsystem 0x0000 class 0x020000 revision 0x00</c>.
        /// </summary>
        public override string ToString()
            => string.Join(" ", new[]
            {
                new Model.MatchCriterion(Model.MatchField.Vendor, (uint)Vendor, uint.MaxValue),
                new Model.MatchCriterion(Model.MatchField.Device, (uint)Device, uint.MaxValue),
                new Model.MatchCriterion(Model.MatchField.SubsystemVendor, (uint)SubsystemVendor, uint.MaxValue),
                new Model.MatchCriterion(Model.MatchField.Subsystem, (uint)Subsystem, uint.MaxValue),
                new Model.MatchCriterion(Model.MatchField.Class, (uint)ClassCode, uint.MaxValue),
                new Model.MatchCriterion(Model.MatchField.Revision, (uint)Revision, uint.MaxValue),
            }.Select(c => c.ToString()));
    }

    /// <summary>One capability found by the chain walk.</summary>
    /// <param name="Offset">Absolute offset of the capability's first byte.</param>
    /// <param name="Id">The 8-bit (standard) or 16-bit (extended) capability ID.</param>
    /// <param name="Extended">True for the extended chain (from 0x100).</param>
    /// <param name="Version">The extended capability's version (bits 16..19 of its header); null for standard ones.</param>
    /// <param name="Length">Bytes the capability's body spans, from its structure where known, else up to the next structure; never past the config space.</param>
    /// <param name="Name">The name <c>lspci</c> and <c>pci_regs.h</c> use.</param>
    public sealed record CapabilityInfo(int Offset, int Id, bool Extended, int? Version, int Length, string Name);

    /// <summary>The result of walking both chains: capabilities in chain order (standard, then extended) and what was wrong.</summary>
    public sealed record ChainWalk(IReadOnlyList<CapabilityInfo> Capabilities, IReadOnlyList<string> Warnings);

    /// <summary>A device's config space as read from a dump or sysfs: 64, 256 or 4096 bytes.</summary>
    public sealed class ConfigSpaceImage
    {
        /// <summary>Creates an image; <paramref name="bytes"/> is copied.</summary>
        public ConfigSpaceImage(ReadOnlySpan<byte> bytes, string? slot, string? description)
        {
            Bytes = bytes.ToArray();
            Slot = slot;
            Description = description;
        }

        /// <summary>The raw bytes; <see cref="Size"/> of them.</summary>
        public byte[] Bytes { get; }

        /// <summary>Config-space size in bytes.</summary>
        public int Size => Bytes.Length;

        /// <summary>The <c>[DDDD:]BB:DD.F</c> slot the dump names, if any.</summary>
        public string? Slot { get; }

        /// <summary>The dump's title line after the slot, if any.</summary>
        public string? Description { get; }

        /// <summary>Vendor, device, subsystem, class and revision, read from the header (see <see cref="DeviceIdentityReader"/>).</summary>
        public DeviceIdentity Identity => DeviceIdentityReader.Read(Bytes);

        /// <summary>Walks both capability chains of this image (see <see cref="CapabilityWalker"/>).</summary>
        public ChainWalk WalkCapabilities() => CapabilityWalker.Walk(Bytes);
    }
}
