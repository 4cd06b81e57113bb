using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using VfioPolicy.Compiler.Emit;

namespace VfioPolicy.Generator
{
    /// <summary>
    /// Compiles the *.vfiopolicy AdditionalFiles of a project into policy handlers at build time. This file only
    /// wires the stages: read texts → scan, unit and compile each file, then assemble the library
    /// (<see cref="LibraryCompilation"/>) → one source per policy
    /// (<see cref="HandlerEmitter"/>), with diagnostics reported through their own pipeline so that a change that
    /// only moves a diagnostic does not regenerate code.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class PolicyGenerator : IIncrementalGenerator
    {
        /// <summary>The file extension of policy files.</summary>
        public const string PolicyExtension = ".vfiopolicy";

        /// <inheritdoc />
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            IncrementalValueProvider<string> projectDirectory = context.AnalyzerConfigOptionsProvider
                .Select((options, _) => options.GlobalOptions.TryGetValue("build_property.projectdir", out string? folder) ? folder ?? string.Empty : string.Empty)
                .WithTrackingName(TrackingNames.ProjectDirectory);

            IncrementalValuesProvider<PolicyText> texts = context.AdditionalTextsProvider
                .Where(file => file.Path.EndsWith(PolicyExtension, StringComparison.OrdinalIgnoreCase))
                .Combine(projectDirectory)
                .Select((pair, cancellation) => new PolicyText(
                    pair.Left.Path,
                    LibraryCompilation.CompilerPath(pair.Left.Path, pair.Right),
                    pair.Left.GetText(cancellation)?.ToString() ?? string.Empty))
                .WithTrackingName(TrackingNames.PolicyTexts);

            // Each file is scanned and compiled in steps of its own, so that an edit re-runs them only for the files
            // that read the edited one; the library step only assembles the compiled files.
            IncrementalValuesProvider<ScannedPolicyFile> scanned = texts
                .Select((text, _) => LibraryCompilation.Scan(text))
                .WithTrackingName(TrackingNames.Scanned);

            IncrementalValuesProvider<CompileUnit> units = scanned
                .Collect()
                .SelectMany((all, cancellation) => LibraryCompilation.Units(all, cancellation))
                .WithTrackingName(TrackingNames.Units);

            IncrementalValuesProvider<CompiledFile> compiled = units
                .Select((unit, cancellation) => LibraryCompilation.CompileUnit(unit, cancellation))
                .WithTrackingName(TrackingNames.Compiled);

            IncrementalValueProvider<CompiledLibrary> library = compiled
                .Collect()
                .Select((all, cancellation) => LibraryCompilation.Assemble(all, cancellation))
                .WithTrackingName(TrackingNames.Library);

            IncrementalValuesProvider<GeneratedPolicy> policies = library
                .SelectMany((compiled, _) => compiled.Policies)
                .WithTrackingName(TrackingNames.Policies);

            IncrementalValueProvider<AccessModel.Model.EquatableArray<DiagnosticData>> diagnostics = library
                .Select((compiled, _) => compiled.Diagnostics)
                .WithTrackingName(TrackingNames.Diagnostics);

            context.RegisterSourceOutput(policies, static (output, policy) =>
            {
                string text;
                try
                {
                    text = HandlerEmitter.Emit(policy.Model, policy.CompilerPath, policy.ClassName);
                }
                catch (Exception exception) when (exception is NotSupportedException || exception is InvalidOperationException || exception is ArgumentException)
                {
                    output.ReportDiagnostic(DiagnosticMapping.EmitFailure(policy, exception));
                    return;
                }

                output.AddSource(policy.HintName, text);
            });

            IncrementalValuesProvider<FailedPolicy> failed = library
                .SelectMany((compiled, _) => compiled.Failed)
                .WithTrackingName(TrackingNames.Placeholders);

            context.RegisterSourceOutput(failed, static (output, policy) =>
                output.AddSource(policy.HintName, HandlerEmitter.EmitPlaceholder(policy.PolicyName, policy.CompilerPath, policy.ClassName)));

            context.RegisterSourceOutput(diagnostics, static (output, all) =>
            {
                foreach (DiagnosticData diagnostic in all)
                {
                    output.ReportDiagnostic(DiagnosticMapping.ToRoslyn(diagnostic));
                }
            });
        }

        /// <summary>The names of the pipeline steps, for incrementality tests (<c>GeneratorRunResult.TrackedSteps</c>).</summary>
        public static class TrackingNames
        {
            /// <summary>The project folder policy paths are shown relative to.</summary>
            public const string ProjectDirectory = "ProjectDirectory";

            /// <summary>Each policy file's path and text.</summary>
            public const string PolicyTexts = "PolicyTexts";

            /// <summary>Each policy file scanned for its includes and policy name.</summary>
            public const string Scanned = "Scanned";

            /// <summary>Each file with the project files its includes reach: what compiling it reads.</summary>
            public const string Units = "Units";

            /// <summary>Each file compiled on its own.</summary>
            public const string Compiled = "Compiled";

            /// <summary>The whole library assembled from its compiled files.</summary>
            public const string Library = "Library";

            /// <summary>Each complete policy to generate.</summary>
            public const string Policies = "Policies";

            /// <summary>Each complete policy with errors, generated as a placeholder class.</summary>
            public const string Placeholders = "Placeholders";

            /// <summary>Every diagnostic of the library, each once.</summary>
            public const string Diagnostics = "Diagnostics";
        }
    }
}
