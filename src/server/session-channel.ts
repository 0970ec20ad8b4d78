// One "session" channel on the server (RFC 4254 §6): the requests a client
// makes on it (pty-req, env, shell, exec, subsystem, signal, window-change,
// break ...) go to handlers the application sets on a SessionChannel; a handler
// left unset refuses. Requests are handled one after another, so replies leave
// in arrival order even when handlers are async.
import { Duplex, Writable } from 'node:stream';
import type { Channel } from '../io/node/channel.js';
import { decodeTerminalModes } from '../core/connection/terminal-modes.js';
import { hasEscapedBytes, pathFromBytes } from '../wire/path-bytes.js';
import {
  ReqBreak,
  ReqEnv,
  ReqExecBytes,
  ReqExitSignal,
  ReqExitStatus,
  ReqPty,
  ReqSignal,
  ReqSubsystem,
  ReqWindowChange,
  ReqX11,
} from '../messages/channel-types.js';
import type { Restrictions } from './restrictions.js';

export type MaybePromise<T> = T | Promise<T>;
/** A handler's verdict: `false` refuses; anything else (including nothing) accepts. */
export type Verdict = MaybePromise<boolean | void>;

export interface WindowSize {
  readonly cols: number;
  readonly rows: number;
  readonly width: number;
  readonly height: number;
}

export interface PtyInfo extends WindowSize {
  /** TERM, e.g. `xterm-256color`. */
  readonly term: string;
  /** Terminal modes by name (RFC 4254 §8), e.g. `{ ECHO: 1, TTY_OP_ISPEED: 38400 }`. */
  readonly modes: Readonly<Record<string, number>>;
}

export interface X11Request {
  readonly singleConnection: boolean;
  readonly authProtocol: string;
  readonly authCookie: string;
  readonly screen: number;
}

/** Who is on the other end of a session, as the connection knows it. */
export interface SessionPeer {
  readonly username: string;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** The login's restrictions (authorized_keys options, a certificate's), enforced by the session; null or absent: none. */
  readonly restrictions?: Restrictions | null;
  /** Opens a channel towards the client on this session's connection (agent forwarding uses it). */
  readonly openChannel?: (type: string, data?: Uint8Array) => Promise<Channel>;
}

const noop = (): void => undefined;

/**
 * The byte streams of a started shell, command or subsystem: write stdout to
 * it, read stdin from it, write stderr to `stderr`, and finish with `exit()`
 * or `exitSignal()` (which send the status, then EOF and CLOSE once all
 * output has gone). Writes after the client closed the channel are dropped.
 */
