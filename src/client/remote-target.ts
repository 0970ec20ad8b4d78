// What the client does with a connection the server forwards to it
// (`forwarded-tcpip`, `forwarded-streamlocal@openssh.com`) when the forward
// names a `connectTo`: connect it to a local TCP port or Unix socket, or serve
// it as SOCKS and connect where its client asks (`ssh -R port` alone).
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { serveSocks } from '../io/node/socks.js';
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

/** The connection handler for `options.connectTo`, or undefined without one. */
export function targetHandler(options: RemoteForwardOptions): ((conn: ForwardedConnection) => void) | undefined {
  const target: RemoteForwardTarget | undefined = options.connectTo;
  if (target === undefined) return undefined;
  const failed = (err: Error, conn: ForwardedConnection) => {
    conn.channel.destroy();
    options.onConnectError?.(err, conn);
  };
  if (target === 'socks') {
    return (conn) =>
      serveSocks(conn.channel, (request) => connectLocally({ host: request.host, port: request.port }) as Promise<Duplex>, {
        onError: (err) => options.onConnectError?.(err, conn),
      });
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
