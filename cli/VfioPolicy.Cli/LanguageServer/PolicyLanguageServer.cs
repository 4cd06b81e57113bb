using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.VisualStudio.Threading;
using StreamJsonRpc;
using VfioPolicy.Cli.Infrastructure;

namespace VfioPolicy.Cli.LanguageServer
{
    /// <summary>
    /// The Language Server Protocol over one pair of streams: diagnostics as you type (what <c>check</c> prints),
    /// hover (what <c>explain</c> prints), completion, go to definition and formatting (what <c>fmt</c> writes).
    /// Every handler answers null or empty for what it cannot make sense of (an unknown document, a position past the
    /// text, garbage): one bad request from an editor must not end the session.
    /// </summary>
    internal sealed class PolicyLanguageServer
    {
        private readonly TaskCompletionSource<bool> exited = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TextWriter log;
        private PolicyWorkspace workspace;
        private JsonRpc? rpc;
        private string? devicePath;
        private LoadedDevice? device;
        private bool shutdownRequested;

        private PolicyLanguageServer(string root, TextWriter log)
        {
            workspace = new PolicyWorkspace(root);
            this.log = log;
        }

        /// <summary>
        /// Serves until the client sends <c>exit</c> or closes the stream. Exit code 0 after a <c>shutdown</c> request,
        /// 1 otherwise, as the protocol asks.
        /// </summary>
        /// <param name="input">What the client writes.</param>
        /// <param name="output">What the client reads.</param>
        /// <param name="root">The folder relative paths mean until the client names its workspace.</param>
        /// <param name="log">Where to note failures (standard error): never the protocol stream.</param>
        public static async Task<int> RunAsync(Stream input, Stream output, string root, TextWriter log)
        {
            var server = new PolicyLanguageServer(root, log);
            var handler = new HeaderDelimitedMessageHandler(output, input, new SystemTextJsonFormatter());
            using var rpc = new JsonRpc(handler);

            // One message at a time, in order: a didChange must be applied before the hover that follows it.
            rpc.SynchronizationContext = new NonConcurrentSynchronizationContext(sticky: false);
            rpc.AddLocalRpcTarget(server, new JsonRpcTargetOptions { AllowNonPublicInvocation = true });
            server.rpc = rpc;
            rpc.StartListening();
            Task finished = await Task.WhenAny(rpc.Completion, server.exited.Task).ConfigureAwait(false);
            if (finished == rpc.Completion && rpc.Completion.IsFaulted)
            {
                log.WriteLine("vfio-policy lsp: connection ended: " + rpc.Completion.Exception?.GetBaseException().Message);
            }

            return server.shutdownRequested ? ExitCodes.Success : ExitCodes.Findings;
        }

        [JsonRpcMethod("initialize", UseSingleObjectParameterDeserialization = true)]
        internal JsonObject Initialize(JsonElement parameters)
        {
            // rootUri, else the first workspace folder (clients that only send folders), else the deprecated rootPath.
            JsonElement? folders = LspText.Member(parameters, "workspaceFolders");
            string? firstFolder = folders is { ValueKind: JsonValueKind.Array } list && list.GetArrayLength() > 0 ? LspText.String(list[0], "uri") : null;
            string? root = LspText.PathOf(LspText.String(parameters, "rootUri")) ?? LspText.PathOf(firstFolder) ?? LspText.String(parameters, "rootPath");
            if (root is not null && Directory.Exists(root))
            {
                workspace = new PolicyWorkspace(root);
            }

            devicePath = LspText.String(LspText.Member(parameters, "initializationOptions"), "device");
            return new JsonObject
            {
                ["capabilities"] = new JsonObject
                {
                    ["textDocumentSync"] = new JsonObject { ["openClose"] = true, ["change"] = 1 },
                    ["hoverProvider"] = true,
                    ["completionProvider"] = new JsonObject { ["triggerCharacters"] = new JsonArray(" ", ".") },
                    ["definitionProvider"] = true,
                    ["documentFormattingProvider"] = true,
                },
                ["serverInfo"] = new JsonObject { ["name"] = "vfio-policy" },
            };
        }

        [JsonRpcMethod("initialized", UseSingleObjectParameterDeserialization = true)]
        internal void Initialized(JsonElement parameters)
        {
            // Nothing to do: the server registers nothing dynamically.
        }

        [JsonRpcMethod("shutdown")]
        internal object? Shutdown()
        {
            shutdownRequested = true;
            return null;
        }

        [JsonRpcMethod("exit")]
        internal void Exit() => exited.TrySetResult(true);

        [JsonRpcMethod("workspace/didChangeConfiguration", UseSingleObjectParameterDeserialization = true)]
        internal void DidChangeConfiguration(JsonElement parameters)
        {
            // Either { settings: { vfiopolicy: { device } } } (VS Code's section) or { settings: { device } }.
            JsonElement? settings = LspText.Member(parameters, "settings");
            JsonElement? section = LspText.Member(settings, "vfiopolicy") ?? settings;
            if (LspText.Member(section, "device") is not null || section is { ValueKind: JsonValueKind.Object })
            {
                devicePath = LspText.String(section, "device");
                device = null;
            }
        }

