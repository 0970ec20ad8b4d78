// An Endpoint (the sans-I/O core of one connection) running over a Node Duplex, with channels as Duplex streams and
// requests as promises. The client and server APIs are built on this.
import type { Duplex } from 'node:stream';
import { ProtocolError, TimeoutError, type NacreError } from '../../errors.js';
import { Endpoint, type EndpointEvent, type EndpointOptions } from '../../core/endpoint.js';
import { Driver, WRITE_BUFFER_LIMIT, clockNow } from './driver.js';
import { Channel, type ChannelHost } from './channel.js';
import type { ConnectionView } from '../../core/connection/connection.js';
import { Registries, type ChannelOpenHandler, type GlobalReply, type GlobalRequestHandler } from './registries.js';

export class ChannelOpenError extends ProtocolError {
  readonly openReason: number;
  constructor(description: string, openReason: number) {
    super(`channel open failed: ${description || 'no reason given'} (code ${openReason})`);
    this.openReason = openReason;
  }
}

/**
 * How long to wait for the peer's answer to a CHANNEL_OPEN, and to a
 * GLOBAL_REQUEST that wants a reply, in milliseconds; 0 waits forever.
 * Without a limit, a peer that never answers but keeps the connection
 * alive (an IGNORE now and then satisfies keepalives) holds the caller's
 * promise forever.
 */
export interface ReplyTimeouts {
  readonly channelOpen?: number;
  readonly globalRequest?: number;
  /** A channel request that wants a reply (exec, shell, pty-req, env, subsystem ...). */
  readonly channelRequest?: number;
}

/**
 * 60 s. OpenSSH has no such limit and relies on ServerAliveInterval, which a
 * live but silent-on-purpose peer satisfies. A direct-tcpip open waits for the
 * server's own TCP connect, which on an unroutable target takes up to ~2 min
 * of SYN retries on Linux before the server answers OPEN_FAILURE; 60 s lets
 * every target that answers at all succeed, and fails a stuck one within the
 * same time connect()'s readyTimeout allows for a whole login.
 */
export const DEFAULT_CHANNEL_OPEN_TIMEOUT = 60_000;
/** 60 s: a tcpip-forward reply needs only a bind() on the server; see DEFAULT_CHANNEL_OPEN_TIMEOUT. */
export const DEFAULT_GLOBAL_REQUEST_TIMEOUT = 60_000;
/**
 * 60 s: a server answers exec or shell once the program has started (sshd
 * forks first); a PAM session or a slow home directory mount can take a few
 * seconds, never a minute.
 */
export const DEFAULT_CHANNEL_REQUEST_TIMEOUT = 60_000;

/** The longest delay setTimeout takes without firing at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Throws a RangeError unless `ms` is a whole number of milliseconds a timer can wait (0: no limit). */
export function checkReplyTimeout(ms: number, what: string): number {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TIMER_MS) throw new RangeError(`${what} must be an integer in 0..${MAX_TIMER_MS} (ms), got ${ms}`);
  return ms;
}

