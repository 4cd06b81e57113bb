using VfioPolicy.AccessModel.Model;
using VfioPolicy.Grammar.Diagnostics;

namespace VfioPolicy.Generator
{
    // The values that flow between the generator's pipeline steps. They are plain, immutable, structurally equatable
    // records: no Roslyn symbols, syntax, SourceText or Location objects. Roslyn caches each step on these values'
    // equality, so anything compared by reference (or anything holding a compilation alive) would make every edit
    // regenerate everything, or leak memory across builds.

    /// <summary>One *.vfiopolicy additional file: its path as the build gave it, the path the compiler sees, and its text.</summary>
    /// <param name="FullPath">The path Roslyn reported (diagnostics are located there).</param>
    /// <param name="CompilerPath">The normalised path the compiler reads it under: relative to the project folder when it lies below it.</param>
    /// <param name="Text">The file's text.</param>
    internal sealed record PolicyText(string FullPath, string CompilerPath, string Text);

    /// <summary>A complete policy that compiled without errors: everything the source output needs.</summary>
    /// <param name="CompilerPath">Its path as the compiler and the generated comments show it.</param>
    /// <param name="HintName">The unique, deterministic AddSource hint name.</param>
    /// <param name="ClassName">The generated class's name.</param>
    /// <param name="Model">The lowered policy.</param>
    internal sealed record GeneratedPolicy(string CompilerPath, string HintName, string ClassName, PolicyModel Model);

    /// <summary>A policy diagnostic as plain data, turned into a Roslyn diagnostic only in the output callback.</summary>
    internal sealed record DiagnosticData(
        string Id,
        DiagnosticSeverity Severity,
        string Message,
        string Path,
        int Start,
        int Length,
        int StartLine,
        int StartColumn,
        int EndLine,
        int EndColumn);

    /// <summary>The whole library compiled: the policies to generate and every diagnostic, each once.</summary>
    internal sealed record CompiledLibrary(EquatableArray<GeneratedPolicy> Policies, EquatableArray<DiagnosticData> Diagnostics, EquatableArray<FailedPolicy> Failed);

    /// <summary>A complete policy with errors: its class is generated as a placeholder (see <c>HandlerEmitter.EmitPlaceholder</c>).</summary>
    internal sealed record FailedPolicy(string CompilerPath, string HintName, string ClassName, string PolicyName);
}
