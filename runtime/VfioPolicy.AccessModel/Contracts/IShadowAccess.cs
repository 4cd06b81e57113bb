namespace VfioPolicy.AccessModel.Contracts
{
    /// <summary>
    /// Direct access to a firewall's shadow for the runtime's behaviors: BAR sizing answers an all-ones probe by
    /// storing the size mask, MSI programming reads the consumer's virtual control word. Consumer accesses never come
    /// through here; they go through <see cref="IConfigSpaceFirewall"/>.
    /// </summary>
    public interface IShadowAccess
    {
        /// <summary>Reads <paramref name="width"/> (1, 2 or 4) shadow bytes at <paramref name="offset"/> (little-endian).</summary>
        uint ReadShadow(int offset, int width);

        /// <summary>Stores <paramref name="value"/> into <paramref name="width"/> (1, 2 or 4) shadow bytes at <paramref name="offset"/>.</summary>
        void WriteShadow(int offset, int width, uint value);
    }
}
