// The client's side of a control connection, sans I/O: requests with request
// ids matched to their replies, and Nacre sessions whose streams run over the
// socket with the windows of window.ts.
import { NacreError, ProtocolError, DisconnectReason } from '../errors.js';
import {
  decodeMuxBody,
  encodeMuxMessage,
  MuxFramer,
  MUX_PROTOCOL_VERSION,
  NACRE_SESSION_EXTENSION,
  type MuxForward,
  type MuxMessage,
  type MuxSessionRequest,
} from './codec.js';
import type { MuxExit } from './master.js';
import { IncomingStream, OutgoingStream } from './window.js';

/** The master said no (MUX_S_FAILURE or MUX_S_PERMISSION_DENIED), or the connection ended. */
export class MuxRequestError extends NacreError {
  constructor(
    message: string,
    /** `failure`, `permission-denied`, or `closed` when the connection ended first. */
    readonly kind: 'failure' | 'permission-denied' | 'closed',
  ) {
    super(message, DisconnectReason.BY_APPLICATION);
  }
}

export interface MuxClientHost {
  send(bytes: Uint8Array): void;
  /** Ends the connection after a protocol error. */
  close(reason: string): void;
}

/** What the client's session tells its owner. */
export interface MuxClientSessionSink {
  output(stream: 'stdout' | 'stderr', data: Uint8Array): void;
  end(stream: 'stdout' | 'stderr'): void;
  exit(info: MuxExit): void;
}

/** A session open through the master. */
export class MuxClientSession {
  /** @internal */
  readonly stdinOut: OutgoingStream;
  /** @internal */
  readonly stdoutIn: IncomingStream;
  /** @internal */
  readonly stderrIn: IncomingStream;

  constructor(
    private readonly conn: MuxClientConnection,
    readonly id: number,
    /** @internal */
    readonly sink: MuxClientSessionSink,
    emit: (m: MuxMessage) => void,
  ) {
    this.stdinOut = new OutgoingStream(emit, id, 'stdin');
    this.stdoutIn = new IncomingStream(emit, id, 'stdout');
    this.stderrIn = new IncomingStream(emit, id, 'stderr');
  }

  /** Input for the session; false: wait for onDrain before writing more. */
  write(data: Uint8Array): boolean {
    return this.stdinOut.write(data);
  }
  onDrain(fn: () => void): void {
    this.stdinOut.onDrain(fn);
  }
  end(): void {
    this.stdinOut.end();
  }
  /** The owner consumed `n` bytes of output: the master may send more. */
  consumed(stream: 'stdout' | 'stderr', n: number): void {
    (stream === 'stdout' ? this.stdoutIn : this.stderrIn).consumed(n);
  }
  resize(cols: number, rows: number, width = 0, height = 0): void {
    this.conn.emitMessage({ type: 'nacre-resize', sessionId: this.id, cols, rows, width, height });
  }
  signal(name: string): void {
    this.conn.emitMessage({ type: 'nacre-signal', sessionId: this.id, signal: name.replace(/^SIG/, '') });
  }
  close(): void {
    this.conn.closeSession(this);
  }
}

/**
 * A request waiting for its reply. `onReply` runs as the reply is handled, before
 * anything after it in the same read: a session must be registered before its
 * first output, which can arrive in the same chunk as the reply that opened it.
 */
type Pending = { readonly resolve: (m: MuxMessage) => void; readonly reject: (e: Error) => void; readonly onReply?: (m: MuxMessage) => void };

export class MuxClientConnection {
  private readonly framer = new MuxFramer();
  private nextRequestId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly sessions = new Map<number, MuxClientSession>();
  private closedReason: string | null = null;
  private resolveHello!: (h: { version: number; extensions: readonly (readonly [string, string])[] }) => void;
  private rejectHello!: (e: Error) => void;
  /** The master's hello: its version and extensions. */
  readonly hello: Promise<{ version: number; extensions: readonly (readonly [string, string])[] }>;
  private helloSeen = false;

