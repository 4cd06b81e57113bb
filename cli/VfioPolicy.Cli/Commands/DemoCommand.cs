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

        // What the columns mean, for someone who has never seen a map.
        private const string MapLegend =
            "# Who owns every byte of the device's config space under the policy. virt: bits the guest reads from the\n"
            + "# firewall's shadow or a constant instead of the device; write: bits a guest write changes (on the device or\n"
            + "# in the shadow); behavior: the runtime protocol the register drives (BAR sizing, MSI, FLR...); owners: the\n"
            + "# policy lines that decided it (open them: every rule says why).";

        private const string SimulateLegend =
            "# A guest's accesses through the firewall (the reference interpreter) against the same dump: what the guest\n"
            + "# reads (->), what reached the device (hardware read/write), what the runtime was told (behavior) and what\n"
            + "# was refused and audited (audit).";

        private const string NextSteps =
            "Next: scaffold a policy for a device of your own (vfio-policy init --device DUMP or --device 0000:01:00.0),\n"
            + "check it (vfio-policy check FILE), read what it does to a register (vfio-policy explain --policy FILE\n"
            + "--device DUMP COMMAND), and review a change (vfio-policy diff OLD NEW --format markdown). docs/language.md\n"
            + "is the language, docs/access-model.md what every part promises.";

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
                context.Output.WriteLine(MapLegend);
                context.Output.WriteLine(loaded.Title);
                context.Output.Write(OwnershipMap.RenderText(PolicyLoader.Bind(context, model, loaded), loaded.Image.Bytes, bundle));
                context.Output.WriteLine();
                context.Output.WriteLine("== vfio-policy simulate --policy " + BundledPolicy + " --device " + BundledDevice);
                context.Output.WriteLine(SimulateLegend);
                SimulateCommand.Run(bundle, model, loaded, AccessScript.Parse(SimulationSession.BuiltInScript, "<built-in session>"), "built-in session");
                context.Output.WriteLine();
                context.Output.WriteLine(NextSteps);
                return ExitCodes.Success;
            });
            return command;
        }
    }
}
