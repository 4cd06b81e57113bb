using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;
using VfioPolicy.Testing;

namespace VfioPolicy.Hardening.Tests.Oracle
{
    /// <summary>Where a rule was written: the file (relative to policies/, with '/' separators) and the line.</summary>
    public sealed record OracleOrigin(string File, int Line)
    {
        /// <inheritdoc />
        public override string ToString() => File + ":" + Line.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A statement of the flattened policy, with the file it came from.</summary>
    public sealed record Placed<T>(T Statement, string File);

    /// <summary>
    /// A complete policy as the oracle reads it: its own resolution of <c>include</c> and <c>extends</c> over the
    /// grammar's syntax trees (docs/language.md: "an included file's rules come before the including file's, in the
    /// order of the include lines"), giving every block, default and hide in that order. It shares nothing with the
    /// compiler but the parser.
    /// </summary>
    public sealed class OraclePolicy
    {
        private OraclePolicy(string name, string root)
        {
            Name = name;
            Root = root;
        }

        /// <summary>The policy's name (what audit events carry).</summary>
        public string Name { get; private set; }

        /// <summary>The folder file names are relative to (policies/).</summary>
        public string Root { get; }

        /// <summary>Every register block in include order.</summary>
        public List<Placed<BlockStatement>> Blocks { get; } = new List<Placed<BlockStatement>>();

        /// <summary>Every file-level default in include order (later <c>override default</c> replaces).</summary>
        public List<Placed<DefaultStatement>> Defaults { get; } = new List<Placed<DefaultStatement>>();

        /// <summary>Every <c>hide</c> in include order.</summary>
        public List<Placed<HideStatement>> Hides { get; } = new List<Placed<HideStatement>>();

        /// <summary>The files read, in the order their rules apply.</summary>
        public List<string> Files { get; } = new List<string>();

        /// <summary>Loads the complete policy file at <paramref name="path"/> (under <see cref="RepositoryPaths.Policies"/>).</summary>
        public static OraclePolicy Load(string path)
        {
            var policy = new OraclePolicy(string.Empty, RepositoryPaths.Policies);
            policy.Name = policy.Read(Path.GetFullPath(path), new HashSet<string>(StringComparer.Ordinal), outermost: true) ?? throw new InvalidOperationException(path + " is not a complete policy (no 'policy' line).");
            return policy;
        }

        /// <summary>Finds the library file whose <c>policy</c> line names <paramref name="name"/>.</summary>
        public static OraclePolicy ForName(string name)
        {
            foreach (string file in HardeningInputs.PolicyFiles())
            {
                PolicyFile syntax = Parse(file);
                if (syntax.Statements.OfType<PolicyStatement>().Any(p => p.Name.Value == name))
                {
                    return Load(file);
                }
            }

            throw new InvalidOperationException("No file under policies/ has 'policy \"" + name + "\"'.");
        }

        private static PolicyFile Parse(string path)
        {
            ParseResult parsed = PolicyParser.Parse(new SourceFile(path, File.ReadAllText(path)));
            if (!parsed.Succeeded || parsed.File is null)
            {
                throw new InvalidOperationException(path + " does not parse: " + string.Join("; ", parsed.Diagnostics.Select(d => d.ToString())));
            }

            return parsed.File;
        }

        /// <summary>Reads one file: its includes first (in order), then its own statements. Returns its policy name.</summary>
        private string? Read(string path, HashSet<string> open, bool outermost)
        {
            if (!open.Add(path))
            {
                throw new InvalidOperationException(path + " includes itself.");
            }

            PolicyFile syntax = Parse(path);
            string relative = Path.GetRelativePath(Root, path).Replace(Path.DirectorySeparatorChar, '/');
            foreach (IncludeStatement include in syntax.Statements.OfType<IncludeStatement>())
            {
                string target = include.FromLibrary
                    ? Path.Combine(Root, include.Path.Value.EndsWith(".vfiopolicy", StringComparison.Ordinal) ? include.Path.Value : include.Path.Value + ".vfiopolicy")
                    : Path.Combine(Path.GetDirectoryName(path)!, include.Path.Value);
                Read(Path.GetFullPath(target), open, outermost: false);
            }

            Files.Add(relative);
            foreach (Statement statement in syntax.Statements)
            {
                switch (statement)
                {
                    case BlockStatement block:
                        Blocks.Add(new Placed<BlockStatement>(block, relative));
                        break;
                    case DefaultStatement fileDefault:
                        Defaults.Add(new Placed<DefaultStatement>(fileDefault, relative));
                        break;
                    case HideStatement hide:
                        Hides.Add(new Placed<HideStatement>(hide, relative));
                        break;
                    case PolicyStatement or MatchStatement or IncludeStatement or MirrorStatement:
                        // Names and match lines select a device, mirrors add windows onto config space: neither
                        // changes what a config access does.
                        break;
                    default:
                        throw new NotSupportedException("The oracle does not model " + statement.GetType().Name + " at " + relative + ":" + statement.Span.Start.Line);
                }
            }

            open.Remove(path);
            return outermost ? syntax.Statements.OfType<PolicyStatement>().Select(p => p.Name.Value).FirstOrDefault() : null;
        }
    }
}
