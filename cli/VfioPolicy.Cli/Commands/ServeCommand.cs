using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Runtime.InteropServices;
using VfioPolicy.AccessModel.Audit;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.Serving;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using VfioPolicy.VfioUser.Server;
using VfioPolicy.VfioUser.Transport;

namespace VfioPolicy.Cli.Commands
{
    /// <summary>
    /// <c>serve ADDRESS | --device DUMP, --policy P --socket PATH</c>: a vfio-user server that puts the policy between a
    /// VMM (QEMU's <c>-device vfio-user-pci</c>, cloud-hypervisor's <c>--user-device</c>) and a device: a real one bound
    /// to vfio-pci, or one simulated from a config dump. One client at a time; when it goes the device is cleaned and
    /// reset, and the next may connect. SIGTERM and SIGINT end it cleanly.
    /// </summary>
    public static class ServeCommand
    {
        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            var address = new Argument<string?>("address") { Description = "PCI address of a device bound to vfio-pci, or vfio-user:SOCKET to stand in front of another vfio-user server (or use --device)", Arity = ArgumentArity.ZeroOrOne };
            Option<string> policy = CommonOptions.Policy();
            var socket = new Option<string>("--socket") { Description = "Path of the UNIX socket to listen on (created owner-only)", Required = true, HelpName = "PATH" };
            Option<string> device = CommonOptions.Device();
            device.Required = false;
            device.Description = "Serve a device simulated from this config dump instead of a real one";
            Option<string?> slot = CommonOptions.Slot();
            var bar = new Option<string[]>("--bar") { Description = "With --device: BAR N's size, N=SIZE (0-5, 6 the ROM; e.g. 0=1M); repeatable", HelpName = "N=SIZE", AllowMultipleArgumentsPerToken = false };
            var audit = new Option<string?>("--audit") { Description = "Append denied accesses, with their rules, to this file as JSON lines", HelpName = "FILE" };
            var once = new Option<bool>("--once") { Description = "Serve one client, then exit" };
            var mapBars = new Option<bool>("--mmap-bars") { Description = "Let the client map memory BARs where the policy allows (not the MSI-X table or PBA pages, not a config mirror); default: every BAR access is trapped and checked" };
            var saveConfig = new Option<string?>("--save-config") { Description = "With --device: each time a client leaves, before the device is reset, write the simulated function's own config space (what reached the device, not the client's view) to this file, as sysfs 'config' holds it", HelpName = "FILE" };
            var command = new Command("serve", "Serve a device to a VMM over vfio-user, with the policy between them")
            {
                address,
                policy,
                socket,
                device,
                slot,
                bar,
                audit,
                once,
                saveConfig,
                mapBars,
            };
            command.SetAction(parseResult => Run(
                context,
                parseResult.GetValue(address),
                parseResult.GetValue(policy)!,
                parseResult.GetValue(socket)!,
                parseResult.GetValue(device),
                parseResult.GetValue(slot),
                parseResult.GetValue(bar) ?? Array.Empty<string>(),
                parseResult.GetValue(audit),
                parseResult.GetValue(once),
                parseResult.GetValue(saveConfig),
                parseResult.GetValue(mapBars)));
            return command;
        }

