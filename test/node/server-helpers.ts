// A Nacre server on a loopback port and Nacre clients for it, for the
// server-*.test.ts files.
import { createServer as netCreateServer, type Server as NetServer, type Socket } from 'node:net';
import { connect, type Client } from '../../src/client/client.js';
import type { ConnectOptions } from '../../src/client/options.js';
import { generateHostKey, type KeySigner } from '../../src/keys/index.js';
import { createServer, type Server, type ServerOptions } from '../../src/server/server.js';

let hostKey: KeySigner | null = null;
/** One host key for all tests in a file: generating keys is the slow part. */
export function testHostKey(): KeySigner {
  hostKey ??= generateHostKey('ssh-ed25519');
  return hostKey;
}

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  connect(options?: Partial<ConnectOptions>): Promise<Client>;
  close(): Promise<void>;
}

export async function startServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const key = testHostKey();
  const server = createServer({ hostKeys: [key], auth: { failureDelayMs: 0 }, ...options });
  const { port } = await server.listen(0, '127.0.0.1');
  const clients: Client[] = [];
  return {
    server,
    port,
    async connect(o: Partial<ConnectOptions> = {}) {
      const c = await connect({
        host: '127.0.0.1',
        port,
        username: 'alice',
        keepalive: false,
        verifyHostKey: (info) => Buffer.from(info.key).equals(Buffer.from(key.publicBlob)),
        readyTimeout: 10_000,
        ...o,
      });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await server.close();
    },
  };
}

/** Accepts anyone whose password is "secret". */
export const passwordSecret: ServerOptions['authenticate'] = (ctx) => ctx.method === 'password' && ctx.password === 'secret';

/** A TCP echo server on a free loopback port. */
export async function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const s: NetServer = netCreateServer({ allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.pipe(sock);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const x of sockets) x.destroy();
        s.close(() => r());
      }),
  };
}

/** Writes `data`, ends, and collects everything the stream sends back. */
export function roundTrip(stream: NodeJS.ReadWriteStream, data: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(Buffer.from(d)));
    stream.once('end', () => resolve(Buffer.concat(parts)));
    stream.once('error', reject);
    stream.end(data);
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
