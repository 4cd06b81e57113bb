using System;
using System.Diagnostics;
using System.IO;
using System.Text.Json;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Nerdbank.Streams;
using StreamJsonRpc;
using VfioPolicy.Cli.LanguageServer;

namespace VfioPolicy.Cli.Tests.LanguageServer
{
    /// <summary>
    /// A scripted editor: a JSON-RPC client with LSP framing, talking to the server in-process over a pair of streams
    /// (or to a real <c>vfio-policy lsp</c> process), collecting the diagnostics the server publishes.
    /// </summary>
    internal sealed class LspClient : IAsyncDisposable
    {
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
        private readonly JsonRpc rpc;
        private readonly Channel<JsonElement> published = Channel.CreateUnbounded<JsonElement>();
        private readonly Task<int> server;
        private readonly IDisposable? owned;

        private LspClient(Stream toServer, Stream fromServer, Task<int> server, IDisposable? owned)
        {
            this.server = server;
            this.owned = owned;
            rpc = new JsonRpc(new HeaderDelimitedMessageHandler(toServer, fromServer, new SystemTextJsonFormatter()));
            rpc.AddLocalRpcTarget(new Callbacks(published), null);
            rpc.StartListening();
        }

        /// <summary>The server's task: its exit code once it has stopped.</summary>
        public Task<int> Server => server;

        public static LspClient InProcess(string root)
        {
            (Stream clientEnd, Stream serverEnd) = FullDuplexStream.CreatePair();
            Task<int> server = Task.Run(() => PolicyLanguageServer.RunAsync(serverEnd, serverEnd, root, TextWriter.Null));
            return new LspClient(clientEnd, clientEnd, server, null);
        }

        public static LspClient OverProcess(Process process)
        {
            Task<int> exited = process.WaitForExitAsync().ContinueWith(_ => process.ExitCode, TaskScheduler.Default);
            return new LspClient(process.StandardInput.BaseStream, process.StandardOutput.BaseStream, exited, process);
        }

        public async Task<JsonElement> RequestAsync(string method, object parameters)
        {
            using var timeout = new CancellationTokenSource(Patience);
            return await rpc.InvokeWithParameterObjectAsync<JsonElement>(method, parameters, timeout.Token);
        }

        public Task NotifyAsync(string method, object parameters) => rpc.NotifyWithParameterObjectAsync(method, parameters);

        public async Task<JsonElement> InitializeAsync(string root, object? initializationOptions = null)
        {
            JsonElement result = await RequestAsync("initialize", new { processId = (int?)null, rootUri = new Uri(root).AbsoluteUri, capabilities = new { }, initializationOptions });
            await NotifyAsync("initialized", new { });
            return result;
        }

        public Task OpenAsync(string uri, string text)
            => NotifyAsync("textDocument/didOpen", new { textDocument = new { uri, languageId = "vfiopolicy", version = 1, text } });

        public Task ChangeAsync(string uri, int version, string text)
            => NotifyAsync("textDocument/didChange", new { textDocument = new { uri, version }, contentChanges = new[] { new { text } } });

        public Task<JsonElement> AtAsync(string method, string uri, int line, int character)
            => RequestAsync(method, new { textDocument = new { uri }, position = new { line, character } });

        /// <summary>The next diagnostics published for <paramref name="uri"/> (others are skipped).</summary>
        public async Task<JsonElement> DiagnosticsAsync(string uri)
        {
            using var timeout = new CancellationTokenSource(Patience);
            while (true)
            {
                JsonElement next = await published.Reader.ReadAsync(timeout.Token);
                if (next.GetProperty("uri").GetString() == uri)
                {
                    return next.GetProperty("diagnostics");
                }
            }
        }

        /// <summary>shutdown, then exit; the server's exit code.</summary>
        public async Task<int> ShutdownAsync()
        {
            JsonElement result = await RequestAsync("shutdown", new { });
            if (result.ValueKind != JsonValueKind.Null)
            {
                throw new InvalidOperationException("shutdown answered " + result);
            }

            await NotifyAsync("exit", new { });
            return await server.WaitAsync(Patience);
        }

        public async ValueTask DisposeAsync()
        {
            rpc.Dispose();
            if (owned is Process process && !process.HasExited)
            {
                process.Kill();
            }

            owned?.Dispose();
            await Task.CompletedTask;
        }

        private sealed class Callbacks
        {
            private readonly Channel<JsonElement> published;

            public Callbacks(Channel<JsonElement> published) => this.published = published;

            [JsonRpcMethod("textDocument/publishDiagnostics", UseSingleObjectParameterDeserialization = true)]
            public void Publish(JsonElement parameters) => published.Writer.TryWrite(parameters.Clone());
        }
    }
}
