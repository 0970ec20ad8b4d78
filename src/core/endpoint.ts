// The one object the I/O layer drives: transport, user authentication and the
// connection layer of one SSH connection, client or server side. Like the
// transport, it is sans-I/O: bytes and time in; bytes, events and a deadline out.
import { AuthenticationError, DisconnectReason, NacreError, ProtocolError, TimeoutError } from '../errors.js';
import type { Signer } from '../algorithms/types.js';
import type { AlgorithmLists } from '../algorithms/index.js';
import { Transport } from './transport/transport.js';
import type { TransportEvent } from './transport/events.js';
import type { RekeyLimits } from './kex/rekey.js';
import type { LayerIo } from './layer.js';
import { AuthClient } from './auth/client.js';
import { AuthServer } from './auth/server.js';
import type { AuthAnswer, AuthClientEvent, AuthClientOptions, AuthServerEvent, AuthServerOptions } from './auth/events.js';
import { Connection } from './connection/connection.js';
import type { ConnectionView } from './connection/connection.js';
import type { ConnectionEvent, ConnectionOptions } from './connection/events.js';
import { Unimplemented } from '../messages/transport.js';
import type { RandomSource } from '../algorithms/types.js';

/** Every event an endpoint reports; transport `message` events are consumed inside. */
export type EndpointEvent = Exclude<TransportEvent, { type: 'message' }> | AuthClientEvent | AuthServerEvent | ConnectionEvent;

export interface KeepaliveOptions {
  /** Idle time before a keepalive probe; 0 disables. */
  readonly intervalMs: number;
  /** Unanswered probes before the peer is declared gone (ServerAliveCountMax). */
  readonly countMax: number;
}

/**
 * A server's default `handshakeTimeoutMs`. A peer needs a few round trips for
 * its version line, KEXINIT and key exchange message (a GEX group request one
 * more): under 3 s on a 600 ms satellite path, plus at most a second or two of
 * DH on a slow device. 20 s leaves room for that and is a sixth of the 120 s
 * login grace time that otherwise holds a socket that sends nothing.
 */
export const DEFAULT_SERVER_HANDSHAKE_TIMEOUT_MS = 20_000;

/**
 * A client's default `identTimeoutMs`. An SSH server sends its version line
 * as soon as it accepts, before reading anything (RFC 4253 §4.2; sshd does),
 * so it arrives one network trip after the TCP connection: well under a
 * second even over a satellite link, plus a second or two for a forked sshd
 * on a loaded host. 10 s is several times that, and fails a peer that is not
 * an SSH server (an SMTP-style greeting, a service that waits for us, a dead
 * proxy) six times sooner than the 60 s `readyTimeout` of `connect()`.
 */
export const DEFAULT_CLIENT_IDENT_TIMEOUT_MS = 10_000;

interface CommonOptions {
  readonly random: RandomSource;
  readonly now: number;
  readonly algorithms: AlgorithmLists;
  readonly software?: string;
  readonly rekey?: Partial<RekeyLimits>;
  readonly connection?: ConnectionOptions;
  readonly keepalive?: KeepaliveOptions;
  /**
   * Time (ms) for the peer's version line and its part of the first key
   * exchange; 0 disables. Default: server 20 s, client none (`connect()`'s
   * `readyTimeout` bounds the whole login there).
   */
  readonly handshakeTimeoutMs?: number;
  /**
   * Time (ms) for the peer's identification (version) line; 0 disables.
   * Default: client 10 s (`DEFAULT_CLIENT_IDENT_TIMEOUT_MS`), server none
   * (`handshakeTimeoutMs` covers it). Missed, it ends the connection with a
   * VersionError quoting what the peer sent instead.
   */
  readonly identTimeoutMs?: number;
}

export interface ClientEndpointOptions extends CommonOptions {
  readonly role: 'client';
  readonly auth: AuthClientOptions;
  readonly guessFirstKex?: boolean;
}

