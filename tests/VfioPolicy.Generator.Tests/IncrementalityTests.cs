using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace VfioPolicy.Generator.Tests
{
    /// <summary>
    /// The generator's caching, observed through the driver's tracked steps (<see cref="PolicyGenerator.TrackingNames"/>):
    /// an edit regenerates exactly the policies whose model it changes, and the values the pipeline caches hold no
    /// Roslyn objects (which would defeat caching and keep compilations alive).
    /// </summary>
    public sealed class IncrementalityTests
    {
        private const string Defaults =
            "default header deny 0\n" +
            "default capability deny 0\n" +
            "default gap deny 0\n" +
            "default unknown-capability hide body deny 0\n";

        private const string FragmentPath = "/src/lib/common.vfiopolicy";
        private const string Fragment = "header {\n  register DEVICE_ID passthrough ro\n}\n";

        private static readonly CSharpParseOptions ParseOptions = new CSharpParseOptions(LanguageVersion.Latest);

        private static string Policy(string name, bool includesFragment, string extraRegister = "")
            => "policy \"" + name + "\"\n"
               + "match any\n"
               + Defaults
               + "header {\n"
               + "  register VENDOR_ID passthrough ro\n"
               + extraRegister
               + "}\n"
               + (includesFragment ? "include \"lib/common.vfiopolicy\"\n" : string.Empty);

        /// <summary>a and b include the fragment, c does not.</summary>
        private static InMemoryAdditionalText[] Library() => new[]
        {
            new InMemoryAdditionalText(FragmentPath, Fragment),
            new InMemoryAdditionalText("/src/a.vfiopolicy", Policy("a", includesFragment: true)),
            new InMemoryAdditionalText("/src/b.vfiopolicy", Policy("b", includesFragment: true)),
            new InMemoryAdditionalText("/src/c.vfiopolicy", Policy("c", includesFragment: false)),
        };

        [Fact]
        public void Editing_one_policy_regenerates_only_that_policy()
        {
            InMemoryAdditionalText[] files = Library();
            (GeneratorDriver driver, Compilation compilation) = FirstRun(files);

            var edited = new InMemoryAdditionalText("/src/b.vfiopolicy", Policy("b", includesFragment: true, "  register REVISION_ID passthrough ro\n"));
            GeneratorRunResult result = Rerun(driver.ReplaceAdditionalText(files[2], edited), compilation);

            Assert.Equal(new[] { "b" }, PoliciesBy(result, IncrementalStepRunReason.Modified, IncrementalStepRunReason.New));
            Assert.Equal(new[] { "a", "c" }, PoliciesBy(result, IncrementalStepRunReason.Unchanged, IncrementalStepRunReason.Cached));
            Assert.Equal(new[] { IncrementalStepRunReason.Modified }, SourceOutputReasons(result).Where(IsRegenerated).ToArray());

            // Only b was scanned and compiled again: the other files' steps ran from the cache.
            Assert.Equal(new[] { "/src/b.vfiopolicy" }, FilesRun(result, PolicyGenerator.TrackingNames.Scanned));
            Assert.Equal(new[] { "/src/b.vfiopolicy" }, FilesRun(result, PolicyGenerator.TrackingNames.Compiled));
            Assert.Equal(new[] { "/src/a.vfiopolicy", "/src/c.vfiopolicy", FragmentPath }, FilesCached(result, PolicyGenerator.TrackingNames.Compiled));
        }

        [Fact]
        public void Editing_an_unrelated_csharp_file_regenerates_nothing()
        {
            (GeneratorDriver driver, Compilation compilation) = FirstRun(Library());

            Compilation edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Elsewhere { public class Unrelated { } }", ParseOptions));
            GeneratorRunResult result = Rerun(driver, edited);

            foreach (KeyValuePair<string, ImmutableArray<IncrementalGeneratorRunStep>> step in result.TrackedSteps)
            {
                // Every step, Roslyn's inputs included: nothing the generator reads changed.
                Assert.All(step.Value.SelectMany(s => s.Outputs), output => Assert.Equal(IncrementalStepRunReason.Cached, output.Reason));
            }

            Assert.Contains(PolicyGenerator.TrackingNames.Policies, result.TrackedSteps.Keys);
            Assert.DoesNotContain(SourceOutputReasons(result), IsRegenerated);
        }

        [Fact]
        public void Editing_a_fragment_regenerates_exactly_the_policies_that_include_it()
        {
            InMemoryAdditionalText[] files = Library();
            (GeneratorDriver driver, Compilation compilation) = FirstRun(files);

            var edited = new InMemoryAdditionalText(FragmentPath, "header {\n  register DEVICE_ID deny 0\n}\n");
            GeneratorRunResult result = Rerun(driver.ReplaceAdditionalText(files[0], edited), compilation);

            Assert.Equal(new[] { "a", "b" }, PoliciesBy(result, IncrementalStepRunReason.Modified, IncrementalStepRunReason.New));
            Assert.Equal(new[] { "c" }, PoliciesBy(result, IncrementalStepRunReason.Unchanged, IncrementalStepRunReason.Cached));
            Assert.Equal(2, SourceOutputReasons(result).Count(IsRegenerated));

            // The fragment and the two policies that read it were compiled again; c was not.
            Assert.Equal(new[] { "/src/a.vfiopolicy", "/src/b.vfiopolicy", FragmentPath }, FilesRun(result, PolicyGenerator.TrackingNames.Compiled));
            Assert.Equal(new[] { "/src/c.vfiopolicy" }, FilesCached(result, PolicyGenerator.TrackingNames.Compiled));
        }

        [Fact]
        public void Rerunning_without_changes_regenerates_nothing()
        {
            (GeneratorDriver driver, Compilation compilation) = FirstRun(Library());
            GeneratorRunResult result = Rerun(driver, compilation);

            Assert.Empty(PoliciesBy(result, IncrementalStepRunReason.Modified, IncrementalStepRunReason.New));
            Assert.DoesNotContain(SourceOutputReasons(result), IsRegenerated);
        }

        [Fact]
        public void The_values_the_pipeline_caches_hold_no_roslyn_objects()
        {
            InMemoryAdditionalText[] files = Library().Concat(GeneratorHarness.Library().Select(f => new InMemoryAdditionalText(f.Path, f.Text))).ToArray();
            (GeneratorDriver driver, Compilation compilation) = FirstRun(files);
            GeneratorRunResult result = Rerun(driver, compilation);

            string[] expectedSteps =
            {
                PolicyGenerator.TrackingNames.ProjectDirectory,
                PolicyGenerator.TrackingNames.PolicyTexts,
                PolicyGenerator.TrackingNames.Scanned,
                PolicyGenerator.TrackingNames.Units,
                PolicyGenerator.TrackingNames.Compiled,
                PolicyGenerator.TrackingNames.Library,
                PolicyGenerator.TrackingNames.Policies,
                PolicyGenerator.TrackingNames.Diagnostics,
            };
            Assert.All(expectedSteps, name => Assert.Contains(name, result.TrackedSteps.Keys));

            // Roslyn's own input steps (AdditionalTexts, AnalyzerConfigOptions) are tracked too; they hold Roslyn
            // objects by nature. Only the generator's steps must be plain data.
            var walk = new RoslynObjectFinder();
            int values = 0;
            foreach (KeyValuePair<string, ImmutableArray<IncrementalGeneratorRunStep>> step in result.TrackedSteps.Where(s => expectedSteps.Contains(s.Key)))
            {
                foreach (var (value, _) in step.Value.SelectMany(s => s.Outputs))
                {
                    values++;
                    string? found = walk.Find(value, step.Key);
                    Assert.True(found is null, "A cached pipeline value holds a Roslyn object: " + found);
                }
            }

            // The walk must have seen real models, not just the top-level records.
            Assert.True(values >= expectedSteps.Length);
            Assert.True(walk.ObjectsVisited > 1000, "Only " + walk.ObjectsVisited + " objects reached: the walk did not descend into the models.");
        }

        [Fact]
        public void The_roslyn_object_finder_finds_a_location_deep_in_a_graph()
        {
            var graph = new List<object> { "text", new Dictionary<string, object> { ["k"] = new object[] { 1, Tuple.Create(2, Location.None) } } };
            Assert.NotNull(new RoslynObjectFinder().Find(graph, "root"));
            Assert.Null(new RoslynObjectFinder().Find(new List<object> { "text", new[] { 1, 2 } }, "root"));
        }

        private static (GeneratorDriver Driver, Compilation Compilation) FirstRun(IEnumerable<AdditionalText> files)
        {
            Compilation compilation = CSharpCompilation.Create(
                "Incremental",
                new[] { CSharpSyntaxTree.ParseText("namespace App { public class Program { } }", ParseOptions) },
                new[] { MetadataReference.CreateFromFile(typeof(object).Assembly.Location) },
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
            GeneratorDriver driver = CSharpGeneratorDriver.Create(
                new[] { new PolicyGenerator().AsSourceGenerator() },
                files,
                ParseOptions,
                optionsProvider: null,
                driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
            driver = driver.RunGenerators(compilation);
            GeneratorRunResult first = Assert.Single(driver.GetRunResult().Results);
            Assert.Null(first.Exception);
            Assert.NotEmpty(first.GeneratedSources);
            return (driver, compilation);
        }

        private static GeneratorRunResult Rerun(GeneratorDriver driver, Compilation compilation)
        {
            GeneratorRunResult result = Assert.Single(driver.RunGenerators(compilation).GetRunResult().Results);
            Assert.Null(result.Exception);
            return result;
        }

        /// <summary>The names of the policies the Policies step output with one of <paramref name="reasons"/>, sorted.</summary>
        private static string[] PoliciesBy(GeneratorRunResult result, params IncrementalStepRunReason[] reasons)
            => result.TrackedSteps[PolicyGenerator.TrackingNames.Policies]
                .SelectMany(step => step.Outputs)
                .Where(output => reasons.Contains(output.Reason))
                .Select(output => PolicyName(output.Value))
                .OrderBy(n => n, StringComparer.Ordinal)
                .ToArray();

        /// <summary>The policy name of a Policies step value (an internal GeneratedPolicy record; read through its Model).</summary>
        private static string PolicyName(object value)
        {
            object model = value.GetType().GetProperty("Model")?.GetValue(value)
                ?? throw new InvalidOperationException("A Policies step value of type " + value.GetType() + " has no Model.");
            return ((VfioPolicy.AccessModel.Model.PolicyModel)model).Name;
        }

        /// <summary>The files a per-file step (Scanned: full paths; Compiled: compiler paths) ran for again (its output new, modified, or recomputed unchanged), sorted.</summary>
        private static string[] FilesRun(GeneratorRunResult result, string step)
            => FilesOf(result, step, IncrementalStepRunReason.New, IncrementalStepRunReason.Modified, IncrementalStepRunReason.Unchanged);

        /// <summary>The files a per-file step did not run for (its output taken from the cache), sorted.</summary>
        private static string[] FilesCached(GeneratorRunResult result, string step) => FilesOf(result, step, IncrementalStepRunReason.Cached);

        private static string[] FilesOf(GeneratorRunResult result, string step, params IncrementalStepRunReason[] reasons)
            => result.TrackedSteps[step]
                .SelectMany(run => run.Outputs)
                .Where(output => reasons.Contains(output.Reason))
                .Select(output => FileOf(output.Value))
                .OrderBy(n => n, StringComparer.Ordinal)
                .ToArray();

        /// <summary>The file of a Scanned value (its text's full path) or a Compiled value (its compiler path), read by reflection: the records are internal.</summary>
        private static string FileOf(object value)
        {
            object? text = value.GetType().GetProperty("Text")?.GetValue(value);
            object? path = text != null ? text.GetType().GetProperty("FullPath")?.GetValue(text) : value.GetType().GetProperty("CompilerPath")?.GetValue(value);
            return path as string ?? throw new InvalidOperationException("A step value of type " + value.GetType() + " names no file.");
        }

        /// <summary>Why each source output ran (one entry per generated file or diagnostics batch).</summary>
        private static IEnumerable<IncrementalStepRunReason> SourceOutputReasons(GeneratorRunResult result)
            => result.TrackedOutputSteps.SelectMany(step => step.Value).SelectMany(step => step.Outputs).Select(output => output.Reason);

        private static bool IsRegenerated(IncrementalStepRunReason reason)
            => reason == IncrementalStepRunReason.New || reason == IncrementalStepRunReason.Modified;

        /// <summary>Walks an object graph by reflection (every field, every element) looking for a Roslyn object.</summary>
        private sealed class RoslynObjectFinder
        {
            private static readonly Type[] Forbidden =
            {
                typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxTree), typeof(Location), typeof(Compilation),
                typeof(SemanticModel), typeof(AdditionalText), typeof(Microsoft.CodeAnalysis.Text.SourceText),
            };

            private readonly HashSet<object> _seen = new HashSet<object>(ReferenceEqualityComparer.Instance);

            public int ObjectsVisited => _seen.Count;

            public string? Find(object? value, string path)
            {
                if (value is null || value is string || value is Pointer)
                {
                    return null;
                }

                Type type = value.GetType();
                if (Forbidden.Any(f => f.IsAssignableFrom(type))
                    || (type.Assembly.GetName().Name ?? string.Empty).StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal))
                {
                    return path + " (" + type.FullName + ")";
                }

                if (type.IsPrimitive || type.IsEnum || type == typeof(decimal) || !(type.IsValueType || _seen.Add(value)))
                {
                    return null;
                }

                if (value is IEnumerable sequence && !type.IsValueType)
                {
                    int index = 0;
                    foreach (object? item in sequence)
                    {
                        string? found = Find(item, path + "[" + index++ + "]");
                        if (found is not null)
                        {
                            return found;
                        }
                    }
                }

                for (Type? declaring = type; declaring is not null && declaring != typeof(object); declaring = declaring.BaseType)
                {
                    foreach (FieldInfo field in declaring.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                    {
                        if (field.FieldType.IsByRefLike || field.FieldType.IsPointer)
                        {
                            continue;
                        }

                        string? found = Find(field.GetValue(value), path + "." + field.Name);
                        if (found is not null)
                        {
                            return found;
                        }
                    }
                }

                return null;
            }
        }
    }
}
