// Port and Unix-socket forwarding on the server, each behind a policy callback
// that refuses by default: direct-tcpip / direct-streamlocal (`ssh -L`, the
// server connects out) and tcpip-forward / streamlocal-forward (`ssh -R`, the
// server listens and opens forwarded-* channels back). Listeners and sockets
// belong to their connection and go when it ends.
import { connect as netConnect, createServer as netCreateServer, type OnReadOpts, type Server as NetServer, type Socket } from 'node:net';
import type { Channel } from '../io/node/channel.js';
import type { NodeEndpoint } from '../io/node/node-endpoint.js';
import type { ChannelOpenHandler, GlobalRequestAnswer, GlobalRequestHandler, IncomingChannelOpen } from '../io/node/registries.js';
import { OpenFailureReason } from '../messages/connection.js';
import {
  GlobalCancelStreamlocalForward,
  GlobalCancelTcpipForward,
  GlobalStreamlocalForward,
  GlobalTcpipForward,
  GlobalTcpipForwardReply,
  OpenDirectStreamlocal,
  OpenDirectTcpip,
  OpenForwardedStreamlocal,
  OpenForwardedTcpip,
} from '../messages/channel-types.js';
import type { MaybePromise } from './session-channel.js';
import { closeTogether, OutgoingSocket } from './forward-socket.js';
import { permitsLocalForward, permitsRemoteForward, permitsStreamlocalForward, type Restrictions } from './restrictions.js';

/**
 * The SSH connection a forwarding request came on: who asked and where it
 * arrived, for policies that depend on them (sshd's Match Address,
 * LocalAddress, LocalPort).
 */
export interface ForwardRequestOrigin {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

export interface LocalForwardRequest extends ForwardRequestOrigin {
  /** Where the client wants the server to connect. */
  readonly host: string;
  readonly port: number;
  /** Where the connection came from on the client's side, as the client says. */
  readonly originatorAddress: string;
  readonly originatorPort: number;
  readonly username: string;
}

export interface RemoteForwardRequest extends ForwardRequestOrigin {
  /** Address to listen on: "" / "0.0.0.0" / "*" mean all interfaces, "localhost" loopback. */
  readonly bindAddress: string;
  /** 0 lets the server pick; the reply carries the port. */
  readonly bindPort: number;
  readonly username: string;
}

export interface StreamlocalForwardRequest extends ForwardRequestOrigin {
  /** Unix socket to connect to (direct) or to listen on (forward). */
  readonly socketPath: string;
  /** Whether the client asks the server to listen (`ssh -R`) rather than connect. */
  readonly listen: boolean;
  readonly username: string;
}

export interface ForwardingPolicy {
  forwardLocal?: (req: LocalForwardRequest) => MaybePromise<boolean>;
  /**
   * `true` listens where the client asked; `{ listenAddress }` listens there
   * instead (sshd's GatewayPorts: loopback for `no`, every interface for
   * `yes`), the reply and forwarded channels still naming what the client asked.
   */
  forwardRemote?: (req: RemoteForwardRequest) => MaybePromise<boolean | { readonly listenAddress: string }>;
  forwardStreamlocal?: (req: StreamlocalForwardRequest) => MaybePromise<boolean>;
}

interface Listener {
  readonly server: NetServer;
  readonly kind: 'tcp' | 'unix';
  /** As the client named it (tcp: bind address; unix: path). */
  readonly address: string;
  readonly requestedPort: number;
  readonly port: number;
}

const noop = (): void => undefined;
/** Listening sockets one connection may hold for -R forwards (each is a file descriptor). */
const MAX_LISTENERS = 64;
/**
 * Forwarded sockets one connection may hold unless `maxForwardedSockets` says
 * otherwise: -L sockets the server connects and -R sockets it accepts,
 * together, each a file descriptor. Without a cap one client could take every
 * descriptor of the process (sshd needs none: each connection is a process of
 * its own, with its own descriptor limit). 256 leaves room for heavy use (a
 * browser behind `ssh -D` keeps a few dozen open) while a few hundred
 * connections still cannot exhaust a typical hard limit of 2^19 or 2^20.
 */
export const DEFAULT_MAX_FORWARDED_SOCKETS = 256;

function listenHost(bindAddress: string): string | undefined {
  if (bindAddress === '' || bindAddress === '*' || bindAddress === '0.0.0.0') return undefined;
  if (bindAddress === 'localhost') return '127.0.0.1';
  return bindAddress;
}

/** Joins a forwarding channel and a socket, with half-close in both directions. */
export function bridge(channel: Channel, socket: Socket): void {
  channel.on('error', noop);
  socket.on('error', () => channel.destroy());
  socket.pipe(channel);
  channel.pipe(socket);
  closeTogether(channel, socket);
}

/** @internal One connection's forwarding: its handlers, listeners and sockets. */
export class Forwarding {
  private readonly listeners = new Set<Listener>();
  /** Listens under way, counted against MAX_LISTENERS with the listeners. */
  private starting = 0;
  private readonly sockets = new Set<Socket>();
  private closed = false;

