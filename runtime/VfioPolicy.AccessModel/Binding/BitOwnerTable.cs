namespace VfioPolicy.AccessModel.Binding
{
    /// <summary>
    /// The owner (an index into the binding's rule table) of every bit of a config space, kept in pages of 256 bytes
    /// (2,048 owners, 8 KB each) rather than one array: one array for 4 KB of config space is 128 KB, which the runtime
    /// puts on the large-object heap, collected only with generation 2. The generator binds a policy to dozens of
    /// synthetic devices to plan its constants, and those arrays made it collect generation 2 about ten times per run.
    /// </summary>
    internal sealed class BitOwnerTable
    {
        private const int PageShift = 8;
        private const int PageBytes = 1 << PageShift;

        private readonly int[][] _pages;

        /// <summary>A table for <paramref name="size"/> bytes, every bit owned by index 0.</summary>
        public BitOwnerTable(int size)
        {
            _pages = new int[(size + PageBytes - 1) >> PageShift][];
            for (int page = 0; page < _pages.Length; page++)
            {
                _pages[page] = new int[System.Math.Min(PageBytes, size - (page << PageShift)) * 8];
            }
        }

        /// <summary>The owner of bit <paramref name="bit"/> (0–7) of byte <paramref name="offset"/> (both already checked).</summary>
        public int this[int offset, int bit]
        {
            get => _pages[offset >> PageShift][((offset & (PageBytes - 1)) << 3) | bit];
            set => _pages[offset >> PageShift][((offset & (PageBytes - 1)) << 3) | bit] = value;
        }
    }
}