/** A reply we wait for, with the timer that gives up on it (null: no limit). */
type Pending<T> = { resolve: (v: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout | null };

/**
 * What opening a channel needs of a connection: the client's exec/spawn and
 * `-L` forwarding take this, not the Client, so they stay below it.
 */
export interface ChannelOpener {
  openChannel(type: string, data?: Uint8Array): Promise<Channel>;
  /** The error that ended the connection, or null while it is up. */
  readonly error: NacreError | null;
}

export class NodeEndpoint implements ChannelHost, ChannelOpener {
  readonly endpoint: Endpoint;
  readonly driver: Driver<EndpointEvent>;
  readonly channels = new Map<number, Channel>();
  /**
   * Resolves once the connection is over: with the error that ended it, or
   * null when we ended it ourselves (`disconnect`), which is no error.
   */
  readonly closed: Promise<NacreError | null>;
  private resolveClosed!: (e: NacreError | null) => void;
  private closeError: NacreError | null = null;
  /** Whether our own `disconnect()` ended the connection. */
  private closedByUs = false;
  // The tables below are made when first written: an idle connection leaves
  // them empty, and each empty Map or Set is ~0.2 KiB it would keep.
  private openingTable: Map<number, Pending<Channel> & { channel: Channel }> | null = null;
  private globalReplyTable: Map<number, Pending<GlobalReply>> | null = null;
  private lateGlobalReplyTable: Map<number, (reply: GlobalReply) => void> | null = null;
  private closeListenerSet: Set<() => void> | null = null;
  private get opening(): Map<number, Pending<Channel> & { channel: Channel }> {
    return (this.openingTable ??= new Map());
  }
  private get globalReplies(): Map<number, Pending<GlobalReply>> {
    return (this.globalReplyTable ??= new Map());
  }
  /** Requests we gave up on, by id, with what to do should their reply still come. */
  private get lateGlobalReplies(): Map<number, (reply: GlobalReply) => void> {
    return (this.lateGlobalReplyTable ??= new Map());
  }
  private get closeListeners(): Set<() => void> {
    return (this.closeListenerSet ??= new Set());
  }
  private readonly channelOpenMs: number;
  private readonly globalRequestMs: number;
  readonly channelRequestMs: number;
  private readonly registries: Registries;
  /** Handlers of the channel types the peer may open, by type; other types are refused as unknown. */
  readonly channelOpenHandlers: Map<string, ChannelOpenHandler>;
  /** Handlers of the peer's global requests, by name; other names get REQUEST_FAILURE. */
  readonly globalRequestHandlers: Map<string, GlobalRequestHandler>;
  /** Sets (or with null removes) the handler of a channel type the peer may open: Client and ServerConnection's `handleChannelOpen`. */
  handleChannelOpen(type: string, handler: ChannelOpenHandler | null): void {
    if (handler) this.channelOpenHandlers.set(type, handler);
    else this.channelOpenHandlers.delete(type);
  }

  /** Sets (or with null removes) the handler of the peer's global requests named `name`. */
  handleGlobalRequest(name: string, handler: GlobalRequestHandler | null): void {
    if (handler) this.globalRequestHandlers.set(name, handler);
    else this.globalRequestHandlers.delete(name);
  }

  /** Receives what channel-open and global-request handlers throw (ProtocolErrors from malformed data excepted). */
  reportHandlerError: (e: unknown) => void = () => undefined;

  constructor(
    socket: Duplex,
    options: EndpointOptions,
    /**
     * Receives every event not consumed here (auth, host key, ...). Channel
     * opens and global requests are answered by the handlers registered
     * here; global requests then come to `onEvent` too, as notices.
     */
    private readonly onEvent: (e: EndpointEvent, self: NodeEndpoint) => void,
    timeouts: ReplyTimeouts = {},
  ) {
    this.channelOpenMs = checkReplyTimeout(timeouts.channelOpen ?? DEFAULT_CHANNEL_OPEN_TIMEOUT, 'channelOpenTimeout');
    this.globalRequestMs = checkReplyTimeout(timeouts.globalRequest ?? DEFAULT_GLOBAL_REQUEST_TIMEOUT, 'globalRequestTimeout');
    this.channelRequestMs = checkReplyTimeout(timeouts.channelRequest ?? DEFAULT_CHANNEL_REQUEST_TIMEOUT, 'channelRequestTimeout');
    this.closed = new Promise((r) => (this.resolveClosed = r));
    // Our handlers get as long to answer the peer as the peer gets to answer us.
    this.registries = new Registries(this, (e) => this.reportHandlerError(e), { channelOpen: this.channelOpenMs, globalRequest: this.globalRequestMs });
    this.channelOpenHandlers = this.registries.channelOpen;
    this.globalRequestHandlers = this.registries.globalRequest;
    this.endpoint = new Endpoint(options);
    this.driver = new Driver(socket, this.endpoint, (e) => this.dispatch(e));
  }

  get connection(): ConnectionView {
    return this.endpoint.connection;
  }

  /** The clock every command on `endpoint` is given (the driver's). */
  now(): number {
    return clockNow();
  }

  /** Writers wait while the socket is full or a key exchange holds more than a socket's worth back. */
  get needsDrain(): boolean {
    return this.driver.needsDrain || this.endpoint.transport.pendingBytes > WRITE_BUFFER_LIMIT;
  }

  onDrain(fn: () => void): void {
    this.driver.onDrain(fn);
  }

  run(): void {
    this.driver.run();
  }

  /** The error that ended the connection (also a close we asked for: a DisconnectError), or null while it is up. */
  get error(): NacreError | null {
    return this.closeError;
  }

  /** Why the connection ended, for the application: null while it is up or when we ended it ourselves. */
  get endError(): NacreError | null {
    return this.closedByUs ? null : this.closeError;
  }

  /**
   * Calls `fn` once when the connection ends (at once if it has); returns a
   * function that removes it, so a short-lived user (a closed forward) is
   * not kept alive until the connection ends, as a callback on `closed` is.
   */
  onClose(fn: () => void): () => void {
    if (this.closeError) {
      fn();
      return () => undefined;
    }
    this.closeListeners.add(fn);
    return () => this.closeListenerSet?.delete(fn);
  }

  /**
   * Opens a channel; resolves once the peer confirms it, rejects with
   * ChannelOpenError when it refuses and with TimeoutError (phase
   * `channel open <type>`) when it has not answered in time.
   */
  /** @internal The client's `debug` option (ssh -v): channel opens are reported to it. */
  trace: ((level: 1 | 2 | 3, message: string) => void) | null = null;

  openChannel(type: string, data: Uint8Array = new Uint8Array(0)): Promise<Channel> {
    if (this.closeError) return Promise.reject(this.closeError);
    let id: number;
    try {
      id = this.endpoint.openChannel(clockNow(), type, data);
    } catch (e) {
      return Promise.reject(e);
    }
    const channel = new Channel(this, id, type);
    this.channels.set(id, channel);
    this.trace?.(1, `channel ${id}: new ${type}`);
    const p = new Promise<Channel>((resolve, reject) => {
      const timer = this.startTimer(this.channelOpenMs, () => this.channelOpenTimedOut(id));
      this.opening.set(id, { resolve, reject, channel, timer });
    });
    this.run();
    return p;
  }

  /**
   * Gives up on an open the peer has not answered. The channel number stays
   * taken in the core until the peer answers, since a late answer names it:
   * destroying the stream asks the core to CLOSE the channel on a late
   * confirmation, and a late failure frees it; either ends as a
   * `channel-close` that finds no stream here.
   */
  private channelOpenTimedOut(id: number): void {
    const p = this.openingTable?.get(id);
    if (!p) return;
    this.openingTable?.delete(id);
    this.channels.delete(id);
    p.channel.destroy();
    p.reject(new TimeoutError(`channel open ${p.channel.channelType}`, this.channelOpenMs));
  }

  /** A timer that does not keep the process alive; none when `ms` is 0 (no limit). */
  private startTimer(ms: number, fn: () => void): NodeJS.Timeout | null {
    if (ms === 0) return null;
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  }

  /** Accepts an incoming channel open, returning it as a Duplex. */
  acceptChannel(id: number, type: string, opts: { windowSize?: number } = {}): Channel {
    // The core first: if it refuses (a bad windowSize), no stream is left behind.
    // Nothing arrives for the channel before the confirmation leaves.
    this.endpoint.acceptChannel(clockNow(), id, undefined, opts);
    const channel = new Channel(this, id, type);
    this.channels.set(id, channel);
    this.trace?.(1, `channel ${id}: new ${type}`);
    this.run();
    return channel;
  }

  rejectChannel(id: number, reason: number, description: string): void {
    this.endpoint.rejectChannel(clockNow(), id, reason, description);
    this.run();
  }

  /**
   * Sends a global request. With `wantReply`, resolves with the peer's reply
   * or rejects with TimeoutError (phase `global request <name>`) when none
   * came in time; `onLateReply` then receives the reply should it still
   * come (say, to undo what a late success did). Replies carry no id and
   * match requests by order, so a request given up on still takes its reply.
   */
  globalRequest(name: string, data: Uint8Array = new Uint8Array(0), wantReply = true, onLateReply?: (reply: GlobalReply) => void): Promise<GlobalReply> {
    if (this.closeError) return Promise.reject(this.closeError);
    let id: number;
    try {
      id = this.endpoint.globalRequest(clockNow(), name, wantReply, data);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!wantReply) {
      this.run();
      return Promise.resolve({ success: true, data: new Uint8Array(0) });
    }
    // Registered before run(): the connection may end while the request is written.
    const p = new Promise<GlobalReply>((resolve, reject) => {
      const timer = this.startTimer(this.globalRequestMs, () => this.globalRequestTimedOut(id, name, onLateReply));
      this.globalReplies.set(id, { resolve, reject, timer });
    });
    this.run();
    return p;
  }

  private globalRequestTimedOut(id: number, name: string, onLateReply?: (reply: GlobalReply) => void): void {
    const p = this.globalReplyTable?.get(id);
    if (!p) return;
    this.globalReplyTable?.delete(id);
    if (onLateReply) this.lateGlobalReplies.set(id, onLateReply);
    p.reject(new TimeoutError(`global request ${name}`, this.globalRequestMs));
  }

  answerGlobalRequest(id: number, success: boolean, data?: Uint8Array): void {
    this.endpoint.answerGlobalRequest(clockNow(), id, success, data);
    this.run();
  }

  /** Ends the connection; `closed` then resolves with null (a close we asked for). */
  disconnect(reason?: number, description?: string): void {
    // Only a connection still up is ended by this call (the core closes at
    // once, before any other input can end it another way).
    if (!this.closeError && !this.endpoint.isClosed) this.closedByUs = true;
    this.endpoint.disconnect(clockNow(), reason, description);
    this.run();
  }

  private dispatch(e: EndpointEvent): void {
    switch (e.type) {
      case 'channel-open-confirmed': {
        this.trace?.(2, `channel ${e.channel}: open confirm`);
        const p = this.openingTable?.get(e.channel);
        this.openingTable?.delete(e.channel);
        if (p?.timer) clearTimeout(p.timer);
        p?.resolve(p.channel);
        return;
      }
      case 'channel-open-failed': {
        this.trace?.(1, `channel ${e.channel}: open failed: ${e.description}`);
        const p = this.openingTable?.get(e.channel);
        this.openingTable?.delete(e.channel);
        this.channels.delete(e.channel);
        if (p?.timer) clearTimeout(p.timer);
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
        else if (e.type === 'channel-data') this.endpoint.consumed(clockNow(), e.channel, e.data.length);
        else if (e.type === 'channel-request' && e.wantReply) this.endpoint.answerChannelRequest(clockNow(), e.channel, false);
        return;
      }
      case 'global-reply': {
        const p = this.globalReplyTable?.get(e.id);
        this.globalReplyTable?.delete(e.id);
        if (p?.timer) clearTimeout(p.timer);
        p?.resolve({ success: e.success, data: e.data });
        const late = this.lateGlobalReplyTable?.get(e.id);
        this.lateGlobalReplyTable?.delete(e.id);
        late?.({ success: e.success, data: e.data });
        return;
      }
      case 'channel-open-request':
        this.registries.openChannel(e.channel, e.channelType, e.data);
        return;
      case 'global-request':
        this.registries.request(e.id, e.name, e.wantReply, e.data);
        this.onEvent(e, this);
        return;
      case 'keys-exchanged':
        this.driver.wakeWriters();
        this.onEvent(e, this);
        return;
      case 'disconnected':
        this.ended(e);
        return;
      default:
        this.onEvent(e, this);
    }
  }

  /**
   * The connection is over: every pending promise rejects, every timer goes,
   * every channel closes. Channel streams run their users' listeners here; a
   * throwing one must not leave the other channels open or `closed` pending,
   * so each step runs whatever an earlier one did. The error has nothing left
   * to end (the connection is gone), so it is dropped.
   */
  private ended(e: Extract<EndpointEvent, { type: 'disconnected' }>): void {
    this.closeError = e.error;
    for (const p of [...(this.openingTable?.values() ?? []), ...(this.globalReplyTable?.values() ?? [])]) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(e.error);
    }
    this.openingTable = this.globalReplyTable = this.lateGlobalReplyTable = null;
    const channels = [...this.channels.values()];
    this.channels.clear();
    for (const ch of channels) {
      try {
        ch.handleEvent({ type: 'channel-close', channel: ch.id });
      } catch {
        // see above
      }
    }
    const listeners = [...(this.closeListenerSet ?? [])];
    this.closeListenerSet = null;
    for (const fn of listeners) {
      try {
        fn();
      } catch {
        // see above
      }
    }
    try {
      this.onEvent(e, this);
    } finally {
      this.resolveClosed(this.endError);
    }
  }
}
