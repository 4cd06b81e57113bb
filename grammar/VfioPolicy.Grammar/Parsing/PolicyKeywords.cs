using System.Collections.Generic;

namespace VfioPolicy.Grammar.Parsing
{
    /// <summary>
    /// Every keyword the grammar accepts, for editors that complete them. The parser builds its keyword parsers inside
    /// lambdas (Sprache's query syntax), so the list cannot be collected from them at start-up; it is written out here
    /// and a test compares it with the <c>Keyword("…")</c> calls in the grammar's source.
    /// </summary>
    public static class PolicyKeywords
    {
        /// <summary>The keywords, sorted.</summary>
        public static IReadOnlyList<string> All { get; } = new[]
        {
            "address", "any", "bar", "base", "behavior", "bit", "bits", "body", "capability", "class", "data", "default",
            "deny", "device", "device-specific", "extended-capability", "extends", "field", "header", "hide", "hw",
            "hw-rw1c", "include", "init", "library", "mask", "match", "mirror", "offset", "override", "passthrough", "policy",
            "register", "revision", "ro", "rw", "rw1c", "silent", "size", "subsystem", "subsystem-vendor", "u16", "u32",
            "u8", "vendor", "virtualize", "when", "write-hw",
        };
    }
}
