using System;
using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace VfioPolicy.Cli.Rendering
{
    /// <summary>
    /// Compact JSON objects for line-per-item output: arrays print one object per line, so large maps diff well and
    /// the layout never depends on a serializer's indentation settings.
    /// </summary>
    public static class JsonLines
    {
        private static readonly JsonWriterOptions Options = new JsonWriterOptions
        {
            Indented = false,
            // Paths and names stay readable ("<chain>", not "\u003Cchain\u003E"); output is never embedded in HTML.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };

        /// <summary>One compact JSON object whose properties <paramref name="writeProperties"/> writes in order.</summary>
        public static string Object(Action<Utf8JsonWriter> writeProperties)
        {
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream, Options))
            {
                writer.WriteStartObject();
                writeProperties(writer);
                writer.WriteEndObject();
            }

            return Encoding.UTF8.GetString(stream.ToArray());
        }
    }
}
