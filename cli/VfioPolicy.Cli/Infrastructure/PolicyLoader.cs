using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler;

namespace VfioPolicy.Cli.Infrastructure
{
    /// <summary>Compiles <c>--policy</c> for the verbs that apply a policy to a device, and checks its match.</summary>
    public static class PolicyLoader
    {
        /// <summary>
        /// Compiles the policy, printing its diagnostics (warnings too) to standard error. A policy with errors or
        /// without a model fails the command (exit 2) after its diagnostics are printed.
        /// </summary>
        public static PolicyModel Load(CliContext context, string path)
        {
            string full = InputFiles.RequireFile(context, path, "policy file");
            CompilationResult result = PolicyCompiler.Compile(context.Display(full), new WorkingDirectorySource(context));
            var printer = new DiagnosticPrinter(context);
            printer.Print(result.Diagnostics, context.Error);
            int errors = result.Diagnostics.Count(d => d.IsError);
            if (errors > 0 || result.Model == null)
            {
                throw new CommandFailedException(string.Format(
                    CultureInfo.InvariantCulture,
                    "policy {0} has {1} error(s)",
                    context.Display(full),
                    errors));
            }

            return result.Model;
        }

        /// <summary>
        /// Binds <paramref name="model"/> to the device; a policy that does not fit it (a binding error, e.g. VP0701)
        /// fails the command with every error located in the policy (exit 2), as the runtime would refuse to open it.
        /// </summary>
        public static BoundConfigSpace Bind(CliContext context, PolicyModel model, LoadedDevice device)
        {
            BoundConfigSpace bound = DeviceBinder.Bind(model, device.Image.Bytes, device.Walk);
            if (bound.Errors.Count > 0)
            {
                new DiagnosticPrinter(context).Print(bound.Errors, context.Error);
                throw new CommandFailedException(
                    "policy \"" + model.Name + "\" does not fit device " + device.DisplayPath + ": " + bound.Errors.Count.ToString(CultureInfo.InvariantCulture)
                    + " binding error(s) (the runtime would refuse to open it)");
            }

            return bound;
        }

        /// <summary>Fails the command unless one of the policy's match lines holds for the device (or <paramref name="force"/>).</summary>
        public static void RequireMatch(CliContext context, PolicyModel model, LoadedDevice device, bool force)
        {
            if (force || DeviceMatching.Matches(model, device.Image.Bytes))
            {
                return;
            }

            string lines = model.Matches.Count == 0
                ? "it has no match lines"
                : "its match lines are:\n  " + string.Join("\n  ", DeviceMatching.Describe(model, context));
            throw new CommandFailedException(
                "policy \"" + model.Name + "\" does not match device " + device.DisplayPath + " ("
                + DeviceMatching.DescribeDevice(device.Image.Bytes) + "); " + lines + "\n(use --force to apply it anyway)");
        }
    }
}
