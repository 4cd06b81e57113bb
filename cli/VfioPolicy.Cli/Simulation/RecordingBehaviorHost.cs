using System.Collections.Generic;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Cli.Simulation
{
    /// <summary>One behavior call the interpreter made after a write.</summary>
    public sealed record BehaviorCall(Behavior Behavior, int RegisterOffset, int Offset, int Width, uint Value);

    /// <summary>
    /// Records behavior calls so the simulation can show where the runtime would take part (BAR sizing, MSI
    /// programming); a simulation has no runtime to hand them to.
    /// </summary>
    public sealed class RecordingBehaviorHost : IBehaviorHost
    {
        private readonly List<BehaviorCall> calls = new List<BehaviorCall>();

        /// <summary>Every call so far, in order.</summary>
        public IReadOnlyList<BehaviorCall> Calls => calls;

        /// <inheritdoc />
        public void OnWrite(Behavior behavior, int registerOffset, int offset, int width, uint value)
            => calls.Add(new BehaviorCall(behavior, registerOffset, offset, width, value));
    }
}
