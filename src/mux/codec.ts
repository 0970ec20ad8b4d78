// The connection-sharing protocol spoken over a ControlPath socket: OpenSSH's
// PROTOCOL.mux (version 4) for everything that needs no file descriptors,
// plus Nacre's session messages, which stream a session's stdin, stdout and
// stderr over the socket itself instead of passing the client's fds
// (SCM_RIGHTS, which Node cannot receive).
//
// Framing is PROTOCOL.mux's: uint32 length, then the body, which starts with
// a uint32 message type. Nacre's messages keep to the same shape and use
// type numbers OpenSSH leaves free (0x1000a0xx client to master, 0x8000a0xx
// master to client, 0x2000a0xx either way), and are only sent to a peer whose
// hello named the `session@nacre` extension.
import { ProtocolError } from '../errors.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';

export const MUX_PROTOCOL_VERSION = 4;
/** The hello extension naming Nacre's session messages. */
export const NACRE_SESSION_EXTENSION = 'session@nacre';
/** The largest message accepted (OpenSSH's mux uses the same bound). */
export const MAX_MUX_MESSAGE = 256 * 1024;
/** Largest data payload in one session DATA message. */
export const MAX_MUX_DATA = 64 * 1024;

export const MuxType = {
  HELLO: 0x00000001,
  C_NEW_SESSION: 0x10000002,
  C_ALIVE_CHECK: 0x10000004,
  C_TERMINATE: 0x10000005,
  C_OPEN_FWD: 0x10000006,
  C_CLOSE_FWD: 0x10000007,
  C_NEW_STDIO_FWD: 0x10000008,
  C_STOP_LISTENING: 0x10000009,
  C_PROXY: 0x1000000f,
  S_OK: 0x80000001,
  S_PERMISSION_DENIED: 0x80000002,
  S_FAILURE: 0x80000003,
  S_EXIT_MESSAGE: 0x80000004,
  S_ALIVE: 0x80000005,
  S_SESSION_OPENED: 0x80000006,
  S_REMOTE_PORT: 0x80000007,
  S_TTY_ALLOC_FAIL: 0x80000008,
  S_PROXY: 0x8000000f,
  // Nacre's session messages.
  C_NACRE_SESSION: 0x1000a001,
  C_NACRE_RESIZE: 0x1000a005,
  C_NACRE_SIGNAL: 0x1000a006,
  C_NACRE_CLOSE: 0x1000a008,
  S_NACRE_EXIT: 0x8000a007,
  NACRE_DATA: 0x2000a002,
  NACRE_EOF: 0x2000a003,
  NACRE_WINDOW: 0x2000a004,
} as const;

export const MuxForwardType = { LOCAL: 1, REMOTE: 2, DYNAMIC: 3 } as const;
/** A listen or connect "port" meaning: the host field is a Unix socket path. */
export const MUX_PORT_STREAMLOCAL = 0xfffffffe;

/** Session streams, by number in DATA, EOF and WINDOW messages. */
export type MuxStream = 'stdin' | 'stdout' | 'stderr';
const STREAMS: readonly MuxStream[] = ['stdin', 'stdout', 'stderr'];

/** A forwarding as MUX_C_OPEN_FWD / MUX_C_CLOSE_FWD carry it. */
export interface MuxForward {
  readonly kind: 'local' | 'remote' | 'dynamic';
  readonly listenHost: string;
  /** MUX_PORT_STREAMLOCAL when listenHost is a socket path. */
  readonly listenPort: number;
  readonly connectHost: string;
  readonly connectPort: number;
}

/**
 * What a Nacre session asks for. An exec's command is an SSH string, so any
 * bytes (as the connection's exec request carries them): a string is sent as
 * its UTF-8, and a command that is not UTF-8 decodes as its Uint8Array.
 */
export type MuxSessionRequest = MuxSessionCommon & MuxSessionKind;

type MuxSessionKind =
  | { readonly kind: 'exec'; readonly command: string | Uint8Array }
  /** The subsystem's name; '' for a shell. */
  | { readonly kind: 'shell' | 'subsystem'; readonly command: string };

interface MuxSessionCommon {
  readonly pty: null | {
    readonly term: string;
    readonly cols: number;
    readonly rows: number;
    readonly width: number;
    readonly height: number;
    /** Terminal modes by name, as PtyOptions.modes. */
    readonly modes: Readonly<Record<string, number>>;
  };
  readonly env: readonly (readonly [string, string])[];
}