export class ServerChannel extends Duplex {
  /** Extended data (stderr) towards the client. */
  readonly stderr: Writable;
  private exitRequest: { type: string; data: Uint8Array } | null = null;
  private rawClosed = false;
  private attached = false;
  /** Our writable side is done: everything written is with the raw channel. */
  private finalDone = false;
  private exitSent = false;
  private readonly onRawData = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.raw.pause();
  };
  private readonly onRawEnd = (): void => {
    this.push(null);
  };

  constructor(
    /** The underlying channel (stdout/stdin without the exit handling). */
    readonly raw: Channel,
    readonly session: SessionChannel,
  ) {
    // A program's output arrives in 64 KiB pipe reads; a writable buffer of a
    // few of them keeps the pipe flowing while earlier chunks are sent, instead
    // of pausing the program after every read. The peer's window still bounds
    // what the raw channel takes.
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 1024 * 1024 });
    // No stream here may crash the process with an unhandled 'error'.
    this.on('error', noop);
    raw.on('error', noop);
    raw.stderr.on('error', noop);
    raw.once('channel-close', () => {
      this.rawClosed = true;
      this.emit('channel-close');
    });
    raw.once('close', () => {
      this.rawClosed = true;
      this.push(null);
    });
    this.stderr = new Writable({
      highWaterMark: 64 * 1024,
      write: (chunk: Buffer, _enc, cb) => {
        if (this.rawClosed) return cb();
        raw.writeStderr(chunk).then(() => cb(), () => cb());
      },
    });
    this.stderr.on('error', noop);
  }

  /** @internal Stops reading from the raw channel (a refused start), leaving its data buffered. */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.raw.off('data', this.onRawData);
    this.raw.off('end', this.onRawEnd);
    this.raw.pause();
  }

  /** True once the client has closed the channel (or the connection is gone). */
  get closedByPeer(): boolean {
    return this.rawClosed;
  }

  /** Sends `exit-status`, then EOF and CLOSE once buffered output is out. */
  exit(code: number): void {
    this.finishWith('exit-status', ReqExitStatus.encode({ status: Number.isInteger(code) ? code >>> 0 : 255 }));
  }

  /** Sends `exit-signal` (name without "SIG", e.g. `TERM`), then EOF and CLOSE. */
  exitSignal(signal: string, coreDumped = false, message = ''): void {
    this.finishWith('exit-signal', ReqExitSignal.encode({ signal: signal.replace(/^SIG/, ''), coreDumped, message, language: '' }));
  }

  /** Closes the channel at once, dropping buffered output. */
  close(): void {
    this.raw.destroy();
    this.destroy();
  }

  override _read(): void {
    // Reading starts only when someone reads, so a refused start consumes nothing.
    if (!this.attached) {
      this.attached = true;
      this.raw.on('data', this.onRawData);
      this.raw.on('end', this.onRawEnd);
    }
    this.raw.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.rawClosed) return cb();
    // Waiting for the channel to take each chunk keeps buffering bounded by the
    // peer's window. Straight to the channel, not through the raw stream's own
    // write queue: this stream queues already, and one queue per chunk is enough.
    const wait = this.raw.sendData(chunk);
    if (wait) wait.then(() => cb(), () => cb());
    else cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    // Extended data must not follow EOF, so stderr drains first.
    const stderr = this.stderr;
    let done = false;
    const afterStderr = () => {
      if (done) return;
      done = true;
      this.finalDone = true;
      this.endRaw();
      cb();
    };
    if (stderr.writableFinished || stderr.destroyed) afterStderr();
    else {
      stderr.once('finish', afterStderr);
      stderr.once('close', afterStderr);
      if (!stderr.writableEnded) stderr.end();
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.stderr.destroyed) this.stderr.destroy();
    // Destroying the wrapper without an exit closes the channel too.
    if (!this.rawClosed && !this.exitRequest) this.raw.destroy();
    cb(err);
  }

  private finishWith(type: string, data: Uint8Array): void {
    if (this.exitRequest) return;
    this.exitRequest = { type, data };
    if (this.finalDone) this.endRaw();
    else if (!this.writableEnded) this.end();
    // else: _final is on its way and will send it
  }

  /** Everything we wrote is with the channel: status (if any), EOF, CLOSE. */
  private endRaw(): void {
    const raw = this.raw;
    if (this.rawClosed) return;
    const ex = this.exitRequest;
    if (!ex) {
      if (!raw.writableEnded) raw.end();
      return;
    }
    if (this.exitSent) return;
    this.exitSent = true;
    raw.request(ex.type, ex.data, false).catch(noop);
    const closeRaw = () => raw.destroy();
    if (raw.writableFinished) closeRaw();
    else {
      raw.once('finish', closeRaw);
      if (!raw.writableEnded) raw.end();
    }
  }
}

type RequestHandler = (data: Uint8Array) => Promise<boolean>;

/** Variables a session keeps at most (OpenSSH's sshd ignores env requests past 128 too). */
const MAX_ENV = 128;
/** Requests that may wait behind a slow handler before the channel is closed. */
const MAX_QUEUED_REQUESTS = 256;
/** Bytes of request data that may wait behind a slow handler before the channel is closed. */
const MAX_QUEUED_REQUEST_BYTES = 1024 * 1024;

/**
 * One session channel. The application's `session` callback receives it and
 * sets the handlers it supports; unset handlers refuse.
 */
export class SessionChannel {
  /** Variables the client sent and `onEnv` accepted (no prototype: any name is just a key). */
  readonly env: Record<string, string> = Object.create(null) as Record<string, string>;
  /** The terminal, once a `pty-req` was accepted. */
  pty: PtyInfo | null = null;
  /** The started shell/exec/subsystem, once one was accepted. */
  channel: ServerChannel | null = null;
  /** What was started: `shell`, the command, or the subsystem name. */
  started: { readonly type: 'shell' } | { readonly type: 'exec'; readonly command: string } | { readonly type: 'subsystem'; readonly name: string } | null = null;
  /**
   * When the login has a forced command (`command=`, `force-command`): the
   * command or subsystem name the client asked for, which `onExec` does not
   * see (it gets the forced command) and programs find in
   * SSH_ORIGINAL_COMMAND; null for a shell request or without one.
   */
  originalCommand: string | null = null;

