using System;
using System.Collections.Generic;
using System.Globalization;

namespace VfioPolicy.Hardening.Tests.Oracle
{
    /// <summary>An audit event the oracle predicts: the piece, the consumer's value for it, the rule's file:line and the policy.</summary>
    public readonly record struct OracleAudit(int Offset, int Width, uint Value, OracleOrigin Rule, string Policy)
    {
        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0}@0x{1:x3} = 0x{2:x} by {3} ({4})", Width, Offset, Value, Rule, Policy);
    }

    /// <summary>What the oracle says one write does.</summary>
    public sealed class OracleWriteResult
    {
        /// <summary>Audit events, one per piece that tried to change a (non-silent) denied bit.</summary>
        public List<OracleAudit> Audit { get; } = new List<OracleAudit>();

        /// <summary>The pieces (offset, width) that get one hardware read-modify-write: those with a passthrough-writable bit.</summary>
        public List<(int Offset, int Width)> HardwareWrites { get; } = new List<(int Offset, int Width)>();
    }

    /// <summary>
    /// The access model of docs/access-model.md run bit by bit over an <see cref="OracleLayout"/>: its own hardware
    /// image (a device that clears the bits the policy marks write-1-to-clear when a 1 is written to them) and its
    /// own shadow. Deliberately plain loops over bits: it shares no code with FirewallCore or BitSemantics.
    /// </summary>
    public sealed class OracleDevice
    {
        private readonly OracleLayout _layout;
        private readonly bool[] _shadow;

        /// <summary>Opens the device: hardware as in <paramref name="image"/>, every virtualized bit at its initial value.</summary>
        public OracleDevice(OracleLayout layout, byte[] image)
        {
            _layout = layout;
            Hardware = (byte[])image.Clone();
            _shadow = new bool[layout.Size * 8];
            for (int at = 0; at < layout.Size; at++)
            {
                for (int bit = 0; bit < 8; bit++)
                {
                    OracleBit b = layout.At(at, bit);
                    _shadow[(at * 8) + bit] = b.Kind == OracleKind.Virtualize && b.InitFromHardware ? HardwareBit(at, bit) : b.Value;
                }
            }
        }

        /// <summary>The oracle's hardware image.</summary>
        public byte[] Hardware { get; }

        /// <summary>The layout it runs.</summary>
        public OracleLayout Layout => _layout;

        /// <summary>What a read of <paramref name="length"/> bytes at <paramref name="offset"/> returns (a legal access).</summary>
        public uint Read(int offset, int length)
        {
            uint value = 0;
            for (int b = 0; b < length; b++)
            {
                value |= (uint)ReadByte(offset + b) << (8 * b);
            }

            return value;
        }

        /// <summary>What the consumer reads at one byte.</summary>
        public byte ReadByte(int at)
        {
            int value = 0;
            for (int bit = 0; bit < 8; bit++)
            {
                OracleBit b = _layout.At(at, bit);
                bool read = b.Kind switch
                {
                    OracleKind.Passthrough => HardwareBit(at, bit),
                    OracleKind.Virtualize => _shadow[(at * 8) + bit],
                    _ => b.Value,
                };
                value |= (read ? 1 : 0) << bit;
            }

            return (byte)value;
        }

        /// <summary>The bits of byte <paramref name="at"/> whose shadow the access model defines (virtualized and denied bits).</summary>
        public byte ShadowMask(int at)
        {
            int mask = 0;
            for (int bit = 0; bit < 8; bit++)
            {
                if (_layout.At(at, bit).Kind != OracleKind.Passthrough)
                {
                    mask |= 1 << bit;
                }
            }

            return (byte)mask;
        }

        /// <summary>The shadow byte the oracle expects (meaningful under <see cref="ShadowMask"/>; denied bits hold their constant).</summary>
        public byte ShadowByte(int at)
        {
            int value = 0;
            for (int bit = 0; bit < 8; bit++)
            {
                value |= (_shadow[(at * 8) + bit] ? 1 : 0) << bit;
            }

            return (byte)value;
        }

        /// <summary>True when some bit of byte <paramref name="at"/> is passthrough (a read of it may reach the hardware).</summary>
        public bool HasPassthrough(int at)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                if (_layout.At(at, bit).Kind == OracleKind.Passthrough)
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>Applies a legal write: pieces, shadow semantics, one read-modify-write per piece with writable bits, audit.</summary>
        public OracleWriteResult Write(int offset, int length, uint value)
        {
            var result = new OracleWriteResult();
            int position = offset;
            int end = offset + length;
            while (position < end)
            {
                // Naturally aligned pieces of 4, 2 or 1 bytes, largest first.
                int width = position % 4 == 0 && end - position >= 4 ? 4 : position % 2 == 0 && end - position >= 2 ? 2 : 1;
                uint piece = width == 4 ? value >> (8 * (position - offset)) : (value >> (8 * (position - offset))) & ((1u << (8 * width)) - 1);
                WritePiece(position, width, piece, result);
                position += width;
            }

            return result;
        }

        /// <summary>Sets hardware byte <paramref name="at"/> as the device would change it by itself (the checker's scramble).</summary>
        public void SetHardware(int at, byte value) => Hardware[at] = value;

        private void WritePiece(int offset, int width, uint piece, OracleWriteResult result)
        {
            bool hardwareWritable = false;
            OracleOrigin? audited = null;
            for (int i = 0; i < width * 8; i++)
            {
                int at = offset + (i / 8);
                int bit = i % 8;
                OracleBit b = _layout.At(at, bit);
                bool written = ((piece >> i) & 1) != 0;
                if (b.Kind == OracleKind.Virtualize)
                {
                    if (b.Write == OracleWrite.Store)
                    {
                        _shadow[(at * 8) + bit] = written;
                    }
                    else if (b.Write == OracleWrite.ClearOnOne && written)
                    {
                        _shadow[(at * 8) + bit] = false;
                    }
                }

                if ((b.Kind == OracleKind.Passthrough && b.Write == OracleWrite.Store) || (b.Kind == OracleKind.Virtualize && b.Write == OracleWrite.ToHardware))
                {
                    hardwareWritable = true;
                }

                // The lowest denied bit the consumer tried to change names the rule of the piece's one event.
                if (b.Kind == OracleKind.Deny && !b.Silent && written != b.Value && audited is null)
                {
                    audited = b.Origin;
                }
            }

            if (hardwareWritable)
            {
                result.HardwareWrites.Add((offset, width));
                for (int i = 0; i < width * 8; i++)
                {
                    int at = offset + (i / 8);
                    int bit = i % 8;
                    OracleBit b = _layout.At(at, bit);
                    bool writable = (b.Kind == OracleKind.Passthrough && b.Write == OracleWrite.Store) || (b.Kind == OracleKind.Virtualize && b.Write == OracleWrite.ToHardware);
                    bool oneToClear = ((_layout.HardwareWriteOneToClear[at] >> bit) & 1) != 0;
                    bool written = ((piece >> i) & 1) != 0;

                    // Writable bits take the consumer's value (a written 1 clears a write-1-to-clear one); every other
                    // bit keeps the hardware's, and a write-1-to-clear one is written as 0 so it keeps it too.
                    if (writable && !oneToClear)
                    {
                        SetHardwareBit(at, bit, written);
                    }
                    else if (writable && written)
                    {
                        SetHardwareBit(at, bit, false);
                    }
                }
            }

            if (audited is not null)
            {
                result.Audit.Add(new OracleAudit(offset, width, piece, audited, _layout.PolicyName));
            }
        }

        private bool HardwareBit(int at, int bit) => ((Hardware[at] >> bit) & 1) != 0;

        private void SetHardwareBit(int at, int bit, bool value)
            => Hardware[at] = (byte)(value ? Hardware[at] | (1 << bit) : Hardware[at] & ~(1 << bit));
    }
}
