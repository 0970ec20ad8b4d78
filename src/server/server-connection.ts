// One client connection as the application sees it (ServerConnection):
// its addresses, who logged in and with what restrictions, the algorithms
// in force, and the calls an application makes on it (channels, global
// requests, rekey, close). The Server (server.ts) creates one per accepted
// stream and wires the connection's events.
import { DisconnectReason, type NacreError } from '../errors.js';
import type { NegotiatedAlgorithms } from '../core/kex/negotiate.js';
import type { NodeEndpoint } from '../io/node/node-endpoint.js';
import type { Channel } from '../io/node/channel.js';
import type { ChannelOpenHandler, GlobalReply, GlobalRequestHandler } from '../io/node/registries.js';
import type { Restrictions } from './restrictions.js';

export interface ConnectionInfo {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}

let nextConnectionId = 1;

/** One client connection as the application sees it. */
export class ServerConnection {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** Set once authentication succeeded. */
  username: string | null = null;
  /**
   * What the login may do, when `authenticate` accepted it with
   * `{ restrictions }` (authorized_keys options, a certificate's); null when
   * it accepted with `true`. Sessions and forwarding enforce it.
   */
  restrictions: Restrictions | null = null;
  /** What the latest key exchange chose. */
  algorithms: NegotiatedAlgorithms | null = null;
  /** Completed key exchanges, the first included. */
  keyExchanges = 0;
  /** @internal The connection's driver. */
  readonly node: NodeEndpoint;

  /** @internal Connections come from the Server. */
  static create(node: NodeEndpoint, info: ConnectionInfo): ServerConnection {
    return new ServerConnection(node, info);
  }

  private constructor(node: NodeEndpoint, info: ConnectionInfo) {
    this.node = node;
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
    this.localAddress = info.localAddress;
    this.localPort = info.localPort;
  }

  get authenticated(): boolean {
    return this.username !== null;
  }

  /** Resolves once the connection is over: with the error that ended it, or null when the server closed it (`close()`). */
  get closed(): Promise<NacreError | null> {
    return this.node.closed;
  }

  /**
   * Answers the channels of `type` the client opens on this connection with
   * `handler`, replacing an earlier one (Nacre's own `session`,
   * `direct-tcpip` and `direct-streamlocal@openssh.com` included); `null`
   * removes it, and such opens are refused with UNKNOWN_CHANNEL_TYPE. Set
   * handlers in the server's 'connection' or 'authenticated' event: no
   * channel opens before authentication.
   */
  handleChannelOpen(type: string, handler: ChannelOpenHandler | null): void {
    this.node.handleChannelOpen(type, handler);
  }

  /**
   * Answers the client's global requests named `name` on this connection
   * (replacing an earlier one, the forwarding requests included); `null`
   * removes it, and such requests fail.
   */
  handleGlobalRequest(name: string, handler: GlobalRequestHandler | null): void {
    this.node.handleGlobalRequest(name, handler);
  }

  /** Opens a channel towards the client; rejects with ChannelOpenError when it refuses. */
  openChannel(type: string, data?: Uint8Array): Promise<Channel> {
    return this.node.openChannel(type, data);
  }

  /** Sends a global request; resolves with the client's reply (without `wantReply`, at once with `success: true`). */
  globalRequest(name: string, data?: Uint8Array, wantReply = true): Promise<GlobalReply> {
    return this.node.globalRequest(name, data, wantReply);
  }

  /** Starts a key re-exchange. */
  rekey(): void {
    if (this.node.error) return;
    this.node.endpoint.rekey(this.node.now());
    this.node.run();
  }

  /** Sends DISCONNECT and closes; resolves once the connection is down. */
  async close(reason: number = DisconnectReason.BY_APPLICATION, description = 'closed by the server'): Promise<void> {
    if (!this.node.error) this.node.disconnect(reason, description);
    await this.node.closed;
  }
}