export interface ServerEndpointOptions extends CommonOptions {
  readonly role: 'server';
  readonly hostKeys: readonly Signer[];
  readonly auth?: AuthServerOptions;
  readonly serverSigAlgs?: readonly string[];
}

export type EndpointOptions = ClientEndpointOptions | ServerEndpointOptions;

const NO_KEEPALIVE: KeepaliveOptions = { intervalMs: 0, countMax: 3 };

/**
 * One end of an SSH connection in the core: it owns the Transport, the user
 * authentication state machine and the Connection (channels), and is what
 * the Node layer (NodeEndpoint) drives. Named apart from the SSH "session"
 * channel, which is one channel of a connection.
 */
export class Endpoint {
  readonly role: 'client' | 'server';
  readonly transport: Transport;
  /** The connection layer's state; its commands are the endpoint's (they take the time). */
  readonly connection: ConnectionView;
  private readonly conn: Connection;
  private readonly authClient: AuthClient | null = null;
  private readonly authServer: AuthServer | null = null;
  private readonly events: EndpointEvent[] = [];
  private now: number;
  private authenticated = false;
  private serviceAccepted = false;
  private noMoreSessions = false;
  // keepalive
  private readonly keepalive: KeepaliveOptions;
  private lastHeard: number;
  private missedProbes = 0;
  /** Ids of our unanswered keepalive probes; made with the first probe (most connections never send one). */
  private probeIds: Set<number> | null = null;

  constructor(options: EndpointOptions) {
    this.role = options.role;
    this.now = options.now;
    this.lastHeard = options.now;
    this.keepalive = options.keepalive ?? NO_KEEPALIVE;
    this.transport = new Transport({
      role: options.role,
      random: options.random,
      now: options.now,
      algorithms: options.algorithms,
      ...(options.software ? { software: options.software } : {}),
      ...(options.rekey ? { rekey: options.rekey } : {}),
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? (options.role === 'server' ? DEFAULT_SERVER_HANDSHAKE_TIMEOUT_MS : 0),
      identTimeoutMs: options.identTimeoutMs ?? (options.role === 'client' ? DEFAULT_CLIENT_IDENT_TIMEOUT_MS : 0),
      ...(options.role === 'server' ? { hostKeys: options.hostKeys } : {}),
      ...(options.role === 'server' && options.serverSigAlgs ? { serverSigAlgs: options.serverSigAlgs } : {}),
      ...(options.role === 'client' && options.guessFirstKex ? { guessFirstKex: true } : {}),
    });
    const io = <E extends EndpointEvent>(): LayerIo<E> => ({
      send: (p, tail) => this.transport.send(this.now, p, tail),
      emit: (e) => this.onLayerEvent(e),
      fail: (err) => this.fail(err),
      now: () => this.now,
      random: options.random,
      sessionId: () => this.transport.sessionId ?? new Uint8Array(0),
      serverHostKey: () => this.transport.hostKey ?? new Uint8Array(0),
      peerExtensions: () => this.transport.peerExtensions,
      setAuthenticated: () => this.markAuthenticated(),
    });
    if (options.role === 'client') this.authClient = new AuthClient(io<AuthClientEvent>(), options.auth);
    else this.authServer = new AuthServer(io<AuthServerEvent>(), options.auth ?? {}, options.now);
    this.conn = new Connection(io<ConnectionEvent>(), options.connection ?? {});
    this.connection = this.conn;
  }

  // ------------------------------------------------------------------ I/O surface
  //
  // Every input takes the time it happens at (ms on the caller's clock), as
  // `handleTimeout` does: what it starts (a key exchange the peer begins, a
  // rekey by bytes, a reply) is timed from then, and a quiet connection's
  // clock is never as old as its last timer.

  /** Bytes received from the peer at `now`; `lent`: see Transport.receive. */
  receive(now: number, bytes: Uint8Array, lent = false): void {
    this.advance(now);
    this.lastHeard = this.now;
    this.missedProbes = 0;
    this.transport.receive(this.now, bytes, lent);
    this.drainTransport();
  }