  constructor(
    private readonly node: NodeEndpoint,
    private readonly policy: ForwardingPolicy,
    private readonly username: () => string,
    private readonly reportError: (e: unknown) => void,
    private readonly maxSockets = DEFAULT_MAX_FORWARDED_SOCKETS,
    /** The login's restrictions (authorized_keys options, certificate): checked before the policy. */
    private readonly restrictions: () => Restrictions | null = () => null,
    /** The connection's addresses, passed on in each request. */
    private readonly origin: ForwardRequestOrigin = {},
  ) {}

  private from(): ForwardRequestOrigin {
    const o = this.origin;
    return { remoteAddress: o.remoteAddress, remotePort: o.remotePort, localAddress: o.localAddress, localPort: o.localPort };
  }

  /**
   * Registers the forwarding channel types (`ssh -L`) and global requests
   * (`ssh -R` and its cancellation, TCP and Unix sockets). A malformed
   * request or a failure fails it (the registries' rule); each is refused
   * unless the policy allows it.
   */
  register(channelOpens: Map<string, ChannelOpenHandler>, globalRequests: Map<string, GlobalRequestHandler>): void {
    channelOpens.set('direct-tcpip', (open) => this.directTcpip(open));
    channelOpens.set('direct-streamlocal@openssh.com', (open) => this.directStreamlocal(open));
    globalRequests.set('tcpip-forward', (req) => this.tcpipForward(req.data));
    globalRequests.set('cancel-tcpip-forward', (req) => {
      const r = GlobalCancelTcpipForward.decode(req.data);
      return this.cancel((l) => l.kind === 'tcp' && l.address === r.bindAddress && (l.port === r.bindPort || l.requestedPort === r.bindPort));
    });
    globalRequests.set('streamlocal-forward@openssh.com', (req) => this.streamlocalForward(req.data));
    globalRequests.set('cancel-streamlocal-forward@openssh.com', (req) => {
      const r = GlobalCancelStreamlocalForward.decode(req.data);
      return this.cancel((l) => l.kind === 'unix' && l.address === r.socketPath);
    });
  }

