// The master's side of one control connection, sans I/O: bytes in through
// receive(), bytes out through the host's send(); what the requests do (stop,
// forward, open a session) is the host's, asynchronously.
//
// OpenSSH's clients get PROTOCOL.mux's answers: `ssh -O check|exit|stop|
// forward|cancel` work against a Nacre master. Their session and stdio
// requests come with file descriptors, which cannot be received here; they
// are refused with a reason (ssh then makes its own connection), and the one
// byte each descriptor was sent with is skipped so the framing stays right.
import { NacreError, ProtocolError } from '../errors.js';
import {
  decodeMuxBody,
  encodeMuxMessage,
  MuxFramer,
  MUX_PORT_STREAMLOCAL,
  MUX_PROTOCOL_VERSION,
  NACRE_SESSION_EXTENSION,
  type MuxForward,
  type MuxMessage,
  type MuxSessionRequest,
} from './codec.js';
import { IncomingStream, OutgoingStream } from './window.js';

/** How a session ended, as the client should report it. */
export interface MuxExit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly coreDumped?: boolean;
  readonly message?: string;
}

/** What the master tells the session it runs for a client. */
export interface MuxSessionSink {
  /** Output for the client; false: pause until onDrain calls back. */
  output(stream: 'stdout' | 'stderr', data: Uint8Array): boolean;
  end(stream: 'stdout' | 'stderr'): void;
  onDrain(stream: 'stdout' | 'stderr', fn: () => void): void;
  /** The session ended; sent to the client after both streams' end(). */
  exit(info: MuxExit): void;
}

/** The running session, as the master drives it from the client's messages. */
export interface MuxSessionBackend {
  /** Input from the client; `done` once it is passed on (the client's window reopens then). */
  stdin(data: Uint8Array, done: () => void): void;
  stdinEnd(): void;
  signal(name: string): void;
  resize(cols: number, rows: number, width: number, height: number): void;
  /** The client went away or asked to close: end the session. */
  close(): void;
}

export interface MuxMasterHost {
  readonly pid: number;
  send(bytes: Uint8Array): void;
  /** Ends this control connection (after a protocol error or the peer's hello was wrong). */
  close(reason: string): void;
  /** MUX_C_TERMINATE: after the reply is sent. */
  terminate(): void;
  /** MUX_C_STOP_LISTENING: after the reply is sent. */
  stopListening(): void;
  /** Resolves with the allocated port for a remote forwarding of port 0; rejects with the reason. */
  openForward(forward: MuxForward): Promise<{ readonly allocatedPort?: number }>;
  closeForward(forward: MuxForward): Promise<void>;
  /**
   * ControlMaster ask/autoask: whether to allow a request (`what` says which,
   * in ssh's words); absent allows all. A refusal answers MUX_S_PERMISSION_DENIED.
   */
  permit?(what: string): Promise<boolean>;
  /** Starts a Nacre session; rejects with the reason the client sees. */
  openSession(request: MuxSessionRequest, sink: MuxSessionSink): Promise<MuxSessionBackend>;
}

interface Session {
  readonly id: number;
  readonly stdin: IncomingStream;
  readonly stdout: OutgoingStream;
  readonly stderr: OutgoingStream;
  backend: MuxSessionBackend | null;
  pendingExit: MuxExit | null;
  done: boolean;
}

const FD_BYTES: Partial<Record<MuxMessage['type'], number>> = { 'new-session': 3, 'new-stdio-fwd': 2 };

export class MuxMasterConnection {
  private readonly framer = new MuxFramer();
  private helloSeen = false;
  private closed = false;
  private nextSessionId = 1;
  private readonly sessions = new Map<number, Session>();
  /** Whether the client speaks Nacre's session messages. */
  peerHasSessions = false;

  constructor(private readonly host: MuxMasterHost) {
    this.emit({ type: 'hello', version: MUX_PROTOCOL_VERSION, extensions: [[NACRE_SESSION_EXTENSION, '1']] });
  }

