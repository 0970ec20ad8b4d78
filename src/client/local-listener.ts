// The local end of `ssh -L` and `ssh -D`: a TCP port or a Unix socket that
// accepts connections and hands each to the forwarding, closed with the
// forwarding or the SSH connection.
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync } from 'node:fs';
import { DisconnectReason, NacreError } from '../errors.js';

/** Where to listen: a TCP address (port 0 picks one; host '' is every address) or a Unix socket path. */
export type ListenAddress = { readonly host: string; readonly port: number } | { readonly path: string };

/** A local listener is in use or could not be opened: `code` is the system's (EADDRINUSE, EACCES ...). */
export class ListenError extends NacreError {
  readonly code: string | undefined;
  readonly address: string;
  constructor(address: string, cause: Error & { code?: string }) {
    super(`cannot listen on ${address}: ${cause.code === 'EADDRINUSE' ? 'address already in use' : cause.message}`, DisconnectReason.BY_APPLICATION, { cause });
    this.code = cause.code;
    this.address = address;
  }
}

export interface LocalListener {
  /** The TCP address and bound port; '' and 0 for a Unix socket. */
  readonly host: string;
  readonly port: number;
  /** The Unix socket path, when listening on one. */
  readonly path?: string;
  close(): Promise<void>;
}

/** How an address is written in messages: `host:port`, `[v6]:port`, or the path. */
export function describeListen(a: ListenAddress): string {
  if ('path' in a) return a.path;
  return a.host.includes(':') || a.host === '' ? `[${a.host || '*'}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Starts listening on one address; a ListenError (naming `where`) when it cannot. */
function listenOn(server: Server, where: ListenAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(new ListenError(describeListen(where), err));
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    if ('path' in where) server.listen(where.path, done);
    else if (where.host === '') server.listen(where.port, done);
    else server.listen(where.port, where.host, done);
  });
}

/**
 * Listens on `where` and calls `onSocket` for each connection. Host
 * `localhost` means both loopback addresses, 127.0.0.1 and ::1, on one port,
 * as ssh binds it: either alone will do. Stops when `close()` is called or
 * `onConnectionClose` fires (the SSH connection ended); open sockets are
 * destroyed then, and a Unix socket file removed.
 */
export async function listenLocally(where: ListenAddress, onSocket: (socket: Socket) => void, onConnectionClose: (fn: () => void) => () => void): Promise<LocalListener> {
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  // Half-open sockets let a client send EOF and still read the reply, as with ssh -L.
  const newServer = (): Server =>
    createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      // Until the forwarding's pipelines own it, a reset socket must not be an unhandled 'error'.
      socket.on('error', () => socket.destroy());
      onSocket(socket);
    });
  const tries: ListenAddress[] = !('path' in where) && where.host === 'localhost' ? [{ host: '127.0.0.1', port: where.port }, { host: '::1', port: where.port }] : [where];
  let port = 'path' in where ? 0 : where.port;
  let firstError: unknown = null;
  for (const t of tries) {
    const server = newServer();
    try {
      // The second loopback address takes the port the first one got.
      await listenOn(server, 'path' in t ? t : { host: t.host, port });
    } catch (err) {
      // As ssh: bound on either loopback address is enough (the first failure is the error when neither is).
      firstError ??= err;
      continue;
    }
    // After listen() nothing else listens for 'error': an accept() failure
    // (EMFILE when out of descriptors) would be an uncaught exception. Node
    // keeps listening after one; the connection it could not take is lost.
    server.on('error', () => undefined);
    servers.push(server);
    if (!('path' in t)) port = (server.address() as { port: number }).port;
  }
  if (servers.length === 0) throw firstError;
  if ('path' in where) {
    // Only the user may connect, as ssh makes its forwarding sockets.
    try {
      chmodSync(where.path, 0o600);
    } catch {
      // a socket we cannot chmod is still ours; leave it as the umask made it
    }
  }
  let closing: Promise<void> | null = null;
  const closeAll = () =>
    (closing ??= (async () => {
      for (const s of sockets) s.destroy();
      // Closing a Unix socket server also removes its file (libuv unlinks it).
      await Promise.all(servers.map((server) => new Promise<void>((r) => server.close(() => r()))));
    })());
  // A listener that can be removed again: a promise callback on `closed`
  // would keep every closed forward alive until the connection ends.
  const stopWatching = onConnectionClose(() => void closeAll());
  return {
    host: 'path' in where ? '' : where.host,
    port,
    ...('path' in where ? { path: where.path } : {}),
    close: () => {
      stopWatching();
      return closeAll();
    },
  };
}
