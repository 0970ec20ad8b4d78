// Connection sharing, the client's side: commands run through a master's
// connection (ssh -S), and the master's controls (ssh -O).
import { Readable, Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { MuxClientConnection, MuxRequestError, type MuxClientSession } from '../mux/client.js';
import { NACRE_SESSION_EXTENSION, type MuxForward, type MuxSessionRequest } from '../mux/codec.js';
import { connectControlSocket } from '../io/node/control-socket.js';
import type { ExitInfo } from '../io/node/channel.js';
import type { PtyOptions, RemoteProcess } from './process.js';

export { MuxRequestError };

/** A command running through the master; a RemoteProcess without `channel`, so code written for one runs the other. */
export interface SharedProcess extends Omit<RemoteProcess, 'channel' | 'exit'> {
  /** Resolves when the session ends, with its status (nulls and a `message` when the master went away). */
  readonly exit: Promise<ExitInfo>;
}

export interface SharedSpawnOptions {
  readonly pty?: boolean | PtyOptions;
  readonly env?: Readonly<Record<string, string>>;
}

export interface SharedExecResult {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly code: number | null;
  readonly signal: string | null;
}

function ptyOf(p: boolean | PtyOptions | undefined): MuxSessionRequest['pty'] {
  if (!p) return null;
  const o: PtyOptions = p === true ? {} : p;
  return { term: o.term ?? process.env.TERM ?? 'xterm-256color', cols: o.cols ?? 80, rows: o.rows ?? 24, width: o.width ?? 0, height: o.height ?? 0, modes: o.modes ?? {} };
}

/** The command as text for a message: bytes decoded as UTF-8, U+FFFD for any that are not (as Client's errors show it). */
function commandText(command: string | Uint8Array): string {
  return typeof command === 'string' ? command : Buffer.from(command.buffer, command.byteOffset, command.byteLength).toString('utf8');
}

/** A connection to a master's control socket; from connectControl(). */
export class ControlClient implements AsyncDisposable {
  /** Resolves when the control connection has closed (the master went away, or close()). */
  readonly closed: Promise<void>;

  /** @internal */
  constructor(
    private readonly socket: Socket,
    private readonly mux: MuxClientConnection,
    readonly path: string,
  ) {
    this.closed = new Promise((r) => (socket.destroyed ? r() : socket.once('close', () => r())));
  }

  /** Whether the master runs Nacre's sessions over the socket (a Nacre master does; OpenSSH's does not). */
  async supportsSessions(): Promise<boolean> {
    const h = await this.mux.hello;
    return h.extensions.some(([k]) => k === NACRE_SESSION_EXTENSION);
  }

  /** `ssh -O check`: the master's pid. */
  check(): Promise<number> {
    return this.mux.aliveCheck();
  }
  /** `ssh -O exit`: the master closes its connection and exits. */
  exit(): Promise<void> {
    return this.mux.terminate();
  }
  /** `ssh -O stop`: the master stops taking new clients. */
  stopListening(): Promise<void> {
    return this.mux.stopListening();
  }
  /** `ssh -O forward`: the allocated port for a remote forwarding of port 0, else null. */
  forward(forward: MuxForward): Promise<number | null> {
    return this.mux.openForward(forward);
  }
  /** `ssh -O cancel`. */
  cancel(forward: MuxForward): Promise<void> {
    return this.mux.closeForward(forward);
  }

  /**
   * Runs `command` through the master: text (sent as its UTF-8), or the
   * bytes themselves, as Client.spawn takes it (a command naming a file whose
   * name is not UTF-8).
   */
  spawn(command: string | Uint8Array, options: SharedSpawnOptions = {}): Promise<SharedProcess> {
    return this.open({ kind: 'exec', command, pty: ptyOf(options.pty), env: Object.entries(options.env ?? {}) });
  }
  /** A login shell; with a PTY unless `pty: false`. */
  shell(options: SharedSpawnOptions = {}): Promise<SharedProcess> {
    return this.open({ kind: 'shell', command: '', pty: ptyOf(options.pty ?? true), env: Object.entries(options.env ?? {}) });
  }
  subsystem(name: string): Promise<SharedProcess> {
    return this.open({ kind: 'subsystem', command: name, pty: null, env: [] });
  }

  /** Runs `command`, collecting its output (bounded by `maxBuffer` per stream, default 64 MiB). */
  async exec(command: string | Uint8Array, options: SharedSpawnOptions & { readonly stdin?: string | Uint8Array; readonly maxBuffer?: number } = {}): Promise<SharedExecResult> {
    const p = await this.spawn(command, options);
    const limit = options.maxBuffer ?? 64 * 1024 * 1024;
    const collect = (r: Readable): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        const parts: Buffer[] = [];
        let n = 0;
        r.on('data', (b: Buffer) => {
          n += b.length;
          if (n > limit) {
            p.close();
            reject(new RangeError(`command ${JSON.stringify(commandText(command))}: output exceeded maxBuffer (${limit} bytes)`));
          } else parts.push(b);
        });
        r.on('end', () => resolve(Buffer.concat(parts)));
      });
    const out = collect(p.stdout);
    const err = collect(p.stderr);
    p.stdin.end(options.stdin ?? '');
    const [stdout, stderr, exit] = await Promise.all([out, err, p.exit]);
    return { stdout, stderr, code: exit.code, signal: exit.signal };
  }

  /** Closes the control connection; sessions still open end. */
  close(): void {
    this.socket.end();
    this.socket.destroySoon?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  private async open(request: MuxSessionRequest): Promise<SharedProcess> {
    let session: MuxClientSession | null = null;
    const pending = { stdout: 0, stderr: 0 };
    // Output can arrive before openSession resolves (in the same read as the
    // reply); it stays counted as pending until there is a session to credit.
    const release = (name: 'stdout' | 'stderr') => {
      if (!session || pending[name] === 0) return;
      session.consumed(name, pending[name]);
      pending[name] = 0;
    };
    const stdout = new Readable({ read: () => release('stdout') });
    const stderr = new Readable({ read: () => release('stderr') });
    let resolveExit!: (e: ExitInfo) => void;
    const exit = new Promise<ExitInfo>((r) => (resolveExit = r));
    const ended = { stdout: false, stderr: false };
    const endStream = (name: 'stdout' | 'stderr'): void => {
      if (ended[name]) return;
      ended[name] = true;
      (name === 'stdout' ? stdout : stderr).push(null);
    };
    session = await this.mux.openSession(request, {
      output: (name, data) => {
        const r = name === 'stdout' ? stdout : stderr;
        pending[name] += data.length;
        // The window reopens only as the reader takes the data.
        if (r.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength))) release(name);
      },
      end: (name) => endStream(name),
      exit: (info) => resolveExit({ code: info.code, signal: info.signal, coreDumped: info.coreDumped ?? false, ...(info.message ? { message: info.message } : {}) }),
    });
    const s = session;
    release('stdout');
    release('stderr');
    const stdin = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (s.write(chunk)) cb();
        else s.onDrain(() => cb());
      },
      final(cb) {
        s.end();
        cb();
      },
    });
    return {
      stdin,
      stdout,
      stderr,
      exit,
      signal: async (name) => s.signal(name),
      resize: async (c, r, w = 0, h = 0) => s.resize(c, r, w, h),
      // As a channel's close: the streams end and exit resolves with no status.
      close: () => {
        s.close();
        endStream('stdout');
        endStream('stderr');
        resolveExit({ code: null, signal: null });
      },
    };
  }
}

/**
 * Connects to the master listening at `path` (ssh -S). Rejects with
 * ControlSocketError: 'missing' (no socket), 'stale' (nobody listening: the
 * master died), 'unsafe' (another user's socket, or not a socket); with
 * MuxRequestError when the master does not answer the hello.
 */
export async function connectControl(path: string): Promise<ControlClient> {
  const socket = await connectControlSocket(path);
  const mux = new MuxClientConnection({
    send: (b) => void socket.write(b),
    close: () => socket.destroy(),
  });
  socket.on('data', (b: Buffer) => mux.receive(b));
  socket.on('error', () => {});
  // The master ending its side ends the conversation (allowHalfOpen would keep ours open).
  socket.on('end', () => {
    mux.disconnected();
    socket.end();
  });
  socket.on('close', () => mux.disconnected());
  await mux.hello;
  return new ControlClient(socket, mux, path);
}
