using System.CommandLine;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.Rendering;

namespace VfioPolicy.Cli.Commands
{
    /// <summary><c>map --policy P --device DUMP [--slot S] [--format text|json] [--force]</c>: who owns every byte of the device under the policy.</summary>
    public static class MapCommand
    {
        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            Option<string> policy = CommonOptions.Policy();
            Option<string> device = CommonOptions.Device();
            Option<string?> slot = CommonOptions.Slot();
            Option<OutputFormat> format = CommonOptions.Format();
            Option<bool> force = CommonOptions.Force();
            var command = new Command("map", "Show which rule owns every byte (and bit masks) of a device under a policy")
            {
                policy,
                device,
                slot,
                format,
                force,
            };
            command.SetAction(parseResult =>
            {
                PolicyModel model = PolicyLoader.Load(context, parseResult.GetValue(policy)!);
                LoadedDevice loaded = DeviceLoader.Load(context, parseResult.GetValue(device)!, parseResult.GetValue(slot));
                PolicyLoader.RequireMatch(context, model, loaded, parseResult.GetValue(force));
                BoundConfigSpace bound = DeviceBinder.Bind(model, loaded.Image.Bytes, loaded.Walk);
                if (parseResult.GetValue(format) == OutputFormat.Json)
                {
                    context.Output.Write(OwnershipMap.RenderJson(bound, context));
                    foreach (string warning in bound.Warnings)
                    {
                        context.Error.WriteLine("warning: " + warning);
                    }
                }
                else
                {
                    context.Output.WriteLine(loaded.Title);
                    context.Output.Write(OwnershipMap.RenderText(bound, loaded.Image.Bytes, context));
                }

                return ExitCodes.Success;
            });
            return command;
        }
    }
}
