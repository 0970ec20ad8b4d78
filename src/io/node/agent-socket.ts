// The Node side of an agent connection: a Unix socket (or any Duplex, for
// tests and forwarded agents) driving src/agent's AgentConnection, with its
// deadline on a timer. Reads are bounded by the state machine: a reply
// longer than its limit ends the connection before it is buffered.
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { AgentConnection, AgentError, type AgentConnectionLimits, type AgentOutcome } from '../../agent/index.js';
import { clockNow } from './driver.js';

export interface AgentSocketOptions extends AgentConnectionLimits {
  /** Milliseconds to wait for the socket to connect; default 10 s. */
  readonly connectTimeoutMs?: number;
}

export class AgentSocket {
  private readonly state: AgentConnection;
  private readonly waiters = new Map<number, { resolve: (reply: Uint8Array) => void; reject: (err: AgentError) => void }>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly now = clockNow;

  private constructor(
    private readonly stream: Duplex,
    limits: AgentConnectionLimits,
  ) {
    this.state = new AgentConnection(limits);
    stream.on('data', this.onData);
    stream.on('error', this.onError);
    stream.on('close', this.onClose);
    stream.on('end', this.onEnd);
  }

  private readonly onData = (chunk: Buffer): void => this.settle(this.state.receive(this.now(), chunk));
  private readonly onError = (err: Error): void => this.settle(this.state.close(new AgentError(`agent connection failed: ${err.message}`, 'closed', { cause: err })));
  private readonly onClose = (): void => this.settle(this.state.close());
  private readonly onEnd = (): void => void this.stream.end();

  /**
   * Gives the stream back, for relaying raw bytes after this connection's
   * own requests (a forwarded agent bound to its session first); null when
   * a request is still waiting or the connection is over.
   */
  detach(): Duplex | null {
    if (this.state.pending > 0 || this.state.error) return null;
    this.stream.off('data', this.onData);
    this.stream.off('error', this.onError);
    this.stream.off('close', this.onClose);
    this.stream.off('end', this.onEnd);
    // without a 'data' listener a flowing stream would drop what arrives before the new reader
    this.stream.pause();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.state.close(new AgentError('the agent connection was handed on', 'closed'));
    return this.stream;
  }

  /** Drives an agent connection over an open stream. */
  static over(stream: Duplex, limits: AgentConnectionLimits = {}): AgentSocket {
    return new AgentSocket(stream, limits);
  }

  /** Connects to the agent listening on the Unix socket `path`; AgentError `unavailable` when it cannot. */
  static connect(path: string, options: AgentSocketOptions = {}): Promise<AgentSocket> {
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const socket = netConnect({ path });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new AgentError(`cannot connect to the agent at ${path}: no answer within ${timeoutMs} ms`, 'unavailable'));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new AgentSocket(socket, options));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new AgentError(`cannot connect to the agent at ${path}: ${err.message}`, 'unavailable', { cause: err }));
      });
    });
  }

  /** Sends one request (payload, type byte first) and resolves with the reply payload. */
  call(payload: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      let id: number;
      try {
        id = this.state.request(this.now(), payload);
      } catch (err) {
        reject(err);
        return;
      }
      this.waiters.set(id, { resolve, reject });
      this.flush();
    });
  }

  /** Ends the connection; requests still waiting fail with AgentError `closed`. */
  close(): void {
    this.settle(this.state.close());
    this.stream.destroy();
  }

  get closed(): boolean {
    return this.state.error !== null;
  }

  private flush(): void {
    for (const bytes of this.state.takeOutgoing()) this.stream.write(bytes);
    this.arm();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const deadline = this.state.nextDeadline();
    if (deadline === null) return;
    this.timer = setTimeout(() => this.settle(this.state.handleTimeout(this.now())), Math.max(0, deadline - this.now()));
    this.timer.unref?.();
  }

  private settle(outcomes: AgentOutcome[]): void {
    for (const o of outcomes) {
      const w = this.waiters.get(o.id);
      if (!w) continue;
      this.waiters.delete(o.id);
      if ('reply' in o) w.resolve(o.reply);
      else w.reject(o.error);
    }
    if (this.state.error) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      if (!this.stream.destroyed) this.stream.destroy();
      return;
    }
    this.flush();
  }
}
