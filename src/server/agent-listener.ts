// Agent forwarding, server side (auth-agent-req@openssh.com): a Unix socket
// in the session's private directory (see SessionDirectory), given to the
// session's user with mode 0600, whose every connection is relayed to the
// client as an `auth-agent@openssh.com` channel, as sshd does. SSH_AUTH_SOCK
// names it in the session's programs; it goes when the session closes.
import { createServer as netCreateServer, type Server as NetServer, type Socket } from 'node:net';
import type { Channel } from '../io/node/channel.js';
import { bridge } from './forwarding.js';
import type { SessionDirectory } from './privileges.js';

/** Agent connections one session relays at once; more are closed at once. */
export const MAX_AGENT_CONNECTIONS = 16;

/** Opens a channel of `type` towards the client. */
export type OpenClientChannel = (type: string, data?: Uint8Array) => Promise<Channel>;

/** A session's agent socket. */
export class AgentListener {
  private readonly sockets = new Set<Socket>();
  private closed = false;

  private constructor(
    /** The socket's path, for SSH_AUTH_SOCK. */
    readonly path: string,
    private readonly server: NetServer,
  ) {}

  /**
   * Listens on a new socket in `dir`, handed to the session's user (0600)
   * before it is announced; connections open channels with `openChannel`.
   */
  static async listen(dir: SessionDirectory, openChannel: OpenClientChannel): Promise<AgentListener> {
    const path = dir.name('agent');
    let self: AgentListener | null = null;
    const server = netCreateServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
      if (self) self.relay(socket, openChannel);
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    self = new AgentListener(path, server);
    try {
      await dir.handOver(path, 0o600);
    } catch (err) {
      self.close();
      throw err;
    }
    return self;
  }

  private relay(socket: Socket, openChannel: OpenClientChannel): void {
    socket.on('error', () => undefined);
    if (this.closed || this.sockets.size >= MAX_AGENT_CONNECTIONS) return void socket.destroy();
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    openChannel('auth-agent@openssh.com').then(
      (channel) => {
        // The socket went while the client confirmed: the channel goes too.
        if (socket.destroyed || this.closed) return void channel.destroy();
        bridge(channel, socket);
        socket.resume();
      },
      () => socket.destroy(),
    );
  }

  /** Stops listening (the socket file goes) and ends the relayed connections. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    for (const s of this.sockets) s.destroy();
  }
}
