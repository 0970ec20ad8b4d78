// Port forwarding from the client side: remote (`ssh -R`) and local (`ssh -L`),
// over TCP ports and Unix sockets (OpenSSH's streamlocal).
import type { Socket } from 'node:net';
import { pipeline, type Duplex } from 'node:stream';
import { DisconnectReason, NacreError } from '../errors.js';
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
import { OpenFailureReason } from '../messages/connection.js';
import type { Channel } from '../io/node/channel.js';
import type { ChannelOpener } from '../io/node/node-endpoint.js';
import type { GlobalReply, IncomingChannelOpen } from '../io/node/registries.js';
import { listenLocally, type ListenAddress } from './local-listener.js';

/** What forwarding needs of the connection (a NodeEndpoint), rather than the whole Client. */
export interface ForwardingConnection extends ChannelOpener {
  globalRequest(name: string, data?: Uint8Array, wantReply?: boolean, onLateReply?: (reply: GlobalReply) => void): Promise<GlobalReply>;
  /** Calls `fn` once when the connection ends; returns a function that removes it. */
  onClose(fn: () => void): () => void;
}

export interface DirectTcpipOptions {
  readonly host: string;
  readonly port: number;
  readonly originatorAddress?: string;
  readonly originatorPort?: number;
}

/** Opens a `direct-tcpip` channel: a TCP connection the server makes to `host:port`. */
export function openDirectTcpip(conn: ChannelOpener, options: DirectTcpipOptions): Promise<Channel> {
  return conn.openChannel(
    'direct-tcpip',
    OpenDirectTcpip.encode({
      host: options.host,
      port: options.port,
      originatorAddress: options.originatorAddress ?? '127.0.0.1',
      originatorPort: options.originatorPort ?? 0,
    }),
  );
}

export interface ForwardedConnection {
  readonly channel: Channel;
  /** Where the server accepted the connection (for a Unix socket forward, its path and 0), and who connected. */
  readonly connectedAddress: string;
  readonly connectedPort: number;
  readonly originatorAddress: string;
  readonly originatorPort: number;
  /** The server's Unix socket the connection came to (`forwarded-streamlocal@openssh.com`). */
  readonly socketPath?: string;
}

/**
 * What the client does with each forwarded connection, instead of handing it
 * to `onConnection`: connect it to a TCP `host:port` or a Unix socket `path`
 * on this machine (`ssh -R port:host:hostport`, `ssh -R /remote/path:/local/path`),
 * or serve it as SOCKS 4/4a/5, connecting where each client asks from this
 * machine (`ssh -R port` alone: remote dynamic forwarding).
 */
export type RemoteForwardTarget = { readonly host: string; readonly port: number } | { readonly path: string } | 'socks';

export interface RemoteForwardOptions {
  /** Address the server binds; default `127.0.0.1` ("" or `0.0.0.0` mean all, if the server allows). */
  readonly bindAddress?: string;
  /** 0 lets the server choose. */
  readonly bindPort?: number;
  /** A Unix socket path for the server to listen on instead of a port (OpenSSH's `streamlocal-forward@openssh.com`). */
  readonly remotePath?: string;
  /** Called for each connection; without it (and without `connectTo`), iterate the returned forward. */
  readonly onConnection?: (conn: ForwardedConnection) => void;
  /** Connect each connection here (see RemoteForwardTarget); ignored when `onConnection` is given. */
  readonly connectTo?: RemoteForwardTarget;
  /** With `connectTo`: called when a connection could not be made (the channel is then closed). */
  readonly onConnectError?: (err: Error, conn: ForwardedConnection) => void;
}

export interface RemoteForward extends AsyncIterable<ForwardedConnection> {
  /** The address the server bound ('' for a Unix socket forward). */
  readonly bindAddress: string;
  /** The port the server bound (0 for a Unix socket forward). */
  readonly port: number;
  /** The server's Unix socket, for a `remotePath` forward. */
  readonly remotePath?: string;
  /** Cancels the forward on the server. */
  close(): Promise<void>;
}

class Forward implements RemoteForward {
  private readonly queue: ForwardedConnection[] = [];
  private waiters: ((v: IteratorResult<ForwardedConnection>) => void)[] = [];
  closed = false;

  constructor(
    private readonly owner: RemoteForwarder,
    private readonly conn: ForwardingConnection,
    readonly bindAddress: string,
    readonly port: number,
    readonly remotePath: string | undefined,
    private readonly onConnection?: (conn: ForwardedConnection) => void,
  ) {}

