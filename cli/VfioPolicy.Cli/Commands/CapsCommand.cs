using System.CommandLine;
using System.Linq;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.Rendering;

namespace VfioPolicy.Cli.Commands
{
    /// <summary><c>caps --device DUMP [--slot S] [--format text|json]</c>: the device's capability chains as the walk finds them.</summary>
    public static class CapsCommand
    {
        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            Option<string> device = CommonOptions.Device();
            Option<string?> slot = CommonOptions.Slot();
            Option<string?> physicalFunction = CommonOptions.PhysicalFunction();
            Option<OutputFormat> format = CommonOptions.Format();
            var command = new Command("caps", "List the capabilities a device dump's standard and extended chains lead to")
            {
                device,
                slot,
                physicalFunction,
                format,
            };
            command.SetAction(parseResult =>
            {
                LoadedDevice loaded = DeviceLoader.Load(context, parseResult.GetValue(device)!, parseResult.GetValue(slot), parseResult.GetValue(physicalFunction));
                if (parseResult.GetValue(format) == OutputFormat.Json)
                {
                    context.Output.Write(RenderJson(loaded));
                    foreach (string warning in loaded.Walk.Warnings)
                    {
                        context.Error.WriteLine("warning: " + warning);
                    }
                }
                else
                {
                    context.Output.Write(RenderText(loaded));
                }

                return ExitCodes.Success;
            });
            return command;
        }

        /// <summary>The JSON form (<c>vfiopolicy.caps/1</c>): the device, then one capability object per line, properties in a fixed order, then the walk's warnings.</summary>
        public static string RenderJson(LoadedDevice loaded)
        {
            ChainWalk walk = loaded.Walk;
            var text = new StringBuilder("{" + JsonLines.Header("vfiopolicy.caps/1", loaded) + ",\"capabilities\":[");
            for (int i = 0; i < walk.Capabilities.Count; i++)
            {
                CapabilityInfo capability = walk.Capabilities[i];
                text.Append(i == 0 ? "\n  " : ",\n  ");
                text.Append(JsonLines.Object(writer =>
                {
                    writer.WriteNumber("offset", capability.Offset);
                    writer.WriteNumber("id", capability.Id);
                    writer.WriteBoolean("extended", capability.Extended);
                    if (capability.Version.HasValue)
                    {
                        writer.WriteNumber("version", capability.Version.Value);
                    }
                    else
                    {
                        writer.WriteNull("version");
                    }

                    writer.WriteString("name", capability.Name);
                }));
            }

            text.Append(walk.Capabilities.Count == 0 ? "]" : "\n]");
            text.Append(",\"warnings\":[").Append(string.Join(",", walk.Warnings.Select(JsonLines.Quote))).Append("]}\n");
            return text.ToString();
        }

        /// <summary>The table form with the walk's warnings.</summary>
        public static string RenderText(LoadedDevice loaded)
        {
            var text = new StringBuilder();
            text.AppendLine(loaded.Title);
            if (loaded.Walk.Capabilities.Count == 0)
            {
                text.AppendLine("no capabilities");
            }
            else
            {
                text.AppendLine("offset  chain     id      ver  length  name");
                foreach (CapabilityInfo capability in loaded.Walk.Capabilities)
                {
                    text.AppendLine(string.Format(
                        CultureInfo.InvariantCulture,
                        "0x{0:x3}   {1,-8}  {2,-6}  {3,-3}  {4,6}  {5}",
                        capability.Offset,
                        capability.Extended ? "extended" : "standard",
                        capability.Extended ? "0x" + capability.Id.ToString("x4", CultureInfo.InvariantCulture) : "0x" + capability.Id.ToString("x2", CultureInfo.InvariantCulture),
                        capability.Version.HasValue ? capability.Version.Value.ToString(CultureInfo.InvariantCulture) : "-",
                        capability.Length,
                        capability.Name));
                }
            }

            foreach (string warning in loaded.Walk.Warnings)
            {
                text.AppendLine("warning: " + warning);
            }

            return text.ToString();
        }
    }
}
