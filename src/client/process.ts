// Remote commands: `exec` (collect output), `spawn` (streams) and `shell`.
import type { Readable, Writable } from 'node:stream';
import { AbortError, DisconnectReason, NacreError } from '../errors.js';
import { ReqEnv, ReqExec, ReqPty, ReqShell, ReqSignal, ReqWindowChange } from '../messages/channel-types.js';
import { encodeTerminalModes } from '../core/connection/terminal-modes.js';
import type { Channel, ExitInfo } from '../io/node/channel.js';
import type { Client } from './client.js';

export interface PtyOptions {
  /** TERM value; default `xterm-256color` (or $TERM). */
  readonly term?: string;
  readonly cols?: number;
  readonly rows?: number;
  readonly width?: number;
  readonly height?: number;
  /** Terminal modes by name (RFC 4254 §8), e.g. `{ ECHO: 0 }`. */
  readonly modes?: Readonly<Record<string, number>>;
}

export interface SpawnOptions {
  /** Ask for a pseudo-terminal (`ssh -t`). */
  readonly pty?: boolean | PtyOptions;
  /** Environment variables to pass (the server may refuse some, as sshd's AcceptEnv does). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface ExecOptions extends SpawnOptions {
  /** Written to the command's stdin, which is then closed. */
  readonly stdin?: string | Uint8Array;
  /** Reject with `ExecError` when the command exits non-zero or by a signal. */
  readonly rejectOnError?: boolean;
  /** `'utf8'` (default) returns strings; `'buffer'` returns Buffers. */
  readonly encoding?: 'utf8' | 'buffer';
  readonly signal?: AbortSignal;
}

export type ShellOptions = Omit<SpawnOptions, 'pty'> & { readonly pty?: boolean | PtyOptions };

export interface ExecResult<T = string | Buffer> {
  readonly stdout: T;
  readonly stderr: T;
  /** Exit status, or null when the command died by a signal. */
  readonly code: number | null;
  /** Signal name without "SIG" (e.g. `TERM`), or null. */
  readonly signal: string | null;
}

export class ExecError extends NacreError {
  constructor(readonly command: string, readonly result: ExecResult) {
    super(`command ${JSON.stringify(command)} ${result.signal ? `was killed by SIG${result.signal}` : `exited with status ${result.code}`}`, DisconnectReason.BY_APPLICATION);
  }
}

/** A running remote command. */
export interface RemoteProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** The channel itself, as a Duplex (stdin + stdout). */
  readonly channel: Channel;
  readonly exit: Promise<ExitInfo>;
  /** Sends a signal (name without "SIG", e.g. `TERM`). */
  signal(name: string): Promise<void>;
  /** Tells the remote PTY its new size. */
  resize(cols: number, rows: number, width?: number, height?: number): Promise<void>;
  close(): void;
}

function ptyRequest(p: true | PtyOptions): Uint8Array {
  const o: PtyOptions = p === true ? {} : p;
  return ReqPty.encode({
    term: o.term ?? process.env.TERM ?? 'xterm-256color',
    columns: o.cols ?? 80,
    rows: o.rows ?? 24,
    widthPixels: o.width ?? 0,
    heightPixels: o.height ?? 0,
    modes: encodeTerminalModes(o.modes ?? {}),
  });
}

async function openSession(client: Client, options: SpawnOptions): Promise<Channel> {
  const ch = await client.node.openChannel('session');
  for (const [name, value] of Object.entries(options.env ?? {})) {
    // Like ssh's SendEnv: a refusal is not fatal.
    await ch.request('env', ReqEnv.encode({ name, value }), true);
  }
  if (options.pty) {
    if (!(await ch.request('pty-req', ptyRequest(options.pty)))) {
      ch.close();
      throw new NacreError('the server refused to allocate a PTY', DisconnectReason.BY_APPLICATION);
    }
  }
  return ch;
}

function wrap(ch: Channel): RemoteProcess {
  return {
    stdin: ch,
    stdout: ch,
    stderr: ch.stderr,
    channel: ch,
    exit: ch.exit,
    async signal(name: string) {
      await ch.request('signal', ReqSignal.encode({ signal: name.replace(/^SIG/, '') }), false);
    },
    async resize(cols: number, rows: number, width = 0, height = 0) {
      await ch.request('window-change', ReqWindowChange.encode({ columns: cols, rows, widthPixels: width, heightPixels: height }), false);
    },
    close: () => ch.close(),
  };
}

export async function spawnProcess(client: Client, command: string, options: SpawnOptions): Promise<RemoteProcess> {
  const ch = await openSession(client, options);
  if (!(await ch.request('exec', ReqExec.encode({ command })))) {
    ch.close();
    throw new NacreError(`the server refused to run ${JSON.stringify(command)}`, DisconnectReason.BY_APPLICATION);
  }
  return wrap(ch);
}

export async function startShell(client: Client, options: ShellOptions): Promise<RemoteProcess> {
  const ch = await openSession(client, { ...options, pty: options.pty ?? true });
  if (!(await ch.request('shell', ReqShell.encode({})))) {
    ch.close();
    throw new NacreError('the server refused to start a shell', DisconnectReason.BY_APPLICATION);
  }
  return wrap(ch);
}

function collect(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.once('end', () => resolve(Buffer.concat(parts)));
    stream.once('close', () => resolve(Buffer.concat(parts)));
    stream.once('error', reject);
  });
}

export async function execCommand(client: Client, command: string, options: ExecOptions): Promise<ExecResult> {
  const signal = options.signal;
  if (signal?.aborted) throw new AbortError();
  // Aborted while the channel opens: the command must not run, so the
  // channel is closed as soon as it exists and the caller hears at once.
  let aborted = false;
  const spawning = spawnProcess(client, command, options);
  const p = await new Promise<RemoteProcess>((resolve, reject) => {
    const onAbortEarly = () => {
      aborted = true;
      reject(new AbortError());
    };
    signal?.addEventListener('abort', onAbortEarly, { once: true });
    spawning.then(
      (proc) => {
        signal?.removeEventListener('abort', onAbortEarly);
        if (aborted) proc.close();
        else resolve(proc);
      },
      (err: unknown) => {
        signal?.removeEventListener('abort', onAbortEarly);
        reject(err);
      },
    );
  });
  let abortedWhileRunning = false;
  const onAbort = () => {
    abortedWhileRunning = true;
    p.close();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const out = collect(p.stdout);
    const err = collect(p.stderr);
    // A quick command's channel may be closed already; ending it again only makes an error object.
    if (!p.stdin.destroyed && !p.stdin.writableEnded) {
      if (options.stdin !== undefined) p.stdin.end(options.stdin);
      else p.stdin.end();
    }
    const [stdout, stderr, exit] = await Promise.all([out, err, p.exit]);
    if (abortedWhileRunning) throw new AbortError();
    // No status because the connection died: that is the error, not an exit.
    if (exit.code === null && exit.signal === null && client.node.error) throw client.node.error;
    const asText = options.encoding !== 'buffer';
    const result: ExecResult = {
      stdout: asText ? stdout.toString('utf8') : stdout,
      stderr: asText ? stderr.toString('utf8') : stderr,
      code: exit.code,
      signal: exit.signal,
    };
    if (options.rejectOnError && (result.code !== 0 || result.signal !== null)) throw new ExecError(command, result);
    return result;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
