namespace VfioPolicy.Grammar.Text
{
    /// <summary>A policy file's path (as the user or the build gave it) and its text.</summary>
    public sealed record SourceFile(string Path, string Text);

    /// <summary>A position in a source file: 0-based character offset, 1-based line and column.</summary>
    public readonly record struct SourcePosition(int Offset, int Line, int Column);

    /// <summary>A range of a source file. The only position type: every syntax node and diagnostic carries one.</summary>
    public sealed record SourceSpan(string Path, SourcePosition Start, SourcePosition End)
    {
        /// <summary>Length in characters.</summary>
        public int Length => End.Offset - Start.Offset;

        /// <summary>A zero-length span at <paramref name="position"/>.</summary>
        public static SourceSpan At(string path, SourcePosition position) => new SourceSpan(path, position, position);
    }
}