export type MuxMessage =
  | { readonly type: 'hello'; readonly version: number; readonly extensions: readonly (readonly [string, string])[] }
  // OpenSSH's passenger requests: parsed so they can be refused with a reason.
  | { readonly type: 'new-session'; readonly requestId: number; readonly command: string | Uint8Array }
  | { readonly type: 'new-stdio-fwd'; readonly requestId: number; readonly host: string; readonly port: number }
  | { readonly type: 'alive-check'; readonly requestId: number }
  | { readonly type: 'terminate'; readonly requestId: number }
  | { readonly type: 'open-fwd'; readonly requestId: number; readonly forward: MuxForward }
  | { readonly type: 'close-fwd'; readonly requestId: number; readonly forward: MuxForward }
  | { readonly type: 'stop-listening'; readonly requestId: number }
  | { readonly type: 'proxy'; readonly requestId: number }
  | { readonly type: 'ok'; readonly requestId: number }
  | { readonly type: 'permission-denied'; readonly requestId: number; readonly reason: string }
  | { readonly type: 'failure'; readonly requestId: number; readonly reason: string }
  | { readonly type: 'exit-message'; readonly sessionId: number; readonly exitValue: number }
  | { readonly type: 'alive'; readonly requestId: number; readonly pid: number }
  | { readonly type: 'session-opened'; readonly requestId: number; readonly sessionId: number }
  | { readonly type: 'remote-port'; readonly requestId: number; readonly port: number }
  | { readonly type: 'tty-alloc-fail'; readonly sessionId: number }
  | { readonly type: 'nacre-session'; readonly requestId: number; readonly session: MuxSessionRequest }
  | { readonly type: 'nacre-resize'; readonly sessionId: number; readonly cols: number; readonly rows: number; readonly width: number; readonly height: number }
  | { readonly type: 'nacre-signal'; readonly sessionId: number; readonly signal: string }
  | { readonly type: 'nacre-close'; readonly sessionId: number }
  | {
      readonly type: 'nacre-exit';
      readonly sessionId: number;
      readonly code: number | null;
      readonly signal: string | null;
      readonly coreDumped: boolean;
      readonly message: string;
    }
  | { readonly type: 'nacre-data'; readonly sessionId: number; readonly stream: MuxStream; readonly data: Uint8Array }
  | { readonly type: 'nacre-eof'; readonly sessionId: number; readonly stream: MuxStream }
  | { readonly type: 'nacre-window'; readonly sessionId: number; readonly stream: MuxStream; readonly bytes: number }
  /** A type this codec does not know; `requestId` when the body had one, to answer with MUX_S_FAILURE. */
  | { readonly type: 'unknown'; readonly code: number; readonly requestId: number | null };

const FWD_KINDS = ['local', 'remote', 'dynamic'] as const;
const MAX_TEXT = 64 * 1024;
const MAX_ENV = 256;
const MAX_MODES = 256;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A command's bytes: the string they spell when they are UTF-8 (sent again,
 * it is these very bytes, a BOM included), else the bytes themselves.
 */
function readCommand(r: Reader, field: string): string | Uint8Array {
  const b = r.string(field, MAX_MUX_MESSAGE);
  try {
    return strictUtf8.decode(b);
  } catch {
    return b.slice();
  }
}

function writeForward(w: Writer, f: MuxForward): void {
  w.uint32(FWD_KINDS.indexOf(f.kind) + 1).string(f.listenHost).uint32(f.listenPort).string(f.connectHost).uint32(f.connectPort);
}

function readForward(r: Reader): MuxForward {
  const t = r.uint32('forwarding type');
  const kind = FWD_KINDS[t - 1];
  if (!kind) throw new ProtocolError(`mux: unknown forwarding type ${t}`);
  return { kind, listenHost: r.text('listen host', MAX_TEXT), listenPort: r.uint32('listen port'), connectHost: r.text('connect host', MAX_TEXT), connectPort: r.uint32('connect port') };
}

function streamNumber(s: MuxStream): number {
  return STREAMS.indexOf(s);
}

function readStream(r: Reader): MuxStream {
  const n = r.uint32('stream');
  const s = STREAMS[n];
  if (!s) throw new ProtocolError(`mux: unknown stream ${n}`);
  return s;
}

