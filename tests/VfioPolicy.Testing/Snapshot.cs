using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;
using Xunit.Sdk;

namespace VfioPolicy.Testing
{
    /// <summary>
    /// Approved-output tests: the approved text lives in <c>NAME.verified.txt</c> beside the test source. A mismatch
    /// writes <c>NAME.received.txt</c> and fails with a +/- line diff; a missing approved file fails too. Run with
    /// <c>VFIOPOLICY_ACCEPT=1</c> to overwrite the approved files with what the code produces now (and to delete
    /// approved files no test claims any more).
    /// </summary>
    public static class Snapshot
    {
        /// <summary>True when the environment asks to re-baseline instead of compare.</summary>
        public static bool Accepting => Environment.GetEnvironmentVariable("VFIOPOLICY_ACCEPT") == "1";

        /// <summary>Compares <paramref name="actual"/> with <c>NAME.verified.txt</c> in the calling test file's folder (or its <paramref name="subfolder"/>).</summary>
        public static void Match(string actual, string name, string? subfolder = null, [CallerFilePath] string testFile = "")
        {
            string folder = Path.GetDirectoryName(testFile) ?? ".";
            if (subfolder != null)
            {
                folder = Path.Combine(folder, subfolder);
            }

            MatchFile(actual, Path.Combine(folder, name + ".verified.txt"));
        }

        /// <summary>Compares <paramref name="actual"/> with the approved file at <paramref name="verifiedPath"/>.</summary>
        public static void MatchFile(string actual, string verifiedPath)
        {
            string normalized = actual.Replace("\r\n", "\n");
            string receivedPath = verifiedPath.Replace(".verified.txt", ".received.txt");
            if (Accepting)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(verifiedPath)!);
                File.WriteAllText(verifiedPath, normalized);
                File.Delete(receivedPath);
                return;
            }

            string? approved = File.Exists(verifiedPath) ? File.ReadAllText(verifiedPath).Replace("\r\n", "\n") : null;
            if (approved == normalized)
            {
                File.Delete(receivedPath);
                return;
            }

            File.WriteAllText(receivedPath, normalized);
            string hint = " (re-run with VFIOPOLICY_ACCEPT=1 to approve)";
            throw new XunitException(approved == null
                ? "No approved snapshot " + verifiedPath + "; wrote " + receivedPath + hint
                : "Snapshot " + verifiedPath + " differs (- approved, + received)" + hint + ":\n" + LineDiff(approved, normalized));
        }

        /// <summary>
        /// Checks that <paramref name="folder"/> holds exactly the approved files <paramref name="expectedNames"/>
        /// (without <c>.verified.txt</c>). When accepting, stale ones are deleted; otherwise they fail the test.
        /// </summary>
        public static void AssertNoStale(string folder, IEnumerable<string> expectedNames)
        {
            var expected = new HashSet<string>(expectedNames.Select(n => n + ".verified.txt"), StringComparer.Ordinal);
            string[] stale = Directory.Exists(folder)
                ? Directory.GetFiles(folder, "*.verified.txt").Where(f => !expected.Contains(Path.GetFileName(f))).OrderBy(f => f, StringComparer.Ordinal).ToArray()
                : Array.Empty<string>();
            if (stale.Length == 0)
            {
                return;
            }

            if (!Accepting)
            {
                throw new XunitException("Stale approved snapshots (no test produces them; VFIOPOLICY_ACCEPT=1 deletes them):\n  " + string.Join("\n  ", stale));
            }

            foreach (string file in stale)
            {
                File.Delete(file);
            }
        }

        /// <summary>A line diff: removed lines "- ", added "+ ", two unchanged lines of context "  ", "…" where more are skipped.</summary>
        public static string LineDiff(string approved, string received)
        {
            List<DiffPiece> lines = new InlineDiffBuilder(new DiffPlex.Differ()).BuildDiffModel(approved, received, ignoreWhitespace: false).Lines;
            bool IsChange(int i) => i >= 0 && i < lines.Count && lines[i].Type != ChangeType.Unchanged;
            var text = new StringBuilder();
            bool skipped = false;
            for (int i = 0; i < lines.Count; i++)
            {
                if (!Enumerable.Range(i - 2, 5).Any(IsChange))
                {
                    skipped = true;
                    continue;
                }

                if (skipped)
                {
                    text.Append("  …\n");
                    skipped = false;
                }

                string prefix = lines[i].Type switch { ChangeType.Inserted => "+ ", ChangeType.Deleted => "- ", _ => "  " };
                text.Append(prefix).Append(lines[i].Text).Append('\n');
            }

            return text.ToString();
        }
    }
}