  onPty?: (pty: PtyInfo) => Verdict;
  onEnv?: (name: string, value: string) => Verdict;
  onShell?: (channel: ServerChannel) => Verdict;
  /** `command`: the client's bytes as UTF-8, any byte outside a well-formed character escaped as `pathFromBytes` does (U+DC80 + the byte). */
  onExec?: (command: string, channel: ServerChannel) => Verdict;
  onSubsystem?: (name: string, channel: ServerChannel) => Verdict;
  /** Signal name without "SIG", e.g. `INT`. */
  onSignal?: (signal: string) => Verdict;
  onWindowChange?: (size: WindowSize) => Verdict;
  onBreak?: (lengthMs: number) => Verdict;
  /** x11-req: refused unless set (Nacre opens no x11 channels itself). */
  onX11?: (req: X11Request) => Verdict;
  /** auth-agent-req@openssh.com: refused unless set. */
  onAgentForwarding?: () => Verdict;
  /** Called when the channel is gone (closed by either side or the connection ended). */
  onClose?: () => void;

  private queue: Promise<unknown>;
  private readonly handlers: Record<string, RequestHandler>;
  /** The channel is closed: requests still queued are refused, no program starts. */
  private gone = false;
  private queuedRequests = 0;
  private queuedBytes = 0;

  /** @internal */
  constructor(
    private readonly rawChannel: Channel,
    readonly peer: SessionPeer,
    private readonly reportError: (e: unknown) => void,
  ) {
    this.queue = Promise.resolve();
    rawChannel.on('error', noop);
    rawChannel.onRequest = (type, wantReply, data) => this.enqueue(type, wantReply, data);
    rawChannel.once('channel-close', () => {
      this.gone = true;
      try {
        this.onClose?.();
      } catch (e) {
        this.reportError(e);
      }
    });
    this.handlers = {
      'pty-req': (d) => this.ptyReq(d),
      env: (d) => this.envReq(d),
      shell: () => this.start({ type: 'shell' }, (ch) => this.call(this.onShell, ch)),
      exec: (d) => {
        // A command is bytes, as sshd takes it: one naming a file whose name
        // is not UTF-8 (`scp -f -- caf\xe9`) keeps those bytes, escaped as
        // file names are (see path-bytes.ts), instead of being refused.
        const bytes = ReqExecBytes.decode(d).command;
        // No shell can be given a NUL (sshd refuses such a command too).
        if (bytes.includes(0)) return Promise.resolve(false);
        const command = pathFromBytes(bytes);
        return this.start({ type: 'exec', command }, (ch) => this.call(this.onExec, command, ch));
      },
      subsystem: (d) => {
        const { name } = ReqSubsystem.decode(d);
        return this.start({ type: 'subsystem', name }, (ch) => this.call(this.onSubsystem, name, ch));
      },
      signal: (d) => this.call(this.onSignal, ReqSignal.decode(d).signal.replace(/^SIG/, '')),
      'window-change': (d) => this.windowChange(d),
      break: (d) => this.call(this.onBreak, ReqBreak.decode(d).lengthMs),
      'x11-req': (d) => {
        const req = ReqX11.decode(d);
        return peer.restrictions?.x11Forwarding === false ? Promise.resolve(false) : this.call(this.onX11, req);
      },
      'auth-agent-req@openssh.com': () => (peer.restrictions?.agentForwarding === false ? Promise.resolve(false) : this.call(this.onAgentForwarding)),
    };
  }

  /** @internal Holds request handling until `p` settles (an async `session` callback). */
  waitFor(p: Promise<unknown>): void {
    this.queue = this.queue.then(() => p).catch(noop);
  }

  get username(): string {
    return this.peer.username;
  }

  get remoteAddress(): string | undefined {
    return this.peer.remoteAddress;
  }

  /** Closes the session channel. */
  close(): void {
    if (this.channel) this.channel.close();
    else this.rawChannel.destroy();
  }