/** The message body (type first), without the length prefix. */
export function encodeMuxBody(m: MuxMessage): Uint8Array {
  const w = new Writer(64);
  switch (m.type) {
    case 'hello':
      w.uint32(MuxType.HELLO).uint32(m.version);
      for (const [k, v] of m.extensions) w.string(k).string(v);
      break;
    case 'new-session':
      // reserved, tty, x11, agent, subsystem (uint32 each, as ssh sends them), escape char, term, command
      w.uint32(MuxType.C_NEW_SESSION).uint32(m.requestId).string('').uint32(0).uint32(0).uint32(0).uint32(0).uint32(0xffffffff).string('').string(m.command);
      break;
    case 'new-stdio-fwd':
      w.uint32(MuxType.C_NEW_STDIO_FWD).uint32(m.requestId).string('').string(m.host).uint32(m.port);
      break;
    case 'alive-check':
      w.uint32(MuxType.C_ALIVE_CHECK).uint32(m.requestId);
      break;
    case 'terminate':
      w.uint32(MuxType.C_TERMINATE).uint32(m.requestId);
      break;
    case 'open-fwd':
    case 'close-fwd':
      w.uint32(m.type === 'open-fwd' ? MuxType.C_OPEN_FWD : MuxType.C_CLOSE_FWD).uint32(m.requestId);
      writeForward(w, m.forward);
      break;
    case 'stop-listening':
      w.uint32(MuxType.C_STOP_LISTENING).uint32(m.requestId);
      break;
    case 'proxy':
      w.uint32(MuxType.C_PROXY).uint32(m.requestId);
      break;
    case 'ok':
      w.uint32(MuxType.S_OK).uint32(m.requestId);
      break;
    case 'permission-denied':
    case 'failure':
      w.uint32(m.type === 'failure' ? MuxType.S_FAILURE : MuxType.S_PERMISSION_DENIED).uint32(m.requestId).string(m.reason);
      break;
    case 'exit-message':
      w.uint32(MuxType.S_EXIT_MESSAGE).uint32(m.sessionId).uint32(m.exitValue);
      break;
    case 'alive':
      w.uint32(MuxType.S_ALIVE).uint32(m.requestId).uint32(m.pid);
      break;
    case 'session-opened':
      w.uint32(MuxType.S_SESSION_OPENED).uint32(m.requestId).uint32(m.sessionId);
      break;
    case 'remote-port':
      w.uint32(MuxType.S_REMOTE_PORT).uint32(m.requestId).uint32(m.port);
      break;
    case 'tty-alloc-fail':
      w.uint32(MuxType.S_TTY_ALLOC_FAIL).uint32(m.sessionId);
      break;
    case 'nacre-session': {
      const s = m.session;
      w.uint32(MuxType.C_NACRE_SESSION).uint32(m.requestId).string(s.kind).string(s.command).boolean(s.pty !== null);
      if (s.pty) {
        const modes = Object.entries(s.pty.modes);
        w.string(s.pty.term).uint32(s.pty.cols).uint32(s.pty.rows).uint32(s.pty.width).uint32(s.pty.height).uint32(modes.length);
        for (const [k, v] of modes) w.string(k).uint32(v);
      }
      w.uint32(s.env.length);
      for (const [k, v] of s.env) w.string(k).string(v);
      break;
    }
    case 'nacre-resize':
      w.uint32(MuxType.C_NACRE_RESIZE).uint32(m.sessionId).uint32(m.cols).uint32(m.rows).uint32(m.width).uint32(m.height);
      break;
    case 'nacre-signal':
      w.uint32(MuxType.C_NACRE_SIGNAL).uint32(m.sessionId).string(m.signal);
      break;
    case 'nacre-close':
      w.uint32(MuxType.C_NACRE_CLOSE).uint32(m.sessionId);
      break;
    case 'nacre-exit':
      w.uint32(MuxType.S_NACRE_EXIT).uint32(m.sessionId).boolean(m.code !== null).uint32(m.code ?? 0).string(m.signal ?? '').boolean(m.coreDumped).string(m.message);
      break;
    case 'nacre-data':
      w.uint32(MuxType.NACRE_DATA).uint32(m.sessionId).uint32(streamNumber(m.stream)).string(m.data);
      break;
    case 'nacre-eof':
      w.uint32(MuxType.NACRE_EOF).uint32(m.sessionId).uint32(streamNumber(m.stream));
      break;
    case 'nacre-window':
      w.uint32(MuxType.NACRE_WINDOW).uint32(m.sessionId).uint32(streamNumber(m.stream)).uint32(m.bytes);
      break;
    case 'unknown':
      w.uint32(m.code);
      if (m.requestId !== null) w.uint32(m.requestId);
      break;
  }
  return w.finish();
}

