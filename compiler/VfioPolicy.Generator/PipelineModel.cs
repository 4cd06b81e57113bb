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

    /// <summary>One policy file scanned: its text, the project paths its include and extends lines read, and its policy name (null for a fragment or a file that does not parse).</summary>
    /// <param name="Text">The file.</param>
    /// <param name="Includes">The compiler paths its includes resolve to, in order (library files and unresolvable includes left out).</param>
    /// <param name="PolicyName">The name on its <c>policy</c> line.</param>
    internal sealed record ScannedPolicyFile(PolicyText Text, EquatableArray<string> Includes, string? PolicyName);

    /// <summary>What compiling one file reads: the file and every project file it reaches through includes, so that the unit changes only when one of those does.</summary>
    /// <param name="Root">The file compiled.</param>
    /// <param name="RootPolicyName">The name on its <c>policy</c> line, for the placeholder class of a policy with errors.</param>
    /// <param name="Reached">The other project files it includes, directly or not, in path order.</param>
    internal sealed record CompileUnit(PolicyText Root, string? RootPolicyName, EquatableArray<PolicyText> Reached);

    /// <summary>One file compiled: its model when it is a complete policy without errors, its policy name when it is one with errors, and its diagnostics.</summary>
    /// <param name="CompilerPath">The file's compiler path.</param>
    /// <param name="Model">The lowered policy of a complete policy that compiled without errors, else null.</param>
    /// <param name="FailedPolicyName">The name of a complete policy that did not compile, else null.</param>
    /// <param name="Diagnostics">Every diagnostic of its compilation, in the compiler's order.</param>
    internal sealed record CompiledFile(string CompilerPath, PolicyModel? Model, string? FailedPolicyName, EquatableArray<DiagnosticData> Diagnostics);

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
