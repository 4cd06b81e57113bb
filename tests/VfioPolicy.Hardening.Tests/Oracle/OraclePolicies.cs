using System.Collections.Concurrent;

namespace VfioPolicy.Hardening.Tests.Oracle
{
    /// <summary>The oracle's reading of each library policy, by name, read from policies/ once per test run.</summary>
    public static class OraclePolicies
    {
        private static readonly ConcurrentDictionary<string, OraclePolicy> Cache = new ConcurrentDictionary<string, OraclePolicy>();

        /// <summary>The policy whose <c>policy</c> line names <paramref name="name"/>.</summary>
        public static OraclePolicy For(string name) => Cache.GetOrAdd(name, OraclePolicy.ForName);
    }
}
