using System.Collections.Generic;

namespace VfioPolicy.Compiler.Sources
{
    /// <summary>Policy files held in memory, keyed by normalised path: for tests and for the source generator, which receives texts, not files.</summary>
    public sealed class InMemoryPolicySource : IPolicySource
    {
        private readonly Dictionary<string, string> _files = new Dictionary<string, string>(System.StringComparer.Ordinal);

        /// <summary>An empty source; add files with <see cref="Add"/>.</summary>
        public InMemoryPolicySource()
        {
        }

        /// <summary>A source holding <paramref name="files"/> (path → text).</summary>
        public InMemoryPolicySource(IEnumerable<KeyValuePair<string, string>> files)
        {
            foreach (KeyValuePair<string, string> file in files)
            {
                Add(file.Key, file.Value);
            }
        }

        /// <summary>
        /// What a "cannot read" diagnostic adds for a path this source does not hold: the source generator says the file
        /// is not a listed <c>VfioPolicy</c> item (it sees only those, whether or not the file exists on disk).
        /// </summary>
        public string? MissingFileHint { get; set; }

        /// <summary>Adds or replaces the file at <paramref name="path"/>; returns this source for chaining.</summary>
        public InMemoryPolicySource Add(string path, string text)
        {
            _files[PolicyPaths.Normalize(path)] = text;
            return this;
        }

        /// <inheritdoc />
        public bool TryRead(string path, out string text)
        {
            if (_files.TryGetValue(PolicyPaths.Normalize(path), out string? found))
            {
                text = found;
                return true;
            }

            text = string.Empty;
            return false;
        }

        /// <inheritdoc />
        public string Resolve(string includingFile, string includePath) => PolicyPaths.Combine(includingFile, includePath);
    }
}
