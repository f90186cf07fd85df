// Starts the agent-events language server (`agent-events server`, or `cargo-agent-events
// agent-events server` as cargo runs its subcommands) for Rust and Python files.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';

// The client's id is the settings prefix: vscode-languageclient reads `agentEvents.trace.server`.
const CLIENT_ID = 'agentEvents';
const CLIENT_NAME = 'Agent Events';
// The server re-lints when its configuration changes (workspace/didChangeWatchedFiles).
const CONFIG_FILES = '**/{agent-events.toml,Cargo.toml,pyproject.toml}';

interface Server {
    command: string;
    args: string[];
}

let output: vscode.OutputChannel | undefined;
let client: LanguageClient | undefined;
let watcher: vscode.FileSystemWatcher | undefined;
// Starts and stops run one after the other, however fast restarts are asked for.
let queue: Promise<void> = Promise.resolve();

export function activate(context: vscode.ExtensionContext): Promise<void> {
    output = vscode.window.createOutputChannel(CLIENT_NAME);
    context.subscriptions.push(
        output,
        vscode.commands.registerCommand('agentEvents.restartServer', restart),
        vscode.workspace.onDidChangeConfiguration((event) => {
            if (event.affectsConfiguration('agentEvents.server')) {
                void restart();
            }
        }),
    );
    return enqueue(start);
}

export function deactivate(): Promise<void> {
    return enqueue(stop);
}

function enqueue(step: () => Promise<void>): Promise<void> {
    queue = queue.then(step, step);
    return queue;
}

function restart(): Promise<void> {
    return enqueue(async () => {
        await stop();
        await start();
    });
}

async function start(): Promise<void> {
    const server = findServer();
    if (server === undefined) {
        void notFound();
        return;
    }
    output?.appendLine(`Starting ${[server.command, ...server.args].join(' ')}`);
    const serverOptions: ServerOptions = { command: server.command, args: server.args };
    watcher = vscode.workspace.createFileSystemWatcher(CONFIG_FILES);
    const clientOptions: LanguageClientOptions = {
        documentSelector: [
            { scheme: 'file', language: 'rust' },
            { scheme: 'file', language: 'python' },
        ],
        synchronize: { fileEvents: watcher },
        outputChannel: output,
    };
    client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    try {
        await client.start();
    } catch {
        // The client has shown the error and written it to the output channel.
    }
}

async function stop(): Promise<void> {
    const stopping = client;
    client = undefined;
    watcher?.dispose();
    watcher = undefined;
    // A client whose start failed has no server to stop.
    if (stopping?.needsStop()) {
        try {
            await stopping.dispose();
        } catch (error) {
            output?.appendLine(`Stopping the server failed: ${String(error)}`);
        }
    }
}

function findServer(): Server | undefined {
    const config = vscode.workspace.getConfiguration('agentEvents.server');
    const configured = config.get<string>('path', '').trim();
    const extraArgs = config.get<string[]>('extraArgs', []);
    if (configured !== '') {
        const command = resolve(configured);
        return { command, args: [...serverArgs(command), ...extraArgs] };
    }
    const wheel = onPath('agent-events');
    if (wheel !== undefined) {
        return { command: wheel, args: ['server', ...extraArgs] };
    }
    const cargoHome = process.env.CARGO_HOME || path.join(os.homedir(), '.cargo');
    const cargo = onPath('cargo-agent-events') ?? executable(path.join(cargoHome, 'bin', exe('cargo-agent-events')));
    if (cargo !== undefined) {
        return { command: cargo, args: ['agent-events', 'server', ...extraArgs] };
    }
    return undefined;
}

// `cargo-agent-events` is the cargo subcommand: cargo runs it with its name as first argument.
function serverArgs(command: string): string[] {
    const stem = path.basename(command).replace(/\.exe$/i, '');
    return stem === 'cargo-agent-events' ? ['agent-events', 'server'] : ['server'];
}

// `~` is the home folder; a relative path is taken from the first workspace folder; a bare name is
// left for the system to find on PATH.
function resolve(configured: string): string {
    if (configured === '~' || configured.startsWith('~/') || configured.startsWith('~\\')) {
        return path.join(os.homedir(), configured.slice(1));
    }
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (path.isAbsolute(configured) || !/[\\/]/.test(configured) || folder === undefined) {
        return configured;
    }
    return path.join(folder.uri.fsPath, configured);
}

function onPath(name: string): string | undefined {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
        const found = dir === '' ? undefined : executable(path.join(dir, exe(name)));
        if (found !== undefined) {
            return found;
        }
    }
    return undefined;
}

function exe(name: string): string {
    return process.platform === 'win32' ? `${name}.exe` : name;
}

function executable(file: string): string | undefined {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile() ? file : undefined;
    } catch {
        return undefined;
    }
}

async function notFound(): Promise<void> {
    const message =
        'Agent Events: no language server found. Install `agent-events` (`pip install agent-events-lint`) ' +
        'or `cargo-agent-events` (`cargo install`), or set agentEvents.server.path.';
    output?.appendLine(message);
    const choice = await vscode.window.showErrorMessage(message, 'Open Settings');
    if (choice === 'Open Settings') {
        await vscode.commands.executeCommand('workbench.action.openSettings', 'agentEvents.server');
    }
}