        [JsonRpcMethod("textDocument/didOpen", UseSingleObjectParameterDeserialization = true)]
        internal async Task DidOpenAsync(JsonElement parameters)
        {
            JsonElement? item = LspText.Member(parameters, "textDocument");
            if (workspace.Open(LspText.String(item, "uri"), LspText.String(item, "text") ?? string.Empty) is not null)
            {
                await PublishAllAsync().ConfigureAwait(true);
            }
        }

        [JsonRpcMethod("textDocument/didChange", UseSingleObjectParameterDeserialization = true)]
        internal async Task DidChangeAsync(JsonElement parameters)
        {
            // Full sync: the last change carries the whole text.
            OpenDocument? document = workspace.Find(LspText.DocumentUri(parameters));
            if (document is null || LspText.Member(parameters, "contentChanges") is not { ValueKind: JsonValueKind.Array } changes)
            {
                return;
            }

            string? text = changes.EnumerateArray().Select(c => LspText.String(c, "text")).LastOrDefault(t => t is not null);
            if (text is not null)
            {
                document.Text = text;
                await PublishAllAsync().ConfigureAwait(true);
            }
        }

        [JsonRpcMethod("textDocument/didClose", UseSingleObjectParameterDeserialization = true)]
        internal async Task DidCloseAsync(JsonElement parameters)
        {
            string? uri = LspText.DocumentUri(parameters);
            if (workspace.Find(uri) is null)
            {
                return;
            }

            workspace.Close(uri);
            await PublishAsync(uri!, new JsonArray()).ConfigureAwait(true);
            await PublishAllAsync().ConfigureAwait(true);
        }

        [JsonRpcMethod("textDocument/hover", UseSingleObjectParameterDeserialization = true)]
        internal JsonObject? Hover(JsonElement parameters) => Guard("hover", () =>
            At(parameters) is (OpenDocument document, int offset, _) ? HoverProvider.Hover(workspace, document, offset, LoadDevice) : null);

        [JsonRpcMethod("textDocument/completion", UseSingleObjectParameterDeserialization = true)]
        internal JsonArray Completion(JsonElement parameters) => Guard("completion", () =>
            At(parameters) is (OpenDocument document, int offset, _) ? CompletionProvider.Complete(document.Text, offset) : null) ?? new JsonArray();

        [JsonRpcMethod("textDocument/definition", UseSingleObjectParameterDeserialization = true)]
        internal JsonArray? Definition(JsonElement parameters) => Guard("definition", () =>
            At(parameters) is (OpenDocument document, int offset, int line) ? NavigationProvider.Definition(workspace, document, offset, line) : null);

        [JsonRpcMethod("textDocument/formatting", UseSingleObjectParameterDeserialization = true)]
        internal JsonArray Formatting(JsonElement parameters) => Guard("formatting", () =>
            workspace.Find(LspText.DocumentUri(parameters)) is OpenDocument document ? NavigationProvider.Format(document) : null) ?? new JsonArray();

        /// <summary>The open document and the offset a position request names; null for an unknown document or a position past its end.</summary>
        private (OpenDocument Document, int Offset, int Line)? At(JsonElement parameters)
        {
            OpenDocument? document = workspace.Find(LspText.DocumentUri(parameters));
            if (document is null || LspText.PositionOf(parameters) is not (int line, int character) || LspText.ToOffset(document.Text, line, character) is not int offset)
            {
                return null;
            }

            return (document, offset, line);
        }

        // A bug in a feature is logged and answered with nothing: the editor keeps its session and its other features.
        private T? Guard<T>(string feature, Func<T?> handler)
            where T : class
        {
            try
            {
                return handler();
            }
            catch (Exception exception)
            {
                log.WriteLine("vfio-policy lsp: " + feature + " failed: " + exception.GetType().Name + ": " + exception.Message);
                return null;
            }
        }

        private LoadedDevice? LoadDevice()
        {
            if (devicePath is null)
            {
                return null;
            }

            return device ??= DeviceLoader.Load(workspace.Context, devicePath, null);
        }

        // Every open document again: a change to one may break or fix another that includes it.
        private async Task PublishAllAsync()
        {
            foreach (OpenDocument document in workspace.Documents.ToArray())
            {
                JsonArray diagnostics = Guard("diagnostics", () => workspace.Diagnose(document)) ?? new JsonArray();
                await PublishAsync(document.Uri, diagnostics).ConfigureAwait(true);
            }
        }

        private Task PublishAsync(string uri, JsonArray diagnostics)
            => rpc!.NotifyWithParameterObjectAsync("textDocument/publishDiagnostics", new JsonObject { ["uri"] = uri, ["diagnostics"] = diagnostics });
    }
}