  private enqueue(type: string, wantReply: boolean, data: Uint8Array): void {
    // Requests are answered in order, so they wait for a slow handler (or an
    // async `session` callback). The peer's window does not bound them; past
    // these limits the client is flooding, and the channel goes.
    if (this.queuedRequests >= MAX_QUEUED_REQUESTS || this.queuedBytes + data.length > MAX_QUEUED_REQUEST_BYTES) {
      this.close();
      return;
    }
    this.queuedRequests++;
    this.queuedBytes += data.length;
    const handler = this.handlers[type];
    this.queue = this.queue
      .then(() => {
        this.queuedRequests--;
        this.queuedBytes -= data.length;
        // A request that came with (or just before) the channel's CLOSE must
        // not start anything: nobody would be left to hang it up.
        return handler && !this.gone ? handler(data) : false;
      })
      .catch((e: unknown) => {
        // Malformed request data is the client's problem: refuse it quietly.
        if (!(e instanceof Error && e.name === 'ProtocolError')) this.reportError(e);
        return false;
      })
      .then((ok) => {
        if (wantReply) {
          try {
            this.rawChannel.answerRequest(ok);
          } catch (e) {
            this.reportError(e);
          }
        }
      });
  }

  /** Runs an optional handler: unset refuses, `false` refuses, anything else accepts. */
  private async call<A extends unknown[]>(fn: ((...args: A) => Verdict) | undefined, ...args: A): Promise<boolean> {
    if (!fn) return false;
    return (await fn.apply(this, args)) !== false;
  }

  private async ptyReq(data: Uint8Array): Promise<boolean> {
    const r = ReqPty.decode(data);
    // A terminal must come before the program it serves.
    if (this.started || this.pty || this.peer.restrictions?.pty === false) return false;
    const info: PtyInfo = {
      term: r.term,
      cols: r.columns,
      rows: r.rows,
      width: r.widthPixels,
      height: r.heightPixels,
      modes: decodeTerminalModes(r.modes),
    };
    const ok = await this.call(this.onPty, info);
    if (ok) this.pty = info;
    return ok;
  }

  private async envReq(data: Uint8Array): Promise<boolean> {
    const { name, value } = ReqEnv.decode(data);
    if (this.started || name.length === 0 || name.includes('=') || name.includes('\0') || value.includes('\0')) return false;
    if (!(name in this.env) && Object.keys(this.env).length >= MAX_ENV) return false;
    const ok = await this.call(this.onEnv, name, value);
    if (ok) this.env[name] = value;
    return ok;
  }

  private async windowChange(data: Uint8Array): Promise<boolean> {
    const r = ReqWindowChange.decode(data);
    const size: WindowSize = { cols: r.columns, rows: r.rows, width: r.widthPixels, height: r.heightPixels };
    if (this.pty) this.pty = { ...this.pty, ...size };
    return this.call(this.onWindowChange, size);
  }

  private async start(what: NonNullable<SessionChannel['started']>, run: (ch: ServerChannel) => Promise<boolean>): Promise<boolean> {
    // One program per session channel (RFC 4254 §6.5).
    if (this.started) return false;
    const limits = this.peer.restrictions;
    if (limits) {
      // as sshd: the key's environment= over the client's variables, and a
      // forced command in place of whatever was asked, which it may read
      Object.assign(this.env, limits.environment);
      if (limits.command !== null) {
        delete this.env.SSH_ORIGINAL_COMMAND;
        const original = what.type === 'exec' ? what.command : what.type === 'subsystem' ? what.name : null;
        // A program's environment is UTF-8 text in Node: SSH_ORIGINAL_COMMAND
        // cannot carry bytes that are not, so such a command is refused
        // rather than handed on changed.
        if (original !== null && hasEscapedBytes(original)) return false;
        const forced = limits.command;
        this.originalCommand = original;
        if (original !== null) this.env.SSH_ORIGINAL_COMMAND = original;
        what = { type: 'exec', command: forced };
        run = (ch) => this.call(this.onExec, forced, ch);
      }
    }
    const ch = new ServerChannel(this.rawChannel, this);
    this.started = what;
    this.channel = ch;
    let ok = false;
    try {
      ok = await run(ch);
    } finally {
      if (!ok) {
        this.started = null;
        this.channel = null;
        ch.detach();
      }
    }
    // A reader is there now: open the channel's full window.
    if (ok) this.rawChannel.growWindow();
    return ok;
  }
}
