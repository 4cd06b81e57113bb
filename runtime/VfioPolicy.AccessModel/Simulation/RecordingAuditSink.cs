using System.Collections.Generic;
using VfioPolicy.AccessModel.Contracts;

namespace VfioPolicy.AccessModel.Simulation
{
    /// <summary>An audit sink that keeps every event in memory, for tests and the <c>simulate</c> command.</summary>
    public sealed class RecordingAuditSink : IAuditSink
    {
        private readonly List<AuditEvent> _events = new List<AuditEvent>();

        /// <summary>Every event recorded so far, in order.</summary>
        public IReadOnlyList<AuditEvent> Events => _events;

        /// <inheritdoc />
        public void Record(AuditEvent auditEvent) => _events.Add(auditEvent);

        /// <summary>Forgets the recorded events.</summary>
        public void Clear() => _events.Clear();
    }
}
