using System;
using System.IO;
using VfioPolicy.Testing;
using Xunit;
using Xunit.Sdk;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>The snapshot helper itself: it must fail on a mismatch and on a missing or stale file.</summary>
    public sealed class SnapshotTests : IDisposable
    {
        private readonly string folder = Path.Combine(Path.GetTempPath(), "vfiopolicy-snapshot-" + Guid.NewGuid().ToString("N"));

        public SnapshotTests() => Directory.CreateDirectory(folder);

        public void Dispose() => Directory.Delete(folder, recursive: true);

        [Fact]
        public void Equal_text_passes_and_leaves_no_received_file()
        {
            string verified = Path.Combine(folder, "a.verified.txt");
            File.WriteAllText(verified, "one\ntwo\n");
            Snapshot.MatchFile("one\r\ntwo\r\n", verified);
            Assert.False(File.Exists(Path.Combine(folder, "a.received.txt")));
        }

        [Fact]
        public void A_mismatch_fails_with_a_line_diff_and_writes_the_received_file()
        {
            if (Snapshot.Accepting)
            {
                return;
            }

            string verified = Path.Combine(folder, "b.verified.txt");
            File.WriteAllText(verified, "1\n2\n3\n4\n5\n6\n7\n8\n");
            XunitException failure = Assert.ThrowsAny<XunitException>(() => Snapshot.MatchFile("1\n2\n3\n4\nfive\n6\n7\n8\n", verified));
            Assert.Contains("  …\n  3\n  4\n- 5\n+ five\n  6\n  7\n", failure.Message);
            Assert.DoesNotContain("  1\n", failure.Message);
            Assert.Equal("1\n2\n3\n4\nfive\n6\n7\n8\n", File.ReadAllText(Path.Combine(folder, "b.received.txt")));
        }

        [Fact]
        public void A_missing_snapshot_fails_and_writes_the_received_file()
        {
            if (Snapshot.Accepting)
            {
                return;
            }

            string verified = Path.Combine(folder, "c.verified.txt");
            XunitException failure = Assert.ThrowsAny<XunitException>(() => Snapshot.MatchFile("new\n", verified));
            Assert.Contains("No approved snapshot", failure.Message);
            Assert.Equal("new\n", File.ReadAllText(Path.Combine(folder, "c.received.txt")));
        }

        [Fact]
        public void A_stale_snapshot_fails_when_not_accepting()
        {
            if (Snapshot.Accepting)
            {
                return;
            }

            File.WriteAllText(Path.Combine(folder, "kept.verified.txt"), "x");
            File.WriteAllText(Path.Combine(folder, "old.verified.txt"), "x");
            XunitException failure = Assert.ThrowsAny<XunitException>(() => Snapshot.AssertNoStale(folder, new[] { "kept" }));
            Assert.Contains("old.verified.txt", failure.Message);
            Assert.DoesNotContain("kept.verified.txt", failure.Message);
            Snapshot.AssertNoStale(folder, new[] { "kept", "old" });
        }
    }
}