        private static int Run(CliContext context, string? address, string policyPath, string socketPath, string? dump, string? slot, string[] bars, string? auditPath, bool once, string? saveConfigPath, bool mapBars)
        {
            if ((address is null) == (dump is null))
            {
                throw new CommandFailedException("give either a device ADDRESS or --device DUMP");
            }

            if (dump is null && (bars.Length > 0 || slot is not null || saveConfigPath is not null))
            {
                throw new CommandFailedException("--bar, --slot and --save-config go with --device");
            }

            PolicyModel model = PolicyLoader.Load(context, policyPath);
            var linux = new LinuxVfioKernel();
            using DeviceKernel? upstream = address is null ? null : DeviceKernel.For(address, linux, context.Resolve);
            IVfioKernel kernel = upstream?.Kernel ?? linux;
            string target = upstream?.Address ?? string.Empty;
            SimulatedPciDevice? simulated = null;
            var barMemory = new List<IHostMemory>();
            try
            {
                return Serve();
            }
            finally
            {
                foreach (IHostMemory memory in barMemory)
                {
                    memory.Dispose();
                }
            }

            int Serve()
            {
                if (dump is not null)
                {
                    var sizes = new Dictionary<int, long>();
                    foreach (string text in bars)
                    {
                        try
                        {
                            (int index, long size) = SimulatedDeviceFactory.ParseBar(text);
                            sizes[index] = size;
                        }
                        catch (FormatException error)
                        {
                            throw new CommandFailedException(error.Message);
                        }
                    }

                    LoadedDevice loaded = DeviceLoader.Load(context, dump, slot);
                    simulated = SimulatedDeviceFactory.Create(loaded.Image.Bytes, sizes, size =>
                    {
                        IHostMemory memory = linux.AllocateMemory(size, shareable: true);
                        barMemory.Add(memory);
                        return memory;
                    });
                    kernel = new SimulatedVfioKernel(linux, simulated);
                    target = SimulatedDeviceFactory.Address;
                }

                var sink = new BoundedAuditSink();
                using StreamWriter? auditFile = auditPath is null ? null : new StreamWriter(context.Resolve(auditPath), append: true);
                using AuditJsonLines? auditLog = auditFile is null ? null : new AuditJsonLines(sink, auditFile, TimeSpan.FromMilliseconds(200));
                using VfioContainer container = VfioContainer.Create(kernel);
                VfioDevice served;
                try
                {
                    served = container.OpenDevice(target, model, new VfioDeviceOptions { Audit = sink, Interrupts = VfioInterruptOwner.Vmm });
                }
                catch (VfioException error)
                {
                    throw new CommandFailedException((error.Kind == VfioErrorKind.PolicyMismatch ? "refusing to serve: " : string.Empty) + error.Message);
                }

                string? savedConfig = saveConfigPath is null ? null : context.Resolve(saveConfigPath);
                var server = new VfioUserServer(served, new VfioUserServerOptions
                {
                    Log = context.Error,
                    MapBars = mapBars,
                    ClientLeft = simulated is null || savedConfig is null ? null : _ => SaveConfig(savedConfig, simulated.Config),
                });
                UnixSocketListener listener;
                try
                {
                    listener = UnixSocketListener.Listen(context.Resolve(socketPath), kernel);
                }
                catch (VfioException error)
                {
                    throw new CommandFailedException(error.Message);
                }

                using (listener)
                {
                    context.Output.WriteLine("serving " + (dump is null ? upstream!.Display(served.Address) : "a device simulated from " + context.Display(context.Resolve(dump))) + " with policy \"" + served.Firewall.PolicyName + "\" on " + listener.Path);
                    context.Output.Flush();
                    var stop = new ShutdownSignal();
                    using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, stop.Handle))
                    using (PosixSignalRegistration.Create(PosixSignal.SIGINT, stop.Handle))
                    {
                        while (!stop.Requested)
                        {
                            UnixSocketChannel? channel = listener.Accept(200);
                            if (channel is null)
                            {
                                continue;
                            }

                            stop.Current = channel;
                            if (stop.Requested)
                            {
                                channel.Shutdown(); // the signal came between the accept and the line above
                            }

                            VfioUserSessionResult result = server.Serve(channel);
                            stop.Current = null;
                            auditLog?.Flush();
                            if (once)
                            {
                                break;
                            }

                            if (result.BarMappingsGiven > 0)
                            {
                                // The client may still hold those mappings, and no process can revoke them: a next client
                                // would share the BARs with it. A supervisor (systemd Restart=) starts a fresh server.
                                context.Error.WriteLine("vfio-user: the client was given BAR mappings that outlive it; stopping instead of serving another client (--mmap-bars)");
                                break;
                            }
                        }
                    }

                    context.Error.WriteLine("vfio-user: stopped; " + sink.Recorded.ToString(System.Globalization.CultureInfo.InvariantCulture) + " denied accesses audited, " + sink.Dropped.ToString(System.Globalization.CultureInfo.InvariantCulture) + " dropped by the audit bounds");
                }

                return ExitCodes.Success;
            }
        }

        /// <summary>Writes the image whole or not at all: a reader never sees half a config space.</summary>
        private static void SaveConfig(string path, ReadOnlySpan<byte> config)
        {
            string temporary = path + ".tmp";
            try
            {
                File.WriteAllBytes(temporary, config.ToArray());
                File.Move(temporary, path, overwrite: true);
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                File.Delete(temporary);
                throw new CommandFailedException("writing the config space to " + path + ": " + error.Message);
            }
        }

        /// <summary>SIGTERM/SIGINT: stop accepting, and end the current connection so its cleanup runs.</summary>
        private sealed class ShutdownSignal
        {
            private volatile bool _requested;

            public bool Requested => _requested;

            public UnixSocketChannel? Current { get; set; }

            public void Handle(PosixSignalContext signal)
            {
                signal.Cancel = true;
                _requested = true;
                Current?.Shutdown();
            }
        }
    }
}
