using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Scaffolding;
using VfioPolicy.Compiler.Sources;

namespace VfioPolicy.Cli.Commands
{
    /// <summary>
    /// <c>init --device DUMP [--slot S] [--base strict|linux-vfio-default] [--output FILE] [--force]</c>: the first draft
    /// of a device policy, from the device's own config space.
    /// </summary>
    public static class InitCommand
    {
        /// <summary>Where device policies live, relative to the policy library (and the default for the <c>extends</c> path).</summary>
        private const string DevicesFolder = "devices";

        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            Option<string> device = CommonOptions.Device();
            Option<string?> slot = CommonOptions.Slot();
            Option<string?> physicalFunction = CommonOptions.PhysicalFunction();
            var basePolicy = new Option<string>("--base", "-b")
            {
                Description = "Base policy the scaffold extends: strict (deny what is not opened) or linux-vfio-default (the kernel's model)",
                DefaultValueFactory = _ => "strict",
                HelpName = "strict|linux-vfio-default",
            };
            basePolicy.AcceptOnlyFromAmong("strict", "linux-vfio-default");
            var output = new Option<string?>("--output", "-o")
            {
                Description = "Write the scaffold to FILE instead of standard output (the extends path is relative to FILE's folder; without it, to policies/devices/)",
                HelpName = "FILE",
            };
            var force = new Option<bool>("--force") { Description = "Overwrite FILE if it exists" };
            var command = new Command("init", "Scaffold a device policy from a device dump: identity, match, extends, and a commented section per capability")
            {
                device,
                slot,
                physicalFunction,
                basePolicy,
                output,
                force,
            };
            command.SetAction(parseResult =>
            {
                LoadedDevice loaded = DeviceLoader.Load(context, parseResult.GetValue(device)!, parseResult.GetValue(slot), parseResult.GetValue(physicalFunction));
                string? unsupported = PolicyScaffolder.Unsupported(loaded.Image.Bytes);
                if (unsupported != null)
                {
                    throw new CommandFailedException(loaded.DisplayPath + ": " + unsupported);
                }

                // In a checkout the scaffold extends the working tree's library by a relative path, so an edit to the
                // base is seen at once; anywhere else it extends the library that travels with the compiler, by name.
                string baseName = parseResult.GetValue(basePolicy)!;
                string? checkoutBase = CheckoutBase(context, baseName);
                string basePath = checkoutBase != null ? context.Display(checkoutBase) : StandardLibrary.PathOf(baseName)!;
                CompilationResult baseResult = PolicyCompiler.Compile(basePath, new WorkingDirectorySource(context));
                if (baseResult.Model == null)
                {
                    new DiagnosticPrinter(context).Print(baseResult.Diagnostics, context.Error);
                    throw new CommandFailedException("base policy " + basePath + " does not compile");
                }

                string name = PolicyScaffolder.PolicyName(loaded.Image.Bytes, loaded.Image.Description);
                string? outputPath = parseResult.GetValue(output);
                string target = outputPath != null
                    ? context.Resolve(outputPath)
                    : checkoutBase != null
                        ? Path.Combine(Path.GetDirectoryName(checkoutBase)!, DevicesFolder, name + PolicyFiles.Extension)
                        : context.Resolve(name + PolicyFiles.Extension);
                string extendsPath = checkoutBase != null
                    ? Path.GetRelativePath(Path.GetDirectoryName(target)!, checkoutBase).Replace(Path.DirectorySeparatorChar, '/')
                    : baseName;
                string scaffold = PolicyScaffolder.Scaffold(new ScaffoldRequest(
                    loaded.Image.Bytes,
                    loaded.Image.Slot,
                    loaded.Image.Description,
                    loaded.Walk,
                    baseResult.Model,
                    extendsPath,
                    Path.GetFileName(loaded.DisplayPath),
                    ExtendsLibrary: checkoutBase == null));

                // The promise is a draft that checks clean as it stands: hold the tool to it before anyone sees the file.
                CompilationResult check = PolicyCompiler.CompileText(context.Display(target), scaffold, new WorkingDirectorySource(context));
                if (!check.Succeeded)
                {
                    new DiagnosticPrinter(context).Print(check.Diagnostics, context.Error);
                    throw new CommandFailedException("the scaffold does not compile (a bug in init)", ExitCodes.InternalError);
                }

                if (outputPath == null)
                {
                    context.Output.Write(scaffold);
                    return ExitCodes.Success;
                }

                if (File.Exists(target) && !parseResult.GetValue(force))
                {
                    throw new CommandFailedException(context.Display(target) + " exists; use --force to overwrite it");
                }

                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.WriteAllText(target, scaffold);
                context.Error.WriteLine("wrote " + context.Display(target) + " (policy \"" + name + "\", "
                    + loaded.Walk.Capabilities.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) + " capability section(s)); next: decide each section, then 'vfio-policy check "
                    + context.Display(target) + "'");
                return ExitCodes.Success;
            });
            return command;
        }

        // A repository checkout: the working tree's policies/ folder holds the base.
        private static string? CheckoutBase(CliContext context, string baseName)
        {
            string candidate = context.Resolve(Path.Combine("policies", baseName + PolicyFiles.Extension));
            return File.Exists(candidate) ? candidate : null;
        }
    }
}
