using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests.Authoring
{
    /// <summary>
    /// Runs tests/map-render/run.sh: the html map rendered in headless Chromium, pixel colours checked at known cells.
    /// The script installs Debian's chromium when it is missing (as root, as on CI); without a browser and without
    /// root the test fails and says how to get one, rather than passing without having looked.
    /// </summary>
    public sealed class MapRenderBrowserTests
    {
        [Fact]
        public async Task Html_map_renders_as_the_expected_grid_in_headless_chromium()
        {
            var start = new ProcessStartInfo("sh", RepositoryPaths.InRepository("tests/map-render/run.sh"))
            {
                WorkingDirectory = RepositoryPaths.Root,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };

            // The CLI this test run built, rather than a second build through `dotnet run`.
            start.Environment["VFIOPOLICY_CLI"] = "dotnet " + typeof(Cli).Assembly.Location;
            using Process process = Process.Start(start)!;
            // Both pipes drained at once, so neither can fill up and stall the script.
            Task<string> output = process.StandardOutput.ReadToEndAsync();
            Task<string> error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
            Assert.True(process.ExitCode == 0, "run.sh exited " + process.ExitCode + ":\n" + await output + await error);
            Assert.Contains("map-render: passed", await output);
        }
    }
}
