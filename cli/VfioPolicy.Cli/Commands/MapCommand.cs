using System.CommandLine;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.Rendering;

namespace VfioPolicy.Cli.Commands
{
    /// <summary><c>map --policy P --device DUMP [--slot S] [--format text|json|html|svg] [--force]</c>: who owns every byte of the device under the policy.</summary>
    public static class MapCommand
    {
        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            Option<string> policy = CommonOptions.Policy();
            Option<string> device = CommonOptions.Device();
            Option<string?> slot = CommonOptions.Slot();
            Option<string?> physicalFunction = CommonOptions.PhysicalFunction();
            // map draws pictures too, so it has its own --format (text|json as everywhere, plus html|svg).
            var format = new Option<string>("--format", "-f")
            {
                Description = "Output format: text, json, html (a self-contained page of the byte grid) or svg (the grid for documents)",
                DefaultValueFactory = _ => "text",
                HelpName = "text|json|html|svg",
            };
            format.AcceptOnlyFromAmong("text", "json", "html", "svg");
            Option<bool> force = CommonOptions.Force();
            var command = new Command("map", "Show which rule owns every byte (and bit masks) of a device under a policy")
            {
                policy,
                device,
                slot,
                physicalFunction,
                format,
                force,
            };
            command.SetAction(parseResult =>
            {
                PolicyModel model = PolicyLoader.Load(context, parseResult.GetValue(policy)!);
                LoadedDevice loaded = DeviceLoader.Load(context, parseResult.GetValue(device)!, parseResult.GetValue(slot), parseResult.GetValue(physicalFunction));
                PolicyLoader.RequireMatch(context, model, loaded, parseResult.GetValue(force));
                BoundConfigSpace bound = PolicyLoader.Bind(context, model, loaded);
                string chosen = parseResult.GetValue(format)!;
                if (chosen == "html" || chosen == "svg")
                {
                    context.Output.Write(chosen == "html" ? HtmlMapRenderer.Render(bound, loaded, context) : SvgMapRenderer.Render(bound, loaded, context));
                    foreach (string warning in bound.Warnings)
                    {
                        context.Error.WriteLine("warning: " + warning);
                    }
                }
                else if (chosen == "json")
                {
                    context.Output.Write(OwnershipMap.RenderJson(bound, loaded, context));
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