  deliver(conn: ForwardedConnection): void {
    if (this.onConnection) return this.onConnection(conn);
    const w = this.waiters.shift();
    if (w) w({ value: conn, done: false });
    else this.queue.push(conn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.end();
    if (this.conn.error) return;
    const cancel =
      this.remotePath !== undefined
        ? this.conn.globalRequest('cancel-streamlocal-forward@openssh.com', GlobalCancelStreamlocalForward.encode({ socketPath: this.remotePath }))
        : this.conn.globalRequest('cancel-tcpip-forward', GlobalCancelTcpipForward.encode({ bindAddress: this.bindAddress, bindPort: this.port }));
    await cancel.catch(() => undefined);
  }

  /** No more connections: iterators finish, connections nobody took are closed. */
  end(): void {
    this.closed = true;
    this.owner.remove(this);
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
    for (const c of this.queue.splice(0)) c.channel.destroy();
  }

  [Symbol.asyncIterator](): AsyncIterator<ForwardedConnection> {
    return {
      next: () => {
        const c = this.queue.shift();
        if (c) return Promise.resolve({ value: c, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((r) => this.waiters.push(r));
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }
}

/** "" / 0.0.0.0 / * / :: all mean every address; localhost and loopback literals are one. */
function sameBindAddress(a: string, b: string): boolean {
  const norm = (x: string) => {
    const v = x.toLowerCase();
    if (v === '' || v === '0.0.0.0' || v === '*' || v === '::') return '*';
    if (v === 'localhost' || v === '127.0.0.1' || v === '::1') return 'localhost';
    return v;
  };
  return norm(a) === norm(b);
}

/** @internal Tracks the client's remote forwards and routes `forwarded-tcpip` / `forwarded-streamlocal` opens to them. */
export class RemoteForwarder {
  private readonly forwards = new Set<Forward>();
  constructor(
    private readonly conn: ForwardingConnection,
    /** Turns a `connectTo` into a connection handler (src/client/remote-target.ts; injected to keep sockets out of this file). */
    private readonly targetHandler: (options: RemoteForwardOptions) => ((conn: ForwardedConnection) => void) | undefined = () => undefined,
  ) {
    // With the connection gone, every forward's iteration ends.
    conn.onClose(() => {
      for (const f of [...this.forwards]) f.end();
    });
  }

  async listen(options: RemoteForwardOptions): Promise<RemoteForward> {
    const onConnection = options.onConnection ?? this.targetHandler(options);
    if (options.remotePath !== undefined) {
      const socketPath = options.remotePath;
      const reply = await this.conn.globalRequest('streamlocal-forward@openssh.com', GlobalStreamlocalForward.encode({ socketPath }), true, (late) => {
        if (late.success) this.conn.globalRequest('cancel-streamlocal-forward@openssh.com', GlobalCancelStreamlocalForward.encode({ socketPath }), false).catch(() => undefined);
      });
      if (!reply.success) throw new NacreError(`the server refused to listen on ${socketPath}`, DisconnectReason.BY_APPLICATION);
      const f = new Forward(this, this.conn, '', 0, socketPath, onConnection);
      this.forwards.add(f);
      return f;
    }
    const bindAddress = options.bindAddress ?? '127.0.0.1';
    const bindPort = options.bindPort ?? 0;
    const reply = await this.conn.globalRequest('tcpip-forward', GlobalTcpipForward.encode({ bindAddress, bindPort }), true, (late) => this.cancelLate(bindAddress, bindPort, late));
    if (!reply.success) throw new NacreError(`the server refused to listen on ${bindAddress}:${bindPort}`, DisconnectReason.BY_APPLICATION);
    const port = bindPort === 0 ? GlobalTcpipForwardReply.decode(reply.data).boundPort : bindPort;
    const f = new Forward(this, this.conn, bindAddress, port, undefined, onConnection);
    this.forwards.add(f);
    return f;
  }

  /**
   * A tcpip-forward we stopped waiting for (TimeoutError) succeeded after
   * all: the server listens for nobody, so ask it to stop. Runs in the
   * NodeEndpoint's event dispatch, so it must not throw.
   */
  private cancelLate(bindAddress: string, bindPort: number, reply: { success: boolean; data: Uint8Array }): void {
    if (!reply.success) return;
    let port = bindPort;
    if (port === 0) {
      try {
        port = GlobalTcpipForwardReply.decode(reply.data).boundPort;
      } catch {
        return; // no port to name
      }
    }
    this.conn.globalRequest('cancel-tcpip-forward', GlobalCancelTcpipForward.encode({ bindAddress, bindPort: port }), false).catch(() => undefined);
  }

  remove(f: Forward): void {
    this.forwards.delete(f);
  }

  /** The `forwarded-tcpip` handler: a connection to one of our forwards, opened by the server. */
  onForwardedTcpip(open: IncomingChannelOpen): void {
    let info;
    try {
      info = OpenForwardedTcpip.decode(open.data);
    } catch {
      open.reject(OpenFailureReason.CONNECT_FAILED, 'malformed forwarded-tcpip request');
      return;
    }
    const match = [...this.forwards].find((f) => f.remotePath === undefined && f.port === info.connectedPort && sameBindAddress(f.bindAddress, info.connectedAddress));
    if (!match) {
      open.reject(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, 'no such forward');
      return;
    }
    match.deliver({ channel: open.accept(), ...info });
  }

  /** The `forwarded-streamlocal@openssh.com` handler: a connection to one of our Unix socket forwards. */
  onForwardedStreamlocal(open: IncomingChannelOpen): void {
    let info;
    try {
      info = OpenForwardedStreamlocal.decode(open.data);
    } catch {
      open.reject(OpenFailureReason.CONNECT_FAILED, 'malformed forwarded-streamlocal request');
      return;
    }
    const match = [...this.forwards].find((f) => f.remotePath === info.socketPath);
    if (!match) {
      open.reject(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, 'no such forward');
      return;
    }
    match.deliver({ channel: open.accept(), connectedAddress: info.socketPath, connectedPort: 0, originatorAddress: '', originatorPort: 0, socketPath: info.socketPath });
  }
}

/** Where `forwardLocal` listens: a TCP address, or a Unix socket path (`ssh -L /path:host:port`). */
export type LocalForwardListen =
  | {
      readonly localHost?: string;
      /** 0 picks a free port. */
      readonly localPort?: number;
      readonly localPath?: undefined;
    }
  | {
      /** Listen on this Unix socket (made 0600; removed on close). */
      readonly localPath: string;
    };

/** Where the server connects each connection to: a TCP host and port, or a Unix socket on the server (`ssh -L port:/path`). */
export type LocalForwardTarget = { readonly remoteHost: string; readonly remotePort: number; readonly remotePath?: undefined } | { readonly remotePath: string };

export type LocalForwardOptions = LocalForwardListen &
  LocalForwardTarget & {
    /** Called when the server refused or failed a connection's channel (the local connection is then closed). */
    readonly onConnectError?: (err: Error) => void;
  };

export interface LocalForward {
  /** The TCP address listened on ('' for a Unix socket). */
  readonly localHost: string;
  /** The bound port (0 for a Unix socket). */
  readonly port: number;
  /** The Unix socket listened on, if any. */
  readonly localPath?: string;
  close(): Promise<void>;
}

/** Opens, on `conn`, the channel to `target` for a connection from `socket`. */
function openTarget(conn: ChannelOpener, target: LocalForwardTarget, socket: Socket): Promise<Channel> {
  if (target.remotePath !== undefined) return openDirectStreamlocal(conn, target.remotePath);
  return openDirectTcpip(conn, { host: target.remoteHost, port: target.remotePort, originatorAddress: socket.remoteAddress ?? '127.0.0.1', originatorPort: socket.remotePort ?? 0 });
}

/** Opens a `direct-streamlocal@openssh.com` channel: the server connects to its Unix socket `socketPath`. */
export function openDirectStreamlocal(conn: ChannelOpener, socketPath: string): Promise<Channel> {
  return conn.openChannel('direct-streamlocal@openssh.com', OpenDirectStreamlocal.encode({ socketPath, reserved: '', reservedPort: 0 }));
}

/** Relays `socket` and `channel` both ways until both ends are done. */
export function relay(socket: Duplex, channel: Duplex): void {
  pipeline(socket, channel, () => undefined);
  pipeline(channel, socket, () => undefined);
}

export async function forwardLocal(conn: ForwardingConnection, options: LocalForwardOptions): Promise<LocalForward> {
  const where: ListenAddress = options.localPath !== undefined ? { path: options.localPath } : { host: options.localHost ?? '127.0.0.1', port: options.localPort ?? 0 };
  const listener = await listenLocally(
    where,
    (socket) => {
      openTarget(conn, options, socket)
        .then((ch) => {
          if (socket.destroyed) {
            ch.destroy();
            return;
          }
          relay(socket, ch);
        })
        .catch((err: unknown) => {
          socket.destroy();
          options.onConnectError?.(err instanceof Error ? err : new Error(String(err)));
        });
    },
    (fn) => conn.onClose(fn),
  );
  return { localHost: listener.host, port: listener.port, ...(listener.path !== undefined ? { localPath: listener.path } : {}), close: () => listener.close() };
}