  pollTransmit(): Uint8Array | null {
    return this.transport.pollTransmit();
  }

  pollEvent(): EndpointEvent | null {
    this.drainTransport();
    return this.events.shift() ?? null;
  }

  nextDeadline(): number | null {
    if (this.transport.isClosed) return null;
    const candidates = [this.transport.nextDeadline(), this.authServer?.nextDeadline() ?? null, this.keepaliveDeadline()];
    let min: number | null = null;
    for (const c of candidates) if (c !== null && (min === null || c < min)) min = c;
    return min;
  }

  handleTimeout(now: number): void {
    this.advance(now);
    if (this.transport.isClosed) return;
    this.guard(() => {
      this.transport.handleTimeout(this.now);
      this.authServer?.handleTimeout(this.now);
      this.checkKeepalive();
    });
    this.drainTransport();
  }

  get isClosed(): boolean {
    return this.transport.isClosed;
  }

  /** Ends the connection because of `error` (e.g. a handler above failed): DISCONNECT and a `disconnected` event. */
  abort(now: number, error: unknown): void {
    this.advance(now);
    this.fail(error);
    this.drainTransport();
  }

  /** The byte stream ended without a DISCONNECT. */
  connectionLost(now: number, description?: string): void {
    this.advance(now);
    this.transport.connectionLost(this.now, description);
    this.drainTransport();
  }

  get isAuthenticated(): boolean {
    return this.authenticated;
  }

  // ------------------------------------------------------------------ answers

  answerHostKey(now: number, accepted: boolean, fingerprint?: string): void {
    this.advance(now);
    this.transport.answerHostKey(this.now, accepted, fingerprint);
    this.drainTransport();
  }

  answerSign(now: number, id: number, signature: Uint8Array | null): void {
    this.advance(now);
    this.guard(() => this.requireClient().answerSign(id, signature));
  }

  answerPrompt(now: number, id: number, responses: readonly string[] | null): void {
    this.advance(now);
    this.guard(() => this.requireClient().answerPrompt(id, responses));
  }

  /** Answers an `auth-password` event: the password to send, or null to skip the method. */
  answerPassword(now: number, id: number, password: string | null): void {
    this.advance(now);
    this.guard(() => this.requireClient().answerPassword(id, password));
  }

  answerPasswordChange(now: number, id: number, newPassword: string | null): void {
    this.advance(now);
    this.guard(() => this.requireClient().answerPasswordChange(id, newPassword));
  }

  answerAuth(now: number, id: number, answer: AuthAnswer): void {
    this.advance(now);
    this.guard(() => this.requireServer().answerAuth(id, answer));
  }

  disconnect(now: number, reason: number = DisconnectReason.BY_APPLICATION, description = 'closed by application'): void {
    this.advance(now);
    this.transport.disconnect(this.now, reason as never, description);
    this.drainTransport();
  }

  // ------------------------------------------------------------------ transport commands

  /** Starts a key re-exchange now (no-op while one runs or before the first is done). */
  rekey(now: number): void {
    this.advance(now);
    this.transport.rekey(this.now);
    this.drainTransport();
  }

  /** Sends an IGNORE message (traffic padding; it also carries a TCP ACK at once). */
  ignore(now: number, data: Uint8Array = new Uint8Array(0)): void {
    this.advance(now);
    this.transport.ignore(this.now, data);
  }

  /** OpenSSH's transport ping; answered by a `pong` event when the peer supports it. */
  ping(now: number, data?: Uint8Array): void {
    this.advance(now);
    this.transport.ping(this.now, data);
  }

  // ------------------------------------------------------------------ connection commands
  // The Connection's commands with the time: they may send, and a send may
  // start a key exchange (rekey by bytes) that must be timed from now. They
  // throw as the Connection's do (a closed or unknown channel).

