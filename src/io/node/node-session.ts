// A Session running over a Node Duplex, with channels as Duplex streams and
// requests as promises. The client and server APIs are built on this.
import type { Duplex } from 'node:stream';
import { ProtocolError, type NacreError } from '../../errors.js';
import { Session, type SessionEvent, type SessionOptions } from '../../core/session.js';
import { Driver, WRITE_BUFFER_LIMIT } from './driver.js';
import { Channel, type ChannelHost } from './channel.js';
import type { Connection } from '../../core/connection/connection.js';

export class ChannelOpenError extends ProtocolError {
  readonly openReason: number;
  constructor(description: string, openReason: number) {
    super(`channel open failed: ${description || 'no reason given'} (code ${openReason})`);
    this.openReason = openReason;
  }
}

type Pending<T> = { resolve: (v: T) => void; reject: (e: Error) => void };

export class NodeSession implements ChannelHost {
  readonly session: Session;
  readonly driver: Driver<SessionEvent>;
  readonly channels = new Map<number, Channel>();
  /** Resolves with the error that ended the connection. */
  readonly closed: Promise<NacreError>;
  private resolveClosed!: (e: NacreError) => void;
  private closeError: NacreError | null = null;
  private readonly opening = new Map<number, Pending<Channel> & { channel: Channel }>();
  private readonly globalReplies = new Map<number, Pending<{ success: boolean; data: Uint8Array }>>();

  constructor(
    socket: Duplex,
    options: SessionOptions,
    /** Receives every event not consumed here (auth, host key, channel opens, global requests...). */
    private readonly onEvent: (e: SessionEvent, self: NodeSession) => void,
  ) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.session = new Session(options);
    this.driver = new Driver(socket, this.session, (e) => this.dispatch(e));
  }

  get connection(): Connection {
    return this.session.connection;
  }

  /** Writers wait while the socket is full or a key exchange holds more than a socket's worth back. */
  get needsDrain(): boolean {
    return this.driver.needsDrain || this.session.transport.pendingBytes > WRITE_BUFFER_LIMIT;
  }

  onDrain(fn: () => void): void {
    this.driver.onDrain(fn);
  }

  run(): void {
    this.driver.run();
  }

  get error(): NacreError | null {
    return this.closeError;
  }

  /** Opens a channel; resolves once the peer confirms it. */
  openChannel(type: string, data: Uint8Array = new Uint8Array(0)): Promise<Channel> {
    if (this.closeError) return Promise.reject(this.closeError);
    let id: number;
    try {
      id = this.connection.openChannel(type, data);
    } catch (e) {
      return Promise.reject(e);
    }
    const channel = new Channel(this, id, type);
    this.channels.set(id, channel);
    const p = new Promise<Channel>((resolve, reject) => this.opening.set(id, { resolve, reject, channel }));
    this.run();
    return p;
  }

  /** Accepts an incoming channel open, returning it as a Duplex. */
  acceptChannel(id: number, type: string, opts: { windowSize?: number } = {}): Channel {
    const channel = new Channel(this, id, type);
    this.channels.set(id, channel);
    this.connection.acceptChannel(id, undefined, opts);
    this.run();
    return channel;
  }

  rejectChannel(id: number, reason: number, description: string): void {
    this.connection.rejectChannel(id, reason, description);
    this.run();
  }

  globalRequest(name: string, data: Uint8Array = new Uint8Array(0), wantReply = true): Promise<{ success: boolean; data: Uint8Array }> {
    if (this.closeError) return Promise.reject(this.closeError);
    const id = this.connection.globalRequest(name, wantReply, data);
    this.run();
    if (!wantReply) return Promise.resolve({ success: true, data: new Uint8Array(0) });
    return new Promise((resolve, reject) => this.globalReplies.set(id, { resolve, reject }));
  }

  answerGlobalRequest(id: number, success: boolean, data?: Uint8Array): void {
    this.connection.answerGlobalRequest(id, success, data);
    this.run();
  }

  disconnect(reason?: number, description?: string): void {
    this.session.disconnect(reason, description);
    this.run();
  }

  private dispatch(e: SessionEvent): void {
    switch (e.type) {
      case 'channel-open-confirmed': {
        const p = this.opening.get(e.channel);
        this.opening.delete(e.channel);
        p?.resolve(p.channel);
        return;
      }
      case 'channel-open-failed': {
        const p = this.opening.get(e.channel);
        this.opening.delete(e.channel);
        this.channels.delete(e.channel);
        p?.reject(new ChannelOpenError(e.description, e.reason));
        return;
      }
      case 'channel-data':
      case 'channel-writable':
      case 'channel-eof':
      case 'channel-request':
      case 'channel-request-reply':
      case 'channel-close': {
        const ch = this.channels.get(e.channel);
        if (e.type === 'channel-close') this.channels.delete(e.channel);
        if (ch) ch.handleEvent(e);
        else if (e.type === 'channel-data') this.connection.consumed(e.channel, e.data.length);
        else if (e.type === 'channel-request' && e.wantReply) this.connection.answerChannelRequest(e.channel, false);
        return;
      }
      case 'global-reply': {
        const p = this.globalReplies.get(e.id);
        this.globalReplies.delete(e.id);
        p?.resolve({ success: e.success, data: e.data });
        return;
      }
      case 'keys-exchanged':
        this.driver.wakeWriters();
        this.onEvent(e, this);
        return;
      case 'disconnected': {
        this.closeError = e.error;
        for (const p of this.opening.values()) p.reject(e.error);
        this.opening.clear();
        for (const p of this.globalReplies.values()) p.reject(e.error);
        this.globalReplies.clear();
        for (const ch of this.channels.values()) ch.handleEvent({ type: 'channel-close', channel: ch.id });
        this.channels.clear();
        this.onEvent(e, this);
        this.resolveClosed(e.error);
        return;
      }
      default:
        this.onEvent(e, this);
    }
  }
}