  /** The connection ended: stop listening and drop forwarded sockets. */
  close(): void {
    this.closed = true;
    for (const l of this.listeners) l.server.close();
    this.listeners.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private async allowed<R>(fn: ((req: R) => MaybePromise<boolean>) | undefined, req: R): Promise<boolean> {
    if (!fn) return false;
    try {
      return (await fn(req)) === true;
    } catch (e) {
      this.reportError(e);
      return false;
    }
  }

  /** Where to listen for a tcpip-forward the policy allows (the address it names, or the client's), or null when refused. */
  private async remoteAnswer(req: RemoteForwardRequest): Promise<string | null> {
    const fn = this.policy.forwardRemote;
    if (!fn) return null;
    try {
      const a = await fn(req);
      if (a === true) return req.bindAddress;
      return a && typeof a === 'object' && typeof a.listenAddress === 'string' ? a.listenAddress : null;
    } catch (e) {
      this.reportError(e);
      return null;
    }
  }

  private get socketsFull(): boolean {
    return this.sockets.size >= this.maxSockets;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /**
   * Connects out, then accepts the channel and joins the two; resolves once
   * the open is answered (the registry refuses an open still unanswered).
   */
  private connectOut(open: IncomingChannelOpen, connect: (onread: OnReadOpts) => Socket): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.socketsFull) {
      open.reject(OpenFailureReason.RESOURCE_SHORTAGE, `too many forwarded connections (at most ${this.maxSockets} on one SSH connection)`);
      return Promise.resolve();
    }
    let out: OutgoingSocket;
    try {
      out = new OutgoingSocket(connect);
    } catch (err) {
      // Most failures (EMFILE included) come as 'error' below; a few throw.
      open.reject(OpenFailureReason.CONNECT_FAILED, err instanceof Error ? err.message : String(err));
      return Promise.resolve();
    }
    const socket = out.socket;
    this.track(socket);
    return new Promise<void>((resolve) => {
      socket.once('error', (err) => {
        open.reject(OpenFailureReason.CONNECT_FAILED, err.message);
        resolve();
      });
      socket.once('connect', () => {
        resolve();
        if (this.closed) return socket.destroy();
        socket.setNoDelay?.(true);
        let channel: Channel;
        try {
          channel = open.accept();
        } catch {
          socket.destroy();
          return;
        }
        out.join(channel);
      });
    });
  }

  private async directTcpip(open: IncomingChannelOpen): Promise<void> {
    const r = OpenDirectTcpip.decode(open.data);
    const req: LocalForwardRequest = { host: r.host, port: r.port, originatorAddress: r.originatorAddress, originatorPort: r.originatorPort, username: this.username(), ...this.from() };
    const limits = this.restrictions();
    if (limits && !permitsLocalForward(limits, r.host, r.port)) {
      return open.reject(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, limits.portForwarding ? `${r.host}:${r.port} is not a permitted target (permitopen)` : 'port forwarding is not permitted for this key');
    }
    if (!(await this.allowed(this.policy.forwardLocal, req))) {
      return open.reject(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, 'port forwarding is not permitted');
    }
    if (r.port < 1 || r.port > 65535) return open.reject(OpenFailureReason.CONNECT_FAILED, `bad port ${r.port}`);
    return this.connectOut(open, (onread) => netConnect({ host: r.host, port: r.port, allowHalfOpen: true, onread }));
  }

  private async directStreamlocal(open: IncomingChannelOpen): Promise<void> {
    const r = OpenDirectStreamlocal.decode(open.data);
    const req: StreamlocalForwardRequest = { socketPath: r.socketPath, listen: false, username: this.username(), ...this.from() };
    const limits = this.restrictions();
    if (limits && !permitsStreamlocalForward(limits)) {
      return open.reject(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, 'forwarding is not permitted for this key');
    }
    if (!(await this.allowed(this.policy.forwardStreamlocal, req))) {
      return open.reject(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, 'streamlocal forwarding is not permitted');
    }
    return this.connectOut(open, (onread) => netConnect({ path: r.socketPath, allowHalfOpen: true, onread }));
  }

