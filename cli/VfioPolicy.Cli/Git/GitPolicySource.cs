using System;
using System.Collections.Generic;
using System.IO;
using VfioPolicy.Compiler.Sources;

namespace VfioPolicy.Cli.Git
{
    /// <summary>
    /// Policy files as they are at one commit of a repository (or in its work tree), addressed by repository-relative
    /// path, so a policy and everything it includes are read at the same revision. Each file is read once.
    /// </summary>
    public sealed class GitPolicySource : IPolicySource
    {
        private readonly GitRepository _repository;
        private readonly string? _commit;
        private readonly Dictionary<string, string?> _cache = new Dictionary<string, string?>(StringComparer.Ordinal);

        /// <summary>Reads from <paramref name="commit"/>, or from the work tree when it is null.</summary>
        public GitPolicySource(GitRepository repository, string? commit)
        {
            _repository = repository;
            _commit = commit;
        }

        /// <inheritdoc />
        public bool TryRead(string path, out string text)
        {
            string normalized = PolicyPaths.Normalize(path);
            if (!_cache.TryGetValue(normalized, out string? cached))
            {
                cached = Read(normalized);
                _cache.Add(normalized, cached);
            }

            text = cached ?? string.Empty;
            return cached != null;
        }

        /// <inheritdoc />
        public string Resolve(string includingFile, string includePath) => PolicyPaths.Combine(includingFile, includePath);

        private string? Read(string path)
        {
            // Paths outside the repository have no version at a commit; the include diagnostic names them.
            if (path.StartsWith("/", StringComparison.Ordinal) || path == ".." || path.StartsWith("../", StringComparison.Ordinal))
            {
                return null;
            }

            if (_commit == null)
            {
                string full = Path.Combine(_repository.Root, path);
                try
                {
                    return File.Exists(full) ? File.ReadAllText(full) : null;
                }
                catch (Exception exception) when (exception is IOException || exception is UnauthorizedAccessException)
                {
                    return null;
                }
            }

            return _repository.TryReadFile(_commit, path, out string text) ? text : null;
        }
    }
}
