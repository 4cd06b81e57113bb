// The VfioPolicy extension: highlighting comes from the TextMate grammar; everything else from `vfio-policy lsp`,
// the same checker, explainer and formatter the command line uses, so the editor never disagrees with CI.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function serverOptions() {
  const configured = vscode.workspace.getConfiguration('vfiopolicy').get('server.path') || 'vfio-policy';
  // A build output (vfio-policy.dll) runs under dotnet; anything else is the executable itself.
  const run = configured.endsWith('.dll')
    ? { command: 'dotnet', args: [configured, 'lsp'], transport: TransportKind.stdio }
    : { command: configured, args: ['lsp'], transport: TransportKind.stdio };
  return { run, debug: run };
}

async function activate(context) {
  const settings = vscode.workspace.getConfiguration('vfiopolicy');
  client = new LanguageClient('vfiopolicy', 'VfioPolicy', serverOptions(), {
    documentSelector: [{ scheme: 'file', language: 'vfiopolicy' }],
    initializationOptions: { device: settings.get('device') || null },
    // Sends workspace/didChangeConfiguration with the "vfiopolicy" section when the user changes it.
    synchronize: { configurationSection: 'vfiopolicy' },
  });
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('vfiopolicy.server.path') && client) {
        await client.stop();
        client = new LanguageClient('vfiopolicy', 'VfioPolicy', serverOptions(), client.clientOptions);
        await client.start();
      }
    }));
  await client.start();
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
