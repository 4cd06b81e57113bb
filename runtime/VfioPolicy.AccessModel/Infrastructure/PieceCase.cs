using System;
using System.Globalization;

namespace VfioPolicy.AccessModel.Infrastructure
{
    /// <summary>
    /// One case of a generated handler: the width of the naturally aligned piece it serves and the piece's masks (bit 0
    /// is the piece's lowest bit; their meanings are <see cref="PieceMasks"/>'). A generated handler keeps its cases in
    /// a table indexed by case number, which <see cref="FirewallCore"/>'s <c>ReadCase</c> and <c>WriteCase</c> run.
    /// The masks are fields of their own, not a <see cref="PieceMasks"/>, so that a case's step loads only the
    /// masks it tests.
    /// </summary>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public readonly struct PieceCase
    {
        /// <summary>Creates a case.</summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="width"/> is not 1, 2 or 4.</exception>
        public PieceCase(int width, PieceMasks masks)
        {
            if (width != 1 && width != 2 && width != 4)
            {
                throw new ArgumentOutOfRangeException(nameof(width), width, "A piece is 1, 2 or 4 bytes wide.");
            }

            Width = width;
            Virt = masks.Virt;
            PassthroughWritable = masks.PassthroughWritable;
            ShadowReadWrite = masks.ShadowReadWrite;
            ShadowWriteOneToClear = masks.ShadowWriteOneToClear;
            HardwareWriteOneToClear = masks.HardwareWriteOneToClear;
            Audit = masks.Audit;
            DeniedValue = masks.DeniedValue;
        }

        /// <summary>The piece's width in bytes.</summary>
        public int Width { get; }

        /// <summary>See <see cref="PieceMasks.Virt"/>.</summary>
        public uint Virt { get; }

        /// <summary>See <see cref="PieceMasks.PassthroughWritable"/>.</summary>
        public uint PassthroughWritable { get; }

        /// <summary>See <see cref="PieceMasks.ShadowReadWrite"/>.</summary>
        public uint ShadowReadWrite { get; }

        /// <summary>See <see cref="PieceMasks.ShadowWriteOneToClear"/>.</summary>
        public uint ShadowWriteOneToClear { get; }

        /// <summary>See <see cref="PieceMasks.HardwareWriteOneToClear"/>.</summary>
        public uint HardwareWriteOneToClear { get; }

        /// <summary>See <see cref="PieceMasks.Audit"/>.</summary>
        public uint Audit { get; }

        /// <summary>See <see cref="PieceMasks.DeniedValue"/>.</summary>
        public uint DeniedValue { get; }

        /// <summary>The masks as one value.</summary>
        public PieceMasks Masks => new PieceMasks(Virt, PassthroughWritable, ShadowReadWrite, ShadowWriteOneToClear, HardwareWriteOneToClear, Audit, DeniedValue);

        /// <summary>A read case: the piece's width and its virtualized bits (every other bit is read from hardware).</summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="width"/> is not 1, 2 or 4.</exception>
        public static PieceCase Read(int width, uint virt) => new PieceCase(width, new PieceMasks(virt, 0, 0, 0, 0, 0, 0));

        /// <summary>A write case: the piece's width and the masks a write of it uses.</summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="width"/> is not 1, 2 or 4.</exception>
        public static PieceCase Write(int width, uint passthroughWritable, uint shadowReadWrite, uint shadowWriteOneToClear, uint hardwareWriteOneToClear, uint audit, uint deniedValue)
            => new PieceCase(width, new PieceMasks(0, passthroughWritable, shadowReadWrite, shadowWriteOneToClear, hardwareWriteOneToClear, audit, deniedValue));

        /// <inheritdoc />
        public override string ToString() => Width.ToString(CultureInfo.InvariantCulture) + " bytes: " + Masks;
    }
}
