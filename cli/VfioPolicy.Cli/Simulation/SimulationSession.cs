using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Audit;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.Rendering;

namespace VfioPolicy.Cli.Simulation
{
    /// <summary>
    /// Runs consumer accesses through the reference interpreter against simulated hardware built from a dump, and
    /// prints for each access its result, the hardware traffic it caused, behavior calls and audit events (through the
    /// runtime's default, bounded audit sink, whose drops it prints too).
    /// </summary>
    public static class SimulationSession
    {
        /// <summary>The default session: what a guest driver does first with a device.</summary>
        public const string BuiltInScript =
            "# identity: vendor/device, then class and revision\n"
            + "r 0x00 4\n"
            + "r 0x08 4\n"
            + "# move BAR0: the consumer's address lives in the shadow and the bar behavior is told; the hardware BAR is\n"
            + "# never written (answering sizing probes with the BAR's size is the runtime's bar behavior, not simulated here)\n"
            + "r 0x10 4\n"
            + "w 0x10 4 0xc0000000\n"
            + "r 0x10 4\n"
            + "# enable memory decoding and bus mastering\n"
            + "w 0x04 2 0x0006\n"
            + "r 0x04 2\n"
            + "# a register the guest has no business writing: the header type / BIST dword\n"
            + "w 0x0c 4 0xffffffff\n"
            + "r 0x0c 4\n"
            + "# the capabilities pointer cannot be redirected\n"
            + "w 0x34 1 0x80\n"
            + "r 0x34 1\n";

        /// <summary>Runs <paramref name="accesses"/> and writes the transcript to <paramref name="output"/>.</summary>
        public static void Run(BoundConfigSpace bound, byte[] config, IReadOnlyList<ScriptAccess> accesses, CliContext context, TextWriter output)
        {
            var hardware = new SimulatedConfigHardware(config, HardwareWriteOneToClear(bound, config));
            // The runtime's default sink with its default limits, so that a script sees what a consumer would: a
            // rule's burst, then drops, counted. Time stands still in a simulation (no refill), so a transcript does
            // not depend on how fast the machine ran it.
            var audit = new BoundedAuditSink(AuditLimits.Default, () => TimeSpan.Zero);
            var behaviors = new RecordingBehaviorHost();
            var firewall = new PolicyInterpreter(bound, hardware, audit, behaviors);

            int hardwareAccesses = 0;
            foreach (ScriptAccess access in accesses)
            {
                if (!string.IsNullOrEmpty(access.Comment))
                {
                    foreach (string commentLine in access.Comment!.Split('\n'))
                    {
                        output.WriteLine("      # " + commentLine);
                    }
                }

                int trafficBefore = hardware.Traffic.Count;
                AuditCounts auditBefore = audit.Counts;
                int behaviorsBefore = behaviors.Calls.Count;
                string result;
                if (access.Value is uint value)
                {
                    AccessStatus status = firewall.Write(access.Offset, access.Length, value);
                    result = status == AccessStatus.Ok ? "ok" : Describe(status);
                }
                else
                {
                    AccessStatus status = firewall.Read(access.Offset, access.Length, out uint read);
                    result = status == AccessStatus.Ok ? Hex(read, access.Length) : Describe(status);
                }

                output.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,4}: {1,-24} -> {2}", access.Line, access.Text, result));
                foreach (HardwareAccess traffic in hardware.Traffic.Skip(trafficBefore))
                {
                    output.WriteLine("      hardware " + traffic);
                    hardwareAccesses++;
                }

                foreach (BehaviorCall call in behaviors.Calls.Skip(behaviorsBefore))
                {
                    output.WriteLine(string.Format(
                        CultureInfo.InvariantCulture,
                        "      behavior {0} (register at 0x{1:x3}) saw write {2}@0x{3:x3} = {4}",
                        call.Behavior.ToString().ToLowerInvariant(),
                        call.RegisterOffset,
                        call.Width,
                        call.Offset,
                        Hex(call.Value, call.Width)));
                }

                foreach (AuditEvent auditEvent in audit.Drain())
                {
                    output.WriteLine(string.Format(
                        CultureInfo.InvariantCulture,
                        "      audit: denied write {0}@0x{1:x3} = {2} by {3} (policy \"{4}\")",
                        auditEvent.Width,
                        auditEvent.Offset,
                        Hex(auditEvent.Value, auditEvent.Width),
                        OwnershipMap.Location(auditEvent.Rule, context),
                        auditEvent.Policy));
                }

                AuditCounts auditAfter = audit.Counts;
                if (auditAfter.Dropped != auditBefore.Dropped)
                {
                    output.WriteLine(string.Format(
                        CultureInfo.InvariantCulture,
                        "      audit: denied write dropped by the audit sink ({0} by its rule's rate limit, {1} by its capacity)",
                        auditAfter.DroppedByRate - auditBefore.DroppedByRate,
                        auditAfter.DroppedByCapacity - auditBefore.DroppedByCapacity));
                }
            }

            AuditCounts counts = audit.Counts;
            output.WriteLine(string.Format(
                CultureInfo.InvariantCulture,
                "{0} access(es): {1} hardware access(es), {2} behavior call(s), {3} audit event(s), {4} dropped by the audit sink ({5} by rate, {6} by capacity)",
                accesses.Count,
                hardwareAccesses,
                behaviors.Calls.Count,
                counts.Recorded,
                counts.Dropped,
                counts.DroppedByRate,
                counts.DroppedByCapacity));
        }

        private static string Describe(AccessStatus status) => status switch
        {
            AccessStatus.OutOfRange => "out of range (nothing changed)",
            AccessStatus.InvalidLength => "invalid length (nothing changed)",
            AccessStatus.HardwareError => "hardware error (nothing changed)",
            _ => status.ToString(),
        };

        private static string Hex(uint value, int width)
            => "0x" + value.ToString("x" + (width * 2).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

        /// <summary>
        /// What the simulated device clears on a written 1: every bit the register catalogue knows as RW1C on this
        /// device (what real hardware does, whether or not the policy says so) and every bit the policy marks hw-rw1c.
        /// </summary>
        public static byte[] HardwareWriteOneToClear(BoundConfigSpace bound, byte[] config)
        {
            byte[] mask = RegisterCatalog.HardwareWriteOneToClear(config, bound.Capabilities.Where(c => c.Bound).Select(c => c.Info));
            for (int i = 0; i < mask.Length; i++)
            {
                mask[i] |= bound.HardwareWriteOneToClear[i];
            }

            return mask;
        }
    }
}
