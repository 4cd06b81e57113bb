using System.Collections.Generic;
using System.CommandLine;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.Simulation;

namespace VfioPolicy.Cli.Commands
{
    /// <summary>
    /// <c>simulate --policy P --device DUMP [--slot S] [--script FILE] [--force]</c>: runs consumer accesses through
    /// the interpreter against the dump; without a script, a short built-in session.
    /// </summary>
    public static class SimulateCommand
    {
        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            Option<string> policy = CommonOptions.Policy();
            Option<string> device = CommonOptions.Device();
            Option<string?> slot = CommonOptions.Slot();
            Option<string?> physicalFunction = CommonOptions.PhysicalFunction();
            Option<bool> force = CommonOptions.Force();
            var script = new Option<string?>("--script")
            {
                Description = "Access script: 'r OFFSET LEN', 'w OFFSET LEN VALUE', '#' comments (default: a built-in session)",
                HelpName = "FILE",
            };
            var command = new Command("simulate", "Run consumer config-space accesses through a policy against a device dump")
            {
                policy,
                device,
                slot,
                physicalFunction,
                script,
                force,
            };
            command.SetAction(parseResult =>
            {
                string? scriptPath = parseResult.GetValue(script);
                IReadOnlyList<ScriptAccess> accesses = scriptPath == null
                    ? AccessScript.Parse(SimulationSession.BuiltInScript, "<built-in session>")
                    : AccessScript.Parse(InputFiles.ReadText(context, scriptPath, "script"), context.Display(context.Resolve(scriptPath)));
                PolicyModel model = PolicyLoader.Load(context, parseResult.GetValue(policy)!);
                LoadedDevice loaded = DeviceLoader.Load(context, parseResult.GetValue(device)!, parseResult.GetValue(slot), parseResult.GetValue(physicalFunction));
                PolicyLoader.RequireMatch(context, model, loaded, parseResult.GetValue(force));
                Run(context, model, loaded, accesses, scriptPath == null ? "built-in session" : "script " + context.Display(context.Resolve(scriptPath)));
                return ExitCodes.Success;
            });
            return command;
        }

        /// <summary>Binds and runs; shared with <c>demo</c>.</summary>
        public static void Run(CliContext context, PolicyModel model, LoadedDevice loaded, IReadOnlyList<ScriptAccess> accesses, string sessionName)
        {
            BoundConfigSpace bound = PolicyLoader.Bind(context, model, loaded);
            context.Output.WriteLine(loaded.Title);
            context.Output.WriteLine("policy \"" + model.Name + "\" from " + context.Display(model.Origin.Path) + ", " + sessionName);
            foreach (string warning in bound.Warnings)
            {
                context.Output.WriteLine("warning: " + warning);
            }

            SimulationSession.Run(bound, loaded.Image.Bytes, accesses, context, context.Output);
        }
    }
}