  /** Bytes from the client. A protocol error closes the connection (and its sessions). */
  receive(bytes: Uint8Array): void {
    if (this.closed) return;
    try {
      this.framer.push(bytes);
      for (let body = this.framer.next(); body && !this.closed; body = this.framer.next()) {
        const m = decodeMuxBody(body);
        this.handle(m);
        // Each descriptor OpenSSH passes comes with one byte of data.
        const fds = FD_BYTES[m.type];
        if (fds) this.framer.skip(fds);
      }
    } catch (err) {
      this.fail(err instanceof ProtocolError ? err.message : `mux: ${(err as Error).message}`);
    }
  }

  /** The socket closed: end every session. */
  disconnected(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sessions.values()) s.backend?.close();
    this.sessions.clear();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.disconnected();
    this.host.close(reason);
  }

  private emit(m: MuxMessage): void {
    if (!this.closed) this.host.send(encodeMuxMessage(m));
  }

  private handle(m: MuxMessage): void {
    if (!this.helloSeen) {
      if (m.type !== 'hello') throw new ProtocolError(`mux: expected a hello, got ${m.type}`);
      if (m.version !== MUX_PROTOCOL_VERSION) throw new ProtocolError(`mux: unsupported protocol version ${m.version}`);
      this.helloSeen = true;
      this.peerHasSessions = m.extensions.some(([k]) => k === NACRE_SESSION_EXTENSION);
      return;
    }
    switch (m.type) {
      case 'hello':
        throw new ProtocolError('mux: a second hello');
      case 'alive-check':
        return this.emit({ type: 'alive', requestId: m.requestId, pid: this.host.pid });
      case 'terminate':
        return void this.permitted(m.requestId, 'Terminate shared connection?', () => {
          this.emit({ type: 'ok', requestId: m.requestId });
          this.host.terminate();
        });
      case 'stop-listening':
        return void this.permitted(m.requestId, 'Disable further multiplexing on shared connection?', () => {
          this.emit({ type: 'ok', requestId: m.requestId });
          this.host.stopListening();
        });
      case 'open-fwd':
        return void this.permitted(m.requestId, `Open ${describeForward(m.forward)}?`, () => this.forward(m.requestId, m.forward, true));
      case 'close-fwd':
        return void this.forward(m.requestId, m.forward, false);
      case 'new-session':
      case 'new-stdio-fwd':
        return this.emit({ type: 'failure', requestId: m.requestId, reason: 'this master (Nacre) cannot receive file descriptors; use a Nacre client or no ControlPath' });
      case 'proxy':
        return this.emit({ type: 'failure', requestId: m.requestId, reason: 'proxy mode is not supported' });
      case 'nacre-session':
        return void this.permitted(m.requestId, 'Allow shared connection?', () => this.openSession(m.requestId, m.session));
      case 'nacre-data': {
        if (m.stream !== 'stdin') throw new ProtocolError(`mux: the client sent ${m.stream} data`);
        const s = this.session(m.sessionId);
        if (!s) return; // the session ended while this was on its way
        s.stdin.received(m.data.length);
        if (s.backend) s.backend.stdin(m.data, () => s.stdin.consumed(m.data.length));
        return;
      }
      case 'nacre-eof': {
        if (m.stream !== 'stdin') throw new ProtocolError(`mux: the client sent EOF on ${m.stream}`);
        const s = this.session(m.sessionId);
        if (!s) return;
        s.stdin.receivedEof();
        s.backend?.stdinEnd();
        return;
      }
      case 'nacre-window': {
        if (m.stream === 'stdin') throw new ProtocolError('mux: the client granted window on stdin');
        const s = this.session(m.sessionId);
        if (!s) return;
        return (m.stream === 'stdout' ? s.stdout : s.stderr).grant(m.bytes);
      }
      case 'nacre-resize':
        return this.session(m.sessionId)?.backend?.resize(m.cols, m.rows, m.width, m.height);
      case 'nacre-signal':
        return this.session(m.sessionId)?.backend?.signal(m.signal);
      case 'nacre-close': {
        const s = this.session(m.sessionId);
        if (s) {
          s.done = true;
          this.sessions.delete(s.id);
          s.backend?.close();
        }
        return;
      }
      case 'unknown':
        if (m.requestId !== null) return this.emit({ type: 'failure', requestId: m.requestId, reason: `unsupported mux message 0x${m.code.toString(16).padStart(8, '0')}` });
        throw new ProtocolError(`mux: unsupported message 0x${m.code.toString(16)}`);
      default:
        throw new ProtocolError(`mux: the client sent a master's message (${m.type})`);
    }
  }

  /** A known session; data for one just closed is dropped (it was in flight). */
  private session(id: number): Session | undefined {
    const s = this.sessions.get(id);
    if (!s && id >= this.nextSessionId) throw new ProtocolError(`mux: no session ${id}`);
    return s;
  }

  /** Runs `then` if the host allows `what` (ControlMaster ask), else answers permission-denied. */
  private async permitted(requestId: number, what: string, then: () => unknown): Promise<void> {
    if (this.host.permit) {
      let ok = false;
      try {
        ok = await this.host.permit(what);
      } catch {
        ok = false;
      }
      if (this.closed) return;
      if (!ok) return this.emit({ type: 'permission-denied', requestId, reason: 'Permission denied' });
    }
    await then();
  }

  private async forward(requestId: number, forward: MuxForward, open: boolean): Promise<void> {
    try {
      if (open) {
        const r = await this.host.openForward(forward);
        if (forward.kind === 'remote' && forward.listenPort === 0 && r.allocatedPort !== undefined) {
          return this.emit({ type: 'remote-port', requestId, port: r.allocatedPort });
        }
      } else {
        await this.host.closeForward(forward);
      }
      this.emit({ type: 'ok', requestId });
    } catch (err) {
      this.emit({ type: 'failure', requestId, reason: reasonOf(err) });
    }
  }

  private async openSession(requestId: number, request: MuxSessionRequest): Promise<void> {
    const id = this.nextSessionId++;
    const emit = (m: MuxMessage) => this.emit(m);
    const s: Session = {
      id,
      stdin: new IncomingStream(emit, id, 'stdin'),
      // Held until session-opened has gone out.
      stdout: new OutgoingStream(emit, id, 'stdout', true),
      stderr: new OutgoingStream(emit, id, 'stderr', true),
      backend: null,
      pendingExit: null,
      done: false,
    };
    this.sessions.set(id, s);
    const sink: MuxSessionSink = {
      output: (stream, data) => (s.done ? true : (stream === 'stdout' ? s.stdout : s.stderr).write(data)),
      end: (stream) => {
        const out = stream === 'stdout' ? s.stdout : s.stderr;
        out.end();
        out.onDrain(() => this.maybeExit(s));
      },
      onDrain: (stream, fn) => (stream === 'stdout' ? s.stdout : s.stderr).onDrain(fn),
      // The exit goes out after both streams' EOF, which the backend sends
      // once their last output is through the client's window.
      exit: (info) => {
        s.pendingExit = info;
        this.maybeExit(s);
      },
    };
    let backend: MuxSessionBackend;
    try {
      backend = await this.host.openSession(request, sink);
    } catch (err) {
      this.sessions.delete(id);
      s.done = true;
      return this.emit({ type: 'failure', requestId, reason: reasonOf(err) });
    }
    if (this.closed || s.done) return backend.close();
    s.backend = backend;
    this.emit({ type: 'session-opened', requestId, sessionId: id });
    // Output or an exit may have come while the open was being answered;
    // the queues held it until now, as session-opened must go first.
    s.stdout.release();
    s.stderr.release();
    this.maybeExit(s);
  }

  private maybeExit(s: Session): void {
    if (s.done || !s.pendingExit || !s.backend || !s.stdout.finished || !s.stderr.finished) return;
    s.done = true;
    this.sessions.delete(s.id);
    const e = s.pendingExit;
    this.emit({ type: 'nacre-exit', sessionId: s.id, code: e.code, signal: e.signal, coreDumped: e.coreDumped ?? false, message: e.message ?? '' });
  }
}

function describeForward(f: MuxForward): string {
  const side = (host: string, port: number) => (port === MUX_PORT_STREAMLOCAL ? host : `${host || 'LOCALHOST'}:${port}`);
  if (f.kind === 'dynamic') return `dynamic forward ${side(f.listenHost, f.listenPort)}`;
  return `${f.kind} forward ${side(f.listenHost, f.listenPort)} -> ${side(f.connectHost, f.connectPort)}`;
}

function reasonOf(err: unknown): string {
  if (err instanceof NacreError || err instanceof Error) return err.message;
  return String(err);
}

