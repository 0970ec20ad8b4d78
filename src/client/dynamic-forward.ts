// `ssh -D`: a local SOCKS 4/4a/5 server whose every CONNECT becomes a
// direct-tcpip channel; names go to the SSH server unresolved.
import type { SocksRequest } from '../socks/codec.js';
import { serveSocks } from '../io/node/socks.js';
import { openDirectTcpip, type ForwardingConnection, type LocalForward } from './forward.js';
import { listenLocally } from './local-listener.js';

export interface DynamicForwardOptions {
  /** Default 127.0.0.1. */
  readonly localHost?: string;
  /** 0 (the default) picks a free port. */
  readonly localPort?: number;
  /** Listen on this Unix socket instead (made 0600, removed on close). */
  readonly localPath?: string;
  /** Called when a SOCKS client was dropped (bad handshake) or its destination refused; the request is null before one was read. */
  readonly onError?: (err: Error, request: SocksRequest | null) => void;
  /** Called when a SOCKS request was granted. */
  readonly onConnect?: (request: SocksRequest) => void;
}

export async function forwardDynamic(conn: ForwardingConnection, options: DynamicForwardOptions = {}): Promise<LocalForward> {
  const where = options.localPath !== undefined ? { path: options.localPath } : { host: options.localHost ?? '127.0.0.1', port: options.localPort ?? 0 };
  const listener = await listenLocally(
    where,
    (socket) => {
      serveSocks(
        socket,
        (request) =>
          openDirectTcpip(conn, {
            host: request.host,
            port: request.port,
            originatorAddress: socket.remoteAddress ?? '127.0.0.1',
            originatorPort: socket.remotePort ?? 0,
          }),
        {
          ...(options.onError ? { onError: options.onError } : {}),
          ...(options.onConnect ? { onConnect: options.onConnect } : {}),
        },
      );
    },
    (fn) => conn.onClose(fn),
  );
  return { localHost: listener.host, port: listener.port, ...(listener.path !== undefined ? { localPath: listener.path } : {}), close: () => listener.close() };
}
