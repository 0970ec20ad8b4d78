// What the client does with a connection the server forwards to it
// (`forwarded-tcpip`, `forwarded-streamlocal@openssh.com`) when the forward
// names a `connectTo`: connect it to a local TCP port or Unix socket, or serve
// it as SOCKS and connect where its client asks (`ssh -R port` alone), if
// PermitRemoteOpen allows it.
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { serveSocks } from '../io/node/socks.js';
import { ChannelOpenError } from '../io/node/node-endpoint.js';
import { OpenFailureReason } from '../messages/connection.js';
import { remoteOpenPermitted, type RemoteOpenRule } from '../config/permit-remote-open.js';
import type { ForwardedConnection, RemoteForwardOptions, RemoteForwardTarget } from './forward.js';
import { relay } from './forward.js';

/** Connects to a TCP `host:port` or a Unix socket `path` on this machine; resolves once connected. */
export function connectLocally(target: { readonly host: string; readonly port: number } | { readonly path: string }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in target ? netConnect({ path: target.path, allowHalfOpen: true }) : netConnect({ host: target.host, port: target.port, allowHalfOpen: true });
    const onError = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      if (!('path' in target)) socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/**
 * A SOCKS request of a remote dynamic forward that PermitRemoteOpen does not
 * allow: answered as an administratively prohibited open ("not allowed" in SOCKS 5).
 */
export class RemoteOpenRefusedError extends ChannelOpenError {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super('', OpenFailureReason.ADMINISTRATIVELY_PROHIBITED);
    this.message = `PermitRemoteOpen does not allow ${host.includes(':') ? `[${host}]` : host}:${port}`;
  }
}

/** An IPv6 address as ssh prints it (inet_ntop: compressed, lower case); other hosts as they are. */
function addressText(host: string, addressType: 'ipv4' | 'ipv6' | 'domain'): string {
  if (addressType !== 'ipv6') return host;
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    return host;
  }
}

/** The connection handler for `options.connectTo`, or undefined without one; `permit` is PermitRemoteOpen (default any). */
export function targetHandler(options: RemoteForwardOptions, permit: RemoteOpenRule = 'any'): ((conn: ForwardedConnection) => void) | undefined {
  const target: RemoteForwardTarget | undefined = options.connectTo;
  if (target === undefined) return undefined;
  const failed = (err: Error, conn: ForwardedConnection) => {
    conn.channel.destroy();
    options.onConnectError?.(err, conn);
  };
  if (target === 'socks') {
    return (conn) =>
      serveSocks(
        conn.channel,
        (request) => {
          const host = addressText(request.host, request.addressType);
          if (!remoteOpenPermitted(permit, host, request.port)) return Promise.reject(new RemoteOpenRefusedError(host, request.port));
          return connectLocally({ host: request.host, port: request.port }) as Promise<Duplex>;
        },
        { onError: (err) => options.onConnectError?.(err, conn) },
      );
  }
  return (conn) => {
    // Nothing is read from the channel until the local end is there to take it.
    conn.channel.pause();
    connectLocally(target).then(
      (socket) => {
        if (conn.channel.destroyed) {
          socket.destroy();
          return;
        }
        relay(socket, conn.channel);
      },
      (err: Error) => failed(err, conn),
    );
  };
}
