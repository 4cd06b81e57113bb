using System;
using System.CommandLine;
using System.IO;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.Rendering;
using VfioPolicy.Cli.Simulation;

namespace VfioPolicy.Cli.Commands
{
    /// <summary>
    /// <c>demo</c>: the bundled QEMU edu dump under the bundled strict policy, mapped and then driven through the
    /// built-in session. Needs nothing but the tool: the files travel next to it.
    /// </summary>
    public static class DemoCommand
    {
        /// <summary>The bundled policy, relative to the tool's folder.</summary>
        public const string BundledPolicy = "policies/strict.vfiopolicy";

        /// <summary>The bundled device dump, relative to the tool's folder.</summary>
        public const string BundledDevice = "policies/dumps/qemu-edu.lspci-xxx.txt";

        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            var command = new Command("demo", "Map and simulate the bundled QEMU edu device under the bundled strict policy");
            command.SetAction(parseResult =>
            {
                // Paths are shown relative to the tool's folder, where the bundle lives, so the demo prints the
                // same text wherever it is run from.
                var bundle = new CliContext(context.Output, context.Error, AppContext.BaseDirectory);
                if (!File.Exists(bundle.Resolve(BundledPolicy)) || !File.Exists(bundle.Resolve(BundledDevice)))
                {
                    throw new CommandFailedException("the bundled policy or device dump is missing next to the tool in " + AppContext.BaseDirectory + " (rebuild the CLI project)");
                }

                PolicyModel model = PolicyLoader.Load(bundle, BundledPolicy);
                LoadedDevice loaded = DeviceLoader.Load(bundle, BundledDevice, slot: null);
                PolicyLoader.RequireMatch(bundle, model, loaded, force: false);

                context.Output.WriteLine("== vfio-policy map --policy " + BundledPolicy + " --device " + BundledDevice);
                context.Output.WriteLine(loaded.Title);
                context.Output.Write(OwnershipMap.RenderText(PolicyLoader.Bind(context, model, loaded), loaded.Image.Bytes, bundle));
                context.Output.WriteLine();
                context.Output.WriteLine("== vfio-policy simulate --policy " + BundledPolicy + " --device " + BundledDevice);
                SimulateCommand.Run(bundle, model, loaded, AccessScript.Parse(SimulationSession.BuiltInScript, "<built-in session>"), "built-in session");
                return ExitCodes.Success;
            });
            return command;
        }
    }
}
