// Port forwarding from the client side: remote (`ssh -R`) and local (`ssh -L`).
import { createServer, type Server, type Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { DisconnectReason, NacreError } from '../errors.js';
import { GlobalCancelTcpipForward, GlobalTcpipForward, GlobalTcpipForwardReply, OpenDirectTcpip, OpenForwardedTcpip } from '../messages/channel-types.js';
import { OpenFailureReason } from '../messages/connection.js';
import type { Channel } from '../io/node/channel.js';
import type { ChannelOpener } from '../io/node/node-endpoint.js';
import type { GlobalReply, IncomingChannelOpen } from '../io/node/registries.js';

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
  /** Where the server accepted the connection, and who connected. */
  readonly connectedAddress: string;
  readonly connectedPort: number;
  readonly originatorAddress: string;
  readonly originatorPort: number;
}

export interface RemoteForwardOptions {
  /** Address the server binds; default `127.0.0.1` ("" or `0.0.0.0` mean all, if the server allows). */
  readonly bindAddress?: string;
  /** 0 lets the server choose. */
  readonly bindPort?: number;
  /** Called for each connection; without it, iterate the returned forward. */
  readonly onConnection?: (conn: ForwardedConnection) => void;
}

export interface RemoteForward extends AsyncIterable<ForwardedConnection> {
  readonly bindAddress: string;
  /** The port the server bound. */
  readonly port: number;
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
    if (!this.conn.error) {
      await this.conn.globalRequest('cancel-tcpip-forward', GlobalCancelTcpipForward.encode({ bindAddress: this.bindAddress, bindPort: this.port })).catch(() => undefined);
    }
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

/** @internal Tracks the client's remote forwards and routes `forwarded-tcpip` opens to them. */
export class RemoteForwarder {
  private readonly forwards = new Set<Forward>();
  constructor(private readonly conn: ForwardingConnection) {
    // With the connection gone, every forward's iteration ends.
    conn.onClose(() => {
      for (const f of [...this.forwards]) f.end();
    });
  }

  async listen(options: RemoteForwardOptions): Promise<RemoteForward> {
    const bindAddress = options.bindAddress ?? '127.0.0.1';
    const bindPort = options.bindPort ?? 0;
    const reply = await this.conn.globalRequest('tcpip-forward', GlobalTcpipForward.encode({ bindAddress, bindPort }), true, (late) => this.cancelLate(bindAddress, bindPort, late));
    if (!reply.success) throw new NacreError(`the server refused to listen on ${bindAddress}:${bindPort}`, DisconnectReason.BY_APPLICATION);
    const port = bindPort === 0 ? GlobalTcpipForwardReply.decode(reply.data).boundPort : bindPort;
    const f = new Forward(this, this.conn, bindAddress, port, options.onConnection);
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
    const match = [...this.forwards].find((f) => f.port === info.connectedPort && sameBindAddress(f.bindAddress, info.connectedAddress));
    if (!match) {
      open.reject(OpenFailureReason.ADMINISTRATIVELY_PROHIBITED, 'no such forward');
      return;
    }
    match.deliver({ channel: open.accept(), ...info });
  }
}

export interface LocalForwardOptions {
  readonly localHost?: string;
  /** 0 picks a free port. */
  readonly localPort?: number;
  readonly remoteHost: string;
  readonly remotePort: number;
}

export interface LocalForward {
  readonly localHost: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function forwardLocal(conn: ForwardingConnection, options: LocalForwardOptions): Promise<LocalForward> {
  const localHost = options.localHost ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  // Half-open sockets let a client send EOF and still read the reply, as with ssh -L.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // Until the pipelines below own it, a reset socket must not be an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    openDirectTcpip(conn, { host: options.remoteHost, port: options.remotePort, originatorAddress: socket.remoteAddress ?? '127.0.0.1', originatorPort: socket.remotePort ?? 0 })
      .then((ch) => {
        if (socket.destroyed) {
          ch.destroy();
          return;
        }
        pipeline(socket, ch, () => undefined);
        pipeline(ch, socket, () => undefined);
      })
      .catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.localPort ?? 0, localHost, () => resolve());
  });
  // After listen() nothing else listens for 'error': an accept() failure
  // (EMFILE when out of descriptors) would be an uncaught exception. Node
  // keeps listening after one; the connection it could not take is lost.
  server.on('error', () => undefined);
  const port = (server.address() as { port: number }).port;
  const closeAll = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  // A listener that can be removed again: a promise callback on `closed`
  // would keep every closed forward alive until the connection ends.
  const stopWatching = conn.onClose(() => void closeAll());
  return {
    localHost,
    port,
    close: () => {
      stopWatching();
      return closeAll();
    },
  };
}
