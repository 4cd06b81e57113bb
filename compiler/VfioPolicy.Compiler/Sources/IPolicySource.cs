namespace VfioPolicy.Compiler.Sources
{
    /// <summary>
    /// Where the compiler reads policy files from. The compiler never touches the disk itself: the CLI reads files,
    /// tests and the source generator hand over text they already hold.
    /// </summary>
    public interface IPolicySource
    {
        /// <summary>Reads the file at <paramref name="path"/> (as <see cref="Resolve"/> gave it); false when it does not exist or cannot be read.</summary>
        bool TryRead(string path, out string text);

        /// <summary>The path of <paramref name="includePath"/> as written in <paramref name="includingFile"/>: relative to the including file's folder, normalised with '/' separators.</summary>
        string Resolve(string includingFile, string includePath);
    }
}
