// `createServer()`: an SSH server whose every decision is a small handler that
// refuses by default. Each connection is a NodeEndpoint (the sans-I/O Endpoint
// over a Duplex); this file wires its events to the handlers, keeps the
// connection limits (the options are in options.ts, the connection object in
// server-connection.ts), and makes sure nothing a client sends can throw out of
// the server or raise an unhandled 'error' event.
import { formatVersionLine } from '../core/transport/version.js';
import { EventEmitter } from 'node:events';
import { createServer as netCreateServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { DisconnectError, DisconnectReason, NacreError } from '../errors.js';
import type { Signer } from '../algorithms/types.js';
import { defaultAlgorithmLists, type AlgorithmLists } from '../algorithms/index.js';
import type { NegotiatedAlgorithms } from '../core/kex/negotiate.js';
import { DEFAULT_SERVER_HANDSHAKE_TIMEOUT_MS, type EndpointEvent } from '../core/endpoint.js';
import { NodeEndpoint } from '../io/node/node-endpoint.js';
import type { IncomingChannelOpen } from '../io/node/registries.js';
import { pooledRandom } from './random-pool.js';
import { clockNow } from '../io/node/driver.js';
import { OpenFailureReason } from '../messages/connection.js';
import { AuthAdapter, type PublicKeyInfo } from './auth.js';
import { SessionChannel, type SessionPeer } from './session-channel.js';
import { DEFAULT_MAX_FORWARDED_SOCKETS, Forwarding } from './forwarding.js';
import { hostKeySigners } from './host-certificates.js';
import { HOSTKEYS_PROVE_REQUEST, HOSTKEYS_REQUEST, MAX_PROOF_REQUESTS, announcedHostKeys, answerHostKeysProve, hostKeysAnnouncement } from './host-key-announce.js';
import { DEFAULT_MAX_STARTUPS_PER_SOURCE, checkMaxStartups } from './startups.js';
import { Admission, type AdmittedConnection } from './admission.js';
import type { PenaltyKind } from '../core/admission/penalties.js';
import { DEFAULT_MAX_SESSIONS, startupLimits, type ServerOptions } from './options.js';
import { ServerConnection, type ConnectionInfo } from './server-connection.js';

// The options and the connection object live in their own files; their names stay importable from here.
export { DEFAULT_MAX_SESSIONS, DEFAULT_MAX_UNAUTHENTICATED, type ServerOptions } from './options.js';
export { ServerConnection, type ConnectionInfo } from './server-connection.js';

/**
 * The window a session channel has before its shell, command or subsystem
 * starts (then it grows to the connection's window): data sent earlier has no
 * reader, so a client opening many idle sessions cannot make us hold much.
 */
const SESSION_WINDOW_BEFORE_START = 64 * 1024;

export interface ServerEvents {
  /** A connection was accepted (before key exchange). */
  connection: [connection: ServerConnection];
  /** A key exchange (first or re-) completed. */
  'keys-exchanged': [connection: ServerConnection, info: { readonly initial: boolean; readonly algorithms: NegotiatedAlgorithms }];
  /** `publicKey`: for a publickey login, the key whose signature Nacre verified. */
  authenticated: [connection: ServerConnection, info: { readonly username: string; readonly method: string; readonly publicKey?: PublicKeyInfo }];
  /** A connection ended; `error` says why (a DisconnectError when the client ended it), null when the server closed it. */
  disconnect: [connection: ServerConnection, error: NacreError | null];
  /** A connection over the limits was turned away. */
  refused: [info: ConnectionInfo, reason: string];
  /**
   * Something went wrong in one connection (a protocol error, a throwing
   * handler) or in the listener. Only emitted when someone listens: a server
   * never dies of an unhandled 'error'.
   */
  error: [error: Error, connection: ServerConnection | null];
  listening: [address: AddressInfo];
  /** The server closed: not listening, every connection gone. */
  close: [];
}

export class Server extends EventEmitter<ServerEvents> implements AsyncDisposable {
  readonly connections = new Set<ServerConnection>();
  private netServer: NetServer | null = null;
  private closing = false;
  private readonly admission: Admission;
  /** The host keys, then a signer per host certificate. */
  private readonly hostSigners: readonly Signer[];
  /** The plain host keys told to clients after login (`announceHostKeys`), and their hostkeys-00 data; none when off. */
  private readonly announced: readonly Signer[];
  private readonly announcement: Uint8Array | null;
  /**
   * The algorithm lists, resolved once: every connection's KEXINIT carries
   * them (and the key exchange keeps its encoded KEXINIT per lists object).
   */
  private algorithmLists: AlgorithmLists | null = null;

  constructor(readonly options: ServerOptions) {
    super();
    if (!options.hostKeys || options.hostKeys.length === 0) throw new TypeError('createServer: at least one host key is required');
    this.hostSigners = hostKeySigners(options.hostKeys, options.hostCertificates ?? []);
    this.announced = options.announceHostKeys === false ? [] : announcedHostKeys(options.hostKeys);
    this.announcement = this.announced.length > 0 ? hostKeysAnnouncement(this.announced) : null;
    // Checked here: a bad version string would otherwise fail every connection, after accept.
    if (options.software !== undefined) {
      try {
        formatVersionLine(options.software);
      } catch (err) {
        throw new RangeError(`createServer: software: ${(err as Error).message}`);
      }
    }
    const limits = startupLimits(options);
    const perSource = options.maxStartupsPerSource ?? DEFAULT_MAX_STARTUPS_PER_SOURCE;
    checkMaxStartups(limits, perSource);
    this.admission = new Admission({
      limits,
      perSource,
      random: options.earlyDropRandom ?? cryptoUnitRandom,
      ...(options.perSourcePenalties !== undefined ? { penalties: options.perSourcePenalties } : {}),
      ...(options.penaltyExempt ? { exempt: options.penaltyExempt } : {}),
      ...(options.perSourceNetBlockSize ? { netBlockSize: options.perSourceNetBlockSize } : {}),
      now: clockNow,
    });
  }

  /** Connections still before authentication, in all or from the address block of `address`. */
  unauthenticated(address?: string): number {
    return this.admission.count(address);
  }

  /**
   * Adds a per-source penalty of `kind` to `address`'s block, for what the
   * server cannot see itself (`refuseconnection` when the application's policy
   * turned a connection away); nothing when `perSourcePenalties` is off.
   */
  penalise(address: string | undefined, kind: PenaltyKind): void {
    this.admission.penalise(address, kind);
  }

  /** Listens on TCP; resolves with the bound address. Port 0 picks a free one. */
  listen(port = 22, host = '127.0.0.1'): Promise<AddressInfo> {
    if (this.netServer) return Promise.reject(new Error('the server is already listening'));
    const net = netCreateServer({ allowHalfOpen: false }, (socket: Socket) => {
      socket.setNoDelay(true);
      // Like sshd's TCPKeepAlive: a vanished client does not hold a connection forever.
      socket.setKeepAlive(true, 60_000);
      this.handleConnection(socket, {
        remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort,
        localAddress: socket.localAddress,
        localPort: socket.localPort,
      });
    });
    this.netServer = net;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        this.netServer = null;
        reject(err);
      };
      net.once('error', onError);
      net.listen(port, host, () => {
        net.off('error', onError);
        net.on('error', (err) => this.report(err, null));
        const a = net.address() as AddressInfo;
        this.emit('listening', a);
        resolve(a);
      });
    });
  }

  /** The listening address, or null when not listening. */
  address(): AddressInfo | null {
    const a = this.netServer?.address();
    return a && typeof a === 'object' ? a : null;
  }

  /** Runs the SSH server side over any Duplex (a socket, a pipe, a test pair). */
  handleConnection(stream: Duplex, info: ConnectionInfo = {}): ServerConnection | null {
    const o = this.options;
    stream.on('error', () => undefined);
    const overLimit = this.refusal(info);
    let conn: ServerConnection;
    // Events only arrive after this method returns, by which time this is set.
    let handler: (e: EndpointEvent) => void = () => undefined;
    try {
      const node = new NodeEndpoint(
        stream,
        {
          role: 'server',
          random: serverRandom,
          now: clockNow(),
          // Bad preferences throw here, failing the connection as before (not createServer).
          algorithms: (this.algorithmLists ??= defaultAlgorithmLists(o.algorithms)),
          hostKeys: this.hostSigners,
          ...(o.auth ? { auth: o.auth } : {}),
          ...(o.rekey ? { rekey: o.rekey } : {}),
          ...(o.keepalive ? { keepalive: o.keepalive } : {}),
          ...(o.connection ? { connection: o.connection } : {}),
          ...(o.software ? { software: o.software } : {}),
          handshakeTimeoutMs: o.handshakeTimeoutMs ?? DEFAULT_SERVER_HANDSHAKE_TIMEOUT_MS,
        },
        (e) => handler(e),
      );
      conn = ServerConnection.create(node, info);
    } catch (e) {
      this.report(e, null);
      stream.destroy();
      return null;
    }
    if (overLimit) {
      // Our version line, KEXINIT and DISCONNECT go out in clear; then the socket closes.
      conn.node.disconnect(DisconnectReason.TOO_MANY_CONNECTIONS, overLimit);
      this.safeEmit('refused', info, overLimit);
      return null;
    }
    const c = conn;
    handler = this.attach(conn, this.admission.admit(info.remoteAddress, () => c.node.disconnect(DisconnectReason.TOO_MANY_CONNECTIONS, 'slot given to a connection from another address')));
    this.connections.add(conn);
    this.safeEmit('connection', conn);
    conn.node.run();
    return conn;
  }

  /** Why a new connection is turned away, or null to accept it. */
  private refusal(info: ConnectionInfo): string | null {
    if (this.closing) return 'server is shutting down';
    const max = this.options.maxConnections;
    if (max !== undefined && this.connections.size >= max) return 'too many connections';
    return this.admission.refusal(info.remoteAddress);
  }

  /** Stops listening, disconnects every client, and resolves once all are gone. */
  async close(): Promise<void> {
    this.closing = true;
    const net = this.netServer;
    this.netServer = null;
    const stopped = net ? new Promise<void>((r) => net.close(() => r())) : Promise.resolve();
    await Promise.all([...this.connections].map((c) => c.close(DisconnectReason.BY_APPLICATION, 'server shutting down')));
    await stopped;
    // Like net.Server: a closed server may listen again.
    this.closing = false;
    this.safeEmit('close');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal */
  report(e: unknown, conn: ServerConnection | null): void {
    if (this.listenerCount('error') === 0) return;
    const err = e instanceof Error ? e : new Error(String(e));
    try {
      this.emit('error', err, conn);
    } catch {
      // a throwing 'error' listener must not take the connection down
    }
  }

  private safeEmit<K extends keyof ServerEvents>(name: K, ...args: ServerEvents[K]): void {
    try {
      (this.emit as (n: K, ...a: ServerEvents[K]) => boolean)(name, ...args);
    } catch (e) {
      if (name !== 'error') this.report(e, null);
    }
  }

  /** Builds the per-connection event handler; `admitted` is told of its progress (unauthenticated count, penalties). */
  private attach(conn: ServerConnection, admitted: AdmittedConnection): (e: EndpointEvent) => void {
    const o = this.options;
    const node = conn.node;
    const report = (e: unknown) => this.report(e, conn);
    const auth = new AuthAdapter(
      {
        answer: (id, answer) => {
          if (node.error) return;
          node.endpoint.answerAuth(node.now(), id, answer);
          node.run();
        },
        remoteAddress: conn.remoteAddress,
        remotePort: conn.remotePort,
        localAddress: conn.localAddress,
        localPort: conn.localPort,
        reportError: report,
      },
      o.authenticate,
    );
    node.reportHandlerError = report;
    const forwarding = new Forwarding(node, o, () => conn.username ?? '', report, o.maxForwardedSockets ?? DEFAULT_MAX_FORWARDED_SOCKETS, () => conn.restrictions, conn);
    const peer = (): SessionPeer => ({
      username: conn.username ?? '',
      remoteAddress: conn.remoteAddress,
      remotePort: conn.remotePort,
      localAddress: conn.localAddress,
      localPort: conn.localPort,
      restrictions: conn.restrictions,
      openChannel: (type, data) => conn.openChannel(type, data),
    });

    const maxSessions = o.maxSessions ?? DEFAULT_MAX_SESSIONS;
    let sessions = 0;
    const openSession = (open: IncomingChannelOpen) => {
      if (!o.session) {
        open.reject(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, 'sessions are not permitted');
        return;
      }
      // Each session may run a program (a process and its pipes or terminal),
      // so their number is bounded before the channel is accepted.
      if (sessions >= maxSessions) {
        open.reject(OpenFailureReason.RESOURCE_SHORTAGE, `too many sessions (at most ${maxSessions} on one connection)`);
        return;
      }
      // Until a program is there to read it, the client may send only a little.
      const raw = open.accept({ windowSize: SESSION_WINDOW_BEFORE_START });
      sessions++;
      // The slot is free once the channel is closed on both sides (or the connection is gone).
      raw.once('channel-close', () => sessions--);
      const s = new SessionChannel(raw, peer(), report);
      try {
        const result = o.session(s);
        // Requests wait until an async `session` callback has set its handlers.
        if (result && typeof result.then === 'function') s.waitFor(result.then(undefined, report));
      } catch (e) {
        report(e);
      }
    };
    // What a client may open or ask; the rest is refused as unknown.
    node.channelOpenHandlers.set('session', openSession);
    forwarding.register(node.channelOpenHandlers, node.globalRequestHandlers);
    const announced = this.announced;
    const announcement = this.announcement;
    if (announcement) {
      // A few answers per connection: each costs a signature per host key, and the event loop is every connection's.
      let proofsLeft = MAX_PROOF_REQUESTS;
      node.globalRequestHandlers.set(HOSTKEYS_PROVE_REQUEST, ({ data }) => {
        const sessionId = node.endpoint.transport.sessionId;
        if (!sessionId || !conn.algorithms || proofsLeft <= 0) return false;
        proofsLeft--;
        return answerHostKeysProve(announced, data, sessionId, conn.algorithms.hostKey);
      });
    }

    return (e: EndpointEvent) => {
      try {
        switch (e.type) {
          case 'keys-exchanged':
            conn.algorithms = e.algorithms;
            conn.keyExchanges++;
            admitted.keyed();
            this.safeEmit('keys-exchanged', conn, { initial: e.initial, algorithms: e.algorithms });
            return;
          case 'auth-request':
            admitted.attempted(e.method);
            auth.handle(e);
            return;
          case 'auth-success':
            // The client-side event of the same name carries no username.
            if (!('username' in e)) return;
            conn.username = e.username;
            conn.restrictions = auth.restrictions;
            admitted.authenticated();
            // As sshd: the host keys go out first after the login, no reply wanted.
            if (announcement) void conn.globalRequest(HOSTKEYS_REQUEST, announcement, false).catch(() => undefined);
            this.safeEmit('authenticated', conn, {
              username: e.username,
              method: e.method,
              ...(e.publicKey ? { publicKey: auth.keyInfo(e.publicKey.algorithm, e.publicKey.blob, e.publicKey.securityKey) } : {}),
            });
            auth.loggedIn();
            return;
          case 'disconnected':
            admitted.ended(node.endError, this.closing);
            auth.close();
            forwarding.close();
            this.connections.delete(conn);
            if (!(e.error instanceof DisconnectError)) report(e.error);
            this.safeEmit('disconnect', conn, node.endError);
            return;
          default:
            return;
        }
      } catch (err) {
        report(err);
      }
    };
  }
}

/** Every server's connections draw from one pool (see random-pool.ts). */
const serverRandom = pooledRandom();

/** A uniform number in [0, 1) from the system's cryptographic randomness. */
function cryptoUnitRandom(): number {
  const b = serverRandom(4);
  return (((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!) / 2 ** 32;
}

/** Creates an SSH server; call `listen()` or feed it streams with `handleConnection()`. */
export function createServer(options: ServerOptions): Server {
  return new Server(options);
}
