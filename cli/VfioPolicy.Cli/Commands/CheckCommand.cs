using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.Rendering;
using VfioPolicy.Compiler;

namespace VfioPolicy.Cli.Commands
{
    /// <summary>
    /// <c>check PATH... [--device DUMP [--slot S]]</c>: compiles every policy file (folders recursively) and prints its
    /// diagnostics, one per line on standard output, then a summary on standard error. Files without a <c>policy</c>
    /// line are checked as fragments. With a device, every complete policy whose match lines select it is also bound to
    /// it, and what does not fit the device (binding errors, VP07xx) is reported like any other error. Exit 0 when
    /// there is no error (warnings allowed), 1 otherwise.
    /// </summary>
    public static class CheckCommand
    {
        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            var paths = new Argument<string[]>("PATH")
            {
                Description = "Policy files, or folders searched recursively for *.vfiopolicy",
                Arity = ArgumentArity.OneOrMore,
            };
            Option<string> device = CommonOptions.Device();
            device.Required = false;
            device.Description = "Also bind every policy that selects this device (a config-space dump) and report what does not fit it";
            Option<string?> slot = CommonOptions.Slot();
            Option<string?> physicalFunction = CommonOptions.PhysicalFunction();
            var format = new Option<string>("--format", "-f")
            {
                Description = "Output format: text (path(line,col): error VP… lines), json, or sarif (SARIF 2.1.0, for CI annotations)",
                DefaultValueFactory = _ => "text",
                HelpName = "text|json|sarif",
            };
            format.AcceptOnlyFromAmong("text", "json", "sarif");
            var command = new Command("check", "Compile policy files and report their diagnostics")
            {
                paths,
                device,
                slot,
                physicalFunction,
                format,
            };
            command.SetAction(parseResult => Run(context, parseResult.GetValue(paths)!, parseResult.GetValue(device), parseResult.GetValue(slot), parseResult.GetValue(physicalFunction), parseResult.GetValue(format)!));
            return command;
        }

        private static int Run(CliContext context, IEnumerable<string> paths, string? devicePath, string? slot, string? physicalFunction, string format)
        {
            IReadOnlyList<string> files = PolicyFiles.Expand(context, paths);
            LoadedDevice? device = devicePath is null ? null : DeviceLoader.Load(context, devicePath, slot, physicalFunction);
            var printer = new DiagnosticPrinter(context);

            // Text prints as it goes; json and sarif gather the same findings and print one document at the end.
            TextWriter sink = format == "text" ? context.Output : TextWriter.Null;
            var source = new WorkingDirectorySource(context);
            foreach (string file in files)
            {
                CompilationResult result = PolicyCompiler.Compile(context.Display(file), source);
                printer.Print(result.Diagnostics, sink);
                if (device is not null && result.Model is not null && !result.Diagnostics.Any(d => d.IsError))
                {
                    if (DeviceMatching.Matches(result.Model, device.Image.Bytes))
                    {
                        printer.Print(DeviceBinder.Bind(result.Model, device.Image.Bytes, device.Walk).Errors, sink);
                    }
                    else
                    {
                        context.Error.WriteLine("note: policy \"" + result.Model.Name + "\" (" + context.Display(file) + ") does not select " + device.DisplayPath + "; not bound");
                    }
                }
            }

            if (format == "json")
            {
                context.Output.Write(CheckReport.Json(printer.Findings, files.Count));
            }
            else if (format == "sarif")
            {
                context.Output.Write(CheckReport.Sarif(printer.Findings, ToolVersion()));
            }

            context.Error.WriteLine(string.Format(CultureInfo.InvariantCulture, "checked {0} file(s): {1}", files.Count, printer.Summary()));
            return printer.Errors > 0 ? ExitCodes.Findings : ExitCodes.Success;
        }

        private static string ToolVersion()
            => typeof(CheckCommand).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";
    }
}