  private async tcpipForward(data: Uint8Array): Promise<GlobalRequestAnswer> {
    const r = GlobalTcpipForward.decode(data);
    if (r.bindPort > 65535) return false;
    const req: RemoteForwardRequest = { bindAddress: r.bindAddress, bindPort: r.bindPort, username: this.username(), ...this.from() };
    const limits = this.restrictions();
    if (limits && !permitsRemoteForward(limits, r.bindAddress, r.bindPort)) return false;
    const answer = await this.remoteAnswer(req);
    if (answer === null) return false;
    const exists = [...this.listeners].some((l) => l.kind === 'tcp' && l.address === r.bindAddress && r.bindPort !== 0 && l.port === r.bindPort);
    if (exists || this.closed) return false;
    const server = netCreateServer({ allowHalfOpen: true });
    const port = await this.listen(server, (cb) => server.listen({ port: r.bindPort, host: listenHost(answer) }, cb));
    if (port === null) return false;
    const listener: Listener = { server, kind: 'tcp', address: r.bindAddress, requestedPort: r.bindPort, port };
    server.on('connection', (socket) => {
      this.openBack(socket, 'forwarded-tcpip', () =>
        OpenForwardedTcpip.encode({
          connectedAddress: r.bindAddress,
          connectedPort: port,
          originatorAddress: socket.remoteAddress ?? '',
          originatorPort: socket.remotePort ?? 0,
        }),
      );
    });
    this.listeners.add(listener);
    return r.bindPort === 0 ? { success: true, data: GlobalTcpipForwardReply.encode({ boundPort: port }) } : true;
  }

  private async streamlocalForward(data: Uint8Array): Promise<boolean> {
    const r = GlobalStreamlocalForward.decode(data);
    const req: StreamlocalForwardRequest = { socketPath: r.socketPath, listen: true, username: this.username(), ...this.from() };
    const limits = this.restrictions();
    if (limits && !permitsStreamlocalForward(limits)) return false;
    if (!(await this.allowed(this.policy.forwardStreamlocal, req))) return false;
    if ([...this.listeners].some((l) => l.kind === 'unix' && l.address === r.socketPath) || this.closed) return false;
    const server = netCreateServer({ allowHalfOpen: true });
    const port = await this.listen(server, (cb) => server.listen({ path: r.socketPath }, cb));
    if (port === null) return false;
    server.on('connection', (socket) => {
      this.openBack(socket, 'forwarded-streamlocal@openssh.com', () => OpenForwardedStreamlocal.encode({ socketPath: r.socketPath, reserved: '' }));
    });
    this.listeners.add({ server, kind: 'unix', address: r.socketPath, requestedPort: 0, port: 0 });
    return true;
  }

  /** Resolves with the bound port (0 for Unix sockets), or null if listening failed. */
  private listen(server: NetServer, start: (cb: () => void) => void): Promise<number | null> {
    if (this.listeners.size + this.starting >= MAX_LISTENERS) return Promise.resolve(null);
    this.starting++;
    return new Promise<number | null>((resolve) => {
      const onError = () => resolve(null);
      server.once('error', onError);
      start(() => {
        server.off('error', onError);
        server.on('error', this.reportError);
        if (this.closed) {
          server.close();
          return resolve(null);
        }
        const a = server.address();
        resolve(a && typeof a === 'object' ? a.port : 0);
      });
    }).finally(() => this.starting--);
  }

  private openBack(socket: Socket, type: string, data: () => Uint8Array): void {
    socket.on('error', noop);
    // Past the cap the connection is closed at once, unannounced to the client.
    if (this.closed || this.socketsFull) return void socket.destroy();
    this.track(socket);
    socket.pause();
    this.node.openChannel(type, data()).then(
      (channel) => {
        // Reset while the client confirmed the channel: 'close' has come and
        // gone, so bridge() would never close the channel.
        if (socket.destroyed) return void channel.destroy();
        bridge(channel, socket);
        socket.resume();
      },
      () => socket.destroy(),
    );
  }

  private cancel(match: (l: Listener) => boolean): boolean {
    for (const l of this.listeners) {
      if (!match(l)) continue;
      this.listeners.delete(l);
      l.server.close();
      return true;
    }
    return false;
  }
}
