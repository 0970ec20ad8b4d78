// The byte stream `connect()` runs SSH over: the caller's `sock`, a jump
// host chain (proxyJump), a ProxyCommand, or a TCP connection; with what to
// release when the connection ends.
import type { Duplex } from 'node:stream';
import type { ConnectOptions } from './options.js';
import { openSocket } from './socket.js';
import { connectThroughJumps, type JumpClient } from './jump.js';
import { expandProxyCommand, startProxyCommand } from './proxy-command.js';

export interface Transport {
  readonly stream: Duplex;
  /** Closes what was opened to make the stream (jump hosts, the proxy command); safe to call twice. */
  dispose(): void;
}

export async function openTransport(options: ConnectOptions, host: string, port: number, username: string, connect: (options: ConnectOptions) => Promise<JumpClient>): Promise<Transport> {
  if (options.sock) return { stream: options.sock, dispose: () => undefined };
  if (options.proxyJump !== undefined) {
    const jumped = await connectThroughJumps(options, options.proxyJump, host, port, connect);
    if (jumped) return jumped;
  }
  if (options.proxyCommand !== undefined && options.proxyCommand.trim().toLowerCase() !== 'none') {
    const proxy = startProxyCommand(expandProxyCommand(options.proxyCommand, { host, port, user: username }));
    return { stream: proxy.stream, dispose: () => proxy.dispose() };
  }
  const socket = await openSocket(host, port, {
    timeoutMs: options.connectTimeout ?? 20_000,
    signal: options.signal,
    localAddress: options.localAddress,
    family: options.family,
    attempts: options.connectionAttempts,
  });
  return { stream: socket, dispose: () => socket.destroy() };
}
