using System;
using System.IO;

namespace VfioPolicy.Compiler.Sources
{
    /// <summary>Reads policy files from the disk; relative paths are relative to the process's working folder.</summary>
    public sealed class FileSystemPolicySource : IPolicySource
    {
        /// <inheritdoc />
        public bool TryRead(string path, out string text)
        {
            text = string.Empty;
            try
            {
                if (!File.Exists(path))
                {
                    return false;
                }

                text = File.ReadAllText(path);
                return true;
            }
            catch (Exception exception) when (exception is IOException || exception is UnauthorizedAccessException || exception is NotSupportedException || exception is ArgumentException)
            {
                // An unreadable file is reported like a missing one: the diagnostic names the include line.
                return false;
            }
        }

        /// <inheritdoc />
        public string Resolve(string includingFile, string includePath) => PolicyPaths.Combine(includingFile, includePath);
    }
}
