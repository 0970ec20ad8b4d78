// Remote commands: `exec` (collect output), `spawn` (streams) and `shell`.
import { constants as bufferConstants } from 'node:buffer';
import type { Readable, Writable } from 'node:stream';
import { AbortError, DisconnectReason, NacreError } from '../errors.js';
import { ReqEnv, ReqExec, ReqExecBytes, ReqPty, ReqShell, ReqSignal, ReqWindowChange } from '../messages/channel-types.js';
import { encodeTerminalModes } from '../core/connection/terminal-modes.js';
import type { Channel, ExitInfo } from '../io/node/channel.js';
import type { ChannelOpener } from '../io/node/node-endpoint.js';

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
  /**
   * Bytes of stdout, and of stderr, to collect at most; past either, exec
   * closes the channel and rejects with MaxBufferError. Default: the
   * client's `maxBuffer` (64 MiB unless connect() said otherwise).
   */
  readonly maxBuffer?: number;
}

/**
 * 64 MiB per stream. Node's child_process.exec allows 1 MiB, sized for a
 * local program's status output; remote commands are often used to fetch
 * whole files or logs (`cat`, `tar`), and 64 MiB still keeps a hostile or
 * runaway server's output far below what ends a process (4 GiB for one
 * Buffer, 512 Mi characters for a string). Larger output should be
 * streamed with spawn().
 */
export const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024;

/** Throws a RangeError unless `value` is a byte count one Buffer can hold. */
export function checkMaxBuffer(value: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > bufferConstants.MAX_LENGTH) {
    throw new RangeError(`maxBuffer must be an integer in 1..${bufferConstants.MAX_LENGTH}, got ${value}`);
  }
  return value;
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

/**
 * A command to run: text (sent as its UTF-8), or the bytes themselves. The
 * exec request carries an SSH string, so a command naming a file whose name
 * is not UTF-8 (`scp -f -- caf\xe9`) can be sent as those bytes.
 */
type RemoteCommand = string | Uint8Array;

function execRequest(command: RemoteCommand): Uint8Array {
  return typeof command === 'string' ? ReqExec.encode({ command }) : ReqExecBytes.encode({ command });
}

/** The command as text for messages and errors: bytes decoded as UTF-8, U+FFFD for any that are not. */
function commandText(command: RemoteCommand): string {
  return typeof command === 'string' ? command : Buffer.from(command.buffer, command.byteOffset, command.byteLength).toString('utf8');
}

export class ExecError extends NacreError {
  /** The command as text (a command given as bytes decoded as UTF-8, U+FFFD for any that are not). */
  readonly command: string;

  constructor(command: RemoteCommand, readonly result: ExecResult) {
    super(`command ${JSON.stringify(commandText(command))} ${result.signal ? `was killed by SIG${result.signal}` : `exited with status ${result.code}`}`, DisconnectReason.BY_APPLICATION);
    this.command = commandText(command);
  }
}

/**
 * A command's stdout or stderr went past `maxBuffer`. The channel was closed
 * (the server sees the command's output stop being read: sshd closes its
 * pipes, so the command gets SIGPIPE on its next write). `stdout` and
 * `stderr` hold what arrived first, at most `limit` bytes each, in the
 * encoding exec was asked for (a character cut at the limit decodes as
 * U+FFFD).
 */
export class MaxBufferError extends NacreError {
  /** The command as text (as ExecError's). */
  readonly command: string;

