namespace VfioPolicy.AccessModel.Infrastructure
{
    /// <summary>
    /// The seven shapes a single-piece access can have inside its dword: the whole dword, either aligned word, or one
    /// of the four bytes. A generated handler specialises its code per (block of masks, shape), and
    /// <see cref="DwordDispatch"/> maps each access to its case through <see cref="AccessKey"/>.
    /// </summary>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public static class PieceShape
    {
        /// <summary>How many shapes there are.</summary>
        public const int Count = 7;

        /// <summary>How many access keys one dword spans (4 byte offsets × 4 lengths; only 7 of them are single pieces).</summary>
        public const int KeysPerDword = 16;

        private static readonly int[] ByteInDwordOfShape = { 0, 0, 2, 0, 1, 2, 3 };
        private static readonly int[] WidthOfShape = { 4, 2, 2, 1, 1, 1, 1 };

        /// <summary>The first byte of shape <paramref name="shape"/> within its dword (0 to 3).</summary>
        public static int ByteInDword(int shape) => ByteInDwordOfShape[shape];

        /// <summary>The width of shape <paramref name="shape"/> in bytes (1, 2 or 4).</summary>
        public static int Width(int shape) => WidthOfShape[shape];

        /// <summary>
        /// The index of an access of <paramref name="length"/> (1 to 4) bytes at <paramref name="offset"/> (not negative)
        /// in a per-access table: four keys per byte offset, so a dword spans <see cref="KeysPerDword"/> of them.
        /// </summary>
        public static int AccessKey(int offset, int length) => (offset << 2) | (length - 1);
    }
}
