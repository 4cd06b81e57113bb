using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;

namespace VfioPolicy.GuestTests
{
    /// <summary>One named check; it passes when <see cref="Body"/> returns and fails when it throws.</summary>
    internal sealed record GuestTest(string Name, Action Body);

    /// <summary>A check that did not hold; the message says what was expected and what was found.</summary>
    internal sealed class GuestTestFailure : Exception
    {
        public GuestTestFailure(string message)
            : base(message)
        {
        }
    }

    /// <summary>Assertions that throw <see cref="GuestTestFailure"/>.</summary>
    internal static class Check
    {
        public static void True(bool condition, string message)
        {
            if (!condition)
            {
                throw new GuestTestFailure(message);
            }
        }

        public static void Equal<T>(T expected, T actual, string what)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
            {
                throw new GuestTestFailure(string.Format(CultureInfo.InvariantCulture, "{0}: expected {1}, found {2}", what, expected, actual));
            }
        }

        public static string Hex(uint value, int width) => "0x" + value.ToString("x" + (width * 2).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    /// <summary>Runs the tests in order, one line each, then the summary line tests/vfio-qemu/run.sh reads.</summary>
    internal static class TestRunner
    {
        public static int Run(IEnumerable<GuestTest> tests)
        {
            int passed = 0;
            int failed = 0;
            foreach (GuestTest test in tests)
            {
                var clock = Stopwatch.StartNew();
                try
                {
                    test.Body();
                    passed++;
                    Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "PASS {0} ({1} ms)", test.Name, clock.ElapsedMilliseconds));
                }
                catch (Exception exception)
                {
                    failed++;
                    // A failed check prints its message; anything else is a bug worth its stack trace.
                    string detail = exception is GuestTestFailure ? exception.Message : exception.ToString();
                    Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "FAIL {0} ({1} ms): {2}", test.Name, clock.ElapsedMilliseconds, detail));
                }
            }

            Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "GUEST-TESTS: {0} passed, {1} failed", passed, failed));
            return failed == 0 && passed > 0 ? 0 : 1;
        }
    }
}