  openChannel(now: number, channelType: string, data?: Uint8Array, opts?: { windowSize?: number; maxPacket?: number }): number {
    this.advance(now);
    return this.conn.openChannel(channelType, data, opts);
  }

  acceptChannel(now: number, channel: number, data?: Uint8Array, opts?: { windowSize?: number; maxPacket?: number }): void {
    this.advance(now);
    this.conn.acceptChannel(channel, data, opts);
  }

  rejectChannel(now: number, channel: number, reason: number, description: string): void {
    this.advance(now);
    this.conn.rejectChannel(channel, reason, description);
  }

  /** Sends channel data as far as the peer's window allows; returns the bytes taken. */
  write(now: number, channel: number, data: Uint8Array, dataType?: number, prefix?: Uint8Array): number {
    this.advance(now);
    return this.conn.write(channel, data, dataType, prefix);
  }

  /** The application has consumed `bytes` of received data: the window may re-open. */
  consumed(now: number, channel: number, bytes: number): void {
    this.advance(now);
    this.conn.consumed(channel, bytes);
  }

  growWindow(now: number, channel: number, size?: number): number {
    this.advance(now);
    return this.conn.growWindow(channel, size);
  }

  eof(now: number, channel: number): void {
    this.advance(now);
    this.conn.eof(channel);
  }

  closeChannel(now: number, channel: number): void {
    this.advance(now);
    this.conn.close(channel);
  }

  channelRequest(now: number, channel: number, requestType: string, wantReply: boolean, data?: Uint8Array): void {
    this.advance(now);
    this.conn.channelRequest(channel, requestType, wantReply, data);
  }

  answerChannelRequest(now: number, channel: number, success: boolean): void {
    this.advance(now);
    this.conn.answerChannelRequest(channel, success);
  }

  globalRequest(now: number, name: string, wantReply: boolean, data?: Uint8Array): number {
    this.advance(now);
    return this.conn.globalRequest(name, wantReply, data);
  }

  answerGlobalRequest(now: number, id: number, success: boolean, data?: Uint8Array): void {
    this.advance(now);
    this.conn.answerGlobalRequest(id, success, data);
  }

  // ------------------------------------------------------------------ internals

  /** Moves the clock to `now`; an earlier reading (a clock stepped back) is ignored. */
  private advance(now: number): void {
    if (now > this.now) this.now = now;
  }

  private requireClient(): AuthClient {
    if (!this.authClient) throw new ProtocolError('client-side answer on a server endpoint');
    return this.authClient;
  }

  private requireServer(): AuthServer {
    if (!this.authServer) throw new ProtocolError('server-side answer on a client endpoint');
    return this.authServer;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
    this.drainTransport();
  }

  private fail(e: unknown): void {
    if (this.transport.isClosed) return;
    const err = e instanceof NacreError ? e : new ProtocolError(`internal error: ${(e as Error)?.message ?? String(e)}`, DisconnectReason.PROTOCOL_ERROR, { cause: e });
    this.transport.disconnect(this.now, err.reason, err.message);
    // The transport reports a DisconnectError; replace it with the real cause.
    // What the same read queued behind the bad message is dropped: the
    // connection is over, and acting on it could only throw again.
    for (let ev = this.transport.pollEvent(); ev; ev = this.transport.pollEvent()) {
      if (ev.type === 'disconnected') this.events.push({ type: 'disconnected', error: err, fromPeer: false });
    }
  }

  private markAuthenticated(): void {
    this.authenticated = true;
    this.transport.setAuthenticated();
  }

  private drainTransport(): void {
    for (let ev = this.transport.pollEvent(); ev; ev = this.transport.pollEvent()) {
      try {
        this.onTransportEvent(ev);
      } catch (e) {
        this.fail(e);
      }
    }
  }