  constructor(private readonly host: MuxClientHost) {
    this.hello = new Promise((res, rej) => {
      this.resolveHello = res;
      this.rejectHello = rej;
    });
    this.hello.catch(() => {});
    this.emitMessage({ type: 'hello', version: MUX_PROTOCOL_VERSION, extensions: [[NACRE_SESSION_EXTENSION, '1']] });
  }

  receive(bytes: Uint8Array): void {
    if (this.closedReason !== null) return;
    try {
      this.framer.push(bytes);
      for (let body = this.framer.next(); body && this.closedReason === null; body = this.framer.next()) this.handle(decodeMuxBody(body));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.disconnected(reason);
      this.host.close(reason);
    }
  }

  /** The socket closed: pending requests fail, sessions end with no status. */
  disconnected(reason = 'the control connection closed'): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.rejectHello(new MuxRequestError(reason, 'closed'));
    for (const p of this.pending.values()) p.reject(new MuxRequestError(reason, 'closed'));
    this.pending.clear();
    for (const s of this.sessions.values()) {
      s.sink.end('stdout');
      s.sink.end('stderr');
      s.sink.exit({ code: null, signal: null, message: reason });
    }
    this.sessions.clear();
  }

  /** @internal */
  emitMessage(m: MuxMessage): void {
    if (this.closedReason === null) this.host.send(encodeMuxMessage(m));
  }

  /** @internal */
  closeSession(s: MuxClientSession): void {
    if (!this.sessions.delete(s.id)) return;
    this.emitMessage({ type: 'nacre-close', sessionId: s.id });
  }

  /** MUX_C_ALIVE_CHECK: the master's pid. */
  async aliveCheck(): Promise<number> {
    const m = await this.request((requestId) => ({ type: 'alive-check', requestId }));
    if (m.type !== 'alive') throw unexpected(m);
    return m.pid;
  }

  /**
   * MUX_C_TERMINATE. A master that closes the connection instead of
   * answering has done what was asked: OpenSSH's often exits before its
   * reply goes out, and ssh takes that as success too.
   */
  async terminate(): Promise<void> {
    if (this.closedReason !== null) throw new MuxRequestError(this.closedReason, 'closed');
    const reply = this.request((requestId) => ({ type: 'terminate', requestId }));
    let m: MuxMessage;
    try {
      m = await reply;
    } catch (err) {
      if (err instanceof MuxRequestError && err.kind === 'closed') return;
      throw err;
    }
    if (m.type !== 'ok') throw unexpected(m);
  }

  /** MUX_C_STOP_LISTENING. */
  async stopListening(): Promise<void> {
    const m = await this.request((requestId) => ({ type: 'stop-listening', requestId }));
    if (m.type !== 'ok') throw unexpected(m);
  }

  /** MUX_C_OPEN_FWD: the allocated port for a remote forwarding of port 0, else null. */
  async openForward(forward: MuxForward): Promise<number | null> {
    const m = await this.request((requestId) => ({ type: 'open-fwd', requestId, forward }));
    if (m.type === 'remote-port') return m.port;
    if (m.type !== 'ok') throw unexpected(m);
    return null;
  }

  /** MUX_C_CLOSE_FWD. */
  async closeForward(forward: MuxForward): Promise<void> {
    const m = await this.request((requestId) => ({ type: 'close-fwd', requestId, forward }));
    if (m.type !== 'ok') throw unexpected(m);
  }

  /** Opens a Nacre session; MuxRequestError when the master refuses or does not speak Nacre's sessions. */
  async openSession(request: MuxSessionRequest, sink: MuxClientSessionSink): Promise<MuxClientSession> {
    const hello = await this.hello;
    if (!hello.extensions.some(([k]) => k === NACRE_SESSION_EXTENSION)) {
      throw new MuxRequestError('the master does not offer sessions over the control socket (an OpenSSH master wants file descriptors)', 'failure');
    }
    let session: MuxClientSession | null = null;
    const m = await this.request(
      (requestId) => ({ type: 'nacre-session', requestId, session: request }),
      (reply) => {
        if (reply.type !== 'session-opened') return;
        if (this.sessions.has(reply.sessionId)) throw new ProtocolError(`mux: session ${reply.sessionId} opened twice`);
        session = new MuxClientSession(this, reply.sessionId, sink, (x) => this.emitMessage(x));
        this.sessions.set(reply.sessionId, session);
      },
    );
    if (m.type !== 'session-opened' || session === null) throw unexpected(m);
    return session;
  }

  private request(make: (requestId: number) => MuxMessage, onReply?: (m: MuxMessage) => void): Promise<MuxMessage> {
    if (this.closedReason !== null) return Promise.reject(new MuxRequestError(this.closedReason, 'closed'));
    const requestId = this.nextRequestId++ >>> 0;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, onReply ? { resolve, reject, onReply } : { resolve, reject });
      this.emitMessage(make(requestId));
    });
  }

  private handle(m: MuxMessage): void {
    if (!this.helloSeen) {
      if (m.type !== 'hello') throw new ProtocolError(`mux: expected the master's hello, got ${m.type}`);
      if (m.version !== MUX_PROTOCOL_VERSION) throw new ProtocolError(`mux: the master speaks protocol version ${m.version}, not ${MUX_PROTOCOL_VERSION}`);
      this.helloSeen = true;
      this.resolveHello({ version: m.version, extensions: m.extensions });
      return;
    }
    switch (m.type) {
      case 'ok':
      case 'failure':
      case 'permission-denied':
      case 'alive':
      case 'session-opened':
      case 'remote-port': {
        const p = this.pending.get(m.requestId);
        if (!p) throw new ProtocolError(`mux: a reply (${m.type}) to no request (${m.requestId})`);
        this.pending.delete(m.requestId);
        if (m.type === 'failure' || m.type === 'permission-denied') p.reject(new MuxRequestError(m.reason, m.type));
        else {
          p.onReply?.(m);
          p.resolve(m);
        }
        return;
      }
      case 'nacre-data': {
        const s = this.sessions.get(m.sessionId);
        if (m.stream === 'stdin') throw new ProtocolError('mux: the master sent stdin data');
        if (!s) return; // closed by us while in flight
        (m.stream === 'stdout' ? s.stdoutIn : s.stderrIn).received(m.data.length);
        s.sink.output(m.stream, m.data);
        return;
      }
      case 'nacre-eof': {
        const s = this.sessions.get(m.sessionId);
        if (m.stream === 'stdin') throw new ProtocolError('mux: the master sent EOF on stdin');
        if (!s) return;
        (m.stream === 'stdout' ? s.stdoutIn : s.stderrIn).receivedEof();
        s.sink.end(m.stream);
        return;
      }
      case 'nacre-window': {
        const s = this.sessions.get(m.sessionId);
        if (m.stream !== 'stdin') throw new ProtocolError(`mux: the master granted window on ${m.stream}`);
        s?.stdinOut.grant(m.bytes);
        return;
      }
      case 'nacre-exit':
      case 'exit-message': {
        const s = this.sessions.get(m.sessionId);
        if (!s) return;
        this.sessions.delete(m.sessionId);
        if (!s.stdoutIn.ended) s.sink.end('stdout');
        if (!s.stderrIn.ended) s.sink.end('stderr');
        s.sink.exit(m.type === 'exit-message' ? { code: m.exitValue, signal: null } : { code: m.code, signal: m.signal, coreDumped: m.coreDumped, message: m.message });
        return;
      }
      case 'tty-alloc-fail':
        return;
      default:
        throw new ProtocolError(`mux: the master sent ${m.type === 'unknown' ? `an unknown message 0x${m.code.toString(16)}` : `a client's message (${m.type})`}`);
    }
  }
}

function unexpected(m: MuxMessage): ProtocolError {
  return new ProtocolError(`mux: unexpected reply ${m.type}`);
}