  constructor(
    command: RemoteCommand,
    /** The stream that went over. */
    readonly stream: 'stdout' | 'stderr',
    /** The limit applied, in bytes. */
    readonly limit: number,
    readonly stdout: string | Buffer,
    readonly stderr: string | Buffer,
  ) {
    super(`command ${JSON.stringify(commandText(command))}: ${stream} exceeded maxBuffer (${limit} bytes); the channel was closed`, DisconnectReason.BY_APPLICATION);
    this.command = commandText(command);
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

async function openSession(conn: ChannelOpener, options: SpawnOptions): Promise<Channel> {
  const ch = await conn.openChannel('session');
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

export async function spawnProcess(conn: ChannelOpener, command: RemoteCommand, options: SpawnOptions): Promise<RemoteProcess> {
  const ch = await openSession(conn, options);
  if (!(await ch.request('exec', execRequest(command)))) {
    ch.close();
    throw new NacreError(`the server refused to run ${JSON.stringify(commandText(command))}`, DisconnectReason.BY_APPLICATION);
  }
  return wrap(ch);
}

export async function startShell(conn: ChannelOpener, options: ShellOptions): Promise<RemoteProcess> {
  const ch = await openSession(conn, { ...options, pty: options.pty ?? true });
  if (!(await ch.request('shell', ReqShell.encode({})))) {
    ch.close();
    throw new NacreError('the server refused to start a shell', DisconnectReason.BY_APPLICATION);
  }
  return wrap(ch);
}

/** One stream's output, kept up to a byte limit. */
class Collected {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  /** Settles when the stream ends or closes; never rejects with more than the stream's own 'error'. */
  readonly done: Promise<void>;

  /**
   * Counts bytes as they arrive and stops keeping them at `limit`, calling
   * `onOverflow` once: one Buffer.concat of everything at the end used to
   * throw out of the 'end' listener past 4 GiB, after memory had grown
   * without bound. Nothing here can throw: it runs in stream listeners.
   */
  constructor(stream: Readable, limit: number, onOverflow: () => void) {
    this.done = new Promise((resolve, reject) => {
      const onData = (d: Buffer) => {
        const room = limit - this.length;
        if (d.length <= room) {
          this.chunks.push(d);
          this.length += d.length;
          return;
        }
        if (room > 0) this.chunks.push(d.subarray(0, room));
        this.length = limit;
        stream.off('data', onData);
        onOverflow();
      };
      stream.on('data', onData);
      stream.once('end', () => resolve());
      stream.once('close', () => resolve());
      stream.once('error', reject);
    });
  }

  /** The kept bytes, decoded as asked (called in the exec promise, where a failure rejects it). */
  result(encoding: 'utf8' | 'buffer'): string | Buffer {
    const bytes = Buffer.concat(this.chunks, this.length);
    return encoding === 'buffer' ? bytes : bytes.toString('utf8');
  }
}

/**
 * The byte limit for one stream. A utf8 result is a string, and V8 strings
 * hold at most MAX_STRING_LENGTH UTF-16 units; n bytes of UTF-8 never decode
 * to more than n units, so capping the bytes keeps toString from throwing.
 */
function streamLimit(maxBuffer: number, encoding: 'utf8' | 'buffer'): number {
  return encoding === 'buffer' ? maxBuffer : Math.min(maxBuffer, bufferConstants.MAX_STRING_LENGTH);
}

/** Runs `command` and collects its output; `defaultMaxBuffer` applies when `options.maxBuffer` is unset. */
export async function execCommand(conn: ChannelOpener, command: RemoteCommand, options: ExecOptions, defaultMaxBuffer = DEFAULT_MAX_BUFFER): Promise<ExecResult> {
  const signal = options.signal;
  const encoding = options.encoding === 'buffer' ? 'buffer' : 'utf8';
  const limit = streamLimit(checkMaxBuffer(options.maxBuffer ?? defaultMaxBuffer), encoding);
  if (signal?.aborted) throw new AbortError();
  // Aborted while the channel opens: the command must not run, so the
  // channel is closed as soon as it exists and the caller hears at once.
  let aborted = false;
  const spawning = spawnProcess(conn, command, options);
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
  // Closing the channel stops the server's output (and so our memory growth)
  // and settles both streams and the exit promise below.
  let overflowed: 'stdout' | 'stderr' | null = null;
  const overflow = (which: 'stdout' | 'stderr') => () => {
    if (overflowed) return;
    overflowed = which;
    p.close();
  };
  try {
    const out = new Collected(p.stdout, limit, overflow('stdout'));
    const err = new Collected(p.stderr, limit, overflow('stderr'));
    // A quick command's channel may be closed already; ending it again only makes an error object.
    if (!p.stdin.destroyed && !p.stdin.writableEnded) {
      if (options.stdin !== undefined) p.stdin.end(options.stdin);
      else p.stdin.end();
    }
    const [, , exit] = await Promise.all([out.done, err.done, p.exit]);
    if (abortedWhileRunning) throw new AbortError();
    if (overflowed) throw new MaxBufferError(command, overflowed, limit, out.result(encoding), err.result(encoding));
    // No status because the connection died: that is the error, not an exit.
    if (exit.code === null && exit.signal === null && conn.error) throw conn.error;
    const result: ExecResult = {
      stdout: out.result(encoding),
      stderr: err.result(encoding),
      code: exit.code,
      signal: exit.signal,
    };
    if (options.rejectOnError && (result.code !== 0 || result.signal !== null)) throw new ExecError(command, result);
    return result;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