  private onTransportEvent(ev: TransportEvent): void {
    switch (ev.type) {
      case 'keys-exchanged':
        if (ev.initial && this.role === 'client') this.transport.requestService(this.now, 'ssh-userauth');
        this.events.push(ev);
        return;
      case 'service-accept':
        if (this.role === 'client' && ev.service === 'ssh-userauth' && !this.serviceAccepted) {
          this.serviceAccepted = true;
          this.authClient!.start();
          return;
        }
        throw new ProtocolError(`unexpected SERVICE_ACCEPT for ${ev.service}`);
      case 'service-request':
        if (ev.service === 'ssh-userauth' && !this.serviceAccepted) {
          this.serviceAccepted = true;
          this.transport.acceptService(this.now, ev.service);
          return;
        }
        this.fail(new ProtocolError(`service ${ev.service} is not available`, DisconnectReason.SERVICE_NOT_AVAILABLE));
        return;
      case 'message':
        this.onMessage(ev.payload, ev.seq);
        return;
      case 'disconnected':
        // A server that gives up on us while we log in (sshd's "Too many
        // authentication failures", its login grace time) is an
        // authentication failure to the caller, with the DISCONNECT as cause.
        if (ev.fromPeer && this.authClient && this.serviceAccepted && !this.authenticated && !this.authClient.done) {
          const why = ev.error.message;
          const error = new AuthenticationError(`the server closed the connection during authentication: ${why}`, [...this.authClient.tried], [...this.authClient.allowedMethods], ev.error.reason, { cause: ev.error });
          this.events.push({ type: 'disconnected', error, fromPeer: true });
          return;
        }
        this.events.push(ev);
        return;
      default:
        this.events.push(ev);
    }
  }

  private onMessage(payload: Uint8Array, seq: number): void {
    const type = payload[0]!;
    if (type >= 50 && type <= 79) {
      if (!this.serviceAccepted) throw new ProtocolError(`authentication message ${type} before the ssh-userauth service`);
      if (this.authClient) this.authClient.handle(payload);
      else this.authServer!.handle(payload);
      return;
    }
    if (type >= 80 && type <= 127) {
      if (!this.authenticated) throw new ProtocolError(`connection message ${type} before authentication`);
      this.conn.handle(payload);
      return;
    }
    // Reserved and local-extension numbers: tell the peer we do not know them.
    this.transport.send(this.now, Unimplemented.encode({ sequence: seq }));
  }

  private onLayerEvent(e: EndpointEvent): void {
    // Requests the endpoint answers itself, as OpenSSH does.
    if (e.type === 'global-request') {
      if (e.name === 'keepalive@openssh.com') {
        if (e.wantReply) this.conn.answerGlobalRequest(e.id, false);
        return;
      }
      if (e.name === 'no-more-sessions@openssh.com') {
        this.noMoreSessions = true;
        if (e.wantReply) this.conn.answerGlobalRequest(e.id, true);
        return;
      }
    }
    if (e.type === 'global-reply' && this.probeIds?.delete(e.id)) return;
    if (e.type === 'channel-open-request' && e.channelType === 'session' && this.noMoreSessions && this.role === 'server') {
      this.conn.rejectChannel(e.channel, 1, 'no more sessions');
      return;
    }
    this.events.push(e);
  }

  // ------------------------------------------------------------------ keepalive

  private keepaliveDeadline(): number | null {
    if (this.keepalive.intervalMs <= 0 || !this.authenticated) return null;
    return this.lastHeard + this.keepalive.intervalMs * (this.missedProbes + 1);
  }

  private checkKeepalive(): void {
    const deadline = this.keepaliveDeadline();
    if (deadline === null || this.now < deadline) return;
    if (this.missedProbes >= this.keepalive.countMax) {
      throw new TimeoutError('keepalive (peer stopped answering)', this.keepalive.intervalMs * (this.missedProbes + 1));
    }
    this.missedProbes++;
    (this.probeIds ??= new Set()).add(this.conn.globalRequest('keepalive@openssh.com', true));
  }
}
