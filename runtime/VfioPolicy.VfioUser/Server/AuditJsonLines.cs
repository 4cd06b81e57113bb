using System;
using System.IO;
using System.Text.Json;
using System.Threading;
using VfioPolicy.AccessModel.Audit;
using VfioPolicy.AccessModel.Contracts;

namespace VfioPolicy.VfioUser.Server
{
    /// <summary>
    /// Writes what a <see cref="BoundedAuditSink"/> holds as JSON lines, one denied access a line (time, policy, rule
    /// location and text, offset, width, value), and a line of drop counters whenever the sink dropped events since the
    /// last write. A timer drains the sink every interval, so a flood of denied writes costs the sink's bound, not the
    /// disk's.
    /// </summary>
    public sealed class AuditJsonLines : IDisposable
    {
        private readonly BoundedAuditSink _sink;
        private readonly TextWriter _output;
        private readonly Timer _timer;
        private readonly object _gate = new object();
        private long _droppedWritten;
        private bool _disposed;

        /// <summary>Drains <paramref name="sink"/> into <paramref name="output"/> every <paramref name="interval"/> (and on Dispose).</summary>
        public AuditJsonLines(BoundedAuditSink sink, TextWriter output, TimeSpan interval)
        {
            _sink = sink ?? throw new ArgumentNullException(nameof(sink));
            _output = output ?? throw new ArgumentNullException(nameof(output));
            _timer = new Timer(_ => Flush(), null, interval, interval);
        }

        /// <summary>How many event lines were written.</summary>
        public long Written { get; private set; }

        /// <summary>Writes every held event and, if events were dropped since the last time, their count.</summary>
        public void Flush()
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                foreach (AuditEvent audit in _sink.Drain())
                {
                    _output.WriteLine(Line(writer =>
                    {
                        writer.WriteString("time", DateTime.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                        writer.WriteString("event", "denied-write");
                        writer.WriteString("policy", audit.Policy);
                        writer.WriteString("rule", audit.Rule.Path + ":" + audit.Rule.Line.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + audit.Rule.Column.ToString(System.Globalization.CultureInfo.InvariantCulture));
                        writer.WriteString("text", audit.Rule.Text);
                        writer.WriteNumber("offset", audit.Offset);
                        writer.WriteNumber("width", audit.Width);
                        writer.WriteString("value", "0x" + audit.Value.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
                    }));
                    Written++;
                }

                long dropped = _sink.Dropped;
                if (dropped != _droppedWritten)
                {
                    _output.WriteLine(Line(writer =>
                    {
                        writer.WriteString("time", DateTime.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                        writer.WriteString("event", "dropped");
                        writer.WriteNumber("dropped", dropped - _droppedWritten);
                        writer.WriteNumber("droppedByRate", _sink.DroppedByRate);
                        writer.WriteNumber("droppedByCapacity", _sink.DroppedByCapacity);
                    }));
                    _droppedWritten = dropped;
                }

                _output.Flush();
            }
        }

        /// <summary>Stops the timer and writes what is left.</summary>
        public void Dispose()
        {
            _timer.Dispose();
            Flush();
            lock (_gate)
            {
                _disposed = true;
            }
        }

        private static string Line(Action<Utf8JsonWriter> fields)
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                fields(writer);
                writer.WriteEndObject();
            }

            return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        }
    }
}