/** The message with its length prefix, ready for the socket. */
export function encodeMuxMessage(m: MuxMessage): Uint8Array {
  const body = encodeMuxBody(m);
  if (body.length > MAX_MUX_MESSAGE) throw new RangeError(`mux message of ${body.length} bytes is over ${MAX_MUX_MESSAGE}`);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/**
 * One message body. Throws ProtocolError for anything malformed; a type it
 * does not know comes back as `unknown` (the master answers it with a
 * failure). Fields OpenSSH defines as ignored ("reserved") are skipped.
 */
export function decodeMuxBody(body: Uint8Array): MuxMessage {
  const r = new Reader(body, 0, 'mux message');
  const code = r.uint32('type');
  const m = decodeFields(code, r);
  // OpenSSH sends its new-session request with optional environment strings
  // after the command, and a hello's extensions fill the rest: both read to
  // the end inside decodeFields. Everything else must end exactly.
  if (m.type !== 'unknown') r.end();
  return m;
}

function decodeFields(code: number, r: Reader): MuxMessage {
  switch (code) {
    case MuxType.HELLO: {
      const version = r.uint32('version');
      const extensions: [string, string][] = [];
      while (r.remaining > 0) {
        if (extensions.length >= 64) throw new ProtocolError('mux: too many hello extensions');
        extensions.push([r.text('extension name', MAX_TEXT), r.text('extension value', MAX_TEXT)]);
      }
      return { type: 'hello', version, extensions };
    }
    case MuxType.C_NEW_SESSION: {
      // PROTOCOL.mux calls the four flags bools; OpenSSH's mux.c writes
      // and reads them as uint32s, and the code is what ssh sends.
      const requestId = r.uint32('request id');
      r.string('reserved', MAX_TEXT);
      for (const f of ['tty', 'x11', 'agent', 'subsystem']) r.uint32(f);
      r.uint32('escape char');
      r.string('terminal type', MAX_TEXT);
      const command = readCommand(r, 'command');
      while (r.remaining > 0) r.string('environment', MAX_MUX_MESSAGE);
      return { type: 'new-session', requestId, command };
    }
    case MuxType.C_NEW_STDIO_FWD: {
      const requestId = r.uint32('request id');
      r.string('reserved', MAX_TEXT);
      return { type: 'new-stdio-fwd', requestId, host: r.text('connect host', MAX_TEXT), port: r.uint32('connect port') };
    }
    case MuxType.C_ALIVE_CHECK:
      return { type: 'alive-check', requestId: r.uint32('request id') };
    case MuxType.C_TERMINATE:
      return { type: 'terminate', requestId: r.uint32('request id') };
    case MuxType.C_OPEN_FWD:
    case MuxType.C_CLOSE_FWD: {
      const requestId = r.uint32('request id');
      return { type: code === MuxType.C_OPEN_FWD ? 'open-fwd' : 'close-fwd', requestId, forward: readForward(r) };
    }
    case MuxType.C_STOP_LISTENING:
      return { type: 'stop-listening', requestId: r.uint32('request id') };
    case MuxType.C_PROXY:
      return { type: 'proxy', requestId: r.uint32('request id') };
    case MuxType.S_OK:
      return { type: 'ok', requestId: r.uint32('request id') };
    case MuxType.S_PERMISSION_DENIED:
    case MuxType.S_FAILURE: {
      const requestId = r.uint32('request id');
      return { type: code === MuxType.S_FAILURE ? 'failure' : 'permission-denied', requestId, reason: r.text('reason', MAX_TEXT) };
    }
    case MuxType.S_EXIT_MESSAGE:
      return { type: 'exit-message', sessionId: r.uint32('session id'), exitValue: r.uint32('exit value') };
    case MuxType.S_ALIVE:
      return { type: 'alive', requestId: r.uint32('request id'), pid: r.uint32('pid') };
    case MuxType.S_SESSION_OPENED:
      return { type: 'session-opened', requestId: r.uint32('request id'), sessionId: r.uint32('session id') };
    case MuxType.S_REMOTE_PORT:
      return { type: 'remote-port', requestId: r.uint32('request id'), port: r.uint32('port') };
    case MuxType.S_TTY_ALLOC_FAIL:
      return { type: 'tty-alloc-fail', sessionId: r.uint32('session id') };
    case MuxType.C_NACRE_SESSION:
      return { type: 'nacre-session', requestId: r.uint32('request id'), session: readSession(r) };
    case MuxType.C_NACRE_RESIZE:
      return { type: 'nacre-resize', sessionId: r.uint32('session id'), cols: r.uint32('cols'), rows: r.uint32('rows'), width: r.uint32('width'), height: r.uint32('height') };
    case MuxType.C_NACRE_SIGNAL:
      return { type: 'nacre-signal', sessionId: r.uint32('session id'), signal: r.text('signal', 64) };
    case MuxType.C_NACRE_CLOSE:
      return { type: 'nacre-close', sessionId: r.uint32('session id') };
    case MuxType.S_NACRE_EXIT: {
      const sessionId = r.uint32('session id');
      const hasCode = r.boolean('has code');
      const code = r.uint32('code');
      const signal = r.text('signal', 64);
      return { type: 'nacre-exit', sessionId, code: hasCode ? code : null, signal: signal === '' ? null : signal, coreDumped: r.boolean('core dumped'), message: r.text('message', MAX_TEXT) };
    }
    case MuxType.NACRE_DATA: {
      const sessionId = r.uint32('session id');
      const stream = readStream(r);
      return { type: 'nacre-data', sessionId, stream, data: r.string('data', MAX_MUX_DATA) };
    }
    case MuxType.NACRE_EOF:
      return { type: 'nacre-eof', sessionId: r.uint32('session id'), stream: readStream(r) };
    case MuxType.NACRE_WINDOW:
      return { type: 'nacre-window', sessionId: r.uint32('session id'), stream: readStream(r), bytes: r.uint32('bytes') };
    default: {
      const requestId = r.remaining >= 4 ? r.uint32('request id') : null;
      return { type: 'unknown', code, requestId };
    }
  }
}

function readSession(r: Reader): MuxSessionRequest {
  const kind = r.text('kind', 16);
  if (kind !== 'exec' && kind !== 'shell' && kind !== 'subsystem') throw new ProtocolError(`mux: unknown session kind ${JSON.stringify(kind)}`);
  const what: MuxSessionKind =
    kind === 'exec' ? { kind, command: readCommand(r, 'command') } : { kind, command: r.text(kind === 'shell' ? 'command' : 'subsystem', MAX_MUX_MESSAGE) };
  let pty: MuxSessionRequest['pty'] = null;
  if (r.boolean('want pty')) {
    const term = r.text('terminal type', 256);
    const cols = r.uint32('cols');
    const rows = r.uint32('rows');
    const width = r.uint32('width');
    const height = r.uint32('height');
    const n = r.uint32('mode count');
    if (n > MAX_MODES) throw new ProtocolError(`mux: ${n} terminal modes, over ${MAX_MODES}`);
    const modes: Record<string, number> = Object.create(null) as Record<string, number>;
    for (let i = 0; i < n; i++) modes[r.text('mode name', 32)] = r.uint32('mode value');
    pty = { term, cols, rows, width, height, modes };
  }
  const n = r.uint32('environment count');
  if (n > MAX_ENV) throw new ProtocolError(`mux: ${n} environment variables, over ${MAX_ENV}`);
  const env: [string, string][] = [];
  for (let i = 0; i < n; i++) env.push([r.text('variable name', MAX_TEXT), r.text('variable value', MAX_TEXT)]);
  return { ...what, pty, env };
}

/**
 * Cuts a byte stream into message bodies. Holds at most the bytes of one
 * socket read plus one partial message: a length over MAX_MUX_MESSAGE is a
 * ProtocolError before anything is buffered for it.
 */
export class MuxFramer {
  private buffered: Uint8Array = new Uint8Array(0);
  private toSkip = 0;

  push(bytes: Uint8Array): void {
    if (this.toSkip > 0) {
      const n = Math.min(this.toSkip, bytes.length);
      this.toSkip -= n;
      bytes = bytes.subarray(n);
    }
    if (bytes.length === 0) return;
    this.buffered = this.buffered.length === 0 ? bytes.slice() : concat2(this.buffered, bytes);
  }

  /** The next complete message body, or null until more bytes come. */
  next(): Uint8Array | null {
    const buf = this.buffered;
    if (buf.length < 4) return null;
    const n = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0);
    if (n > MAX_MUX_MESSAGE) throw new ProtocolError(`mux: message of ${n} bytes is over the limit of ${MAX_MUX_MESSAGE}`);
    if (n < 4) throw new ProtocolError(`mux: message of ${n} bytes has no room for its type`);
    if (buf.length < 4 + n) return null;
    const body = buf.subarray(4, 4 + n);
    this.buffered = buf.subarray(4 + n);
    return body;
  }

  /** Drops the next `n` bytes of the stream (those sent with file descriptors), now or as they come. */
  skip(n: number): void {
    const now = Math.min(n, this.buffered.length);
    this.buffered = this.buffered.subarray(now);
    this.toSkip += n - now;
  }

  /** Bytes received and not yet returned as messages. */
  get pending(): number {
    return this.buffered.length;
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
